//! What a path operand reaches: the root, a home directory, a system
//! directory, the whole working tree, or a path that becomes `/` when a
//! variable is empty. The rules use it for deletes and permission changes.

use super::shell::Word;

/// A broad target, from most to least dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broad {
    Root,
    Home,
    System,
    /// `.`, `*`, `..`: everything in (or above) the working directory.
    WorkingTree,
    /// `.git`: the repository's history, and baton's state with it.
    Repository,
}

impl Broad {
    pub fn describe(self) -> &'static str {
        match self {
            Broad::Root => "the root directory",
            Broad::Home => "a home directory",
            Broad::System => "a system directory",
            Broad::WorkingTree => "the whole working directory",
            Broad::Repository => "the git repository itself",
        }
    }

    /// Root, home or system: the machine itself, not the project.
    pub fn is_machine(self) -> bool {
        matches!(self, Broad::Root | Broad::Home | Broad::System)
    }
}

/// Top-level directories whose loss breaks the machine or every user on it.
const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/opt",
    "/proc",
    "/root",
    "/sbin",
    "/srv",
    "/sys",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/local",
    "/usr/share",
    "/var",
    "/var/lib",
    "/mnt",
    "/media",
    "/snap",
    "/Users",
    "/System",
    "/Library",
    "/Applications",
    "/private",
];

/// Strip what does not change the reach: trailing `/`, `/.`, `/*` (when it
/// is a glob), repeated slashes.
fn reach(word: &Word) -> String {
    let mut t = word.text.clone();
    while t.contains("//") {
        t = t.replace("//", "/");
    }
    loop {
        let before = t.len();
        if word.glob {
            if let Some(s) = t.strip_suffix("/*") {
                t = if s.is_empty() { "/".into() } else { s.into() };
            }
        }
        if let Some(s) = t.strip_suffix("/.") {
            t = if s.is_empty() { "/".into() } else { s.into() };
        }
        if t.len() > 1 {
            if let Some(s) = t.strip_suffix('/') {
                t = s.into();
            }
        }
        if t.len() == before {
            return t;
        }
    }
}

/// How broad a path operand is, if it is broad at all.
pub fn broad(word: &Word) -> Option<Broad> {
    let t = reach(word);
    if t == "/" {
        return Some(Broad::Root);
    }
    if word.tilde && !t.contains('/') {
        return Some(Broad::Home);
    }
    if word.dynamic {
        return is_home_variable(&t).then_some(Broad::Home);
    }
    if SYSTEM_DIRS.contains(&t.as_str()) || is_user_home(&t) {
        return Some(Broad::System);
    }
    let working = matches!(t.as_str(), "." | ".." | "./.." | "../..")
        || (word.glob && matches!(t.as_str(), "*" | ".*" | "./*" | "../*" | "*/" | ".[!.]*"));
    if working {
        return Some(Broad::WorkingTree);
    }
    matches!(t.as_str(), ".git" | "./.git").then_some(Broad::Repository)
}

/// `$HOME`, `${HOME}`, `${HOME:?}`, `${HOME:-/root}`: the home directory itself.
fn is_home_variable(t: &str) -> bool {
    for name in ["HOME", "USERPROFILE"] {
        if t.strip_prefix('$') == Some(name) {
            return true;
        }
        let braced = t.strip_prefix("${").and_then(|r| r.strip_suffix('}'));
        if let Some(rest) = braced.and_then(|b| b.strip_prefix(name)) {
            if rest.is_empty() || rest.starts_with([':', '-', '?', '=', '+']) {
                return true;
            }
        }
    }
    false
}

/// `/home/alice`, `/Users/bob`: one user's whole home.
fn is_user_home(t: &str) -> bool {
    ["/home/", "/Users/"].iter().any(|prefix| {
        t.strip_prefix(prefix)
            .is_some_and(|user| !user.is_empty() && !user.contains('/'))
    })
}

/// An operand that, with its variable empty, is the root: `$DIR/`, `${DIR}/*`.
pub fn var_root(word: &Word) -> bool {
    if !word.dynamic || word.tilde {
        return false;
    }
    let t = word.text.as_str();
    let t = t.strip_suffix('*').unwrap_or(t);
    let Some(rest) = t.strip_suffix('/') else {
        return false;
    };
    let Some(var) = rest.strip_prefix('$') else {
        return false;
    };
    let name = var.strip_prefix('{').and_then(|v| v.strip_suffix('}')).unwrap_or(var);
    !name.is_empty() && name != "HOME" && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A block device path (`/dev/sda`, `/dev/nvme0n1`, `/dev/disk2`, ...).
pub fn block_device(path: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sd", "hd", "vd", "xvd", "nvme", "mmcblk", "disk", "rdisk", "md", "dm-", "mapper/", "nbd", "loop",
    ];
    path.strip_prefix("/dev/")
        .is_some_and(|dev| PREFIXES.iter().any(|p| dev.starts_with(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::shell::parse_line;

    fn operand(line: &str) -> Word {
        parse_line(&format!("rm {line}")).unwrap().commands[0].argv[1].clone()
    }

    #[test]
    fn broad_targets_are_recognised() {
        let cases = [
            ("/", Some(Broad::Root)),
            ("/*", Some(Broad::Root)),
            ("//", Some(Broad::Root)),
            ("/.", Some(Broad::Root)),
            ("~", Some(Broad::Home)),
            ("~/", Some(Broad::Home)),
            ("~/*", Some(Broad::Home)),
            ("~bob", Some(Broad::Home)),
            ("$HOME", Some(Broad::Home)),
            ("\"$HOME\"", Some(Broad::Home)),
            ("${HOME}/", Some(Broad::Home)),
            ("\"${HOME:?}/\"", Some(Broad::Home)),
            ("${HOME_DIR}", None),
            ("/etc", Some(Broad::System)),
            ("/usr/", Some(Broad::System)),
            ("/home/alice", Some(Broad::System)),
            (".", Some(Broad::WorkingTree)),
            ("*", Some(Broad::WorkingTree)),
            ("./*", Some(Broad::WorkingTree)),
            ("..", Some(Broad::WorkingTree)),
            (".git", Some(Broad::Repository)),
            ("./.git/", Some(Broad::Repository)),
            (".github", None),
            ("\"*\"", None),
            ("'~'", None),
            ("'$HOME'", None),
            ("/tmp/build", None),
            ("~/project/target", None),
            ("node_modules", None),
            ("./dist", None),
            ("/home/alice/tmp", None),
            ("$HOME/.cache/x", None),
        ];
        for (text, want) in cases {
            assert_eq!(broad(&operand(text)), want, "{text}");
        }
    }

    #[test]
    fn empty_variables_reaching_root_are_seen() {
        for text in ["$DIR/", "${DIR}/", "\"$STEAMROOT/\"*", "${X}/*"] {
            assert!(var_root(&operand(text)), "{text}");
        }
        for text in ["$DIR", "$DIR/build", "$HOME/", "'$DIR/'"] {
            assert!(!var_root(&operand(text)), "{text}");
        }
    }

    #[test]
    fn block_devices_are_recognised() {
        for dev in [
            "/dev/sda",
            "/dev/sdb1",
            "/dev/nvme0n1",
            "/dev/disk2",
            "/dev/mapper/root",
            "/dev/mmcblk0",
        ] {
            assert!(block_device(dev), "{dev}");
        }
        for dev in ["/dev/null", "/dev/zero", "/dev/stdout", "/dev/tty", "/tmp/sda"] {
            assert!(!block_device(dev), "{dev}");
        }
    }
}

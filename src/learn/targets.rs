//! What a path operand reaches: the root, a home directory, a system
//! directory, the whole working tree, or a path that becomes `/` when a
//! variable is empty. The rules use it for deletes and permission changes.
//!
//! An operand is read the way the shell would expand it: brace expansion
//! (`/{etc,usr}` is `/etc` and `/usr`), `.` and `..` (`/tmp/../etc` is
//! `/etc`, also after `~`, `$HOME`, `${HOME}` and `$TMPDIR`), and globs
//! (`/e*c` and `/[e]tc` can be `/etc`).

use super::shell::Word;

/// A broad target, from most to least dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// At most this many words come out of one brace expansion.
const MAX_VARIANTS: usize = 64;

/// Stand-ins for the directories variables name, so `..` after them can be
/// resolved: `$HOME/..` is `/home`, `$TMPDIR/../etc` is `/etc`.
const HOME_MODEL: &str = "/home/~";
const TMP_MODEL: &str = "/tmp";

/// How broad a path operand is, if it is broad at all: the broadest of the
/// words it expands to.
pub fn broad(word: &Word) -> Option<Broad> {
    expansions(word).iter().filter_map(broad_one).min()
}

/// The words an operand expands to: its brace alternatives, each with `.`
/// and `..` resolved (through `~`, `$HOME` and `$TMPDIR` too).
pub fn expansions(word: &Word) -> Vec<Word> {
    let texts = if word.text.contains('{') {
        braces(&word.text)
    } else {
        vec![word.text.clone()]
    };
    texts.into_iter().map(|text| resolved(word, text)).collect()
}

fn resolved(word: &Word, text: String) -> Word {
    let mut out = Word { text, ..word.clone() };
    if !out.text.contains("..") && !out.text.contains("/./") {
        return out;
    }
    let (model, rest) = match split_home_or_tmp(&out.text, word.tilde) {
        Some(found) => found,
        None => (None, out.text.clone()),
    };
    let base = model.unwrap_or("");
    let Some(normal) = normalize(&format!("{base}{rest}")) else {
        return out;
    };
    match model {
        Some(_) if normal == HOME_MODEL || normal.starts_with(&format!("{HOME_MODEL}/")) => {
            out.text = format!("~{}", &normal[HOME_MODEL.len()..]);
            out.tilde = true;
            out.dynamic = false;
        }
        Some(_) => {
            out.text = normal;
            out.tilde = false;
            out.dynamic = false;
            out.only_expansion = false;
            out.parameter = false;
        }
        None => out.text = normal,
    }
    out
}

/// `~/x`, `$HOME/x`, `${HOME}/x`, `$TMPDIR/x`: the modelled directory and the rest.
fn split_home_or_tmp(text: &str, tilde: bool) -> Option<(Option<&'static str>, String)> {
    let home = ["$HOME", "${HOME}"];
    let tmp = ["$TMPDIR", "${TMPDIR}"];
    if tilde && (text == "~" || text.starts_with("~/")) {
        return Some((Some(HOME_MODEL), text[1..].to_owned()));
    }
    for (names, model) in [(home, HOME_MODEL), (tmp, TMP_MODEL)] {
        for name in names {
            if let Some(rest) = text.strip_prefix(name).filter(|r| r.is_empty() || r.starts_with('/')) {
                return Some((Some(model), rest.to_owned()));
            }
        }
    }
    None
}

/// `.` and `..` resolved lexically; `None` when a variable sits in the path.
fn normalize(path: &str) -> Option<String> {
    if path.contains('$') {
        return None;
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    Some(match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    })
}

/// Brace expansion (`a{b,c}d`, `{1..3}`), bounded.
fn braces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_braces(text, &mut out);
    if out.is_empty() {
        out.push(text.to_owned());
    }
    out
}

fn expand_braces(text: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_VARIANTS {
        return;
    }
    let Some((open, close, alternatives)) = first_brace(text) else {
        out.push(text.to_owned());
        return;
    };
    for alt in alternatives {
        let next = format!("{}{alt}{}", &text[..open], &text[close + 1..]);
        expand_braces(&next, out);
        if out.len() >= MAX_VARIANTS {
            return;
        }
    }
}

/// The first `{...}` holding a top-level `,` or a `..` range, with its alternatives.
fn first_brace(text: &str) -> Option<(usize, usize, Vec<String>)> {
    let bytes = text.as_bytes();
    for (open, _) in text.match_indices('{') {
        if open > 0 && bytes[open - 1] == b'$' {
            continue;
        }
        let mut depth = 0usize;
        let mut commas = Vec::new();
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        let inner = &text[open + 1..i];
                        if !commas.is_empty() {
                            let mut alts = Vec::new();
                            let mut start = open + 1;
                            for &c in &commas {
                                alts.push(text[start..c].to_owned());
                                start = c + 1;
                            }
                            alts.push(text[start..i].to_owned());
                            return Some((open, i, alts));
                        }
                        if let Some((a, b)) = inner.split_once("..") {
                            if let (Ok(a), Ok(b)) = (a.parse::<i64>(), b.parse::<i64>()) {
                                let (lo, hi) = (a.min(b), a.max(b));
                                let alts = (lo..=hi).take(MAX_VARIANTS).map(|n| n.to_string()).collect();
                                return Some((open, i, alts));
                            }
                        }
                        break;
                    }
                }
                b',' if depth == 1 => commas.push(i),
                _ => {}
            }
        }
    }
    None
}

/// A glob that can match the root, a system directory or a user's home.
fn glob_reaches_machine(pattern: &str) -> Option<Broad> {
    if !pattern.starts_with('/') {
        return None;
    }
    let glob = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .ok()?
        .compile_matcher();
    let homes = ["/home/user", "/Users/user"];
    SYSTEM_DIRS
        .iter()
        .chain(&homes)
        .any(|dir| glob.is_match(dir))
        .then_some(Broad::System)
}

fn broad_one(word: &Word) -> Option<Broad> {
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
    if word.glob && t.contains(['*', '?', '[']) {
        if let Some(b) = glob_reaches_machine(&t) {
            return Some(b);
        }
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
            ("/{etc,usr}", Some(Broad::System)),
            ("~/{,}", Some(Broad::Home)),
            ("/tmp/{a,b}", None),
            ("/e*c", Some(Broad::System)),
            ("/[e]tc", Some(Broad::System)),
            ("/u?r/", Some(Broad::System)),
            ("/tmp/*.log", None),
            ("/tmp/../etc", Some(Broad::System)),
            ("/tmp/x/../..", Some(Broad::Root)),
            ("$TMPDIR/../etc", Some(Broad::System)),
            ("\"${TMPDIR}\"/x", None),
            ("$HOME/..", Some(Broad::System)),
            ("~/../..", Some(Broad::Root)),
            ("~/x/..", Some(Broad::Home)),
            ("build/..", Some(Broad::WorkingTree)),
            ("build/../dist", None),
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

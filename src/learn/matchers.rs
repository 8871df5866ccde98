//! The matchers of the built-in rules: one function per rule, each a pure
//! predicate over one simple command (program, subcommand, flags, operands,
//! redirections, and where its stdin comes from).

use super::family;
use super::shell::{Command, Word};
use super::targets::{self, Broad};
use super::wrappers::{self, SHELLS};

/// A command's arguments read as options and operands: short flags may be
/// clustered (`-rf`), long flags may carry `=value`, `--` ends options.
#[derive(Debug, Default)]
pub struct Args<'a> {
    shorts: Vec<char>,
    longs: Vec<&'a str>,
    pub operands: Vec<&'a Word>,
}

impl<'a> Args<'a> {
    pub fn of(words: &'a [Word]) -> Args<'a> {
        Args::with_values(words, "")
    }

    /// Like [`Args::of`], with `valued` short options taking a value: glued
    /// (`-bname`) or the next word (`-b name`), never read as flags.
    pub fn with_values(words: &'a [Word], valued: &str) -> Args<'a> {
        let mut out = Args::default();
        let mut options_done = false;
        let mut skip_next = false;
        for w in words {
            let t = w.text.as_str();
            if skip_next {
                skip_next = false;
                continue;
            }
            if options_done || t == "-" || !t.starts_with('-') {
                out.operands.push(w);
            } else if t == "--" {
                options_done = true;
            } else if let Some(long) = t.strip_prefix("--") {
                out.longs.push(long.split_once('=').map_or(long, |(name, _)| name));
            } else if t[1..].chars().all(|c| c.is_ascii_alphabetic()) {
                for (at, c) in t[1..].char_indices() {
                    out.shorts.push(c);
                    if valued.contains(c) {
                        skip_next = at + 2 == t.len();
                        break;
                    }
                }
            } else {
                // `-1`, `-n5`: a number or a glued value; an operand for our purposes.
                out.operands.push(w);
            }
        }
        out
    }

    pub fn short(&self, c: char) -> bool {
        self.shorts.contains(&c)
    }

    pub fn long(&self, name: &str) -> bool {
        self.longs.contains(&name)
    }

    fn any(&self, shorts: &str, longs: &[&str]) -> bool {
        shorts.chars().any(|c| self.short(c)) || longs.iter().any(|l| self.long(l))
    }
}

fn program(command: &Command) -> &str {
    command.program().unwrap_or("")
}

// ---- deletes -------------------------------------------------------------

fn rm_recursive(command: &Command) -> Option<Args<'_>> {
    if program(command) != "rm" {
        return None;
    }
    let args = Args::of(command.args());
    args.any("rR", &["recursive"]).then_some(args)
}

/// The operands of a recursive `rm`.
pub fn rm_recursive_operands(command: &Command) -> Option<Vec<&Word>> {
    rm_recursive(command).map(|a| a.operands)
}

pub fn rm_recursive_broad(command: &Command) -> bool {
    rm_recursive(command).is_some_and(|a| a.operands.iter().any(|w| targets::broad(w).is_some()))
}

pub fn rm_recursive_var_root(command: &Command) -> bool {
    rm_recursive(command).is_some_and(|a| a.operands.iter().any(|w| targets::var_root(w)))
}

pub fn rm_no_preserve_root(command: &Command) -> bool {
    program(command) == "rm" && Args::of(command.args()).long("no-preserve-root")
}

pub fn rm_recursive_dynamic(command: &Command) -> bool {
    let Some(args) = rm_recursive(command) else {
        return false;
    };
    let from_input = command.appended_args && !command.wrappers.iter().any(|w| w == "find -exec");
    from_input
        || args
            .operands
            .iter()
            .any(|w| w.only_expansion && targets::broad(w).is_none())
}

/// `find`'s starting points, and whether its expression deletes and filters.
struct Find<'a> {
    roots: Vec<&'a Word>,
    deletes: bool,
    filtered: bool,
}

fn find(command: &Command) -> Option<Find<'_>> {
    if program(command) != "find" {
        return None;
    }
    let args = command.args();
    let start = args
        .iter()
        .position(|w| w.text.starts_with('-') || matches!(w.text.as_str(), "(" | "!"))
        .unwrap_or(args.len());
    let expression = &args[start..];
    let exec_rm = expression.windows(2).any(|pair| {
        matches!(pair[0].text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")
            && wrappers::basename(&pair[1]) == Some("rm")
    });
    Some(Find {
        roots: args[..start].iter().collect(),
        deletes: exec_rm || outside_exec(expression).any(|w| w.text == "-delete"),
        filtered: filtered(expression),
    })
}

/// The words of a find expression that are find's own, not the arguments
/// of an `-exec ... ;` command (`-exec echo -delete ;` deletes nothing).
fn outside_exec(expression: &[Word]) -> impl Iterator<Item = &Word> {
    let mut in_exec = false;
    expression.iter().filter(move |w| match w.text.as_str() {
        "-exec" | "-execdir" | "-ok" | "-okdir" if !in_exec => {
            in_exec = true;
            false
        }
        ";" | "+" if in_exec => {
            in_exec = false;
            false
        }
        _ => !in_exec,
    })
}

/// Does the expression test anything (a `-name`, `-type`, `-mtime`, ...)
/// outside its `-exec ... ;` parts?
fn filtered(expression: &[Word]) -> bool {
    const NOT_FILTERS: &[&str] = &[
        "-delete",
        "-depth",
        "-maxdepth",
        "-mindepth",
        "-xdev",
        "-mount",
        "-print",
        "-print0",
        "-daystart",
        "-follow",
        "-noleaf",
        "-ignore_readdir_race",
    ];
    let mut in_exec = false;
    for w in expression {
        match w.text.as_str() {
            "-exec" | "-execdir" | "-ok" | "-okdir" => in_exec = true,
            ";" | "+" => in_exec = false,
            t if !in_exec && t.starts_with('-') && !NOT_FILTERS.contains(&t) => return true,
            _ => {}
        }
    }
    false
}

pub fn find_delete_broad(command: &Command) -> bool {
    find(command).is_some_and(|f| {
        let roots_broad = if f.roots.is_empty() {
            true // no starting point means `.`
        } else {
            f.roots.iter().any(|w| targets::broad(w).is_some())
        };
        f.deletes && !f.filtered && roots_broad
    })
}

pub fn find_delete_root(command: &Command) -> bool {
    find(command).is_some_and(|f| {
        f.deletes && f.filtered && f.roots.iter().any(|w| targets::broad(w).is_some_and(Broad::is_machine))
    })
}

// ---- disks ---------------------------------------------------------------

pub fn dd_device(command: &Command) -> bool {
    program(command) == "dd"
        && command
            .args()
            .iter()
            .any(|w| w.text.strip_prefix("of=").is_some_and(targets::block_device))
}

pub fn disk_format(command: &Command) -> bool {
    let p = program(command);
    const TOOLS: &[&str] = &[
        "mke2fs",
        "mkswap",
        "mkntfs",
        "mkdosfs",
        "mkexfatfs",
        "newfs",
        "wipefs",
        "blkdiscard",
        "sfdisk",
        "sgdisk",
        "shred",
        "diskutil",
    ];
    // Most commands are none of these: no argument reading for them.
    if !p.starts_with("mkfs") && !TOOLS.contains(&p) {
        return false;
    }
    let args = Args::of(command.args());
    let first = args.operands.first().map_or("", |w| w.text.as_str());
    match p {
        _ if p.starts_with("mkfs") => true,
        "mke2fs" | "mkswap" | "mkntfs" | "mkdosfs" | "mkexfatfs" | "newfs" | "wipefs" | "blkdiscard" => true,
        "sfdisk" => !args.any("ldsV", &["list", "dump", "show-size", "version", "help"]),
        "sgdisk" => args.any("Zzo", &["zap-all", "zap", "clear"]),
        "shred" => args.operands.iter().any(|w| targets::block_device(&w.text)),
        "diskutil" => {
            first.starts_with("erase")
                || matches!(
                    first,
                    "zeroDisk" | "randomDisk" | "secureErase" | "partitionDisk" | "reformat"
                )
        }
        _ => false,
    }
}

pub fn redirect_device(command: &Command) -> bool {
    let redirected = command
        .redirects
        .iter()
        .any(|r| r.op.writes() && targets::block_device(&r.target.text));
    let teed = program(command) == "tee" && command.args().iter().any(|w| targets::block_device(&w.text));
    redirected || teed
}

// ---- permissions ---------------------------------------------------------

fn perm_targets(command: &Command) -> Vec<Broad> {
    let p = program(command);
    if !matches!(p, "chmod" | "chown" | "chgrp") {
        return Vec::new();
    }
    let args = Args::of(command.args());
    // chmod's -r means "remove read"; only -R recurses.
    if !args.any("R", &["recursive"]) {
        return Vec::new();
    }
    let skip = usize::from(!args.long("reference"));
    args.operands
        .iter()
        .skip(skip)
        .filter_map(|w| targets::broad(w))
        .collect()
}

pub fn perm_recursive_root(command: &Command) -> bool {
    perm_targets(command).iter().any(|b| b.is_machine())
}

pub fn perm_recursive_broad(command: &Command) -> bool {
    perm_targets(command).contains(&Broad::WorkingTree)
}

// ---- network -------------------------------------------------------------

const DOWNLOADERS: &[&str] = &[
    "curl",
    "wget",
    "fetch",
    "http",
    "https",
    "xh",
    "aria2c",
    "iwr",
    "Invoke-WebRequest",
];
const INTERPRETERS: &[&str] = &["python", "python3", "perl", "ruby", "node", "php", "deno", "bun"];

/// Does this command execute code it reads from stdin or from a substitution?
fn executes_input(command: &Command) -> bool {
    let p = program(command);
    let args = command.args();
    if SHELLS.contains(&p) {
        return wrappers::reads_code_from_stdin(p, args) || command.dynamic_code || command.substituted_code;
    }
    if matches!(p, "eval" | "source" | ".") {
        return true;
    }
    INTERPRETERS.contains(&p) && Args::of(args).operands.iter().all(|w| w.text == "-")
}

pub fn pipe_to_shell(command: &Command) -> bool {
    let downloaded = command
        .upstream
        .iter()
        .chain(&command.substituted)
        .any(|p| DOWNLOADERS.contains(&p.as_str()));
    downloaded && executes_input(command)
}

// ---- git -------------------------------------------------------------------

fn git_sub<'a>(command: &'a Command, names: &[&str]) -> Option<Args<'a>> {
    if program(command) != "git" {
        return None;
    }
    let (sub, rest) = family::subcommand(command)?;
    // Short options whose value may be glued: `checkout -bfeature` is a
    // branch name, not `-f`.
    let valued = match sub {
        "checkout" => "bBo",
        "switch" => "cC",
        "clean" => "e",
        "push" => "o",
        _ => "",
    };
    names.contains(&sub).then(|| Args::with_values(rest, valued))
}

fn push_refspecs<'a>(args: &'a Args<'a>) -> impl Iterator<Item = &'a str> {
    // The first operand is the remote; refspecs follow.
    args.operands.iter().skip(1).map(|w| w.text.as_str())
}

pub fn git_force_push(command: &Command) -> bool {
    git_sub(command, &["push"])
        .is_some_and(|a| a.any("f", &["force", "mirror"]) || push_refspecs(&a).any(|r| r.starts_with('+')))
}

pub fn git_push_delete(command: &Command) -> bool {
    git_sub(command, &["push"]).is_some_and(|a| {
        a.any("d", &["delete", "prune"]) || push_refspecs(&a).any(|r| r.starts_with(':') && r.len() > 1)
    })
}

pub fn git_force_push_lease(command: &Command) -> bool {
    git_sub(command, &["push"]).is_some_and(|a| a.any("", &["force-with-lease", "force-if-includes"]))
        && !git_force_push(command)
}

pub fn git_reset_hard(command: &Command) -> bool {
    git_sub(command, &["reset"]).is_some_and(|a| a.long("hard"))
}

fn git_clean(command: &Command) -> Option<(bool, bool)> {
    let a = git_sub(command, &["clean"])?;
    let forced = a.any("f", &["force"]) && !a.any("ni", &["dry-run", "interactive"]);
    Some((forced, a.any("dxX", &[])))
}

pub fn git_clean_ignored(command: &Command) -> bool {
    git_clean(command).is_some_and(|(forced, wide)| forced && wide)
}

pub fn git_clean_force(command: &Command) -> bool {
    git_clean(command).is_some_and(|(forced, wide)| forced && !wide)
}

pub fn git_history_rewrite(command: &Command) -> bool {
    git_sub(command, &["filter-branch", "filter-repo"]).is_some() || program(command) == "git-filter-repo"
}

pub fn git_branch_force_delete(command: &Command) -> bool {
    git_sub(command, &["branch"]).is_some_and(|a| a.short('D') || (a.any("d", &["delete"]) && a.any("f", &["force"])))
}

pub fn git_update_ref(command: &Command) -> bool {
    git_sub(command, &["update-ref"]).is_some()
}

// ---- packages --------------------------------------------------------------

/// The "subcommand path" of a package tool: `npm publish` -> ["publish"],
/// `yarn npm publish` -> ["npm", "publish"], `python -m twine upload` -> ["twine", "upload"].
fn tool_words(command: &Command) -> (String, Vec<&str>, Args<'_>) {
    let args = Args::of(command.args());
    let mut words: Vec<&str> = args.operands.iter().map(|w| w.text.as_str()).collect();
    let mut p = program(command).to_owned();
    if p.starts_with("python") && command.args().first().is_some_and(|w| w.text == "-m") {
        if let Some(module) = command.args().get(1) {
            p = module.text.clone();
            words = command.args()[2..].iter().map(|w| w.text.as_str()).collect();
        }
    }
    (p, words, args)
}

/// Programs the package rules look at (`python` for `python -m twine`).
fn package_tool(command: &Command) -> bool {
    const TOOLS: &[&str] = &[
        "npm", "pnpm", "bun", "cargo", "poetry", "flit", "hatch", "uv", "vsce", "ovsx", "yarn", "twine", "gem",
        "dotnet", "nuget", "mvn", "mvnw", "gradle", "gradlew",
    ];
    let p = program(command);
    TOOLS.contains(&p) || p.starts_with("python")
}

pub fn pkg_publish(command: &Command) -> bool {
    if !package_tool(command) {
        return false;
    }
    let (p, words, args) = tool_words(command);
    let first = words.first().copied().unwrap_or("");
    let second = words.get(1).copied().unwrap_or("");
    let publishes = match p.as_str() {
        "npm" | "pnpm" | "bun" | "cargo" | "poetry" | "flit" | "hatch" | "uv" | "vsce" | "ovsx" => first == "publish",
        "yarn" => first == "publish" || (first == "npm" && second == "publish"),
        "twine" => first == "upload",
        "gem" => first == "push",
        "dotnet" => first == "nuget" && second == "push",
        "nuget" => first == "push",
        "mvn" | "mvnw" => words.contains(&"deploy"),
        "gradle" | "gradlew" => words.iter().any(|w| w.starts_with("publish")),
        _ => false,
    };
    let dry_run = args.long("dry-run") || (p == "cargo" && args.short('n'));
    publishes && !dry_run
}

pub fn pkg_unpublish(command: &Command) -> bool {
    if !package_tool(command) {
        return false;
    }
    let (p, words, args) = tool_words(command);
    let first = words.first().copied().unwrap_or("");
    match p.as_str() {
        "npm" | "pnpm" => first == "unpublish",
        "cargo" => first == "yank" && !args.long("undo"),
        "gem" => first == "yank",
        _ => false,
    }
}

// ---- system ----------------------------------------------------------------

pub fn sys_shutdown(command: &Command) -> bool {
    const TOOLS: &[&str] = &[
        "shutdown",
        "reboot",
        "halt",
        "poweroff",
        "systemctl",
        "loginctl",
        "init",
        "telinit",
    ];
    if !TOOLS.contains(&program(command)) {
        return false;
    }
    let args = Args::of(command.args());
    let first = args.operands.first().map_or("", |w| w.text.as_str());
    match program(command) {
        "shutdown" => !args.any("ck", &["help"]),
        "reboot" | "halt" | "poweroff" => !args.long("help"),
        "systemctl" | "loginctl" => matches!(first, "poweroff" | "reboot" | "halt" | "kexec"),
        "init" | "telinit" => matches!(first, "0" | "6"),
        _ => false,
    }
}

pub fn fork_bomb(command: &Command) -> bool {
    command.fork_bomb
}

pub fn dynamic_code(command: &Command) -> bool {
    command.dynamic_code
}

// ---- code decided at run time ------------------------------------------------

/// The program itself comes from a variable, a substitution or word
/// splitting (`$r -rf /`, `$(echo rm) ...`, `${RM:-rm}`).
pub fn dynamic_program(command: &Command) -> bool {
    command.argv.first().is_some_and(|w| w.dynamic)
}

/// Programs that decode or unpack what they read: their output cannot be
/// read in the line.
const DECODERS: &[&str] = &[
    "base64", "base32", "basenc", "xxd", "uudecode", "openssl", "gunzip", "gzip", "zcat", "bzcat", "bunzip2", "bzip2",
    "xz", "unxz", "xzcat", "zstd", "zstdcat", "unzstd", "lzcat", "brotli", "rev", "gpg",
];

fn code_from(command: &Command, programs: &[&str]) -> bool {
    command.code_input
        && command
            .upstream
            .iter()
            .chain(&command.substituted)
            .any(|p| programs.contains(&p.as_str()))
}

/// Runs code decoded from an encoded blob (`base64 -d | sh`).
pub fn decoded_code(command: &Command) -> bool {
    code_from(command, DECODERS) && !pipe_to_shell(command)
}

/// Runs code another command prints (`cat x | sh`, `eval "$(tool)"`).
pub fn stdin_code(command: &Command) -> bool {
    command.code_input && !decoded_code(command) && !pipe_to_shell(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::shell::parse_line;

    fn first(line: &str) -> Command {
        parse_line(line).unwrap().commands.pop().unwrap()
    }

    #[test]
    fn args_read_clusters_longs_and_operands() {
        let c = first("rm -rf --no-preserve-root=x -- -weird /");
        let a = Args::of(c.args());
        assert!(a.short('r') && a.short('f') && a.long("no-preserve-root"));
        let ops: Vec<&str> = a.operands.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(ops, ["-weird", "/"]);
    }

    #[test]
    fn git_global_options_are_skipped() {
        assert!(git_force_push(&first("git -C repo -c a=b --no-pager push -f")));
        assert!(git_reset_hard(&first("git --git-dir .git reset --hard HEAD~1")));
        assert!(!git_force_push(&first("git log --grep push -f")));
    }

    #[test]
    fn find_filters_decide_the_level() {
        assert!(find_delete_broad(&first("find . -delete")));
        assert!(find_delete_broad(&first("find / -exec rm -rf {} +")));
        assert!(!find_delete_broad(&first("find . -name '*.o' -delete")));
        assert!(find_delete_root(&first("find / -name '*.log' -delete")));
        assert!(!find_delete_root(&first("find . -name '*.log' -delete")));
        assert!(!find_delete_broad(&first("find / -name x")));
    }
}

//! The command model: a shell line as the simple commands that would run
//! ([`Command`], its [`Word`]s and redirections), and the entry points that
//! build it. The line is parsed with `brush-parser` (see `words`)
//! and walked (see `walk`): quotes, escapes, lists, pipelines,
//! subshells, groups, `$(...)`, backticks, redirections, here-docs, then
//! unwrapped: the strings given to `sh -c`/`bash -c`/`eval`/`su -c`/`ssh`,
//! code fed to a shell on stdin, and the wrappers that run another command
//! (`sudo`, `env`, `xargs`, `nohup`, `timeout`, `find -exec`, ...; see
//! [`super::wrappers`]).
//!
//! Pure: text in, commands out. Input size and nesting depth are bounded, and
//! the parser runs under `catch_unwind`, so no input can make it panic or
//! recurse without end; a line it cannot read is a [`ShellError`]. Where a
//! bound stops the walk, the code left is recorded as a [`Problem`] for the
//! judge to scan word by word (see `scan`): nothing goes unjudged.

use super::walk;
use super::words::parse_program;

/// Lines longer than this are not parsed (the judge says so, at medium).
pub const MAX_INPUT: usize = 64 * 1024;
/// How deep `sh -c`, `eval`, `$(...)` and function calls may nest.
pub const MAX_DEPTH: usize = 16;
/// Brackets nested deeper than this are refused before parsing: the parser
/// recurses once per level.
pub const MAX_BRACKETS: usize = 128;
/// At most this many simple commands are collected from one line.
pub const MAX_COMMANDS: usize = 4096;

/// What follows the last `/` of `text` (all of it when there is none):
/// `rsplit('/').next()`, as a byte scan. Every rule asks for the program
/// of every command, and on a line of 1 600 commands the general string
/// searcher behind `rsplit` was an eighth of the guard's instructions.
pub fn after_last_slash(text: &str) -> &str {
    match text.bytes().rposition(|b| b == b'/') {
        // `/` is one byte in UTF-8, so `at + 1` is a character boundary.
        Some(at) => &text[at + 1..],
        None => text,
    }
}

/// One word after quote removal. Expansions keep their source text (`$HOME`,
/// `$(date)`), with `dynamic` set: their value is decided at run time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word {
    pub text: String,
    /// Some part is a parameter, command substitution or arithmetic expansion.
    pub dynamic: bool,
    /// Nothing but expansions: the whole value is decided at run time.
    pub only_expansion: bool,
    /// A parameter expansion (`$X`, `${X}`) is part of it (not only `$(...)`).
    pub parameter: bool,
    /// An unquoted glob character (`*`, `?`, `[`) is present.
    pub glob: bool,
    /// Starts with an unquoted `~` that expands to a home directory.
    pub tilde: bool,
}

impl Word {
    /// A word with a literal value (argv given directly, placeholders).
    pub fn literal(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            ..Word::default()
        }
    }

    /// The text when nothing in it is decided at run time.
    pub fn static_text(&self) -> Option<&str> {
        (!self.dynamic).then_some(self.text.as_str())
    }
}

/// What a redirection does with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    Read,
    Write,
    Append,
    ReadWrite,
    /// `>&`, `<&`: duplicates a descriptor, no file is opened.
    Duplicate,
}

impl RedirectOp {
    pub fn writes(self) -> bool {
        matches!(self, RedirectOp::Write | RedirectOp::Append | RedirectOp::ReadWrite)
    }

    pub(super) fn symbol(self) -> &'static str {
        match self {
            RedirectOp::Read => "<",
            RedirectOp::Write => ">",
            RedirectOp::Append => ">>",
            RedirectOp::ReadWrite => "<>",
            RedirectOp::Duplicate => ">&",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub op: RedirectOp,
    pub target: Word,
}

/// One simple command that would run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// Program and arguments, after the wrappers were unwrapped.
    pub argv: Vec<Word>,
    pub redirects: Vec<Redirect>,
    /// The wrappers it ran under, outermost first (`sudo`, `xargs`, `bash -c`).
    pub wrappers: Vec<String>,
    /// Programs of the earlier stages of its pipeline (its stdin comes from them).
    pub upstream: Vec<String>,
    /// Programs run by `$(...)`, backticks or `<(...)` inside its words.
    pub substituted: Vec<String>,
    /// More operands are added at run time (`xargs`, `find -exec ... {}`).
    pub appended_args: bool,
    /// It runs code given as text (`sh -c`, `eval`, a shell reading a here-doc);
    /// that code's commands are listed separately.
    pub runs_code: bool,
    /// It runs code held in a variable (`eval "$X"`, `bash -c "$CMD"`).
    pub dynamic_code: bool,
    /// It runs code printed by another command (`bash -c "$(curl ...)"`,
    /// `eval "$(direnv hook bash)"`); that command is judged on its own.
    pub substituted_code: bool,
    /// It runs code another command prints at run time (`... | sh`,
    /// `eval "$(...)"`, `source <(...)`), which cannot be judged in advance.
    pub code_input: bool,
    /// A function calling itself in a pipeline or in the background: a fork bomb.
    pub fork_bomb: bool,
    /// The `cd`/`pushd` targets run before it in the same shell, in order
    /// (`-`: somewhere unknown): where it runs, relative to the line's start.
    pub cd: Vec<Word>,
    /// How deeply nested (`0` = the line itself).
    pub depth: usize,
}

impl Command {
    /// The program's basename, when it is known before running.
    pub fn program(&self) -> Option<&str> {
        let base = after_last_slash(self.argv.first()?.static_text()?);
        (!base.is_empty()).then_some(base)
    }

    pub fn args(&self) -> &[Word] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// The command as it would be typed, for reasons and records.
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = self.argv.iter().map(|w| quote(&w.text)).collect();
        for r in &self.redirects {
            parts.push(format!("{} {}", r.op.symbol(), quote(&r.target.text)));
        }
        let text = parts.join(" ");
        shorten(&text, 200)
    }
}

fn quote(text: &str) -> String {
    if !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | ';' | '&' | '|'))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(limit).collect();
    out.push('…');
    out
}

/// Everything that would run, plus what could not be read inside it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    pub commands: Vec<Command>,
    /// Code the walk could not follow (a broken `sh -c` string, nesting or a
    /// count past a bound): the judge scans it word by word.
    pub problems: Vec<Problem>,
}

/// Code the walk stopped at, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub why: String,
    /// The text left unwalked, for `scan` (the whole line when the
    /// walk no longer has the text at hand).
    pub code: String,
}

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellError {
    TooLong(usize),
    TooDeep,
    Syntax(String),
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShellError::TooLong(n) => write!(
                f,
                "the line is {n} bytes long; lines over {MAX_INPUT} bytes are not parsed"
            ),
            ShellError::TooDeep => write!(f, "the line nests brackets more than {MAX_BRACKETS} deep"),
            ShellError::Syntax(why) => write!(f, "the shell parser cannot read it: {why}"),
        }
    }
}

/// Parse a shell line into the commands it would run.
pub fn parse_line(line: &str) -> Result<Script, ShellError> {
    let program = parse_program(line)?;
    let mut script = walk::program(&program);
    for problem in &mut script.problems {
        if problem.code.is_empty() {
            problem.code = line.to_owned();
        }
    }
    if script.commands.len() >= MAX_COMMANDS {
        script.problems.push(Problem {
            why: format!("the line runs more than {MAX_COMMANDS} commands; the rest is scanned word by word"),
            code: line.to_owned(),
        });
    }
    Ok(script)
}

/// An argv given directly (`pre-command -- <argv...>`): one simple command,
/// with its wrappers unwrapped like a parsed one.
pub fn from_argv(argv: &[String]) -> Script {
    walk::argv(argv.iter().map(Word::literal).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte scan gives what `rsplit('/').next()` gave, on any text
        /// (multi-byte characters included).
        #[test]
        fn after_last_slash_is_rsplit(text in "[a-z/é.\\\\-]{0,12}|.{0,30}") {
            prop_assert_eq!(after_last_slash(&text), text.rsplit('/').next().unwrap_or(&text));
        }
    }

    fn programs(line: &str) -> Vec<String> {
        parse_line(line)
            .unwrap()
            .commands
            .iter()
            .map(|c| c.argv.iter().map(|w| w.text.clone()).collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn lists_pipelines_and_groups_yield_every_command() {
        assert_eq!(programs("npm test && rm -rf /"), ["npm test", "rm -rf /"]);
        assert_eq!(programs("a; b || c | d &"), ["a", "b", "c", "d"]);
        assert_eq!(
            programs("(cd /; rm -rf *) | { git push; }"),
            ["cd /", "rm -rf *", "git push"]
        );
        assert_eq!(
            programs("if true; then make; else make clean; fi"),
            ["true", "make", "make clean"]
        );
        assert_eq!(programs("for f in a b; do rm \"$f\"; done"), ["rm $f"]);
        assert_eq!(programs("while false; do sleep 1; done"), ["false", "sleep 1"]);
        assert_eq!(programs("case $x in a) ls;; *) pwd;; esac"), ["ls", "pwd"]);
    }

    #[test]
    fn quotes_are_removed_and_expansions_marked() {
        let script = parse_line(r#"echo "a b" 'c d' e\ f $HOME "${X}/y" ~/z "*" *"#).unwrap();
        let words = &script.commands[0].argv;
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["echo", "a b", "c d", "e f", "$HOME", "${X}/y", "~/z", "*", "*"]);
        assert!(words[4].dynamic && words[4].only_expansion);
        assert!(words[5].dynamic && !words[5].only_expansion);
        assert!(!words[2].dynamic, "single quotes are literal");
        assert!(words[6].tilde);
        assert!(!words[7].glob && words[8].glob, "a quoted star is literal");
    }

    #[test]
    fn substitutions_run_and_are_recorded() {
        let script = parse_line("echo \"x$(rm -rf /)y\" `whoami`").unwrap();
        let texts: Vec<String> = script.commands.iter().map(Command::display).collect();
        assert!(texts.contains(&"rm -rf /".to_owned()), "{texts:?}");
        let echo = script.commands.iter().find(|c| c.program() == Some("echo")).unwrap();
        assert_eq!(echo.substituted, ["rm", "whoami"]);
        let rm = script.commands.iter().find(|c| c.program() == Some("rm")).unwrap();
        assert_eq!(rm.depth, 1);
    }

    #[test]
    fn shell_strings_and_eval_are_parsed() {
        assert_eq!(programs("bash -c 'rm -rf ~'"), ["rm -rf ~", "bash -c rm -rf ~"]);
        assert_eq!(
            programs("sh -lc \"git push -f\""),
            ["git push -f", "sh -lc git push -f"]
        );
        assert_eq!(programs("eval 'ls; rm x'"), ["ls", "rm x", "eval ls; rm x"]);
        let script = parse_line("eval \"$CMD\"").unwrap();
        assert!(script.commands.iter().any(|c| c.dynamic_code));
        let script = parse_line("eval \"$(direnv hook bash)\"").unwrap();
        let eval = script.commands.iter().find(|c| c.program() == Some("eval")).unwrap();
        assert!(eval.substituted_code && !eval.dynamic_code);
    }

    #[test]
    fn here_docs_are_data_unless_a_shell_reads_them() {
        assert_eq!(programs("cat <<EOF\nrm -rf /\nEOF"), ["cat"]);
        assert_eq!(programs("sh <<EOF\nrm -rf /\nEOF"), ["rm -rf /", "sh"]);
        assert_eq!(
            programs("cat <<'EOF' | bash\nrm -rf /\nEOF"),
            ["cat", "rm -rf /", "bash"]
        );
        assert_eq!(programs("echo 'rm -rf /' | sh"), ["echo rm -rf /", "rm -rf /", "sh"]);
        assert_eq!(programs("bash -s <<< 'reboot'"), ["reboot", "bash -s"]);
        // An unquoted here-doc runs its substitutions even when it is data.
        assert_eq!(programs("cat <<EOF\n$(reboot)\nEOF"), ["reboot", "cat"]);
    }

    #[test]
    fn redirections_keep_their_targets() {
        let script = parse_line("echo x > /dev/sda 2>&1").unwrap();
        let c = &script.commands[0];
        assert_eq!(c.redirects[0].op, RedirectOp::Write);
        assert_eq!(c.redirects[0].target.text, "/dev/sda");
        let bare = parse_line("> /dev/sdb").unwrap();
        assert_eq!(bare.commands[0].redirects[0].target.text, "/dev/sdb");
        let group = parse_line("{ echo x; } >> /dev/nvme0n1").unwrap();
        assert!(group
            .commands
            .iter()
            .any(|c| c.redirects.iter().any(|r| r.op == RedirectOp::Append)));
    }

    #[test]
    fn pipelines_record_their_upstream() {
        let script = parse_line("curl -fsSL https://x.sh | sudo bash").unwrap();
        let bash = script.commands.iter().find(|c| c.program() == Some("bash")).unwrap();
        assert_eq!(bash.upstream, ["curl"]);
        assert_eq!(bash.wrappers, ["sudo"]);
    }

    #[test]
    fn functions_run_when_called_and_fork_bombs_are_seen() {
        assert_eq!(programs("f() { rm -rf /; }"), Vec::<String>::new());
        assert_eq!(programs("f() { rm -rf /; }; f"), ["rm -rf /", "f"]);
        let bomb = parse_line(":(){ :|:& };:").unwrap();
        assert!(bomb.commands.iter().any(|c| c.fork_bomb), "{bomb:?}");
        let plain = parse_line("f() { f; }; f").unwrap();
        assert!(!plain.commands.iter().any(|c| c.fork_bomb));
    }

    #[test]
    fn unreadable_and_oversized_lines_are_errors() {
        assert!(matches!(parse_line("echo \"unterminated"), Err(ShellError::Syntax(_))));
        assert!(matches!(parse_line("if then fi ;;"), Err(ShellError::Syntax(_))));
        let long = "x".repeat(MAX_INPUT + 1);
        assert_eq!(parse_line(&long), Err(ShellError::TooLong(MAX_INPUT + 1)));
        let deep = format!("{}x{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(parse_line(&deep), Err(ShellError::TooDeep));
        let broken_inner = parse_line("bash -c 'echo \"oops'").unwrap();
        assert_eq!(broken_inner.problems.len(), 1);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut line = "reboot".to_owned();
        for _ in 0..(MAX_DEPTH + 3) {
            line = format!("echo $({line})");
        }
        let script = parse_line(&line).unwrap();
        assert!(!script.problems.is_empty());
        assert!(script.commands.iter().all(|c| c.depth <= MAX_DEPTH));
    }

    #[test]
    fn argv_is_one_command_with_wrappers_unwrapped() {
        let argv: Vec<String> = ["sudo", "-u", "root", "rm", "-rf", "/"].map(String::from).to_vec();
        let script = from_argv(&argv);
        assert_eq!(script.commands.len(), 1);
        assert_eq!(script.commands[0].display(), "rm -rf /");
        assert_eq!(script.commands[0].wrappers, ["sudo"]);
    }
}

//! Commands that run other commands: wrappers whose options are skipped to
//! reach the command they run (`sudo -u x`, `env -i A=1`, `xargs -0 -n1`,
//! `nohup`, `time -p`, `timeout 5s`, `nice -n 5`, `ionice -c3`, `stdbuf -oL`,
//! `command`, `exec`, `builtin`, `chroot DIR`, `setsid`, `watch -x`, `--`),
//! programs that run a string as code (`sh -c`, `bash -lc`, `eval`, `su -c`,
//! `ssh host cmd`, `watch cmd`, `env -S`), and the commands `find -exec`
//! runs. Pure functions over words.

use super::git_config;
use super::shell::Word;

/// At most this many wrappers are peeled off one command (more is recorded
/// as a problem, and the command is scanned word by word).
pub const MAX_WRAPPERS: usize = 16;

/// Shells that take `-c STRING` and read code from stdin otherwise.
pub const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "rbash", "fish"];

/// Code a command runs: fixed text to parse, or decided at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    Static(String),
    /// Held in a variable (`eval "$CMD"`): cannot be judged.
    Variable,
    /// Printed by command substitutions (`eval "$(tool init)"`), which are
    /// judged themselves.
    Substituted,
}

fn run_time_code(words: &[Word]) -> Code {
    if words.iter().any(|w| w.parameter) {
        Code::Variable
    } else {
        Code::Substituted
    }
}

/// A command with its wrappers peeled off.
#[derive(Debug, Default)]
pub struct Unwrapped {
    pub argv: Vec<Word>,
    /// Wrapper names, outermost first.
    pub wrappers: Vec<String>,
    /// `xargs` adds operands at run time.
    pub appended_args: bool,
    /// Commands run by `find -exec/-execdir/-ok/-okdir`.
    pub nested: Vec<Vec<Word>>,
    /// Code the command runs (`sh -c`, `eval`, ...).
    pub code: Option<Code>,
    /// More wrappers remained than [`MAX_WRAPPERS`].
    pub exhausted: bool,
}

/// How a wrapper's options are read.
struct Spec {
    /// Short options that take a value (`-u user`, `-uuser`).
    short_value: &'static str,
    /// Short options whose value may only be glued (`-i{}`): they end the cluster.
    short_glued: &'static str,
    /// Long options that take a value as the next word (`--user root`).
    long_value: &'static [&'static str],
    /// A lone `-` is an option (`env -`), not an operand.
    dash_option: bool,
}

const NO_OPTIONS: Spec = spec("", "", &[]);

/// The options read before the first operand, and where that operand is.
#[derive(Debug, Default)]
struct Options {
    /// (name, value): short names as one character, long names without dashes.
    seen: Vec<(String, Option<String>)>,
    /// Index of the first operand in the argv (may be `argv.len()`).
    operand: usize,
}

impl Options {
    fn has(&self, name: &str) -> bool {
        self.seen.iter().any(|(n, _)| n == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.seen
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Read options from `argv[1..]` until the first operand or `--`.
fn read_options(argv: &[Word], spec: &Spec) -> Options {
    let mut out = Options::default();
    let mut i = 1;
    while i < argv.len() {
        let text = argv[i].text.as_str();
        if text == "--" {
            out.operand = i + 1;
            return out;
        }
        if text == "-" && spec.dash_option {
            out.seen.push(("-".into(), None));
            i += 1;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            match long.split_once('=') {
                Some((name, value)) => out.seen.push((name.to_owned(), Some(value.to_owned()))),
                None if spec.long_value.contains(&long) => {
                    let value = argv.get(i + 1).map(|w| w.text.clone());
                    out.seen.push((long.to_owned(), value));
                    i += 1;
                }
                None => out.seen.push((long.to_owned(), None)),
            }
        } else if text.len() > 1 && text.starts_with('-') {
            i += read_cluster(&text[1..], argv.get(i + 1), spec, &mut out.seen);
        } else {
            break;
        }
        i += 1;
    }
    out.operand = i;
    out
}

/// One `-abc` cluster; returns how many following words it consumed.
fn read_cluster(cluster: &str, next: Option<&Word>, spec: &Spec, seen: &mut Vec<(String, Option<String>)>) -> usize {
    for (at, c) in cluster.char_indices() {
        let rest = &cluster[at + c.len_utf8()..];
        if spec.short_value.contains(c) {
            if rest.is_empty() {
                seen.push((c.to_string(), next.map(|w| w.text.clone())));
                return usize::from(next.is_some());
            }
            seen.push((c.to_string(), Some(rest.to_owned())));
            return 0;
        }
        if spec.short_glued.contains(c) {
            seen.push((c.to_string(), (!rest.is_empty()).then(|| rest.to_owned())));
            return 0;
        }
        seen.push((c.to_string(), None));
    }
    0
}

/// The basename of a static program word.
pub fn basename(word: &Word) -> Option<&str> {
    let base = super::shell::after_last_slash(word.static_text()?);
    (!base.is_empty()).then_some(base)
}

/// What peeling one wrapper found.
enum Step {
    /// The wrapped command starts at this index.
    Command { start: usize, appended: bool },
    /// The wrapper runs code instead of a command.
    Code(Code),
    /// Not a wrapper here (no command follows, or a lookup like `command -v`).
    Stop,
}

/// Peel wrappers off `argv` and find what it runs.
pub fn unwrap(mut argv: Vec<Word>) -> Unwrapped {
    let mut out = Unwrapped::default();
    for round in 0..=MAX_WRAPPERS {
        let Some(program) = argv.first().and_then(basename).map(str::to_owned) else {
            break;
        };
        let step = peel(&program, &argv);
        if round == MAX_WRAPPERS {
            out.exhausted = !matches!(step, Step::Stop);
            break;
        }
        match step {
            Step::Command { start, appended } if start < argv.len() => {
                out.wrappers.push(program);
                out.appended_args |= appended;
                argv.drain(..start);
            }
            Step::Code(code) => {
                out.code = Some(code);
                break;
            }
            _ => break,
        }
    }
    if out.code.is_none() {
        out.code = code_of(&argv);
    }
    if argv.first().and_then(basename) == Some("find") {
        out.nested = find_exec(&argv);
    }
    out.argv = argv;
    out
}

fn peel(program: &str, argv: &[Word]) -> Step {
    let command_at = |start: usize| Step::Command { start, appended: false };
    match program {
        "--" | "builtin" | "nohup" | "unbuffer" | "torsocks" => command_at(1),
        "pkexec" => command_at(read_options(argv, &spec("", "", &["user"])).operand),
        "proxychains" | "proxychains4" => command_at(read_options(argv, &spec("f", "", &[])).operand),
        "flock" => flock(argv),
        "parallel" | "sem" => parallel(argv),
        "busybox" if argv.len() > 1 && !argv[1].text.starts_with('-') => command_at(1),
        "sudo" => sudo(argv),
        "doas" => command_at(read_options(argv, &spec("uC", "", &[])).operand),
        "env" => env(argv),
        "xargs" => {
            let long = &[
                "arg-file",
                "delimiter",
                "max-args",
                "max-procs",
                "max-chars",
                "process-slot-var",
            ];
            // GNU and BSD options that take a value (`-J %`, `-R n`, `-S n` are BSD's).
            let o = read_options(argv, &spec("adEIJLnPRSs", "eil", long));
            Step::Command {
                start: o.operand,
                appended: true,
            }
        }
        "time" => command_at(read_options(argv, &spec("fo", "", &["format", "output"])).operand),
        "timeout" => command_at(read_options(argv, &spec("sk", "", &["signal", "kill-after"])).operand + 1),
        "nice" => command_at(read_options(argv, &spec("n", "", &["adjustment"])).operand),
        "ionice" => {
            let o = read_options(argv, &spec("cn", "", &["class", "classdata"]));
            if o.has("p") || o.has("P") || o.has("u") || o.has("pid") {
                Step::Stop
            } else {
                command_at(o.operand)
            }
        }
        "stdbuf" => command_at(read_options(argv, &spec("ioe", "", &["input", "output", "error"])).operand),
        "command" => {
            let o = read_options(argv, &NO_OPTIONS);
            if o.has("v") || o.has("V") {
                Step::Stop
            } else {
                command_at(o.operand)
            }
        }
        "exec" => command_at(read_options(argv, &spec("a", "", &[])).operand),
        "setsid" => command_at(read_options(argv, &NO_OPTIONS).operand),
        "chroot" => command_at(read_options(argv, &spec("", "", &["userspec", "groups"])).operand + 1),
        "watch" => watch(argv),
        _ => Step::Stop,
    }
}

const fn spec(short_value: &'static str, short_glued: &'static str, long_value: &'static [&'static str]) -> Spec {
    Spec {
        short_value,
        short_glued,
        long_value,
        dash_option: false,
    }
}

/// `flock [options] FILE COMMAND...`, `flock [options] FILE -c CODE`, `flock FD`.
fn flock(argv: &[Word]) -> Step {
    let long = &["timeout", "wait", "conflict-exit-code", "command"];
    let o = read_options(argv, &spec("wEc", "", long));
    if let Some(code) = o.value("c").or(o.value("command")) {
        return Step::Code(Code::Static(code.to_owned()));
    }
    let after = o.operand + 1;
    match argv.get(after).map(|w| w.text.as_str()) {
        Some("-c" | "--command") => argv.get(after + 1).map_or(Step::Stop, |w| Step::Code(single_code(w))),
        Some(_) => Step::Command {
            start: after,
            appended: false,
        },
        None => Step::Stop,
    }
}

/// GNU `parallel [options] COMMAND ::: ARGS`: each argument is put in the
/// command (at `{}`, or at the end) and the result run by a shell; without
/// `:::` the arguments come from stdin, like `xargs`.
fn parallel(argv: &[Word]) -> Step {
    let long = &[
        "jobs",
        "arg-file",
        "colsep",
        "delimiter",
        "sshlogin",
        "workdir",
        "timeout",
        "joblog",
        "results",
        "tmpdir",
        "retries",
        "delay",
        "memfree",
        "load",
    ];
    let o = read_options(argv, &spec("jaCdSEIinNLlPs", "", long));
    let rest = &argv[o.operand.min(argv.len())..];
    let split = rest.iter().position(|w| w.text.starts_with(":::"));
    let (command, inputs) = match split {
        Some(at) => (&rest[..at], &rest[at..]),
        None => {
            return Step::Command {
                start: o.operand,
                appended: true,
            }
        }
    };
    if command.is_empty() {
        return Step::Stop;
    }
    let args: Vec<&str> = inputs
        .iter()
        .filter(|w| !w.text.starts_with(":::"))
        .map(|w| w.text.as_str())
        .collect();
    let template: Vec<&str> = command.iter().map(|w| w.text.as_str()).collect();
    let template = template.join(" ");
    let runs: Vec<String> = args
        .iter()
        .map(|a| {
            if template.contains("{}") {
                template.replace("{}", a)
            } else {
                format!("{template} {a}")
            }
        })
        .collect();
    Step::Code(Code::Static(runs.join("\n")))
}

fn sudo(argv: &[Word]) -> Step {
    let long = &[
        "user",
        "group",
        "prompt",
        "close-from",
        "host",
        "chdir",
        "role",
        "type",
        "other-user",
        "command-timeout",
        "chroot",
    ];
    let o = read_options(argv, &spec("ugpChDrtUTR", "", long));
    // sudoedit, list and validate modes run no command.
    if o.has("e") || o.has("edit") || o.has("l") || o.has("list") || o.has("v") || o.has("validate") {
        return Step::Stop;
    }
    Step::Command {
        start: o.operand,
        appended: false,
    }
}

fn env(argv: &[Word]) -> Step {
    let spec = Spec {
        dash_option: true,
        ..spec("uCSP", "", &["unset", "chdir", "split-string"])
    };
    let o = read_options(argv, &spec);
    let mut start = o.operand;
    while argv.get(start).is_some_and(is_assignment) {
        start += 1;
    }
    if let Some(split) = o.value("S").or(o.value("split-string")) {
        let mut code = split.to_owned();
        for w in argv.iter().skip(start) {
            code.push(' ');
            code.push_str(&w.text);
        }
        return Step::Code(Code::Static(code));
    }
    Step::Command { start, appended: false }
}

fn watch(argv: &[Word]) -> Step {
    let o = read_options(argv, &spec("nq", "d", &["interval"]));
    if o.operand >= argv.len() {
        return Step::Stop;
    }
    if o.has("x") || o.has("exec") {
        return Step::Command {
            start: o.operand,
            appended: false,
        };
    }
    Step::Code(joined_code(&argv[o.operand..]))
}

/// `NAME=value`, as `env` reads it.
fn is_assignment(word: &Word) -> bool {
    match word.text.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// Words joined into code, the way `eval` and `ssh` join them.
fn joined_code(words: &[Word]) -> Code {
    if words.iter().all(|w| w.only_expansion) {
        return run_time_code(words);
    }
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    Code::Static(texts.join(" "))
}

fn single_code(word: &Word) -> Code {
    if word.only_expansion {
        run_time_code(std::slice::from_ref(word))
    } else {
        Code::Static(word.text.clone())
    }
}

/// Code run by a shell, `eval`, `su -c` or `ssh`, when there is any.
fn code_of(argv: &[Word]) -> Option<Code> {
    let program = argv.first().and_then(basename)?;
    match program {
        p if SHELLS.contains(&p) => {
            let (code_mode, operand) = shell_options(argv);
            if code_mode {
                return argv.get(operand).map(single_code);
            }
            None
        }
        "eval" => (argv.len() > 1).then(|| joined_code(&argv[1..])),
        // `trap CODE SIGNAL...` runs CODE later, when the signal comes.
        "trap" => argv
            .get(1)
            .filter(|w| argv.len() > 2 && !w.text.starts_with('-'))
            .map(single_code),
        "su" => su_code(argv),
        "git" => git_config::code(argv).map(Code::Static),
        "ssh" => {
            let o = read_options(argv, &spec("BbcDEeFIiJLlmOopQRSWw", "", &[]));
            let remote = argv.get(o.operand + 1..).filter(|rest| !rest.is_empty())?;
            Some(joined_code(remote))
        }
        _ => None,
    }
}

/// `su [options] [-] [user] -c CMD`: options may follow the user.
fn su_code(argv: &[Word]) -> Option<Code> {
    let mut words = argv.iter().skip(1);
    while let Some(w) = words.next() {
        let t = w.text.as_str();
        if let Some(cmd) = t.strip_prefix("--command=") {
            return Some(Code::Static(cmd.to_owned()));
        }
        let takes_command =
            t == "--command" || (t.len() > 1 && !t.starts_with("--") && t.starts_with('-') && t.ends_with('c'));
        if takes_command {
            return words.next().map(single_code);
        }
    }
    None
}

/// A shell's options: whether `-c` is among them, and where its first operand is.
fn shell_options(argv: &[Word]) -> (bool, usize) {
    let mut code_mode = false;
    let mut i = 1;
    while i < argv.len() {
        let text = argv[i].text.as_str();
        match text {
            "--" => return (code_mode, i + 1),
            "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file" => i += 1,
            "--command" => return (true, i + 1),
            _ if text.starts_with("--") => {}
            _ if text.len() > 1 && (text.starts_with('-') || text.starts_with('+')) => {
                code_mode |= text.starts_with('-') && text.contains('c');
            }
            _ => break,
        }
        i += 1;
    }
    (code_mode, i)
}

/// Does this shell invocation read its code from stdin (`sh`, `bash -s`, `bash -`)?
pub fn reads_code_from_stdin(program: &str, args: &[Word]) -> bool {
    if !SHELLS.contains(&program) {
        return false;
    }
    let mut argv = vec![Word::literal(program)];
    argv.extend(args.iter().cloned());
    let (code_mode, operand) = shell_options(&argv);
    let stdin_flag = args.iter().any(|w| {
        let t = w.text.as_str();
        t == "-" || (t.starts_with('-') && !t.starts_with("--") && t.contains('s'))
    });
    !code_mode && (operand >= argv.len() || stdin_flag)
}

/// The commands `find -exec/-execdir/-ok/-okdir ... ;|+` runs.
fn find_exec(argv: &[Word]) -> Vec<Vec<Word>> {
    let mut out = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        if matches!(argv[i].text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let mut command = Vec::new();
            i += 1;
            while i < argv.len() && !matches!(argv[i].text.as_str(), ";" | "+") {
                command.push(argv[i].clone());
                i += 1;
            }
            if !command.is_empty() {
                out.push(command);
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Word> {
        line.split_whitespace().map(Word::literal).collect()
    }

    fn peeled(line: &str) -> (String, Vec<String>) {
        let u = unwrap(words(line));
        let argv: Vec<&str> = u.argv.iter().map(|w| w.text.as_str()).collect();
        (argv.join(" "), u.wrappers)
    }

    #[test]
    fn wrappers_are_peeled_with_their_options() {
        let cases = [
            ("sudo -u root -E rm -rf /", "rm -rf /", vec!["sudo"]),
            ("sudo -- rm x", "rm x", vec!["sudo"]),
            ("sudo --user=root --preserve-env ls", "ls", vec!["sudo"]),
            ("doas -u root reboot", "reboot", vec!["doas"]),
            ("env -i -u PATH A=1 B=2 git push", "git push", vec!["env"]),
            ("env --chdir /tmp -- make", "make", vec!["env"]),
            ("xargs -0 -n1 -I{} rm {}", "rm {}", vec!["xargs"]),
            ("xargs --max-args 2 -P 4 rm", "rm", vec!["xargs"]),
            ("nohup make &", "make &", vec!["nohup"]),
            ("time -p cargo test", "cargo test", vec!["time"]),
            ("timeout -s KILL 5s git push", "git push", vec!["timeout"]),
            ("timeout --kill-after=1 10 rm -r x", "rm -r x", vec!["timeout"]),
            (
                "nice -n 10 ionice -c3 dd of=/dev/sda",
                "dd of=/dev/sda",
                vec!["nice", "ionice"],
            ),
            ("nice -10 make", "make", vec!["nice"]),
            ("stdbuf -oL -e0 tail -f x", "tail -f x", vec!["stdbuf"]),
            ("command -p rm x", "rm x", vec!["command"]),
            ("exec -a name make", "make", vec!["exec"]),
            ("builtin cd /", "cd /", vec!["builtin"]),
            ("chroot /mnt rm -rf /", "rm -rf /", vec!["chroot"]),
            ("watch -x -n 1 ls", "ls", vec!["watch"]),
            ("-- rm -rf /", "rm -rf /", vec!["--"]),
            (
                "sudo nohup nice -n 5 timeout 1m rm -rf ~",
                "rm -rf ~",
                vec!["sudo", "nohup", "nice", "timeout"],
            ),
        ];
        for (line, want, wrappers) in cases {
            let (argv, got) = peeled(line);
            assert_eq!(argv, want, "{line}");
            assert_eq!(got, wrappers, "{line}");
        }
    }

    #[test]
    fn lookups_and_bare_wrappers_are_left_alone() {
        assert_eq!(peeled("command -v rm").0, "command -v rm");
        assert_eq!(peeled("sudo -l").0, "sudo -l");
        assert_eq!(peeled("sudo -e /etc/hosts").0, "sudo -e /etc/hosts");
        assert_eq!(peeled("ionice -p 42").0, "ionice -p 42");
        assert_eq!(peeled("env").0, "env");
        assert_eq!(peeled("xargs").0, "xargs");
    }

    #[test]
    fn xargs_appends_operands() {
        assert!(unwrap(words("xargs rm -rf")).appended_args);
        assert!(!unwrap(words("sudo rm -rf x")).appended_args);
    }

    #[test]
    fn code_is_found_in_shells_eval_su_ssh_watch_and_env_s() {
        let code = |line: &str, argv: Vec<Word>| (line.to_owned(), unwrap(argv).code);
        let w = Word::literal;
        let cases = [
            code("bash -c", vec![w("bash"), w("-c"), w("rm -rf /")]),
            code("sh -ec", vec![w("sh"), w("-ec"), w("rm -rf /")]),
            code(
                "bash -o pipefail -c",
                vec![w("bash"), w("-o"), w("pipefail"), w("-c"), w("rm -rf /")],
            ),
            code("eval", vec![w("eval"), w("rm"), w("-rf"), w("/")]),
            code("su -c", vec![w("su"), w("-"), w("root"), w("-c"), w("rm -rf /")]),
            code(
                "ssh",
                vec![w("ssh"), w("-p"), w("22"), w("host"), w("rm"), w("-rf"), w("/")],
            ),
            code("watch", vec![w("watch"), w("-n"), w("1"), w("rm -rf /")]),
            code("env -S", vec![w("env"), w("-S"), w("rm -rf"), w("/")]),
            code("trap", vec![w("trap"), w("rm -rf /"), w("EXIT")]),
            code("sudo bash -c", vec![w("sudo"), w("bash"), w("-c"), w("rm -rf /")]),
        ];
        for (line, got) in cases {
            assert_eq!(got, Some(Code::Static("rm -rf /".into())), "{line}");
        }
        let variable = Word {
            text: "$CMD".into(),
            dynamic: true,
            only_expansion: true,
            parameter: true,
            ..Word::default()
        };
        let printed = Word {
            text: "$(tool init)".into(),
            dynamic: true,
            only_expansion: true,
            ..Word::default()
        };
        assert_eq!(unwrap(vec![w("eval"), variable.clone()]).code, Some(Code::Variable));
        assert_eq!(unwrap(vec![w("sh"), w("-c"), variable]).code, Some(Code::Variable));
        assert_eq!(unwrap(vec![w("eval"), printed]).code, Some(Code::Substituted));
        assert_eq!(unwrap(words("bash script.sh")).code, None);
        assert_eq!(unwrap(words("ssh host")).code, None);
        assert_eq!(unwrap(words("trap -p")).code, None);
        assert_eq!(unwrap(words("trap - EXIT")).code, None);
    }

    #[test]
    fn stdin_code_is_read_only_without_a_script() {
        assert!(reads_code_from_stdin("sh", &[]));
        assert!(reads_code_from_stdin("bash", &words("-s -- arg")));
        assert!(reads_code_from_stdin("bash", &words("-")));
        assert!(reads_code_from_stdin("bash", &words("-x")));
        assert!(!reads_code_from_stdin("bash", &words("script.sh")));
        assert!(!reads_code_from_stdin("bash", &words("-c ls")));
        assert!(!reads_code_from_stdin("python", &[]));
    }

    #[test]
    fn find_exec_commands_are_extracted() {
        let u = unwrap(words("find . -name *.o -exec rm -f {} ; -execdir chmod 600 {} +"));
        let nested: Vec<String> = u
            .nested
            .iter()
            .map(|c| c.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(nested, ["rm -f {}", "chmod 600 {}"]);
    }
}

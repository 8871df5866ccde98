//! Facts about one simple command that the walk needs besides its words:
//! the fixed text it prints (for a `| sh` after it), whether it runs its
//! input as code, and where a `cd` moves the shell.

use super::interp;
use super::shell::{Command, Word};
use super::wrappers;

/// Does this command run its input as code (a shell or `source` reading
/// stdin or a process substitution, an interpreter reading `-`)? `Some(None)`
/// for shell code, `Some(Some(lang))` for an interpreter's.
pub fn input_reader(command: &Command, process_substitution: bool) -> Option<Option<interp::Lang>> {
    let program = command.program()?;
    let args = command.args();
    if wrappers::reads_code_from_stdin(program, args) {
        return Some(None);
    }
    if matches!(program, "source" | ".") {
        let from_input = match args.first() {
            None => process_substitution,
            Some(w) => matches!(w.text.as_str(), "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0" | "-"),
        };
        return from_input.then_some(None);
    }
    interp::reads_input(&command.argv).map(Some)
}

/// Where a `cd`, `pushd` or `popd` moves the shell (`-`: somewhere unknown).
pub fn cd_target(command: &Command) -> Option<Word> {
    let program = command.program()?;
    if !matches!(program, "cd" | "pushd" | "popd") {
        return None;
    }
    let operand = command
        .args()
        .iter()
        .find(|w| !w.text.starts_with('-') || w.text == "-");
    Some(match (program, operand) {
        ("popd", _) => Word::literal("-"),
        (_, Some(w)) => w.clone(),
        (_, None) => Word {
            text: "~".into(),
            tilde: true,
            ..Word::default()
        },
    })
}

/// What a command prints, when that is fixed text (`echo`, `printf`, `cat <<EOF`).
pub fn printed_text(argv: &[Word], stdin_text: Option<&str>) -> Option<String> {
    let first = argv.first()?.static_text()?;
    let program = super::shell::after_last_slash(first);
    let args = &argv[1..];
    match program {
        "echo" | "printf" => {
            let words: Vec<&str> = args
                .iter()
                .filter(|w| !(program == "echo" && matches!(w.text.as_str(), "-n" | "-e" | "-E")))
                .map(|w| w.text.as_str())
                .collect();
            Some(words.join(" "))
        }
        "cat" if args.is_empty() => stdin_text.map(str::to_owned),
        _ => None,
    }
}

//! Interpreters' inline code: `python3 -c`, `perl -e/-E`, `ruby -e`,
//! `node -e/--eval/-p`, `php -r`, `lua -e`, an `awk` program, a `sed`
//! script, and the same code read from stdin (`python3 - <<EOF`): which
//! command lines carry code, and in which language. What the code does is
//! [`super::calls`]'s. The code
//! is not run or fully parsed: each language's calls that run a shell
//! string (`os.system`, `subprocess.*`, `system`, backticks,
//! `child_process.exec*`, awk's `system()`, sed's `e`), spawn an argv
//! (`subprocess.run([...])`, `spawn("rm", [...])`, `os.exec*`) or delete
//! files (`shutil.rmtree`, `os.remove`, `FileUtils.rm_rf`, `fs.rmSync`,
//! `unlink glob`) are found by name, and their literal arguments become
//! what the walk judges with the same rules: shell code, or an argv such as
//! `rm -r <path>`. An argument built at run time is [`Effect::Dynamic`]
//! (medium). Code with none of those calls yields nothing: low.
//!
//! Pure and linear in the code's length; no regular expressions (they
//! would be compiled on every process start of the guard).

use super::shell::Word;
use super::wrappers::{basename, Code};

pub use super::calls::effects;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Python,
    Perl,
    Ruby,
    Node,
    Php,
    Lua,
    Awk,
    Sed,
}

/// What a piece of code does that the guard judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Runs this text as shell code.
    Shell(String),
    /// Runs this argv (a spawn, or a delete as `rm [-r] PATH`).
    Argv(Vec<Word>),
    /// Runs a command or code built at run time.
    Dynamic,
}

fn lang_of(program: &str) -> Option<Lang> {
    let stem = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match stem {
        "python" | "pypy" => Lang::Python,
        "perl" => Lang::Perl,
        "ruby" => Lang::Ruby,
        "node" | "nodejs" | "bun" | "deno" => Lang::Node,
        "php" => Lang::Php,
        "lua" | "luajit" => Lang::Lua,
        "awk" | "gawk" | "mawk" | "nawk" => Lang::Awk,
        "sed" | "gsed" => Lang::Sed,
        _ => return None,
    })
}

fn code_word(word: &Word) -> Code {
    if word.only_expansion {
        if word.parameter {
            Code::Variable
        } else {
            Code::Substituted
        }
    } else {
        Code::Static(word.text.clone())
    }
}

/// The inline code of an interpreter's command line, if it has any.
pub fn inline(argv: &[Word]) -> Option<(Lang, Code)> {
    let lang = lang_of(argv.first().and_then(basename)?)?;
    let args = &argv[1..];
    let codes = match lang {
        Lang::Python => flag_code(args, "c", "WXQ", "WXQ", "m"),
        // `-l` and `-0` take only digits, so `-lne` is `-l -n -e`.
        Lang::Perl => flag_code(args, "eE", "IMmixdDC", "", ""),
        Lang::Ruby => flag_code(args, "e", "IrCEFKTWxi", "Ir", ""),
        Lang::Php => flag_code(args, "r", "cdz", "cdz", ""),
        Lang::Lua => flag_code(args, "e", "l", "l", ""),
        Lang::Node => node_code(argv, args),
        Lang::Awk => program_operand(args, "Fv", "f", &["-e", "--source"]),
        Lang::Sed => program_operand(args, "l", "f", &["-e", "--expression"]),
    }?;
    let mut texts = Vec::new();
    for w in &codes {
        match code_word(w) {
            Code::Static(t) => texts.push(t),
            other => return Some((lang, other)),
        }
    }
    Some((lang, Code::Static(texts.join("\n"))))
}

/// The rest of a word after a glued flag (`-eCODE`, `--eval=CODE`).
fn glued_rest(word: &Word, rest: &str) -> Word {
    Word {
        text: rest.to_owned(),
        ..word.clone()
    }
}

/// Code given with a flag (`-c CODE`, `-eCODE`, `-ne CODE`): `code` are the
/// flag letters, `glued` letters take a value (ending the cluster), of which
/// `valued` take the next word when nothing is glued; `stop` letters mean
/// no inline code (`python -m`).
fn flag_code(args: &[Word], code: &str, glued: &str, valued: &str, stop: &str) -> Option<Vec<Word>> {
    let mut found: Vec<Word> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" || t == "-" || !t.starts_with('-') || t.starts_with("--") {
            if t.starts_with("--") && t != "--" {
                i += 1;
                continue;
            }
            break;
        }
        let cluster = &t[1..];
        let mut next = i + 1;
        for (at, c) in cluster.char_indices() {
            let rest = &cluster[at + c.len_utf8()..];
            if stop.contains(c) {
                return None;
            }
            if code.contains(c) {
                if rest.is_empty() {
                    if let Some(w) = args.get(i + 1) {
                        found.push(w.clone());
                        next = i + 2;
                    }
                } else {
                    found.push(glued_rest(&args[i], rest));
                }
                break;
            }
            if glued.contains(c) {
                if rest.is_empty() && valued.contains(c) {
                    next = i + 2;
                }
                break;
            }
        }
        i = next;
    }
    (!found.is_empty()).then_some(found)
}

fn node_code(argv: &[Word], args: &[Word]) -> Option<Vec<Word>> {
    if argv.first().and_then(basename) == Some("deno") {
        return (args.first()?.text == "eval")
            .then(|| args.get(1))
            .flatten()
            .map(|w| vec![w.clone()]);
    }
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if matches!(t, "-e" | "--eval" | "-p" | "--print" | "-pe") {
            return args.get(i + 1).map(|w| vec![w.clone()]);
        }
        if let Some(rest) = t.strip_prefix("--eval=").or_else(|| t.strip_prefix("--print=")) {
            return Some(vec![glued_rest(&args[i], rest)]);
        }
        if !t.starts_with('-') {
            return None;
        }
        i += 1;
    }
    None
}

/// awk and sed: the program is given with `-e`/`--source` or is the first
/// operand, unless it comes from a file (`-f`).
fn program_operand(args: &[Word], valued: &str, file: &str, code_flags: &[&str]) -> Option<Vec<Word>> {
    let mut found: Vec<Word> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if code_flags.contains(&t) {
            found.extend(args.get(i + 1).cloned());
            i += 2;
            continue;
        }
        let glued = code_flags.iter().find_map(|f| {
            t.strip_prefix(f)
                .filter(|r| !r.is_empty())
                .map(|r| r.strip_prefix('=').unwrap_or(r))
        });
        if let Some(rest) = glued {
            found.push(glued_rest(&args[i], rest));
            i += 1;
            continue;
        }
        if t == "--" {
            i += 1;
            break;
        }
        if t.len() > 1 && t.starts_with('-') && !t.starts_with("--") {
            let c = t[1..].chars().next().unwrap_or(' ');
            if file.contains(c) {
                return (!found.is_empty()).then_some(found);
            }
            if valued.contains(c) && t.len() == 2 {
                i += 1;
            }
            i += 1;
            continue;
        }
        if t.starts_with("--") {
            i += 1;
            continue;
        }
        break;
    }
    if found.is_empty() {
        found.extend(args.get(i).cloned());
    }
    (!found.is_empty()).then_some(found)
}

/// An interpreter reading its program from stdin or a process
/// substitution: no inline code and no script (or the script `-`).
pub fn reads_input(argv: &[Word]) -> Option<Lang> {
    let lang = lang_of(argv.first().and_then(basename)?)?;
    if matches!(lang, Lang::Awk | Lang::Sed) {
        return None;
    }
    let args = &argv[1..];
    if args
        .iter()
        .any(|w| matches!(w.text.as_str(), "-m" | "-V" | "--version" | "-h" | "--help" | "-v"))
    {
        return None;
    }
    let operand = args.iter().find(|w| !w.text.starts_with('-') || w.text == "-");
    match operand {
        None => Some(lang),
        Some(w) => (w.text == "-").then_some(lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &[&str]) -> Vec<Word> {
        line.iter().map(|t| Word::literal(*t)).collect()
    }

    #[test]
    fn inline_code_is_found_per_interpreter() {
        let cases: &[(&[&str], &str)] = &[
            (&["python3", "-c", "print(1)"], "print(1)"),
            (&["python3.12", "-u", "-c", "x"], "x"),
            (&["perl", "-ne", "print"], "print"),
            (&["perl", "-lne", "print"], "print"),
            (&["perl", "-pi.bak", "-e", "s/a/b/"], "s/a/b/"),
            (&["ruby", "-lne", "puts"], "puts"),
            (&["perl", "-e", "a", "-E", "b"], "a\nb"),
            (&["ruby", "-rfileutils", "-e", "x"], "x"),
            (&["node", "--eval", "x"], "x"),
            (&["node", "-p", "x"], "x"),
            (&["php", "-r", "x"], "x"),
            (&["lua", "-e", "x"], "x"),
            (&["awk", "-F:", "{print}", "f"], "{print}"),
            (&["awk", "-v", "a=1", "BEGIN{}"], "BEGIN{}"),
            (&["sed", "-n", "-e", "p", "f"], "p"),
            (&["sed", "s/a/b/", "f"], "s/a/b/"),
            (&["deno", "eval", "x"], "x"),
        ];
        for (line, want) in cases {
            let got = inline(&argv(line));
            assert_eq!(got.map(|(_, c)| c), Some(Code::Static((*want).into())), "{line:?}");
        }
        for line in [
            &["python3", "script.py", "-c", "x"][..],
            &["python3", "-m", "pytest"],
            &["awk", "-f", "prog.awk"],
            &["node", "app.js"],
        ] {
            assert_eq!(inline(&argv(line)), None, "{line:?}");
        }
    }

    #[test]
    fn stdin_programs_are_seen() {
        assert_eq!(reads_input(&argv(&["python3", "-"])), Some(Lang::Python));
        assert_eq!(reads_input(&argv(&["perl"])), Some(Lang::Perl));
        assert_eq!(reads_input(&argv(&["python3", "x.py"])), None);
        assert_eq!(reads_input(&argv(&["awk", "{print}"])), None);
        assert_eq!(reads_input(&argv(&["python3", "--version"])), None);
    }
}

//! What inline code runs or deletes (see [`super::interp`] for where the
//! code comes from): each language's calls that run a shell string, spawn an
//! argv or delete files, found by name, with their literal arguments read
//! by a small argument parser (strings, lists, and anything else as "built
//! at run time"); awk's pipes, Perl/Ruby/PHP backticks and sed's `e`.
//! Pure and linear in the code's length; no regular expressions.

use super::call_args::{call_args, Arg};
use super::interp::{Effect, Lang};
use super::shell::Word;

/// At most this many effects are taken from one piece of code.
const MAX_EFFECTS: usize = 256;

/// How a named call is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One string is shell code; several strings or a list are an argv.
    Shell,
    /// `exec*`/`spawn*`: the argv is the list, or the strings after the first.
    Exec,
    /// `spawn(program, [args])`.
    Spawn,
    /// Deletes its first argument; `true`: recursively.
    Delete(bool),
    /// Deletes recursively when the call says `recursive`.
    DeleteOption,
}

fn calls(lang: Lang) -> &'static [(&'static str, Kind)] {
    use Kind::*;
    match lang {
        Lang::Python => &[
            ("os.system", Shell),
            ("os.popen", Shell),
            ("subprocess.run", Shell),
            ("subprocess.call", Shell),
            ("subprocess.check_call", Shell),
            ("subprocess.check_output", Shell),
            ("subprocess.Popen", Shell),
            ("subprocess.getoutput", Shell),
            ("subprocess.getstatusoutput", Shell),
            ("check_output", Shell),
            ("check_call", Shell),
            ("Popen", Shell),
            ("getoutput", Shell),
            ("system", Shell),
            ("pty.spawn", Shell),
            ("os.execv", Exec),
            ("os.execve", Exec),
            ("os.execvp", Exec),
            ("os.execvpe", Exec),
            ("os.execl", Exec),
            ("os.execle", Exec),
            ("os.execlp", Exec),
            ("os.execlpe", Exec),
            ("os.spawnv", Exec),
            ("os.spawnvp", Exec),
            ("os.spawnl", Exec),
            ("os.spawnlp", Exec),
            ("shutil.rmtree", Delete(true)),
            ("rmtree", Delete(true)),
            ("os.remove", Delete(false)),
            ("os.unlink", Delete(false)),
            ("os.rmdir", Delete(false)),
            ("os.removedirs", Delete(false)),
        ],
        Lang::Perl => &[
            ("system", Shell),
            ("exec", Shell),
            ("rmtree", Delete(true)),
            ("remove_tree", Delete(true)),
            ("unlink", Delete(false)),
        ],
        Lang::Ruby => &[
            ("system", Shell),
            ("exec", Shell),
            ("spawn", Shell),
            ("IO.popen", Shell),
            ("Open3.capture2", Shell),
            ("Open3.capture2e", Shell),
            ("Open3.capture3", Shell),
            ("Open3.popen2", Shell),
            ("Open3.popen3", Shell),
            ("FileUtils.rm_rf", Delete(true)),
            ("FileUtils.rm_r", Delete(true)),
            ("FileUtils.rmtree", Delete(true)),
            ("FileUtils.remove_dir", Delete(true)),
            ("FileUtils.remove_entry", Delete(true)),
            ("FileUtils.remove_entry_secure", Delete(true)),
            ("rm_rf", Delete(true)),
            ("rm_r", Delete(true)),
            ("FileUtils.rm", Delete(false)),
            ("FileUtils.rm_f", Delete(false)),
            ("File.delete", Delete(false)),
            ("File.unlink", Delete(false)),
        ],
        Lang::Node => &[
            ("execSync", Shell),
            ("exec", Shell),
            ("spawn", Spawn),
            ("spawnSync", Spawn),
            ("execFile", Spawn),
            ("execFileSync", Spawn),
            ("rmSync", DeleteOption),
            ("rmdirSync", DeleteOption),
            ("fs.rm", DeleteOption),
            ("fs.rmdir", DeleteOption),
            ("promises.rm", DeleteOption),
            ("fsPromises.rm", DeleteOption),
            ("rimraf", Delete(true)),
            ("rimraf.sync", Delete(true)),
            ("removeSync", Delete(true)),
            ("fse.remove", Delete(true)),
            ("unlinkSync", Delete(false)),
            ("fs.unlink", Delete(false)),
        ],
        Lang::Php => &[
            ("system", Shell),
            ("exec", Shell),
            ("shell_exec", Shell),
            ("passthru", Shell),
            ("popen", Shell),
            ("proc_open", Shell),
            ("pcntl_exec", Spawn),
            ("unlink", Delete(false)),
            ("rmdir", Delete(false)),
        ],
        Lang::Lua => &[("os.execute", Shell), ("io.popen", Shell), ("os.remove", Delete(false))],
        Lang::Awk => &[("system", Shell)],
        Lang::Sed => &[],
    }
}

/// What `code` in `lang` runs or deletes.
pub fn effects(lang: Lang, code: &str) -> Vec<Effect> {
    let mut out = Vec::new();
    if lang == Lang::Sed {
        sed_effects(code, &mut out);
        out.truncate(MAX_EFFECTS);
        return out;
    }
    let mut seen: Vec<(usize, usize)> = Vec::new();
    let js_spawns = spawns(code);
    // Longest names first, so `subprocess.run` is read once, not also as `run`.
    let mut table: Vec<&(&str, Kind)> = calls(lang).iter().collect();
    table.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, kind) in table {
        for (at, _) in code.match_indices(name) {
            let end = at + name.len();
            if seen.iter().any(|&(s, e)| at >= s && end <= e) || !call_boundary(code, at, end, name) {
                continue;
            }
            let Some(args) = call_args(lang, code, end) else {
                continue;
            };
            seen.push((at, end));
            apply(lang, *kind, &args, &code[end..], js_spawns, &mut out);
            if out.len() >= MAX_EFFECTS {
                return out;
            }
        }
    }
    if matches!(lang, Lang::Perl | Lang::Ruby | Lang::Php) {
        for text in backticks(code) {
            out.push(Effect::Shell(shell_text(lang, &text)));
        }
    }
    if lang == Lang::Awk {
        awk_pipes(code, &mut out);
    }
    out.truncate(MAX_EFFECTS);
    out
}

/// A name found at `at..end` is the called function: not part of a longer
/// identifier, and (for names without a module) not a method of something else.
fn call_boundary(code: &str, at: usize, end: usize, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let before = code[..at].chars().next_back();
    let after = code[end..].chars().next();
    if after.is_some_and(ident) || before.is_some_and(ident) {
        return false;
    }
    // `platform.system()` is not `system()`; `cp.exec(...)` and `fs.rmSync` are fine.
    let method_ok = name.contains('.') || name.ends_with("Sync") || matches!(name, "exec" | "spawn" | "remove_tree");
    method_ok || before != Some('.')
}

/// A dynamic word: a value decided at run time.
fn dynamic_word() -> Word {
    Word {
        text: "$VALUE".into(),
        dynamic: true,
        only_expansion: true,
        parameter: true,
        ..Word::default()
    }
}

fn literal_word(text: &str) -> Word {
    Word {
        glob: text.contains(['*', '?', '[']),
        ..Word::literal(text)
    }
}

fn arg_word(arg: &Arg) -> Word {
    match arg {
        Arg::Str(text, false) => literal_word(text),
        _ => dynamic_word(),
    }
}

/// A shell string from code: its interpolations read as a shell variable
/// (`#{dir}`, `{dir}` in an f-string become `$VALUE`).
fn shell_text(lang: Lang, text: &str) -> String {
    let marker = match lang {
        Lang::Ruby => "#{",
        Lang::Python => "{",
        _ => return text.to_owned(),
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at]);
        match rest[at..].find('}') {
            Some(end) => {
                out.push_str("$VALUE");
                rest = &rest[at + end + 1..];
            }
            None => {
                rest = &rest[at..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

fn strings(args: &[Arg]) -> Vec<Word> {
    args.iter().map(arg_word).collect()
}

fn apply(lang: Lang, kind: Kind, args: &[Arg], after: &str, js_spawns: bool, out: &mut Vec<Effect>) {
    let first = args.first();
    match kind {
        Kind::Shell => match first {
            Some(Arg::Str(text, built)) => {
                let more_strings = args.iter().skip(1).filter(|a| matches!(a, Arg::Str(..))).count();
                if more_strings > 0 && matches!(lang, Lang::Perl | Lang::Ruby) {
                    out.push(Effect::Argv(strings(args)));
                } else {
                    let mut text = shell_text(lang, text);
                    if *built && !text.contains('$') {
                        text.push_str(" $VALUE");
                    }
                    out.push(Effect::Shell(text));
                }
            }
            Some(Arg::List(items)) => out.push(Effect::Argv(strings(items))),
            // A command built at run time (in JavaScript, `exec` may be a regex's).
            Some(Arg::Other) if lang != Lang::Node || js_spawns => out.push(Effect::Dynamic),
            Some(Arg::Other) => {}
            None => {}
        },
        Kind::Exec => {
            if let Some(Arg::List(items)) = args.iter().find(|a| matches!(a, Arg::List(_))) {
                out.push(Effect::Argv(strings(items)));
                return;
            }
            let words: Vec<Word> = args
                .iter()
                .filter(|a| !matches!(a, Arg::Other))
                .skip(1)
                .map(arg_word)
                .collect();
            if words.is_empty() {
                out.push(Effect::Dynamic);
            } else {
                out.push(Effect::Argv(words));
            }
        }
        Kind::Spawn => match (first, args.get(1)) {
            (Some(Arg::Str(program, false)), Some(Arg::List(items))) => {
                let mut argv = vec![literal_word(program)];
                argv.extend(strings(items));
                out.push(Effect::Argv(argv));
            }
            (Some(Arg::Str(text, _)), _) => out.push(Effect::Shell(shell_text(lang, text))),
            (Some(Arg::List(items)), _) => out.push(Effect::Argv(strings(items))),
            _ => out.push(Effect::Dynamic),
        },
        Kind::Delete(recursive) => delete(first, recursive, out),
        Kind::DeleteOption => {
            let call = &after[..after.find(')').unwrap_or(after.len())];
            delete(first, call.contains("recursive"), out);
        }
    }
}

/// Whether JavaScript code uses `child_process` (so `exec(x)` spawns).
fn spawns(code: &str) -> bool {
    code.contains("child_process") || code.contains("execSync")
}

fn delete(target: Option<&Arg>, recursive: bool, out: &mut Vec<Effect>) {
    let Some(target) = target else {
        return;
    };
    let mut argv = vec![Word::literal("rm")];
    if recursive {
        argv.push(Word::literal("-r"));
    }
    match target {
        Arg::List(items) => argv.extend(strings(items)),
        other => argv.push(arg_word(other)),
    }
    out.push(Effect::Argv(argv));
}

/// Perl, Ruby and PHP backticks, and `qx{...}`/`%x{...}`.
fn backticks(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find('`') {
        let after = &rest[at + 1..];
        let Some(end) = after.find('`') else {
            break;
        };
        out.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    for opener in ["qx", "%x"] {
        for (at, _) in code.match_indices(opener) {
            let after = &code[at + 2..];
            let Some(open) = after.chars().next() else {
                continue;
            };
            let close = match open {
                '{' => '}',
                '(' => ')',
                '[' => ']',
                '<' => '>',
                c if c.is_ascii_punctuation() => c,
                _ => continue,
            };
            if let Some(end) = after[1..].find(close) {
                out.push(after[1..1 + end].to_owned());
            }
        }
    }
    out
}

/// awk's `"cmd" | getline` and `print ... | "cmd"`.
fn awk_pipes(code: &str, out: &mut Vec<Effect>) {
    let bytes = code.as_bytes();
    for (at, _) in code.match_indices('|') {
        if bytes.get(at + 1) == Some(&b'|') || (at > 0 && bytes[at - 1] == b'|') {
            continue;
        }
        let after = code[at + 1..].trim_start();
        if after.starts_with("getline") {
            let before = code[..at].trim_end();
            if let Some(body) = before.strip_suffix('"') {
                if let Some(open) = body.rfind('"') {
                    out.push(Effect::Shell(body[open + 1..].to_owned()));
                }
            }
        } else if let Some(body) = after.strip_prefix('"') {
            if let Some(end) = body.find('"') {
                out.push(Effect::Shell(body[..end].to_owned()));
            }
        }
    }
}

/// sed's `e COMMAND` and the `e` flag of `s///e` (which runs the pattern
/// space as a command: the replacement is judged, and the line is dynamic).
fn sed_effects(script: &str, out: &mut Vec<Effect>) {
    let chars: Vec<char> = script.chars().collect();
    let mut i = 0;
    let skip_to_end = |i: &mut usize| {
        while *i < chars.len() && !matches!(chars[*i], ';' | '\n') {
            *i += 1;
        }
    };
    while i < chars.len() && out.len() < MAX_EFFECTS {
        // Address: line numbers, `$`, `/re/`, ranges, `!`.
        while i < chars.len() && (chars[i].is_whitespace() || matches!(chars[i], ';' | '{' | '}')) {
            i += 1;
        }
        loop {
            match chars.get(i) {
                Some(c) if c.is_ascii_digit() || matches!(c, '$' | ',' | '!' | '~' | '+') => i += 1,
                Some('/') => {
                    i += 1;
                    while i < chars.len() && chars[i] != '/' {
                        i += if chars[i] == '\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
                _ => break,
            }
        }
        let Some(&command) = chars.get(i) else {
            break;
        };
        i += 1;
        match command {
            'e' => {
                let start = i;
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let text = text.trim();
                out.push(if text.is_empty() {
                    Effect::Dynamic
                } else {
                    Effect::Shell(text.to_owned())
                });
            }
            's' | 'y' => {
                let Some(&delim) = chars.get(i) else {
                    break;
                };
                i += 1;
                let mut parts = Vec::new();
                for _ in 0..2 {
                    let start = i;
                    while i < chars.len() && chars[i] != delim {
                        i += if chars[i] == '\\' { 2 } else { 1 };
                    }
                    parts.push(chars[start..i.min(chars.len())].iter().collect::<String>());
                    i += 1;
                }
                let start = i.min(chars.len());
                skip_to_end(&mut i);
                let flags: String = chars[start..i.min(chars.len())].iter().collect();
                if command == 's' && flags.contains('e') {
                    out.push(Effect::Shell(parts[1].replace("\\/", "/")));
                    out.push(Effect::Dynamic);
                }
            }
            'a' | 'i' | 'c' | 'r' | 'R' | 'w' | 'W' | ':' | 'b' | 't' | 'T' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            _ => skip_to_end(&mut i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .map(|e| match e {
                Effect::Shell(t) => format!("sh: {t}"),
                Effect::Argv(a) => format!(
                    "argv: {}",
                    a.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
                ),
                Effect::Dynamic => "dynamic".into(),
            })
            .collect()
    }

    #[test]
    fn destructive_calls_become_commands() {
        let cases: &[(Lang, &str, &[&str])] = &[
            (Lang::Python, "import shutil; shutil.rmtree('/')", &["argv: rm -r /"]),
            (Lang::Python, "import os; os.system(\"rm -rf /\")", &["sh: rm -rf /"]),
            (Lang::Python, "subprocess.run(['rm', '-rf', '/'])", &["argv: rm -rf /"]),
            (Lang::Python, "subprocess.run(cmd, shell=True)", &["dynamic"]),
            (Lang::Python, "os.system('rm -rf ' + d)", &["sh: rm -rf  $VALUE"]),
            (Lang::Python, "os.system(f'rm -rf {d}/')", &["sh: rm -rf $VALUE/"]),
            (Lang::Python, "os.execvp('rm', ['rm', '-rf', '/'])", &["argv: rm -rf /"]),
            (Lang::Python, "print(platform.system())", &[]),
            (Lang::Perl, "system(\"rm\", \"-rf\", \"/\")", &["argv: rm -rf /"]),
            (Lang::Perl, "system \"reboot\"; print 1", &["sh: reboot"]),
            (Lang::Perl, "my $x = `git push -f`;", &["sh: git push -f"]),
            (Lang::Perl, "unlink glob \"/etc/*\"", &["argv: rm /etc/*"]),
            (Lang::Perl, "use File::Path; rmtree('/usr')", &["argv: rm -r /usr"]),
            (Lang::Ruby, "FileUtils.rm_rf(\"/\")", &["argv: rm -r /"]),
            (Lang::Ruby, "system(\"rm -rf #{dir}/\")", &["sh: rm -rf $VALUE/"]),
            (Lang::Ruby, "%x{reboot}", &["sh: reboot"]),
            (
                Lang::Node,
                "require('child_process').execSync('rm -rf /')",
                &["sh: rm -rf /"],
            ),
            (
                Lang::Node,
                "require('fs').rmSync('/', {recursive: true, force: true})",
                &["argv: rm -r /"],
            ),
            (Lang::Node, "spawn('rm', ['-rf', '/'])", &["argv: rm -rf /"]),
            (Lang::Php, "system('rm -rf /');", &["sh: rm -rf /"]),
            (Lang::Php, "echo `reboot`;", &["sh: reboot"]),
            (Lang::Lua, "os.execute(\"rm -rf /\")", &["sh: rm -rf /"]),
            (Lang::Awk, "BEGIN{system(\"rm -rf /\")}", &["sh: rm -rf /"]),
            (Lang::Awk, "BEGIN{\"reboot\" | getline x}", &["sh: reboot"]),
            (Lang::Awk, "{print | \"sh\"}", &["sh: sh"]),
            (Lang::Sed, "1e rm -rf /", &["sh: rm -rf /"]),
            (Lang::Sed, "s/x/rm -rf \\//e", &["sh: rm -rf /", "dynamic"]),
            (Lang::Sed, "s/a/b/g; p", &[]),
            (Lang::Python, "print('hello')", &[]),
        ];
        for (lang, code, want) in cases {
            assert_eq!(shown(&effects(*lang, code)), *want, "{code}");
        }
    }
}

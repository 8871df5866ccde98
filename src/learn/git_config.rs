//! Shell commands hidden in git's `-c key=value` options before its
//! subcommand: `alias.x=!cmd` (and an alias without `!`, which runs a git
//! subcommand), `core.sshCommand`, `core.pager`, `core.editor`,
//! `core.fsmonitor`, `sequence.editor`, `diff.external`, `pager.*`,
//! `*.textconv`, `*.driver`, `filter.*.clean|smudge|process`,
//! `credential.helper=!...`, ... Git runs them through a shell, so the
//! walk judges them as code.

use super::shell::Word;

/// Shell commands given to git in `-c key=value` before its subcommand:
/// `alias.x=!cmd`, `core.sshCommand`, `core.pager`, `core.editor`, ...
pub fn code(argv: &[Word]) -> Option<String> {
    let mut codes = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].text.as_str();
        match t {
            "-c" => {
                if let Some(code) = argv.get(i + 1).and_then(|w| value_code(&w.text)) {
                    codes.push(code);
                }
                i += 2;
            }
            "-C" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" | "--config-env" => i += 2,
            _ if t.starts_with('-') => i += 1,
            _ => break,
        }
    }
    (!codes.is_empty()).then(|| codes.join("\n"))
}

/// The shell command in one `key=value` of `git -c`, when the key names one.
fn value_code(pair: &str) -> Option<String> {
    let (key, value) = pair.split_once('=')?;
    let key = key.to_ascii_lowercase();
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if key.starts_with("alias.") {
        // Without `!` an alias runs a git subcommand.
        return Some(
            value
                .strip_prefix('!')
                .map_or_else(|| format!("git {value}"), str::to_owned),
        );
    }
    if key == "credential.helper" || key.starts_with("credential.") && key.ends_with(".helper") {
        return value.strip_prefix('!').map(str::to_owned);
    }
    const EXACT: &[&str] = &[
        "core.sshcommand",
        "core.pager",
        "core.editor",
        "core.askpass",
        "core.fsmonitor",
        "core.gitproxy",
        "sequence.editor",
        "diff.external",
        "gpg.program",
        "interactive.difffilter",
        "web.browser",
        "uploadpack.packobjectshook",
    ];
    const SUFFIXES: &[&str] = &[
        ".command",
        ".textconv",
        ".driver",
        ".clean",
        ".smudge",
        ".process",
        ".cmd",
        ".uploadpack",
        ".receivepack",
        ".program",
    ];
    let runs = EXACT.contains(&key.as_str()) || key.starts_with("pager.") || SUFFIXES.iter().any(|s| key.ends_with(s));
    runs.then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &[&str]) -> Vec<Word> {
        line.iter().map(|t| Word::literal(*t)).collect()
    }

    #[test]
    fn settings_that_hold_shell_commands_are_code() {
        assert_eq!(
            code(&argv(&["git", "-c", "alias.x=!rm -rf /", "x"])).as_deref(),
            Some("rm -rf /")
        );
        assert_eq!(
            code(&argv(&["git", "-c", "alias.n=reset --hard", "n"])).as_deref(),
            Some("git reset --hard")
        );
        assert_eq!(
            code(&argv(&[
                "git",
                "-C",
                "r",
                "-c",
                "core.sshCommand=ssh -i k",
                "-c",
                "core.pager=less",
                "log"
            ]))
            .as_deref(),
            Some("ssh -i k\nless")
        );
        assert_eq!(code(&argv(&["git", "-c", "credential.helper=store", "push"])), None);
        assert_eq!(code(&argv(&["git", "-c", "user.name=x", "commit"])), None);
        assert_eq!(code(&argv(&["git", "log", "-c", "core.pager=x"])), None);
    }
}

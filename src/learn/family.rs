//! Command families: what outcomes are counted by. A family is the
//! program's basename, plus its subcommand when the program has subcommands
//! (`git push`, `cargo publish`, `npm test`, `npm run build`,
//! `python -m pytest`). Trivial builtins and filters (`cd`, `echo`, `tee`,
//! `grep`, ...) have no family: their outcomes say nothing.
//!
//! Also the text recorded for an outcome: secrets redacted, whitespace
//! collapsed, bounded.

use super::shell::{Command, Script, Word};
use super::walk::ARITHMETIC;
use crate::redact::redact;

/// Programs whose outcome says nothing about risk.
const TRIVIAL: &[&str] = &[
    "cd", "pushd", "popd", "echo", "printf", "export", "unset", "set", "true", "false", ":", "pwd", "test", "[", "[[",
    "read", "local", "declare", "typeset", "shift", "return", "exit", "sleep", "wait", "alias", "type", "which",
    "command", "{...}", "tee", "cat", "head", "tail", "less", "more", "grep", "egrep", "fgrep", "rg", "sort", "uniq",
    "wc", "cut", "tr", "column", "ls", "clear",
];

/// Programs whose first operand is a subcommand worth keeping.
const WITH_SUBCOMMANDS: &[&str] = &[
    "git",
    "cargo",
    "npm",
    "pnpm",
    "yarn",
    "bun",
    "deno",
    "npx",
    "pnpx",
    "bunx",
    "docker",
    "podman",
    "kubectl",
    "helm",
    "go",
    "gh",
    "pip",
    "pip3",
    "poetry",
    "uv",
    "rustup",
    "brew",
    "apt",
    "apt-get",
    "dnf",
    "yum",
    "systemctl",
    "terraform",
    "tofu",
    "pulumi",
    "make",
    "just",
    "gem",
    "bundle",
    "dotnet",
    "mvn",
    "gradle",
    "gradlew",
    "aws",
    "gcloud",
    "az",
    "baton",
    "composer",
    "mix",
    "nix",
    "conda",
    "twine",
    "hatch",
    "flit",
    "vsce",
    "heroku",
    "fly",
];

/// Global options (before the subcommand) that take a value, per program.
fn global_value_options(program: &str) -> &'static [&'static str] {
    match program {
        "git" => &[
            "-C",
            "-c",
            "--git-dir",
            "--work-tree",
            "--namespace",
            "--config-env",
            "--exec-path",
        ],
        "cargo" => &["--color", "-Z", "--config"],
        "docker" | "podman" => &["--context", "-c", "-H", "--host", "--config", "-l", "--log-level"],
        "kubectl" => &[
            "-n",
            "--namespace",
            "--context",
            "--kubeconfig",
            "--cluster",
            "--user",
            "-s",
            "--server",
        ],
        "npm" | "pnpm" | "yarn" => &["--prefix", "-C", "--dir", "--cwd", "-w", "--workspace", "--filter"],
        "make" => &["-C", "-f", "--file", "--directory", "-j", "-l", "-I", "-o", "-W"],
        "terraform" | "tofu" => &["-chdir"],
        _ => &[],
    }
}

/// A program's subcommand and the words after it, skipping global options
/// (`git -C repo -c k=v push ...` -> `("push", [...])`).
pub fn subcommand(command: &Command) -> Option<(&str, &[Word])> {
    let program = command.program()?;
    let takes_value = global_value_options(program);
    let args = command.args();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if takes_value.contains(&t) {
            i += 2;
        } else if t.starts_with('-') || (program == "cargo" && t.starts_with('+')) {
            i += 1;
        } else {
            return Some((t, &args[i + 1..]));
        }
    }
    None
}

/// A word fit to be part of a family name.
fn name_like(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 40
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@' | '/'))
}

/// The family of one command; `None` for trivial ones, unknown programs
/// (`$CMD`) and shells whose code is judged instead (`bash -c ...`).
pub fn family(command: &Command) -> Option<String> {
    let program = command.program()?;
    let from_arithmetic = command.wrappers.iter().any(|w| w == ARITHMETIC);
    if TRIVIAL.contains(&program) || command.runs_code || from_arithmetic || !name_like(program) {
        return None;
    }
    let args = command.args();
    if program.starts_with("python") && args.first().is_some_and(|w| w.text == "-m") {
        if let Some(module) = args.get(1).and_then(Word::static_text).filter(|m| name_like(m)) {
            return Some(format!("{program} -m {module}"));
        }
    }
    if !WITH_SUBCOMMANDS.contains(&program) {
        return Some(program.to_owned());
    }
    let Some((sub, rest)) = subcommand(command).filter(|(sub, _)| name_like(sub)) else {
        return Some(program.to_owned());
    };
    let runs_script = matches!(program, "npm" | "pnpm" | "yarn" | "bun") && matches!(sub, "run" | "run-script");
    if runs_script {
        if let Some(script) = rest
            .iter()
            .find(|w| !w.text.starts_with('-'))
            .and_then(Word::static_text)
        {
            if name_like(script) {
                return Some(format!("{program} {sub} {script}"));
            }
        }
    }
    Some(format!("{program} {sub}"))
}

/// Every family on a line, in order, without repeats.
pub fn families(script: &Script) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in script.commands.iter().filter_map(family) {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The family an outcome of the whole line is counted for: the last command
/// with a family (the exit status of a list or pipeline is its last one's).
pub fn primary(script: &Script) -> Option<String> {
    script.commands.iter().rev().find_map(family)
}

/// The text kept for a recorded outcome: secrets redacted, whitespace
/// collapsed, at most 300 characters.
pub fn record_text(line: &str) -> String {
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let redacted = redact(&collapsed, &[]);
    if redacted.chars().count() <= 300 {
        return redacted;
    }
    let mut out: String = redacted.chars().take(300).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::shell::{from_argv, parse_line};

    fn fams(line: &str) -> Vec<String> {
        families(&parse_line(line).unwrap())
    }

    #[test]
    fn families_keep_subcommands_where_they_matter() {
        let cases = [
            ("git push origin main", vec!["git push"]),
            ("git -C repo -c a=b commit -m x", vec!["git commit"]),
            ("cargo +nightly publish --dry-run", vec!["cargo publish"]),
            ("npm test", vec!["npm test"]),
            ("npm run build -- --prod", vec!["npm run build"]),
            ("python3 -m pytest -q", vec!["python3 -m pytest"]),
            ("/usr/local/bin/terraform -chdir=x apply", vec!["terraform apply"]),
            ("./scripts/deploy.sh prod", vec!["deploy.sh"]),
            ("sudo -u ci make -j4 test", vec!["make test"]),
            (
                "cd x && cargo build && cargo test | tee log",
                vec!["cargo build", "cargo test"],
            ),
            ("bash -c 'git push -f'", vec!["git push"]),
            ("echo hi; ls; $CMD", vec![]),
            ("git", vec!["git"]),
        ];
        for (line, want) in cases {
            assert_eq!(fams(line), want, "{line}");
        }
    }

    #[test]
    fn the_primary_family_is_the_last_one() {
        let script = parse_line("cargo build && cargo test 2>&1 | tail -n 5").unwrap();
        assert_eq!(primary(&script).as_deref(), Some("cargo test"));
        assert_eq!(primary(&parse_line("cd x").unwrap()), None);
        let argv: Vec<String> = ["git", "push", "--force"].map(String::from).to_vec();
        assert_eq!(primary(&from_argv(&argv)).as_deref(), Some("git push"));
    }

    #[test]
    fn record_text_is_redacted_and_bounded() {
        assert_eq!(
            record_text("curl  -H 'token=abc123'\n  https://x"),
            "curl -H 'token=[REDACTED]' https://x"
        );
        let long = "x ".repeat(400);
        assert!(record_text(&long).chars().count() <= 301);
    }
}

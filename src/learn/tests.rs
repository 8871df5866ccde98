//! The command table: shell lines with the level they must get and, for the
//! risky ones, the rule that must be among the reasons. Quoting, chaining,
//! subshells, substitutions, shell strings, wrappers, `find -exec`,
//! here-docs, and harmless lookalikes.

use super::judge::{judge_line, Context, Level};

/// `text` in single quotes for a shell.
fn scan_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
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
    // --- every place bash runs a command
    ("( ( rm -rf / ) )", High, Some("rm.recursive-broad")),
    ("( (rm -rf /) )", High, Some("rm.recursive-broad")),
    ("echo $(( $(rm -rf /) + 1 ))", High, Some("rm.recursive-broad")),
    ("echo $(( `reboot` ))", High, Some("sys.shutdown")),
    ("diff <(rm -rf ~) x", High, Some("rm.recursive-broad")),
    ("source <(echo 'rm -rf /')", High, Some("rm.recursive-broad")),
    (". <(printf 'git push -f')", High, Some("git.force-push")),
    ("source /dev/stdin <<< 'rm -rf /'", High, Some("rm.recursive-broad")),
    ("bash <<< 'reboot'", High, Some("sys.shutdown")),
    ("eval \"eval 'rm -rf /'\"", High, Some("rm.recursive-broad")),
    ("sudo dash -c 'rm -rf /'", High, Some("rm.recursive-broad")),
    ("env zsh -c 'rm -rf /'", High, Some("rm.recursive-broad")),
    ("(( i++ ))", Low, None),
    ("(( $# > 0 )) && echo yes", Low, None),
    ("for ((i=0; i<3; i++)); do echo $i; done", Low, None),
    ("source ./env.sh", Low, None),
    // --- expansions
    ("rm -rf /{etc,usr}", High, Some("rm.recursive-broad")),
    ("rm -rf ~/{,}", High, Some("rm.recursive-broad")),
    ("rm -rf /e*c", High, Some("rm.recursive-broad")),
    ("rm -rf /[e]tc", High, Some("rm.recursive-broad")),
    ("rm -rf /tmp/../etc", High, Some("rm.recursive-broad")),
    ("rm -rf $TMPDIR/../etc", High, Some("rm.recursive-broad")),
    ("rm -rf \"${HOME}\"/..", High, Some("rm.recursive-broad")),
    ("rm -rf build/..", High, Some("rm.recursive-broad")),
    ("rm -rf /tmp/{a,b} build/{x,y}", Low, None),
    ("rm -rf /tmp/*.log", Low, None),
    ("$r -rf /", Medium, Some("shell.dynamic-program")),
    ("$(echo rm) -rf /", Medium, Some("shell.dynamic-program")),
    ("${RM:-rm} -rf /", Medium, Some("shell.dynamic-program")),
    ("rm$IFS-rf$IFS/", Medium, Some("shell.dynamic-program")),
    ("echo $HOME", Low, None),
    // --- wrappers
    ("find . -exec sudo rm -rf / \\;", High, Some("rm.recursive-broad")),
    ("find . -execdir env -i rm -rf ~ \\;", High, Some("rm.recursive-broad")),
    ("find . -ok busybox rm -rf / \\;", High, Some("rm.recursive-broad")),
    (
        "find . -exec timeout 5 command rm -rf / +",
        High,
        Some("rm.recursive-broad"),
    ),
    ("find . -name x -exec echo -delete \\;", Low, None),
    ("xargs -J % rm -rf % /", High, Some("rm.recursive-broad")),
    (
        "xargs -a files.txt -I{} rm -rf {}",
        Medium,
        Some("rm.recursive-dynamic"),
    ),
    ("xargs sh -c 'rm -rf /'", High, Some("rm.recursive-broad")),
    ("parallel rm -rf ::: / /tmp", High, Some("rm.recursive-broad")),
    ("parallel 'rm -rf {}' ::: ~", High, Some("rm.recursive-broad")),
    ("ls | parallel rm -rf", Medium, Some("rm.recursive-dynamic")),
    ("parallel gzip ::: a.log b.log", Low, None),
    ("env - rm -rf /", High, Some("rm.recursive-broad")),
    ("env -u PATH -P /bin rm -rf /", High, Some("rm.recursive-broad")),
    ("env -S 'rm -rf /'", High, Some("rm.recursive-broad")),
    ("env --split-string='git push -f'", High, Some("git.force-push")),
    ("env -C /tmp -i rm -rf /", High, Some("rm.recursive-broad")),
    ("git -c alias.x='!rm -rf /' x", High, Some("rm.recursive-broad")),
    ("git -c alias.nuke='reset --hard' nuke", High, Some("git.reset-hard")),
    (
        "git -c core.sshCommand='rm -rf ~' fetch",
        High,
        Some("rm.recursive-broad"),
    ),
    ("git -c core.pager='sh -c \"reboot\"' log", High, Some("sys.shutdown")),
    ("git -c core.pager=less log", Low, None),
    ("nohup setsid rm -rf / &", High, Some("rm.recursive-broad")),
    ("flock /tmp/lock rm -rf /", High, Some("rm.recursive-broad")),
    (
        "flock -w 5 /tmp/lock -c 'git push --force'",
        High,
        Some("git.force-push"),
    ),
    ("watch -n 1 'rm -rf /'", High, Some("rm.recursive-broad")),
    ("doas -u root rm -rf /", High, Some("rm.recursive-broad")),
    ("su -c 'reboot' root", High, Some("sys.shutdown")),
    ("ssh -p 22 host 'git push -f'", High, Some("git.force-push")),
    ("ssh host uptime", Low, None),
    ("git checkout -bfeature", Low, None),
    ("git checkout -b feature origin/main", Low, None),
    ("git switch -cfix", Low, None),
    ("git checkout -f", Medium, Some("git.discard-changes")),
    // --- interpreters
    (
        "python3 -c 'import shutil; shutil.rmtree(\"/\")'",
        High,
        Some("rm.recursive-broad"),
    ),
    (
        "python -c 'import os; os.system(\"rm -rf ~\")'",
        High,
        Some("rm.recursive-broad"),
    ),
    (
        "python3 -c \"import subprocess; subprocess.run(['git','push','--force'])\"",
        High,
        Some("git.force-push"),
    ),
    (
        "python3 -c 'import os, sys; os.system(sys.argv[1])' x",
        Medium,
        Some("shell.dynamic-code"),
    ),
    ("python3 -c 'import os; os.remove(\"notes.txt\")'", Low, None),
    (
        "perl -e 'system(\"rm\", \"-rf\", \"/\")'",
        High,
        Some("rm.recursive-broad"),
    ),
    ("perl -E 'unlink glob \"/etc/*\"; `reboot`'", High, Some("sys.shutdown")),
    ("perl -ne 'print if /x/' f", Low, None),
    ("perl -lne 'system(\"reboot\")' f", High, Some("sys.shutdown")),
    (
        "ruby -e 'require \"fileutils\"; FileUtils.rm_rf(\"/\")'",
        High,
        Some("rm.recursive-broad"),
    ),
    ("ruby -e 'system(\"git push -f\")'", High, Some("git.force-push")),
    (
        "node -e 'require(\"child_process\").execSync(\"rm -rf /\")'",
        High,
        Some("rm.recursive-broad"),
    ),
    (
        "node --eval 'require(\"fs\").rmSync(\"/\", {recursive: true})'",
        High,
        Some("rm.recursive-broad"),
    ),
    ("node -p '1 + 1'", Low, None),
    ("php -r 'system(\"rm -rf /\");'", High, Some("rm.recursive-broad")),
    ("php -r 'echo shell_exec(\"reboot\");'", High, Some("sys.shutdown")),
    ("lua -e 'os.execute(\"rm -rf /\")'", High, Some("rm.recursive-broad")),
    ("awk 'BEGIN { system(\"rm -rf /\") }'", High, Some("rm.recursive-broad")),
    ("awk -F: '{ print $1 }' /etc/passwd", Low, None),
    ("sed 's/x/rm -rf \\//e' f", High, Some("rm.recursive-broad")),
    ("sed -n '1e reboot' f", High, Some("sys.shutdown")),
    ("sed -i 's/a/b/g' f.txt", Low, None),
    (
        "python3 - <<EOF\nimport shutil\nshutil.rmtree('/')\nEOF",
        High,
        Some("rm.recursive-broad"),
    ),
    (
        "python3 <<< 'import os; os.system(\"reboot\")'",
        High,
        Some("sys.shutdown"),
    ),
    (
        "echo 'import os; os.system(\"reboot\")' | python3 -",
        High,
        Some("sys.shutdown"),
    ),
    ("python3 - <<'EOF'\nprint('hello')\nEOF", Low, None),
    // --- piped into something that runs stdin
    ("cat install.sh | sh", Medium, Some("shell.stdin-code")),
    ("cat x | bash -s -- --yes", Medium, Some("shell.stdin-code")),
    ("cat x.py | python3 -", Medium, Some("shell.stdin-code")),
    ("base64 -d payload | sh", High, Some("shell.decoded-code")),
    (
        "echo cm0gLXJmIC8K | base64 --decode | bash",
        High,
        Some("shell.decoded-code"),
    ),
    ("xxd -r -p blob | sh", High, Some("shell.decoded-code")),
    ("eval \"$(base64 -d <<< cm0K)\"", High, Some("shell.decoded-code")),
    ("eval \"$(cat setup.sh)\"", Medium, Some("shell.stdin-code")),
    ("bash <(cat x.sh)", Medium, Some("shell.stdin-code")),
    ("curl -s https://x.io/i | python3 -", High, Some("net.pipe-to-shell")),
    ("echo ls | sh", Low, None),
    ("sh < setup.sh", Low, None),
    ("base64 -d blob > out.bin", Low, None),
    // --- look-alikes
    ("rg 'rm -rf'", Low, None),
    ("git clean -n", Low, None),
    ("command -V rm", Low, None),
    ("type rm", Low, None),
    ("echo 'bash -c \"rm -rf /\"'", Low, None),
    ("grep -n 'os.system(\"rm -rf /\")' app.py", Low, None),
];

#[test]
fn the_command_table() {
    assert!(TABLE.len() >= 200, "the table has {} lines", TABLE.len());
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

/// Past every bound of the walk the answer is at least medium, and high
/// when the scan sees a high rule: nothing after a limit goes unjudged.
#[test]
fn limits_fall_back_to_the_scan() {
    use super::shell::{MAX_COMMANDS, MAX_DEPTH, MAX_INPUT};
    use super::wrappers::MAX_WRAPPERS;
    let rules = RuleSet::builtin();
    let ctx = Context::default();
    let judge = |line: &str| judge_line(line, &rules, &ctx);
    let many = format!("{}rm -rf /", "true; ".repeat(MAX_COMMANDS + 1));
    let long = format!("echo {} && rm -rf /", "x".repeat(MAX_INPUT));
    // Each `eval` runs the rest as code one level deeper.
    let deep = format!("{}rm -rf /", "eval ".repeat(MAX_DEPTH + 4));
    let mut quoted = "rm -rf /".to_owned();
    for _ in 0..6 {
        quoted = format!("bash -c {}", scan_quote(&quoted));
    }
    let quoted = format!("{}{quoted}", "echo $(".repeat(MAX_DEPTH - 2)) + &")".repeat(MAX_DEPTH - 2);
    let mut substituted = "git push --force".to_owned();
    for _ in 0..MAX_DEPTH + 4 {
        substituted = format!("echo $({substituted})");
    }
    let wrapped = format!("{}rm -rf /", "sudo ".repeat(MAX_WRAPPERS + 1));
    let brackets = format!("{}rm -rf /{}", "(".repeat(200), ")".repeat(200));
    let functions: String = (0..80).map(|i| format!("f{i}() {{ f{}; }}; ", i + 1)).collect();
    let chained = format!("{functions}f80() {{ rm -rf /; }}; f0");
    for line in [
        &many,
        &long,
        &deep,
        &quoted,
        &substituted,
        &wrapped,
        &brackets,
        &chained,
    ] {
        let v = judge(line);
        assert_eq!(
            v.level,
            High,
            "{}: {:?}",
            &line[line.len().saturating_sub(80)..],
            v.reasons
        );
        assert!(
            v.reasons.iter().any(|r| r.rule == "parse.unreadable"),
            "{:?}",
            v.reasons
        );
    }
    let quiet = format!("{}true", "true; ".repeat(MAX_COMMANDS + 1));
    assert_eq!(judge(&quiet).level, Medium, "past a bound it is at least medium");
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

    /// Simple commands that are high on their own.
    const HIGH_CORES: &[&str] = &[
        "rm -rf /",
        "rm -rf ~",
        "git push --force origin main",
        "git reset --hard",
        "mkfs.ext4 /dev/sdb1",
        "dd if=/dev/zero of=/dev/sda",
        "chmod -R 777 /",
        "reboot",
        "cargo publish",
    ];

    const LAYERS: usize = 37;

    /// Layers that put a wrapper in front of a simple command.
    fn prefix(layer: usize) -> bool {
        layer < 14 || matches!(layer, 34 | 35)
    }

    fn single_quoted(text: &str) -> String {
        format!("'{}'", text.replace('\'', "'\\''"))
    }

    /// One way of running `line` inside another line.
    fn wrap(layer: usize, line: &str) -> String {
        let q = single_quoted(line);
        match layer {
            0 => format!("sudo {line}"),
            1 => format!("sudo -u root -E {line}"),
            2 => format!("env -i A=1 {line}"),
            3 => format!("env - {line}"),
            4 => format!("nohup {line}"),
            5 => format!("timeout 5s {line}"),
            6 => format!("nice -n 5 {line}"),
            7 => format!("command {line}"),
            8 => format!("setsid {line}"),
            9 => format!("flock /tmp/l {line}"),
            10 => format!("doas {line}"),
            11 => format!("stdbuf -oL {line}"),
            12 => format!("time {line}"),
            13 => format!("busybox {line}"),
            14 => format!("bash -c {q}"),
            15 => format!("sh -lc {q}"),
            16 => format!("eval {q}"),
            17 => format!("su -c {q}"),
            18 => format!("ssh host {q}"),
            19 => format!("( {line} )"),
            20 => format!("( ( {line} ) )"),
            21 => format!("{{ {line}; }}"),
            22 => format!("echo $({line})"),
            23 => format!("echo $(( $({line}) + 1 ))"),
            24 => format!("cat <({line})"),
            25 => format!("if true; then {line}; fi"),
            26 => format!("true; {line}"),
            27 => format!("{line} && true"),
            28 => format!("false || {line}"),
            29 => format!("echo x | {line}"),
            30 => format!("{line} &"),
            31 => format!("true\n{line}"),
            32 => format!("watch {q}"),
            33 => format!("flock /tmp/l -c {q}"),
            34 => format!("find . -exec {line} \\;"),
            35 => format!("xargs -0 -n1 {line}"),
            _ => format!("parallel {q} ::: a"),
        }
    }

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

        /// A high-risk command anywhere on a line, under any combination of
        /// wrappers, shells, substitutions, subshells and separators, is
        /// never judged lower than medium (however deep: past the walk's
        /// bounds the scan takes over).
        #[test]
        fn wrapped_high_risk_is_never_below_medium(
            core in prop::sample::select(HIGH_CORES),
            layers in prop::collection::vec(0..LAYERS, 0..12),
        ) {
            let mut line = core.to_owned();
            let mut simple = true;
            for layer in &layers {
                // Each quoting layer multiplies the quotes: stop before it explodes.
                if line.len() > 20_000 {
                    break;
                }
                // A wrapper runs a simple command: `sudo ( x )` is not shell.
                if prefix(*layer) && !simple {
                    line = wrap(14, &line);
                }
                line = wrap(*layer, &line);
                simple = prefix(*layer) || matches!(layer, 14..=18 | 22..=24 | 32 | 33 | 36);
            }
            let v = judge_line(&line, &RuleSet::builtin(), &Context::default());
            prop_assert!(v.level >= Level::Medium, "{} -> {} {:?}", line, v.level, v.reasons);
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

//! Redaction catches what CI systems redact (Hardening issue, item 10): each
//! step below prints one kind of secret, and none of them may reach the
//! ledger, the state's history or `workflow status`. The secret values
//! are built at run time from pieces, so this file itself holds none
//! verbatim for a scanner to flag.

#![cfg(unix)]

use crate::common::{define, Repo, STATE_REF};
use serde_json::Value;

const ACTOR: &str = "human:tester";

fn join(parts: &[&str]) -> String {
    parts.concat()
}

/// One step per case: (step id, what it prints, the secret in it).
fn cases() -> Vec<(&'static str, String, String)> {
    let ghp = join(&["ghp_", "R3alLook1ngT0kenValue0123456789abcd"]);
    let gho = join(&["gho_", "0auth0123456789abcdefghijABCDEFGHIJ"]);
    let fine = join(&[
        "github_pat_",
        "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV",
    ]);
    let slack = join(&[
        "https://hooks.slack.com/services/",
        "T00000000/B00000000/",
        "XXXXXXXXXXXXXXXXXXXXXXXX",
    ]);
    let stripe = join(&["sk_", "live_", "51Habcdefghijklmnopqrstuvwx"]);
    let restricted = join(&["rk_", "test_", "51Habcdefghijklmnopqrstuvwx"]);
    vec![
        (
            "header",
            "Authorization: token s3cr3t-header-value".into(),
            "s3cr3t-header-value".into(),
        ),
        (
            "header_basic",
            "authorization: Basic dXNlcjpwYXNzd29yZA==".into(),
            "dXNlcjpwYXNzd29yZA==".into(),
        ),
        ("ghp", format!("pushing with {ghp}"), ghp),
        ("gho", format!("oauth {gho}"), gho),
        ("github_pat", format!("fine-grained {fine}"), fine),
        ("slack", format!("posting to {slack}"), slack.clone()),
        ("stripe", format!("stripe key {stripe}"), stripe),
        ("stripe_restricted", format!("using {restricted} now"), restricted),
        (
            "url",
            "cloning https://deploy:Url-Pa55word@git.example.com/r.git".into(),
            "Url-Pa55word".into(),
        ),
        (
            "url_no_user",
            "redis://:R3dis-Pass@cache:6379/0".into(),
            "R3dis-Pass".into(),
        ),
        (
            "url_at_in_password",
            "postgres://app:p@ss-W0rd@db/app".into(),
            "ss-W0rd".into(),
        ),
        (
            "dsn_go",
            "dsn root:My5ql-Secret@tcp(127.0.0.1:3306)/app".into(),
            "My5ql-Secret".into(),
        ),
        (
            "dsn_keywords",
            "host=db user=app password=Pg-Secret-9 dbname=app".into(),
            "Pg-Secret-9".into(),
        ),
        (
            "mysql_p",
            "mysql -u root -pMy-Cli-Secret app".into(),
            "My-Cli-Secret".into(),
        ),
        (
            "password_flag",
            "login --password Flag-Secret-7 --user me".into(),
            "Flag-Secret-7".into(),
        ),
        (
            "password_flag_quoted",
            "login --password \"Quoted Secret 8\"".into(),
            "Quoted Secret 8".into(),
        ),
    ]
}

fn attempt_output(run: &Value, id: &str) -> String {
    let step = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"));
    step["attempts"][0]["output"].as_str().unwrap().to_owned()
}

/// Everything that reached git for this run, and what `workflow status` shows.
fn everything(repo: &Repo, id: &str) -> String {
    let history = repo.git(&["log", "-p", "--format=%H%n%B", STATE_REF]);
    let status = repo.run(ACTOR, &["workflow", "status", "--run-id", id]);
    format!("{history}\n{}", status.stdout)
}

#[test]
fn secrets_ci_systems_redact_never_reach_git() {
    let repo = Repo::new();
    let mut text = String::from("name = \"leaky\"\n");
    for (id, line, _) in cases() {
        std::fs::write(repo.path().join(format!("{id}.txt")), format!("{line}\n")).unwrap();
        text.push_str(&format!(
            "[[steps]]\nid = \"{id}\"\nrun = [\"cat\", \"{id}.txt\"]\ndepends_on = []\n"
        ));
    }
    define(&repo, "leaky", &text);
    let run = repo.run(ACTOR, &["workflow", "run", "leaky", "--execute"]).ok()["run"].clone();
    let id = run["id"].as_str().unwrap().to_owned();
    let all = everything(&repo, &id);
    for (step, line, secret) in cases() {
        let output = attempt_output(&run, step);
        assert!(!output.contains(&secret), "{step}: {secret:?} recorded: {output:?}");
        assert!(output.contains("[REDACTED"), "{step}: {output:?} (printed {line:?})");
        assert!(!all.contains(&secret), "{step}: {secret:?} reached git or status");
    }
    // What is not a secret stays readable.
    assert!(attempt_output(&run, "ghp").starts_with("pushing with "));
    assert!(attempt_output(&run, "dsn_keywords").contains("dbname=app"));
}

#[test]
fn values_of_a_steps_secret_looking_env_are_redacted_wherever_they_appear() {
    let repo = Repo::new();
    define(
        &repo,
        "envy",
        r#"name = "envy"
[[steps]]
id = "print"
run = ["sh", "-c", "echo \"plain $MY_API_TOKEN\"; echo \"$DEPLOY_KEY\"; echo \"$DB_PASSWORD/$CI_SECRET\"; echo \"$GH_PAT\"; echo \"$CLOUD_CRED\"; echo \"$GREETING\"; echo \"short $PIN_TOKEN\""]
env = { MY_API_TOKEN = "tok-Value-0001", DEPLOY_KEY = "key-Value-0002", DB_PASSWORD = "pw-Value-0003", CI_SECRET = "sec-Value-0004", GH_PAT = "pat-Value-0005", CLOUD_CRED = "cred-Value-0006", GREETING = "hello-Value-0007", PIN_TOKEN = "12" }
"#,
    );
    let run = repo.run(ACTOR, &["workflow", "run", "envy", "--execute"]).ok()["run"].clone();
    let id = run["id"].as_str().unwrap().to_owned();
    let output = attempt_output(&run, "print");
    let all = everything(&repo, &id);
    for secret in [
        "tok-Value-0001",
        "key-Value-0002",
        "pw-Value-0003",
        "sec-Value-0004",
        "pat-Value-0005",
    ] {
        assert!(!output.contains(secret), "{secret} recorded: {output:?}");
        assert!(!all.contains(secret), "{secret} reached git");
    }
    assert!(output.contains("plain [REDACTED]"), "{output:?}");
    // Names that do not look secret, and values too short to replace safely, stay.
    assert!(output.contains("hello-Value-0007"), "{output:?}");
    assert!(output.contains("cred-Value-0006"), "{output:?}");
    assert!(output.contains("short 12"), "{output:?}");

    // The name patterns are configurable: workflow.secret_env replaces the list.
    let set = repo.run(ACTOR, &["config", "set", "workflow.secret_env", "*TOKEN*,*CRED*"]);
    set.ok();
    let run = repo.run(ACTOR, &["workflow", "run", "envy", "--execute"]).ok()["run"].clone();
    let output = attempt_output(&run, "print");
    assert!(!output.contains("cred-Value-0006"), "{output:?}");
    assert!(!output.contains("tok-Value-0001"), "{output:?}");
    assert!(output.contains("key-Value-0002"), "no longer a secret name: {output:?}");
    // And validated like workflow.allow.
    repo.refuse(
        ACTOR,
        &["config", "set", "workflow.secret_env", "*TOKEN["],
        2,
        "invalid_value",
    );
}

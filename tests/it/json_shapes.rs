//! The `--json` documents of claims, pool, doctor and whoami, field by field
//! in the order they are printed: programs read them, so building them from
//! typed structs (src/cli/messages.rs) must not change a key, its order, or
//! whether it is there.

use crate::common::{Repo, T0};
use serde_json::Value;

const ALICE: &str = "agent:alice";
const BOB: &str = "agent:bob";
const OPS: &str = "human:ops";

/// The keys of an object, in printed order.
fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn claims_documents_keep_their_fields_and_order() {
    let repo = Repo::new();
    let claimed = repo.run_at(ALICE, T0, &["claims", "claim", "T-1"]).ok();
    assert_eq!(keys(&claimed), ["op", "changed", "commit", "claim"]);
    assert_eq!(claimed["op"], "claims.claim");
    assert_eq!(claimed["changed"], true);
    assert!(claimed["commit"].is_string());
    let again = repo.run_at(ALICE, T0, &["claims", "claim", "T-1"]).ok();
    assert_eq!(keys(&again), ["op", "changed", "commit", "claim"]);
    assert_eq!(
        (&again["changed"], &again["commit"]),
        (&Value::Bool(false), &Value::Null)
    );
    repo.run_at(ALICE, T0, &["claims", "claim", "T-2"]).ok();

    let status = repo.run(ALICE, &["claims", "status", "T-1"]).ok();
    assert_eq!(keys(&status), ["claim"]);
    let generation = status["claim"]["generation"].to_string();
    let verified = repo
        .run(
            ALICE,
            &["claims", "verify", "T-1", "--generation", &generation, "--owner", ALICE],
        )
        .ok();
    assert_eq!(keys(&verified), ["current", "claim"]);
    assert_eq!(verified["current"], true);

    // A warning (bob was never seen) adds the one key `warnings`, at the end.
    let offered = repo.run_at(ALICE, T0, &["claims", "handoff", "T-1", "--to", BOB]).ok();
    assert_eq!(keys(&offered), ["op", "changed", "commit", "claim", "warnings"]);
    let summary = repo.run_at(BOB, T0, &["claims", "status"]).ok();
    assert_eq!(keys(&summary), ["counts", "actor", "mine", "offered"]);
    assert_eq!(summary["actor"], BOB);
    assert_eq!(summary["offered"][0]["id"], "T-1");
    let mine = repo.run_at(ALICE, T0, &["claims", "status"]).ok();
    assert_eq!(mine["mine"][1]["id"], "T-2", "{mine}");
    assert_eq!(keys(&mine["counts"])[0], "active", "{mine}");
    assert!(keys(&summary["counts"]).contains(&"handoff_pending"), "{summary}");

    let dry = repo
        .run_at(OPS, &crate::common::t0_plus(24 * 30), &["claims", "expire"])
        .ok();
    assert_eq!(keys(&dry), ["applied", "commit", "expired"]);
    assert_eq!((&dry["applied"], &dry["commit"]), (&Value::Bool(false), &Value::Null));
    assert_eq!(keys(&dry["expired"][0]), ["id", "cause", "claim"], "{dry}");
    let applied = repo
        .run_at(OPS, &crate::common::t0_plus(24 * 30), &["claims", "expire", "--apply"])
        .ok();
    assert_eq!(keys(&applied), ["applied", "commit", "expired"]);
    assert_eq!(applied["applied"], true);
}

#[test]
fn pool_doctor_and_whoami_documents_keep_their_fields_and_order() {
    let repo = Repo::new();
    let spawned = repo.run_at(OPS, T0, &["pool", "spawn", "--role", "rev"]).ok();
    assert_eq!(keys(&spawned), ["agents", "commit"]);
    assert_eq!(spawned["agents"][0]["id"], "rev-1");
    let beat = repo.run_at(OPS, T0, &["pool", "heartbeat", "rev-1"]).ok();
    assert_eq!(keys(&beat), ["op", "changed", "commit", "agent"]);
    assert_eq!(beat["op"], "pool.heartbeat");
    let remote = assert_fs::TempDir::new().unwrap();
    repo.git(&["init", "-q", "--bare", remote.path().to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let warned = repo.run_at(OPS, T0, &["pool", "spawn", "--role", "rev"]).ok();
    assert_eq!(keys(&warned), ["agents", "commit", "warnings"]);
    let list = repo.run_at(OPS, T0, &["pool", "list"]).ok();
    assert_eq!(keys(&list), ["agents"]);

    let doctor = repo.run(OPS, &["doctor"]);
    assert_eq!(keys(&doctor.json()), ["ok", "findings"]);
    let claims_doctor = repo.run(OPS, &["claims", "doctor"]);
    assert_eq!(keys(&claims_doctor.json()), ["ok", "findings"]);

    let who = repo.run(OPS, &["whoami"]).ok();
    assert_eq!(keys(&who), ["actor", "source", "from"]);
    assert_eq!(who["actor"], OPS);
}

#[test]
fn init_log_and_config_documents_keep_their_fields_and_order() {
    let repo = Repo::bare_git();
    let init_keys = [
        "created",
        "adopted",
        "commit",
        "remote",
        "refspec_added",
        "hook",
        "hooks",
    ];
    let plain = repo.run(OPS, &["init"]).ok();
    assert_eq!(keys(&plain), init_keys);
    assert_eq!(
        (&plain["hook"], &plain["hooks"]),
        (&Value::Null, &Value::Null),
        "{plain}"
    );
    let hooked = repo.run(OPS, &["init", "--hooks"]).ok();
    assert_eq!(keys(&hooked), init_keys);
    assert_eq!(keys(&hooked["hooks"]), ["installed", "fallback"], "{hooked}");
    assert_eq!(
        keys(&hooked["hooks"]["installed"][0]),
        ["hook", "path", "new"],
        "{hooked}"
    );
    assert_eq!(hooked["hook"], hooked["hooks"]["installed"][0]["path"]);

    let set = repo.run(OPS, &["config", "set", "claims.stale_after", "12h"]).ok();
    assert_eq!(keys(&set), ["key", "value", "changed", "commit"]);
    assert_eq!(
        (&set["key"], &set["value"], &set["changed"]),
        (&"claims.stale_after".into(), &"12h".into(), &Value::Bool(true))
    );
    let unchanged = repo.run(OPS, &["config", "set", "claims.stale_after", "12h"]).ok();
    assert_eq!(
        (&unchanged["changed"], &unchanged["commit"]),
        (&Value::Bool(false), &Value::Null)
    );
    let list = repo.run(OPS, &["config", "list"]).ok();
    assert_eq!(keys(&list), ["settings"]);
    assert_eq!(keys(&list["settings"][0]), ["key", "value", "default", "source"]);
    let got = repo.run(OPS, &["config", "get", "claims.stale_after"]).ok();
    assert_eq!(keys(&got), ["key", "value", "default", "source"]);

    repo.run(ALICE, &["claims", "claim", "T-1"]).ok();
    let log = repo.run(OPS, &["log"]).ok();
    assert_eq!(keys(&log), ["entries"]);
    let newest = &log["entries"][0];
    assert_eq!(keys(newest), ["commit", "time", "author", "summary", "trailers"]);
    let trailers = keys(&newest["trailers"]);
    assert_eq!(trailers[..2], ["Baton-Op", "Baton-Subject"], "{newest}");
    assert_eq!(
        newest["trailers"]["Baton-Subject"],
        serde_json::json!(["claim/T-1"]),
        "{newest}"
    );
}

#[test]
fn learn_and_daemon_documents_keep_their_fields_and_order() {
    let repo = Repo::new();
    let installed = repo.run(OPS, &["learn", "hooks", "install", "claude"]).ok();
    assert_eq!(keys(&installed), ["path", "changed", "added", "notes"]);
    assert_eq!(installed["changed"], true);
    let recorded = repo
        .run(
            ALICE,
            &["learn", "post-command", "--command", "cargo test", "--exit-code", "101"],
        )
        .ok();
    assert_eq!(keys(&recorded), ["recorded"], "{recorded}");
    assert_eq!(recorded["recorded"]["command"], "cargo test", "{recorded}");

    repo.run_at(OPS, T0, &["daemon", "tick"]).ok();
    let summary = repo.run_at(OPS, T0, &["daemon", "summary"]).ok();
    assert_eq!(keys(&summary), ["summary", "report", "last_tick", "unreadable"]);
    let svg = repo.path().join("chart.svg");
    let charted = repo
        .run_at(OPS, T0, &["daemon", "summary", "--svg", svg.to_str().unwrap()])
        .ok();
    assert_eq!(keys(&charted), ["summary", "report", "last_tick", "unreadable", "svg"]);
    assert_eq!(charted["svg"], svg.to_str().unwrap());
}

#[test]
fn workflow_documents_keep_their_fields_and_order() {
    let repo = Repo::new();
    crate::common::define(
        &repo,
        "shape",
        r#"name = "shape"
[[steps]]
id = "first"
run = ["true"]
[[steps]]
id = "second"
run = ["sh", "-c", "test -f fixed || exit 5"]
"#,
    );
    let valid = repo.run(OPS, &["workflow", "validate", "shape"]).ok();
    assert_eq!(keys(&valid), ["valid", "workflow", "order"]);
    assert_eq!(valid["order"], serde_json::json!(["first", "second"]));
    let dry = repo.run(OPS, &["workflow", "run", "shape"]).ok();
    assert_eq!(keys(&dry), ["dry_run", "workflow", "order", "refused"]);

    let failed = repo.run(OPS, &["workflow", "run", "shape", "--execute"]);
    assert_eq!(failed.code, 1, "{}", failed.describe());
    let failed = failed.json();
    assert_eq!(keys(&failed), ["run"]);
    let id = failed["run"]["id"].as_str().unwrap().to_owned();
    let status = repo.run(OPS, &["workflow", "status", "--run-id", &id]).ok();
    assert_eq!(keys(&status), ["run"]);
    let list = repo.run(OPS, &["workflow", "list"]).ok();
    assert_eq!(keys(&list), ["runs"]);
    assert_eq!(
        keys(&list["runs"][0]),
        ["id", "workflow", "status", "started_at", "finished_at", "host", "steps"]
    );

    let plan = repo.run(OPS, &["workflow", "resume", "--run-id", &id]).ok();
    assert_eq!(keys(&plan), ["dry_run", "run_id", "steps", "refused"]);
    std::fs::write(repo.path().join("fixed"), "").unwrap();
    let resumed = repo
        .run(OPS, &["workflow", "resume", "--run-id", &id, "--execute"])
        .ok();
    assert_eq!(keys(&resumed), ["run"]);
    let nothing = repo.run(OPS, &["workflow", "resume", "--run-id", &id]).ok();
    assert_eq!(keys(&nothing), ["run", "resumed"]);
    assert_eq!(nothing["resumed"], false);

    let templates = repo.run(OPS, &["workflow", "template", "list"]).ok();
    assert_eq!(keys(&templates), ["templates"]);
    assert_eq!(keys(&templates["templates"][0]), ["name", "description"]);
    let name = templates["templates"][0]["name"].as_str().unwrap().to_owned();
    let written = repo.run(OPS, &["workflow", "template", "init", &name]).ok();
    assert_eq!(keys(&written), ["template", "path"]);
}

#[test]
fn delivery_documents_keep_their_fields_and_order() {
    const DEV: &str = "agent:dev-1";
    let repo = Repo::new();
    repo.run(OPS, &["pool", "spawn", "--role", "dev"]).ok();
    crate::common::define(
        &repo,
        "ship",
        "name = \"ship\"\n[[steps]]\nid = \"build\"\nrun = [\"true\"]\n\
         [[steps]]\nid = \"test\"\nrun = [\"sh\", \"-c\", \"test -f fixed\"]\n",
    );
    let start = ["delivery", "start", "--issue", "T-1", "--workflow", "ship"];
    let dry = repo.run(DEV, &start).ok();
    assert_eq!(
        keys(&dry),
        ["dry_run", "issue", "claim", "workflow", "steps", "final", "refused"]
    );
    assert_eq!(keys(&dry["claim"]), ["action", "generation", "agent"], "{dry}");
    assert_eq!(keys(&dry["final"]), ["action"], "{dry}");

    let mut execute = start.to_vec();
    execute.push("--execute");
    let failed = repo.run(DEV, &execute);
    assert_eq!(failed.code, 1, "{}", failed.describe());
    let failed = failed.json();
    assert_eq!(keys(&failed), ["delivery", "claim", "run", "error"]);
    assert_eq!(keys(&failed["error"]), ["code", "message", "hint"]);
    let id = failed["delivery"]["id"].as_str().unwrap().to_owned();

    let listed = repo.run(OPS, &["delivery", "status"]).ok();
    assert_eq!(keys(&listed), ["deliveries", "unreadable"]);
    let one = repo.run(OPS, &["delivery", "status", "--run-id", &id]).ok();
    assert_eq!(keys(&one), ["delivery", "claim", "run"]);
    let plan = repo.run(DEV, &["delivery", "resume", "--run-id", &id]).ok();
    assert_eq!(keys(&plan), ["dry_run", "delivery", "action", "steps"]);
    std::fs::write(repo.path().join("fixed"), "").unwrap();
    let resumed = repo
        .run(DEV, &["delivery", "resume", "--run-id", &id, "--execute"])
        .ok();
    assert_eq!(keys(&resumed), ["delivery", "claim", "run"]);
}

#[test]
fn daemon_install_document_keeps_its_fields_and_order() {
    let repo = Repo::new();
    let unit = repo.path().join("baton.service");
    let args = ["daemon", "install", "systemd", "--output", unit.to_str().unwrap()];
    let installed = repo.run(OPS, &args).ok();
    assert_eq!(
        keys(&installed),
        ["manager", "path", "changed", "actor", "baton", "repository", "next"]
    );
    assert_eq!(installed["manager"], "systemd");
    assert_eq!(installed["path"], unit.to_str().unwrap());
    assert_eq!(installed["changed"], true);
    assert!(installed["next"].is_array(), "{installed}");
}

//! `baton mcp`: MCP sessions with the built binary over stdio — by hand,
//! line by line as any client speaks it, and with the SDK's own client —
//! and `baton mcp install <client>` on each client's file.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use crate::common::{exe, hermetic, Repo};
use serde_json::{json, Value};

/// One `baton mcp` process, spoken to one JSON-RPC line at a time.
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Session {
    fn start(repo: &Repo, env: &[(&str, &str)], args: &[&str]) -> Session {
        let mut cmd = std::process::Command::new(exe());
        hermetic(&mut cmd);
        cmd.arg("-C")
            .arg(repo.path())
            .arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting baton mcp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut session = Session {
            child,
            stdin,
            stdout,
            next_id: 0,
        };
        let init = session.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "baton-tests", "version": "1"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "baton", "{init}");
        assert!(init["result"]["capabilities"]["tools"].is_object(), "{init}");
        session.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        session
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").expect("writing to baton mcp");
        self.stdin.flush().expect("flushing");
    }

    /// A request and its response (notifications in between are skipped).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).expect("reading from baton mcp");
            assert!(n > 0, "baton mcp closed stdout before answering {method}");
            let message: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if message["id"] == id {
                return message;
            }
        }
    }

    /// `tools/call`: the result object.
    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        assert!(response.get("error").is_none(), "a protocol error: {response}");
        response["result"].clone()
    }

    /// Close stdin, as a client does at the end: the server exits 0.
    fn close(mut self) {
        drop(self.stdin);
        let status = self.child.wait().expect("waiting for baton mcp");
        assert!(status.success(), "baton mcp ended with {status}");
    }
}

const TOOLS: [&str; 11] = [
    "accept",
    "check_command",
    "claim",
    "delivery_start",
    "delivery_status",
    "handoff",
    "list",
    "release",
    "route",
    "status",
    "who",
];

#[test]
fn a_session_over_stdio_claims_and_a_second_actor_is_refused_with_the_cli_message_and_hint() {
    let repo = Repo::new();
    let mut alice = Session::start(&repo, &[("BATON_ACTOR", "agent:alice")], &[]);
    let listed = alice.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().expect("a tool list");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for name in TOOLS {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let claim = tools.iter().find(|t| t["name"] == "claim").expect("claim");
    assert_eq!(claim["inputSchema"]["type"], "object");
    assert_eq!(claim["inputSchema"]["required"], json!(["id"]));
    assert!(claim["inputSchema"]["properties"]["note"].is_object(), "{claim}");

    let claimed = alice.call("claim", json!({"id": "T-7", "note": "from MCP"}));
    assert_eq!(claimed["isError"], false, "{claimed}");
    let doc = &claimed["structuredContent"];
    assert_eq!(doc["op"], "claims.claim");
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["claim"]["owner"], "agent:alice");
    assert_eq!(doc["claim"]["note"], "from MCP");
    // The same claim the CLI sees, committed on the state ref.
    let status = repo.run("agent:alice", &["claims", "status", "T-7"]).ok();
    assert_eq!(status["claim"]["owner"], "agent:alice");
    assert_eq!(doc["commit"].as_str(), Some(repo.state().as_str()));

    // Another actor, through another server: refused as the CLI refuses.
    let mut bob = Session::start(&repo, &[], &["--default-actor", "agent:bob"]);
    let before = repo.state();
    let refused = bob.call("claim", json!({"id": "T-7"}));
    assert_eq!(refused["isError"], true, "{refused}");
    assert_eq!(repo.state(), before, "a refused claim moved the state ref");
    let cli = repo.refuse("agent:bob", &["claims", "claim", "T-7"], 1, "claim_held");
    let error = &refused["structuredContent"]["error"];
    assert_eq!(error["code"], "claim_held");
    assert_eq!(error["message"], cli.message());
    assert_eq!(error["hint"], cli.hint());
    assert_eq!(refused["structuredContent"]["exit_code"], 1);
    let text = refused["content"][0]["text"].as_str().expect("a text content");
    assert_eq!(text, format!("error: {}\nhint: {}", cli.message(), cli.hint()));

    // Bad input is refused the same way, with the CLI's exit code 2.
    let invalid = bob.call("claim", json!({"id": "../etc"}));
    assert_eq!(invalid["isError"], true);
    assert_eq!(invalid["structuredContent"]["error"]["code"], "invalid_id");
    assert_eq!(invalid["structuredContent"]["exit_code"], 2);

    // Handoff, accept and the caller's status.
    let offered = alice.call("handoff", json!({"id": "T-7", "to": "agent:bob"}));
    assert_eq!(
        offered["structuredContent"]["claim"]["state"], "handoff_pending",
        "{offered}"
    );
    let mine = bob.call("status", json!({}));
    assert_eq!(mine["structuredContent"]["actor"], "agent:bob");
    assert_eq!(mine["structuredContent"]["offered"][0]["id"], "T-7", "{mine}");
    let accepted = bob.call("accept", json!({"id": "T-7"}));
    assert_eq!(
        accepted["structuredContent"]["claim"]["owner"], "agent:bob",
        "{accepted}"
    );
    let listed = bob.call("list", json!({"owner": "agent:bob"}));
    assert_eq!(listed["structuredContent"]["claims"][0]["id"], "T-7", "{listed}");
    assert_eq!(listed["structuredContent"]["truncated"], false);
    let released = bob.call("release", json!({"id": "T-7"}));
    assert_eq!(
        released["structuredContent"]["claim"]["state"], "completed",
        "{released}"
    );
    alice.close();
    bob.close();
}

#[test]
fn a_claim_reserves_paths_an_overlap_is_refused_as_the_cli_refuses_and_who_names_the_holder() {
    let repo = Repo::new();
    let mut alice = Session::start(&repo, &[("BATON_ACTOR", "agent:alice")], &[]);
    let listed = alice.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().expect("a tool list");
    let claim = tools.iter().find(|t| t["name"] == "claim").expect("claim");
    let props = &claim["inputSchema"]["properties"];
    assert!(props["paths"].is_object() && props["shared"].is_object(), "{claim}");
    assert_eq!(claim["inputSchema"]["required"], json!(["id"]));
    let who = tools.iter().find(|t| t["name"] == "who").expect("who");
    assert_eq!(who["inputSchema"]["required"], json!(["paths"]), "{who}");

    let claimed = alice.call("claim", json!({"id": "T-1", "paths": ["src/store/", "docs/*.md"]}));
    assert_eq!(claimed["isError"], false, "{claimed}");
    let res = &claimed["structuredContent"]["claim"]["reservations"];
    assert_eq!(res[0]["pattern"], "src/store", "{claimed}");
    assert_eq!(res[0]["mode"], "exclusive");
    assert_eq!(res[1]["pattern"], "docs/*.md");
    // The CLI's `claims who` sees what the tool reserved.
    let cli_who = repo.run("agent:bob", &["claims", "who", "src/store/mod.rs"]).ok();
    assert_eq!(cli_who["paths"][0]["reservations"][0]["claim"], "T-1");

    // Another actor's overlapping exclusive reservation: refused with the CLI's text.
    let mut bob = Session::start(&repo, &[("BATON_ACTOR", "agent:bob")], &[]);
    let before = repo.state();
    let refused = bob.call("claim", json!({"id": "T-2", "paths": ["src/store/mod.rs"]}));
    assert_eq!(refused["isError"], true, "{refused}");
    assert_eq!(repo.state(), before, "a refused claim moved the state ref");
    let cli = repo.refuse(
        "agent:bob",
        &["claims", "claim", "T-2", "--paths", "src/store/mod.rs"],
        1,
        "paths_reserved",
    );
    let error = &refused["structuredContent"]["error"];
    assert_eq!(error["code"], "paths_reserved");
    assert_eq!(error["message"], cli.message());
    assert_eq!(error["hint"], cli.hint());
    let message = error["message"].as_str().expect("a message");
    assert!(message.contains("T-1") && message.contains("agent:alice"), "{message}");
    let text = refused["content"][0]["text"].as_str().expect("a text content");
    assert_eq!(text, format!("error: {}\nhint: {}", cli.message(), cli.hint()));
    // Shared against exclusive is refused too; disjoint shared paths pass.
    let shared = bob.call("claim", json!({"id": "T-2", "paths": ["src/**"], "shared": true}));
    assert_eq!(
        shared["structuredContent"]["error"]["code"], "paths_reserved",
        "{shared}"
    );
    let disjoint = bob.call("claim", json!({"id": "T-2", "paths": ["tests/"], "shared": true}));
    assert_eq!(disjoint["isError"], false, "{disjoint}");
    assert_eq!(
        disjoint["structuredContent"]["claim"]["reservations"][0]["mode"],
        "shared"
    );
    let bad = bob.call("claim", json!({"id": "T-3", "paths": ["../x"]}));
    assert_eq!(bad["structuredContent"]["error"]["code"], "invalid_pattern", "{bad}");
    assert_eq!(bad["structuredContent"]["exit_code"], 2);
    let lone = bob.call("claim", json!({"id": "T-3", "shared": true}));
    assert_eq!(lone["structuredContent"]["exit_code"], 2, "{lone}");

    // `who`: the holder of each path, the same document as `baton --json claims who`.
    let found = bob.call("who", json!({"paths": ["src/store/mod.rs", "tests/a.rs", "README.md"]}));
    assert_eq!(found["isError"], false, "{found}");
    let doc = &found["structuredContent"];
    let hit = &doc["paths"][0]["reservations"][0];
    assert_eq!(doc["paths"][0]["path"], "src/store/mod.rs");
    assert_eq!(hit["claim"], "T-1");
    assert_eq!(hit["holder"], "agent:alice");
    assert_eq!(hit["mode"], "exclusive");
    assert_eq!(doc["paths"][1]["reservations"][0]["holder"], "agent:bob");
    assert_eq!(doc["paths"][2]["reservations"], json!([]));
    let cli = repo
        .run(
            "agent:bob",
            &["claims", "who", "src/store/mod.rs", "tests/a.rs", "README.md"],
        )
        .ok();
    assert_eq!(doc, &cli, "who differs from the CLI's --json");
    let outside = bob.call("who", json!({"paths": ["/etc/passwd"]}));
    assert_eq!(
        outside["structuredContent"]["error"]["code"], "path_outside_repository",
        "{outside}"
    );
    let none = bob.call("who", json!({"paths": []}));
    assert_eq!(none["structuredContent"]["exit_code"], 2, "{none}");
    alice.close();
    bob.close();
}

#[test]
fn the_guard_routing_and_delivery_tools_answer_what_the_cli_answers() {
    let repo = Repo::new();
    let mut s = Session::start(&repo, &[("BATON_ACTOR", "agent:carol")], &[]);
    let judged = s.call("check_command", json!({"command": "git push --force origin main"}));
    assert_eq!(judged["isError"], false, "{judged}");
    let cli = repo.run(
        "agent:carol",
        &["learn", "pre-command", "--command", "git push --force origin main"],
    );
    let cli = cli.json();
    assert_eq!(judged["structuredContent"]["level"], "high");
    assert_eq!(judged["structuredContent"]["level"], cli["level"]);
    assert_eq!(
        judged["structuredContent"]["reasons"][0]["rule"],
        cli["reasons"][0]["rule"]
    );
    let low = s.call("check_command", json!({"command": "ls -la"}));
    assert_eq!(low["structuredContent"]["level"], "low", "{low}");

    let routed = s.call("route", json!({"task": "write the tests for the parser"}));
    assert_eq!(routed["isError"], false, "{routed}");
    let cli = repo
        .run("agent:carol", &["learn", "route", "write the tests for the parser"])
        .ok();
    assert_eq!(routed["structuredContent"]["suggestion"], cli["suggestion"]);

    crate::common::define(
        &repo,
        "ship",
        "name = \"ship\"\n\n[[steps]]\nid = \"build\"\nrun = [\"true\"]\n",
    );
    let plan = s.call("delivery_start", json!({"issue": "T-9", "workflow": "ship"}));
    assert_eq!(plan["structuredContent"]["dry_run"], true, "{plan}");
    assert_eq!(plan["structuredContent"]["steps"], json!(["build"]));
    let done = s.call(
        "delivery_start",
        json!({"issue": "T-9", "workflow": "ship", "execute": true}),
    );
    assert_eq!(done["isError"], false, "{done}");
    assert_eq!(done["structuredContent"]["delivery"]["phase"], "closed", "{done}");
    let run_id = done["structuredContent"]["delivery"]["id"]
        .as_str()
        .expect("a delivery id")
        .to_owned();
    let one = s.call("delivery_status", json!({"run_id": run_id}));
    assert_eq!(one["structuredContent"]["delivery"]["issue"], "T-9", "{one}");
    let recent = s.call("delivery_status", json!({}));
    assert_eq!(
        recent["structuredContent"]["deliveries"][0]["id"],
        run_id.as_str(),
        "{recent}"
    );
    let missing = s.call("delivery_status", json!({"run_id": "nope"}));
    assert_eq!(missing["isError"], true, "{missing}");
    s.close();
}

#[test]
fn the_sdk_client_spawns_baton_mcp_and_calls_its_tools() {
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::TokioChildProcess;
    use rmcp::ServiceExt;

    let repo = Repo::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut cmd = tokio::process::Command::new(exe());
        let mut plain = std::process::Command::new("true");
        hermetic(&mut plain);
        for (k, v) in plain.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.arg("-C")
            .arg(repo.path())
            .arg("mcp")
            .env("BATON_ACTOR", "agent:sdk");
        let client = ().serve(TokioChildProcess::new(cmd).expect("spawning baton mcp")).await.expect("initializing");
        let info = client.peer_info().expect("the server's info");
        assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("baton"));
        let tools = client.list_all_tools().await.expect("tools/list");
        let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
        names.sort();
        assert_eq!(names, TOOLS);
        let args = json!({"id": "T-11", "note": "via the SDK"});
        let result = client
            .call_tool(
                CallToolRequestParams::new("claim").with_arguments(args.as_object().cloned().expect("an object")),
            )
            .await
            .expect("tools/call");
        assert_eq!(result.is_error, Some(false), "{result:?}");
        let doc = result.structured_content.expect("structured content");
        assert_eq!(doc["claim"]["owner"], "agent:sdk");
        let again = client
            .call_tool(
                CallToolRequestParams::new("release")
                    .with_arguments(json!({"id": "T-404"}).as_object().cloned().expect("an object")),
            )
            .await
            .expect("tools/call");
        assert_eq!(again.is_error, Some(true), "{again:?}");
        client.cancel().await.expect("closing the session");
    });
    let status = repo.run("agent:sdk", &["claims", "status", "T-11"]).ok();
    assert_eq!(status["claim"]["note"], "via the SDK");
}

#[test]
fn an_invalid_actor_is_refused_before_serving() {
    let repo = Repo::new();
    let run = repo.refuse_env("nobody", &["mcp"], &[], 2, "invalid_actor");
    assert!(run.message().starts_with("BATON_ACTOR: "), "{}", run.describe());
}

// --- mcp install ---

fn install(repo: &Repo, args: &[&str]) -> crate::common::Run {
    let mut all = vec!["mcp", "install"];
    all.extend_from_slice(args);
    repo.run("human:setup", &all)
}

fn read(repo: &Repo, path: &str) -> String {
    std::fs::read_to_string(repo.path().join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn install_writes_each_clients_entry_fresh_and_is_idempotent() {
    let repo = Repo::new();
    let cases = [
        ("claude", ".mcp.json"),
        ("codex", ".codex/config.toml"),
        ("gemini", ".gemini/settings.json"),
        ("opencode", "opencode.json"),
    ];
    for (client, path) in cases {
        let done = install(&repo, &[client]).ok();
        assert_eq!(done["path"], path);
        assert_eq!(done["changed"], true, "{done}");
        let written = read(&repo, path);
        let actor = format!("agent:{client}");
        assert!(written.contains(&actor), "{path}: {written}");
        let again = install(&repo, &[client]).ok();
        assert_eq!(again["changed"], false, "{again}");
        assert_eq!(read(&repo, path), written, "{path} changed on a second install");
    }
    let claude: Value = serde_json::from_str(&read(&repo, ".mcp.json")).unwrap();
    assert_eq!(
        claude["mcpServers"]["baton"],
        json!({"type": "stdio", "command": "baton", "args": ["mcp", "--default-actor", "agent:claude"]})
    );
    let codex: toml::Table = read(&repo, ".codex/config.toml").parse().unwrap();
    assert_eq!(
        codex["mcp_servers"]["baton"]["env_vars"][0].as_str(),
        Some("BATON_ACTOR")
    );
    let opencode: Value = serde_json::from_str(&read(&repo, "opencode.json")).unwrap();
    assert_eq!(opencode["mcp"]["baton"]["type"], "local");
    assert_eq!(opencode["mcp"]["baton"]["command"][0], "baton");
}

#[test]
fn install_merges_into_existing_files_keeping_everything() {
    let repo = Repo::new();
    let files = [
        (
            ".mcp.json",
            r#"{"mcpServers": {"docs": {"command": "docs-mcp", "args": []}}}"#,
        ),
        (
            ".gemini/settings.json",
            r#"{"theme": "GitHub", "mcpServers": {"docs": {"command": "docs-mcp"}}}"#,
        ),
        (
            "opencode.json",
            r#"{"$schema": "https://opencode.ai/config.json", "command": {"hi": {"template": "hi"}}}"#,
        ),
        (
            ".codex/config.toml",
            "# mine\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n",
        ),
    ];
    for (path, content) in files {
        let full = repo.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, content).unwrap();
    }
    for client in ["claude", "gemini", "opencode", "codex"] {
        install(
            &repo,
            &[client, "--baton", "/opt/baton/bin/baton", "--as", "agent:builder"],
        )
        .ok();
    }
    let claude: Value = serde_json::from_str(&read(&repo, ".mcp.json")).unwrap();
    assert_eq!(claude["mcpServers"]["docs"]["command"], "docs-mcp");
    assert_eq!(claude["mcpServers"]["baton"]["command"], "/opt/baton/bin/baton");
    assert_eq!(claude["mcpServers"]["baton"]["args"][2], "agent:builder");
    let gemini: Value = serde_json::from_str(&read(&repo, ".gemini/settings.json")).unwrap();
    assert_eq!(gemini["theme"], "GitHub");
    assert_eq!(gemini["mcpServers"]["docs"]["command"], "docs-mcp");
    assert_eq!(gemini["mcpServers"]["baton"]["args"][0], "mcp");
    let opencode: Value = serde_json::from_str(&read(&repo, "opencode.json")).unwrap();
    assert_eq!(opencode["command"]["hi"]["template"], "hi");
    assert_eq!(
        opencode["mcp"]["baton"]["command"],
        json!(["/opt/baton/bin/baton", "mcp", "--default-actor", "agent:builder"])
    );
    let codex = read(&repo, ".codex/config.toml");
    assert!(codex.starts_with("# mine\nmodel = \"o3\"\n"), "{codex}");
    assert!(codex.contains("[mcp_servers.docs]"), "{codex}");
    assert!(codex.contains("command = \"/opt/baton/bin/baton\""), "{codex}");
}

#[test]
fn install_refuses_a_different_baton_entry_unless_forced() {
    let repo = Repo::new();
    for (client, path) in [("claude", ".mcp.json"), ("codex", ".codex/config.toml")] {
        install(&repo, &[client]).ok();
        let before = read(&repo, path);
        let refused = repo.refuse(
            "human:setup",
            &["mcp", "install", client, "--as", "agent:other"],
            1,
            "mcp_conflict",
        );
        assert!(refused.hint().contains("--force"), "{}", refused.describe());
        assert_eq!(read(&repo, path), before, "a refused install changed {path}");
        let forced = install(&repo, &[client, "--as", "agent:other", "--force"]).ok();
        assert_eq!(forced["changed"], true);
        assert!(read(&repo, path).contains("agent:other"));
    }
    std::fs::create_dir_all(repo.path().join(".gemini")).unwrap();
    std::fs::write(repo.path().join(".gemini/settings.json"), "{ nope").unwrap();
    repo.refuse("human:setup", &["mcp", "install", "gemini"], 2, "invalid_settings");
    repo.refuse("human:setup", &["mcp", "install", "vim"], 2, "unknown_client");
}

#[test]
fn this_repositorys_opencode_json_has_the_entry_mcp_install_writes() {
    use baton::mcp::install::{install, Client, Launch};
    let ours = include_bytes!("../../opencode.json");
    let done = install(
        Client::Opencode,
        Some(ours),
        &Launch::default_for(Client::Opencode),
        false,
    )
    .expect("opencode.json takes the entry");
    assert!(
        !done.changed,
        "opencode.json lacks the entry `baton mcp install opencode` writes"
    );
}

/// The keys of a JSON object, in the order the server wrote them.
fn keys(doc: &Value) -> Vec<&str> {
    doc.as_object()
        .unwrap_or_else(|| panic!("not an object: {doc}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// Every tool result's shape, key by key and in order: the documents are
/// typed structs, and changing one is a change of the tools' interface.
#[test]
fn every_tool_result_keeps_its_shape() {
    let repo = Repo::new();
    let mut alice = Session::start(&repo, &[("BATON_ACTOR", "agent:alice")], &[]);
    let claimed = alice.call("claim", json!({"id": "T-1", "paths": ["src/"]}));
    assert_eq!(
        keys(&claimed["structuredContent"]),
        ["op", "changed", "commit", "claim"],
        "{claimed}"
    );
    let again = alice.call("claim", json!({"id": "T-1"}));
    assert_eq!(again["structuredContent"]["commit"], Value::Null, "{again}");
    // A handoff to an actor the state never saw carries a warning.
    let offered = alice.call("handoff", json!({"id": "T-1", "to": "agent:zed"}));
    assert_eq!(
        keys(&offered["structuredContent"]),
        ["op", "changed", "commit", "claim", "warnings"],
        "{offered}"
    );
    let summary = alice.call("status", json!({}));
    assert_eq!(
        keys(&summary["structuredContent"]),
        ["counts", "actor", "mine", "offered"],
        "{summary}"
    );
    assert_eq!(
        summary["structuredContent"]["counts"]["handoff_pending"], 1,
        "{summary}"
    );
    assert_eq!(summary["structuredContent"]["mine"][0]["id"], "T-1", "{summary}");
    let one = alice.call("status", json!({"id": "T-1"}));
    assert_eq!(keys(&one["structuredContent"]), ["claim"], "{one}");
    let listed = alice.call("list", json!({"limit": 0}));
    assert_eq!(keys(&listed["structuredContent"]), ["claims", "truncated"], "{listed}");
    assert_eq!(listed["structuredContent"]["truncated"], true, "{listed}");
    let who = alice.call("who", json!({"paths": ["src/a.rs"]}));
    assert_eq!(keys(&who["structuredContent"]), ["paths"], "{who}");
    let judged = alice.call("check_command", json!({"command": "rm -rf /"}));
    assert_eq!(
        keys(&judged["structuredContent"]),
        ["level", "decision", "reasons", "families", "explain"],
        "{judged}"
    );

    crate::common::define(
        &repo,
        "ship",
        "name = \"ship\"\n\n[[steps]]\nid = \"build\"\nrun = [\"true\"]\n",
    );
    let plan = alice.call("delivery_start", json!({"issue": "T-2", "workflow": "ship"}));
    let doc = &plan["structuredContent"];
    assert_eq!(
        keys(doc),
        ["dry_run", "issue", "claim", "workflow", "steps", "final", "refused"],
        "{plan}"
    );
    assert_eq!(keys(&doc["claim"]), ["action", "generation", "agent"], "{plan}");
    assert_eq!(doc["claim"]["action"], "claim");
    assert_eq!(keys(&doc["final"]), ["action"], "{plan}");
    let handing = alice.call(
        "delivery_start",
        json!({"issue": "T-2", "workflow": "ship", "handoff_to": "agent:bob"}),
    );
    assert_eq!(
        handing["structuredContent"]["final"],
        json!({"action": "handoff", "to": "agent:bob"}),
        "{handing}"
    );
    // The plan of a claim another holds says it would be refused.
    let mut bob = Session::start(&repo, &[("BATON_ACTOR", "agent:bob")], &[]);
    let refused = bob.call("delivery_start", json!({"issue": "T-1", "workflow": "ship"}));
    let claim = &refused["structuredContent"]["claim"];
    assert_eq!(keys(claim), ["action", "code", "message"], "{refused}");
    assert_eq!(claim["action"], "refused");
    assert_eq!(claim["code"], "claim_held");
    let held = alice.call("delivery_start", json!({"issue": "T-9", "workflow": "ship"}));
    assert_eq!(held["structuredContent"]["claim"]["action"], "claim", "{held}");
    alice.call("claim", json!({"id": "T-9"}));
    let held = alice.call("delivery_start", json!({"issue": "T-9", "workflow": "ship"}));
    assert_eq!(
        keys(&held["structuredContent"]["claim"]),
        ["action", "generation"],
        "{held}"
    );

    let done = alice.call(
        "delivery_start",
        json!({"issue": "T-2", "workflow": "ship", "execute": true}),
    );
    assert_eq!(keys(&done["structuredContent"]), ["delivery", "claim", "run"], "{done}");
    let recent = alice.call("delivery_status", json!({}));
    assert_eq!(
        keys(&recent["structuredContent"]),
        ["deliveries", "unreadable"],
        "{recent}"
    );
    alice.close();
    bob.close();
}

//! The MCP part of `baton selftest`: `baton mcp` spoken to over stdio as a
//! client does — initialize, the tool list, a claim, and another actor's
//! claim refused as a tool error with the CLI's hint.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};

/// One `baton mcp` process.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    id: u64,
}

impl Server {
    fn start(exe: &Path, repo: &Path, actor: &str) -> anyhow::Result<Server> {
        let mut child = Command::new(exe)
            .arg("-C")
            .arg(repo)
            .arg("mcp")
            .env("BATON_ACTOR", actor)
            .env_remove("BATON_NOW")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting baton mcp")?;
        let stdin = child.stdin.take().context("baton mcp's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("baton mcp's stdout")?);
        let mut server = Server {
            child,
            stdin,
            stdout,
            id: 0,
        };
        let init = server.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "baton-selftest", "version": "1"}}),
        )?;
        ensure!(
            init["result"]["serverInfo"]["name"] == json!("baton"),
            "initialize: {init}"
        );
        server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
        Ok(server)
    }

    fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        writeln!(self.stdin, "{message}").context("writing to baton mcp")?;
        self.stdin.flush().context("writing to baton mcp")
    }

    fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.id += 1;
        let id = self.id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line).context("reading from baton mcp")? == 0 {
                bail!("baton mcp closed stdout before answering {method}");
            }
            let message: Value = serde_json::from_str(&line).with_context(|| format!("baton mcp printed {line:?}"))?;
            if message["id"] == json!(id) {
                return Ok(message);
            }
        }
    }

    fn call(&mut self, tool: &str, arguments: Value) -> anyhow::Result<Value> {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}))?;
        ensure!(response.get("error").is_none(), "tools/call {tool}: {response}");
        Ok(response["result"].clone())
    }

    fn close(mut self) -> anyhow::Result<()> {
        drop(self.stdin);
        let status = self.child.wait().context("waiting for baton mcp")?;
        ensure!(status.success(), "baton mcp ended with {status}");
        Ok(())
    }
}

/// The scenario's steps, as `ok ...` lines.
pub(super) fn scenario(exe: &Path, repo: &Path) -> anyhow::Result<Vec<String>> {
    let mut steps = Vec::new();
    let mut first = Server::start(exe, repo, "agent:mcp-1")?;
    let tools = first.request("tools/list", json!({}))?;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    ensure!(
        names.contains(&"claim") && names.contains(&"who") && names.contains(&"check_command"),
        "tools/list: {names:?}"
    );
    steps.push(format!("ok  baton mcp: initialize, tools/list ({} tools)", names.len()));
    let claimed = first.call("claim", json!({"id": "MCP-1"}))?;
    ensure!(
        claimed["isError"] == json!(false) && claimed["structuredContent"]["claim"]["owner"] == json!("agent:mcp-1"),
        "claim through MCP: {claimed}"
    );
    steps.push("ok  baton mcp: tools/call claim MCP-1 (as agent:mcp-1)".to_owned());
    let mut second = Server::start(exe, repo, "agent:mcp-2")?;
    let refused = second.call("claim", json!({"id": "MCP-1"}))?;
    let text = refused["content"][0]["text"].as_str().unwrap_or_default();
    ensure!(
        refused["isError"] == json!(true)
            && refused["structuredContent"]["error"]["code"] == json!(crate::error::code::CLAIM_HELD)
            && text.starts_with("error: ")
            && text.contains("\nhint: "),
        "a held claim through MCP: {refused}"
    );
    steps.push("ok  baton mcp: tools/call claim MCP-1 (as agent:mcp-2) refused: isError, claim_held, hint".to_owned());
    let released = first.call("release", json!({"id": "MCP-1"}))?;
    ensure!(
        released["structuredContent"]["claim"]["state"] == json!("completed"),
        "release through MCP: {released}"
    );
    steps.push("ok  baton mcp: tools/call release MCP-1".to_owned());
    first.close()?;
    second.close()?;
    Ok(steps)
}

//! What the end-to-end tests with the real agent clients (`clients.rs`)
//! need: a scripted model endpoint on localhost and a way to run each
//! client against it in a throwaway home.
//!
//! The endpoint speaks just enough of three provider APIs for a client to
//! call its tools: the Anthropic Messages API (Claude Code, opencode), the
//! OpenAI Responses API (Codex, opencode with an OpenAI model) and the
//! Gemini API (Gemini CLI), each streamed as server-sent events. Its script
//! is a list of tool calls: a request that carries `n` tool results gets
//! tool call `n`, and once every call has its result the model says "done".
//! Every request is kept, so a test reads what the client sent back — the
//! tool results, with baton's deny reasons in them.
//!
//! The clients are found under `BATON_E2E_CLIENTS_DIR` (one npm prefix per
//! client, README.md's test section); a test whose client is not there prints why it
//! skips and passes, so CI without the clients stays green.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{self, Repo};

/// Where the clients are installed: `<dir>/<client>/node_modules/.bin/<bin>`.
pub const CLIENTS_DIR_VAR: &str = "BATON_E2E_CLIENTS_DIR";

/// How long one client run may take before it is killed and the test fails
/// (they take 1-15 s; the margin is for a loaded machine).
const CLIENT_LIMIT: Duration = Duration::from_secs(90);

/// One scripted tool call: the tool's name as the client offers it (Codex's
/// MCP tools as `namespace/name`) and its input (a string for Codex's
/// freeform `apply_patch`).
#[derive(Debug, Clone)]
pub struct Step {
    pub tool: String,
    pub input: Value,
}

pub fn step(tool: &str, input: Value) -> Step {
    Step {
        tool: tool.to_owned(),
        input,
    }
}

/// One request a client made.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub body: Value,
}

/// The scripted model endpoint: a listener on 127.0.0.1 and a thread per
/// connection; stopped when dropped.
pub struct ModelServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl ModelServer {
    pub fn start(steps: Vec<Step>) -> ModelServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the model endpoint");
        let port = listener.local_addr().expect("its address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let steps = Arc::new(steps);
        {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (requests, steps) = (requests.clone(), steps.clone());
                    std::thread::spawn(move || serve(conn, &steps, &requests));
                }
            });
        }
        ModelServer { port, requests, stop }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("the request log").clone()
    }

    /// Every tool result the client sent back, in order: each request
    /// carries the conversation so far, so the longest list is all of them.
    pub fn tool_results(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| tool_results(&r.body))
            .max_by_key(Vec::len)
            .unwrap_or_default()
    }

    /// Every tool name any request offered.
    pub fn offered(&self) -> BTreeSet<String> {
        self.requests().iter().flat_map(|r| offered(&r.body)).collect()
    }

    /// What the test failed on: the paths asked and the tools offered.
    pub fn describe(&self) -> String {
        let paths: Vec<String> = self.requests().into_iter().map(|r| r.path).collect();
        format!(
            "requests: {paths:?}\ntools offered: {:?}\ntool results: {:?}",
            self.offered(),
            self.tool_results()
        )
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Answer one connection: one request, one response, then close.
fn serve(mut conn: TcpStream, steps: &[Step], requests: &Mutex<Vec<Request>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Some((path, body)) = read_request(&conn) else {
        return;
    };
    requests.lock().expect("the request log").push(Request {
        path: path.clone(),
        body: body.clone(),
    });
    let done = tool_results(&body).len();
    let next = steps.get(done).filter(|s| offered(&body).contains(&s.tool));
    let response = if path.contains(":countTokens") {
        json_response(&json!({ "totalTokens": 10 }))
    } else if path.contains(":generateContent") || path.contains(":streamGenerateContent") {
        gemini(next, path.contains(":streamGenerateContent"))
    } else if path.ends_with("/responses") {
        openai_responses(next, done)
    } else if path.contains("/messages") && !path.contains("count_tokens") {
        anthropic(next, done, &body)
    } else {
        let body = br#"{"error":{"message":"not scripted"}}"#;
        let mut out = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let _ = conn.write_all(&response);
    let _ = conn.flush();
}

/// The request line's path and the JSON body (`Null` when there is none).
fn read_request(conn: &TcpStream) -> Option<(String, Value)> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((path, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// The tool results a request carries, as text, in all three APIs.
fn tool_results(body: &Value) -> Vec<String> {
    let text = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        }
    };
    let list = |v: &Value, key: &str| v.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = Vec::new();
    // Anthropic: user messages whose content blocks are `tool_result`s.
    for message in list(body, "messages") {
        for block in list(&message, "content") {
            if block["type"] == "tool_result" {
                out.push(text(&block["content"]));
            }
        }
    }
    // OpenAI Responses: `function_call_output` / `custom_tool_call_output` items.
    for item in list(body, "input") {
        if item["type"].as_str().is_some_and(|t| t.ends_with("_call_output")) {
            out.push(text(&item["output"]));
        }
    }
    // Gemini: `functionResponse` parts.
    for content in list(body, "contents") {
        for part in list(&content, "parts") {
            if let Some(response) = part.get("functionResponse") {
                out.push(response["response"].to_string());
            }
        }
    }
    out
}

/// The tool names a request offers (Codex's namespaced ones as `ns/name`).
fn offered(body: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for tool in body.get("tools").and_then(Value::as_array).into_iter().flatten() {
        if let Some(name) = tool.get("name").and_then(Value::as_str) {
            out.insert(name.to_owned());
            for inner in tool.get("tools").and_then(Value::as_array).into_iter().flatten() {
                if let Some(inner) = inner.get("name").and_then(Value::as_str) {
                    out.insert(format!("{name}/{inner}"));
                }
            }
        }
        for decl in tool
            .get("functionDeclarations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = decl.get("name").and_then(Value::as_str) {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

fn json_response(value: &Value) -> Vec<u8> {
    let body = value.to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A complete event stream: the response ends when the connection closes.
fn sse(events: &[(Option<&str>, Value)]) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
            .to_vec();
    for (name, data) in events {
        if let Some(name) = name {
            out.extend_from_slice(format!("event: {name}\n").as_bytes());
        }
        out.extend_from_slice(format!("data: {data}\n\n").as_bytes());
    }
    out
}

fn anthropic(next: Option<&Step>, n: usize, request: &Value) -> Vec<u8> {
    let model = request["model"].as_str().unwrap_or("claude-sonnet-4-5");
    let usage = json!({"input_tokens": 10, "output_tokens": 1});
    let mut events = vec![(
        Some("message_start"),
        json!({"type": "message_start", "message": {"id": format!("msg_{n}"), "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}}),
    )];
    let (block, delta, stop) = match next {
        Some(s) => (
            json!({"type": "tool_use", "id": format!("toolu_{n}"), "name": s.tool, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": s.input.to_string()}),
            "tool_use",
        ),
        None => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": "done"}),
            "end_turn",
        ),
    };
    events.extend([
        (
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ),
        (
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            Some("content_block_stop"),
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            Some("message_delta"),
            json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        ),
        (Some("message_stop"), json!({"type": "message_stop"})),
    ]);
    sse(&events)
}

fn openai_responses(next: Option<&Step>, n: usize) -> Vec<u8> {
    let item = match next {
        // Codex's freeform tools (apply_patch) take the raw text.
        Some(s) if s.input.is_string() => json!({"type": "custom_tool_call", "id": format!("ctc_{n}"),
            "call_id": format!("call_{n}"), "name": s.tool, "input": s.input, "status": "completed"}),
        Some(s) => {
            let (namespace, name) = match s.tool.split_once('/') {
                Some((ns, name)) => (Some(ns), name),
                None => (None, s.tool.as_str()),
            };
            let mut item = json!({"type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
                "name": name, "arguments": s.input.to_string(), "status": "completed"});
            if let Some(ns) = namespace {
                item["namespace"] = json!(ns);
            }
            item
        }
        None => json!({"type": "message", "id": format!("msg_{n}"), "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "done", "annotations": []}]}),
    };
    let id = format!("resp_{n}");
    let usage = json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15});
    sse(&[
        (
            Some("response.created"),
            json!({"type": "response.created", "response": {"id": id, "status": "in_progress", "output": []}}),
        ),
        (
            Some("response.output_item.added"),
            json!({"type": "response.output_item.added", "output_index": 0, "item": item}),
        ),
        (
            Some("response.output_item.done"),
            json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
        ),
        (
            Some("response.completed"),
            json!({"type": "response.completed", "response": {"id": id, "status": "completed", "output": [item], "usage": usage}}),
        ),
    ])
}

fn gemini(next: Option<&Step>, stream: bool) -> Vec<u8> {
    let part = match next {
        Some(s) => json!({"functionCall": {"name": s.tool, "args": s.input}}),
        None => json!({"text": "done"}),
    };
    let response = json!({
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
    });
    if stream {
        sse(&[(None, response)])
    } else {
        json_response(&response)
    }
}

/// An agent client these tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Claude,
    Codex,
    Gemini,
    Opencode,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Claude => "claude",
            Client::Codex => "codex",
            Client::Gemini => "gemini",
            Client::Opencode => "opencode",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Client::Claude => "@anthropic-ai/claude-code",
            Client::Codex => "@openai/codex",
            Client::Gemini => "@google/gemini-cli",
            Client::Opencode => "opencode-ai",
        }
    }

    /// The installed client, or `None` after printing why the test skips.
    pub fn find(self) -> Option<PathBuf> {
        let install = format!(
            "npm install --prefix \"${CLIENTS_DIR_VAR}/{}\" {}",
            self.name(),
            self.package()
        );
        let Some(dir) = std::env::var_os(CLIENTS_DIR_VAR) else {
            eprintln!(
                "skipped: {CLIENTS_DIR_VAR} is not set; to run the {} end-to-end tests: {install}",
                self.name()
            );
            return None;
        };
        let bin = Path::new(&dir)
            .join(self.name())
            .join("node_modules/.bin")
            .join(self.name());
        if bin.is_file() {
            Some(bin)
        } else {
            eprintln!("skipped: {} is not installed ({install})", bin.display());
            None
        }
    }
}

/// A repository with baton's state, a committed `src/locked.txt` that
/// `human:alice` reserves exclusively under claim T-1, and a home of its
/// own for the client (no user settings, no credentials).
pub struct Setup {
    pub repo: Repo,
    pub home: assert_fs::TempDir,
}

pub const LOCKED: &str = "src/locked.txt";
pub const LOCKED_TEXT: &str = "original\n";
pub const HOLDER: &str = "human:alice";

impl Setup {
    pub fn new() -> Setup {
        let repo = Repo::new();
        write(&repo.path().join(LOCKED), LOCKED_TEXT);
        repo.git(&["add", LOCKED]);
        repo.git(&["commit", "-q", "-m", "a file to reserve"]);
        repo.run(HOLDER, &["claims", "claim", "T-1", "--paths", LOCKED]).ok();
        let home = assert_fs::TempDir::new().expect("a home for the client");
        Setup { repo, home }
    }

    /// `baton <args>` in the repository, as the user setting it up would.
    pub fn baton(&self, args: &[&str]) {
        let run = self.repo.run("human:setup", args);
        run.ok();
    }

    pub fn locked(&self) -> String {
        std::fs::read_to_string(self.repo.path().join(LOCKED)).expect("reading the reserved file")
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn write_home(&self, rel: &str, text: &str) {
        write(&self.home().join(rel), text);
    }

    pub fn write_repo(&self, rel: &str, text: &str) {
        write(&self.repo.path().join(rel), text);
    }

    /// The number of decisions the guard journaled at `level`.
    pub fn decisions(&self, level: &str) -> u64 {
        let m = self.repo.run("human:reader", &["learn", "metrics"]).ok();
        m["decisions"][level].as_u64().expect("decision counts")
    }

    /// Run `bin` in the repository with `args` and `env`: `baton` (this
    /// build) first on PATH, HOME in the setup's home, the hermetic git
    /// environment, no terminal. Killed (the test fails) after
    /// [`CLIENT_LIMIT`].
    pub fn run(&self, bin: &Path, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
        let bin_dir = bin.parent().expect("the client's directory");
        let path = std::env::join_paths(
            std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&path_with_baton())),
        )
        .expect("PATH");
        let out = self.home().join("client.out");
        let err = self.home().join("client.err");
        let mut cmd = std::process::Command::new(bin);
        common::hermetic(&mut cmd);
        // PWD too: opencode takes its directory from it, not from the
        // process's working directory.
        cmd.current_dir(self.repo.path())
            .env("PWD", self.repo.path())
            .args(args)
            .env("PATH", path)
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env("XDG_STATE_HOME", self.home().join(".local/state"))
            .env("XDG_CACHE_HOME", self.home().join(".cache"))
            .env("NO_COLOR", "1")
            .env_remove("CI")
            // A developer's own client settings must not redirect a client
            // (or send a real credential, even to localhost).
            .env_remove("ANTHROPIC_AUTH_TOKEN")
            .env_remove("ANTHROPIC_MODEL")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("GOOGLE_API_KEY")
            .env_remove("GOOGLE_GENAI_USE_VERTEXAI")
            .env_remove("GEMINI_MODEL")
            .env_remove("OPENCODE_CONFIG")
            .env_remove("OPENCODE_CONFIG_CONTENT")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out).expect("the client's stdout file"))
            .stderr(std::fs::File::create(&err).expect("the client's stderr file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Its own process group, so that a timeout also ends what it started.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for the client") {
                break status;
            }
            if started.elapsed() > CLIENT_LIMIT {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
                panic!(
                    "{} did not finish within {CLIENT_LIMIT:?}\nstdout: {}\nstderr: {}",
                    bin.display(),
                    std::fs::read_to_string(&out).unwrap_or_default(),
                    std::fs::read_to_string(&err).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        std::process::Output {
            status,
            stdout: std::fs::read(&out).unwrap_or_default(),
            stderr: std::fs::read(&err).unwrap_or_default(),
        }
    }
}

/// PATH with this build's `baton` first: what the installed hooks and
/// MCP entries run.
pub fn path_with_baton() -> std::ffi::OsString {
    let baton_dir = common::exe().parent().expect("baton's directory").to_path_buf();
    std::env::join_paths(
        std::iter::once(baton_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH")
}

/// A program on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("creating the directory");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The client's output, for failure messages.
pub fn describe(out: &std::process::Output, server: &ModelServer) -> String {
    format!(
        "exit: {:?}\nstdout: {}\nstderr: {}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.describe()
    )
}

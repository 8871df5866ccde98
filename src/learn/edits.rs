//! The agents' file-editing tools, as their pre-tool hook payloads carry
//! them: which files a call is about to write (docs/reservations.md, Edit
//! tools). Pure: the payload's tool and input in, the paths as the payload
//! names them (absolute, or relative to its `cwd`) out.
//!
//! - Claude Code: `Edit`, `Write`, `MultiEdit` (`tool_input.file_path`),
//!   `NotebookEdit` (`tool_input.notebook_path`).
//! - Codex: `apply_patch`, whose `tool_input.command` is the patch: its
//!   `*** Add File:`, `*** Update File:`, `*** Delete File:` and
//!   `*** Move to:` lines name the files, relative to the payload's `cwd`.
//! - Gemini CLI: `write_file` and `replace` (`tool_input.file_path`).
//! - opencode's `edit`, `write`, `apply_patch` and `patch` go through its
//!   plugin, which passes the paths to `learn pre-command --edit`.

use serde_json::Value;

use super::hooks::Dialect;

/// The files a tool call writes; `None` when the tool is not a file edit.
/// An edit tool whose input names no file yields an empty list.
pub fn edited_paths(dialect: Dialect, tool: &str, input: Option<&Value>) -> Option<Vec<String>> {
    let field = |key: &str| -> Vec<String> {
        input
            .and_then(|i| i.get(key))
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(|p| vec![p.to_owned()])
            .unwrap_or_default()
    };
    match (dialect, tool) {
        (Dialect::Claude | Dialect::Codex, "Edit" | "Write" | "MultiEdit") => Some(field("file_path")),
        (Dialect::Claude | Dialect::Codex, "NotebookEdit") => {
            let mut paths = field("notebook_path");
            if paths.is_empty() {
                paths = field("file_path");
            }
            Some(paths)
        }
        (Dialect::Claude | Dialect::Codex, "apply_patch") => {
            let patch = ["command", "patch", "input"]
                .iter()
                .find_map(|k| input.and_then(|i| i.get(*k)).and_then(Value::as_str))
                .unwrap_or_default();
            Some(patch_paths(patch))
        }
        (Dialect::Gemini, "write_file" | "replace") => {
            let mut paths = field("file_path");
            if paths.is_empty() {
                paths = field("absolute_path");
            }
            Some(paths)
        }
        _ => None,
    }
}

/// The files a Codex patch (`*** Begin Patch` ... `*** End Patch`) touches.
pub fn patch_paths(patch: &str) -> Vec<String> {
    const HEADERS: [&str; 4] = [
        "*** Add File: ",
        "*** Update File: ",
        "*** Delete File: ",
        "*** Move to: ",
    ];
    let mut out: Vec<String> = Vec::new();
    for line in patch.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(path) = HEADERS.iter().find_map(|h| line.strip_prefix(h)) {
            let path = path.trim();
            if !path.is_empty() && !out.iter().any(|p| p == path) {
                out.push(path.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_clients_edit_tools_name_their_files() {
        let input = json!({"file_path": "/r/src/a.rs", "notebook_path": "/r/n.ipynb"});
        for tool in ["Edit", "Write", "MultiEdit"] {
            assert_eq!(
                edited_paths(Dialect::Claude, tool, Some(&input)).unwrap(),
                ["/r/src/a.rs"]
            );
        }
        assert_eq!(
            edited_paths(Dialect::Claude, "NotebookEdit", Some(&input)).unwrap(),
            ["/r/n.ipynb"]
        );
        assert_eq!(
            edited_paths(Dialect::Gemini, "replace", Some(&input)).unwrap(),
            ["/r/src/a.rs"]
        );
        assert_eq!(edited_paths(Dialect::Claude, "Read", Some(&input)), None);
        assert_eq!(edited_paths(Dialect::Gemini, "Edit", Some(&input)), None);
        assert_eq!(
            edited_paths(Dialect::Claude, "Write", None).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_codex_patch_names_every_file_it_touches() {
        let patch = "*** Begin Patch\n*** Update File: src/a.rs\n@@\n-x\n+y\n*** Move to: src/b.rs\n\
                     *** Add File: docs/new.md\n+hello\n*** Delete File: old.txt\n*** Update File: src/a.rs\n*** End Patch\n";
        assert_eq!(patch_paths(patch), ["src/a.rs", "src/b.rs", "docs/new.md", "old.txt"]);
        let input = json!({ "command": patch });
        assert_eq!(
            edited_paths(Dialect::Codex, "apply_patch", Some(&input)).unwrap().len(),
            4
        );
    }
}

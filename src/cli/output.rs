//! What a command prints: the same result as text for people and as one JSON
//! document for programs (`--json`), plus the exit code. Text never carries
//! a terminal control character (see [`crate::term`]), and a value never
//! forges a line: renderers pass every free-text value from the state or the
//! arguments (reasons, notes, workflow names, hosts, messages, config
//! values) through [`safe`], the one escaping helper; every cell of a
//! [`table`] goes through it too; and whatever is printed is escaped once
//! more as a whole (control characters only, its line feeds kept).

use std::borrow::Cow;

use serde_json::Value;

use crate::error::Error;
use crate::ops::sync::Report;
use crate::ops::Applied;

pub struct Output {
    pub json: Value,
    pub text: String,
    pub exit_code: i32,
    /// Printed as-is even with `--json` (completion scripts).
    raw: bool,
    /// The write landed but was not published: said on stderr (and in
    /// the JSON document as `not_published`), exit 3.
    unpublished: Option<Error>,
    /// Said on stderr as `note: ...` in text mode (not with `-q`), so
    /// stdout keeps only the result a script reads.
    notes: Vec<String>,
    /// The `--json` document already printed (see [`json_join`]), instead of `json`.
    json_text: Option<String>,
}

impl Output {
    pub fn new(json: Value, text: impl Into<String>) -> Output {
        Output {
            json,
            text: text.into(),
            exit_code: 0,
            raw: false,
            unpublished: None,
            notes: Vec::new(),
            json_text: None,
        }
    }

    /// A result whose `--json` document is already printed (a list of
    /// thousands of records, see [`json_join`]).
    pub fn printed_json(json_text: String, text: impl Into<String>) -> Output {
        Output {
            json_text: Some(json_text),
            ..Output::new(Value::Null, text)
        }
    }

    pub fn raw(text: String) -> Output {
        Output {
            json: Value::Null,
            text,
            exit_code: 0,
            raw: true,
            unpublished: None,
            notes: Vec::new(),
            json_text: None,
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Output {
        self.notes.push(note.into());
        self
    }

    pub fn exit(mut self, code: i32) -> Output {
        self.exit_code = code;
        self
    }

    pub fn print(&self, json: bool, quiet: bool) {
        if self.raw {
            write_stdout(&self.text);
        } else if let (true, Some(printed)) = (json, &self.json_text) {
            // Tens of megabytes at 100 000 claims: written as it is, not copied.
            write_stdout(printed);
            write_stdout("\n");
        } else if json {
            write_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&self.json).unwrap_or_default()
            ));
        } else if !quiet && !self.text.is_empty() {
            let text = crate::term::lines(&self.text);
            let colour = crate::term::colour(crate::term::Stream::Stdout);
            let text = crate::term::paint(text.trim_end_matches('\n'), colour);
            write_stdout(&format!("{text}\n"));
        }
        if !json && !quiet {
            let colour = crate::term::colour(crate::term::Stream::Stderr);
            for n in &self.notes {
                let line = format!("note: {}", crate::term::lines(n));
                eprintln!("{}", crate::term::paint(&line, colour));
            }
        }
        if let Some(e) = &self.unpublished {
            eprintln!("error: {}", crate::term::lines(&e.message()));
            eprintln!("hint: {}", crate::term::lines(&e.hint));
        }
    }
}

/// A value as it may appear inside a line of text output (a note, a reason,
/// a workflow name, a host, a path, a message; anything from the state,
/// which another machine may have written, or from the arguments): control
/// characters escaped, line feeds and carriage returns included, so it can
/// neither drive the terminal nor forge a line (`hint: ...`). Escaping is
/// idempotent: an escaped value passes through unchanged.
pub fn safe(s: &str) -> Cow<'_, str> {
    crate::term::field(s)
}

/// A write's output, with what publishing it did (`--sync`, `sync.auto`).
pub fn published<T>(out: Output, applied: &Applied<T>) -> Output {
    publication(out, &applied.published, &applied.not_published)
}

/// `out` with what publishing did: the sync report, or — the write landed
/// here but did not reach the remote — the result as it landed, the
/// failure beside it (`not_published` in JSON, `error:`/`hint:` on
/// stderr) and exit 3.
pub fn publication(mut out: Output, report: &Option<Report>, failure: &Option<Error>) -> Output {
    if let Some(report) = report {
        out.text.push('\n');
        out.text.push_str(&super::sync::describe(report));
        out.json["sync"] = crate::messages::value(report);
    }
    if let Some(e) = failure {
        out.json["not_published"] = e.to_json()["error"].clone();
        out.unpublished = Some(e.clone());
        out.exit_code = e.exit_code();
    }
    out
}

/// Write to stdout, ignoring a closed pipe (`baton log | head`): the reader
/// has what it wanted, and `print!` would panic instead.
pub fn write_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// `{"<key>": [<items>]}` exactly as `serde_json::to_string_pretty` prints
/// it, from items each already printed that way and indented for their
/// place in the list ([`crate::claims::list_item`], as
/// [`crate::claims::Row::json`] is): the document is their texts joined.
/// Listing 100 000 claims then costs one copy of their text, not building
/// and printing a document of them.
pub fn json_join<'a>(key: &str, items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    let size: usize = items.iter().map(|item| item.len() + 2).sum();
    let mut out = String::with_capacity(size + key.len() + 32);
    out.push_str(&format!("{{\n  {}: [", Value::String(key.to_owned())));
    for (n, item) in items.iter().enumerate() {
        out.push_str(if n == 0 { "\n" } else { ",\n" });
        out.push_str(item);
    }
    out.push_str(if items.is_empty() { "]\n}" } else { "\n  ]\n}" });
    out
}

/// Left-aligned columns, two spaces apart; the header is the first row.
/// Every cell is one line: passed through [`safe`] here, so no renderer can
/// forget it.
pub fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows.iter().map(|r| r.iter().map(|c| safe(c)).collect()).collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The short form of a commit id people see.
pub fn short(id: &gix::ObjectId) -> String {
    id.to_hex_with_len(10).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_table_cell_is_one_line_whatever_it_holds() {
        let rows = vec![
            vec!["ID".to_owned(), "REASON".to_owned()],
            vec!["T-1".to_owned(), "ok\nhint: forged\r\x1b[2K".to_owned()],
        ];
        assert_eq!(table(&rows), "ID   REASON\nT-1  ok\\nhint: forged\\r\\x1b[2K\n");
        // Escaped once or twice, the same.
        assert_eq!(safe(&safe("a\nb")), safe("a\nb"));
    }

    #[test]
    fn a_list_put_together_from_printed_items_is_what_serde_prints() {
        let items = [
            json!({"id": "T-1", "note": "a \"b\"\nc ✓", "nested": {"x": [1, 2, {}], "y": []}, "e": {}}),
            json!({"id": "T-2", "n": 1.5, "z": null}),
            json!([]),
        ];
        for n in 0..=items.len() {
            let printed: Vec<String> = items[..n]
                .iter()
                .map(|v| serde_json::to_string_pretty(v).unwrap())
                .collect();
            let expected = serde_json::to_string_pretty(&json!({ "claims": items[..n] })).unwrap();
            let items: Vec<String> = printed.iter().map(|p| crate::claims::list_item(p)).collect();
            assert_eq!(json_join("claims", items.iter().map(String::as_str)), expected);
        }
    }
}

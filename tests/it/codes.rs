//! The error codes (the `code` of a `--json` error) live in one module,
//! src/error/code.rs (docs/decisions.md, "Errors and results inside"):
//! this test reads that list and fails when two codes collide, and when a
//! code is written as a string literal anywhere else in src/ — an error
//! made with a literal code, a code compared or put into JSON by hand.
//! (A `Code` can only be made in that module, so the compiler already
//! refuses `Error::refused("x", …)`; this catches the strings that slip
//! past the type: `json!("claim_held")`, `e.code.as_str() == "x"`.)

use std::collections::BTreeMap;

use crate::common::{rust_files, src};

/// The codes of src/error/code.rs: constant name → code.
fn codes(text: &str) -> Vec<(String, String)> {
    let list = regex::Regex::new(r#"(?m)^\s*([A-Z][A-Z0-9_]*) = "([^"]*)",\s*$"#).unwrap();
    list.captures_iter(text)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect()
}

/// The string literals of Rust source outside comments: where each starts
/// (its opening quote) and what it holds.
fn literals(text: &str) -> Vec<(usize, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
        } else if b[i] == b'\'' {
            // A character literal ('"', '\'', '…'), else a lifetime.
            i += match (b.get(i + 1), text.get(i + 1..).and_then(|r| r.chars().next())) {
                (Some(b'\\'), _) => 3 + b[i + 3..].iter().position(|&c| c == b'\'').map_or(0, |n| n + 1),
                (_, Some(c)) if b.get(i + 1 + c.len_utf8()) == Some(&b'\'') => 2 + c.len_utf8(),
                _ => 1,
            };
        } else if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            out.push((start, &text[start + 1..i.min(b.len())]));
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

/// Whether the literal at `at` in `text`, holding the code `value`, is
/// used as an error code. A code of two or more words (`claim_held`) is
/// one wherever it is written, unless it indexes a JSON document (a key
/// that shares its name, as `["not_published"]`); a one-word code (`git`,
/// `usage`) only where it stands where a code goes.
fn used_as_code(text: &str, at: usize, value: &str) -> bool {
    let before = text[..at].trim_end();
    if before.ends_with('[') && text[at + value.len() + 2..].starts_with(']') {
        return false;
    }
    if value.contains('_') {
        return true;
    }
    let line = &before[before.rfind('\n').map_or(0, |n| n + 1)..];
    let where_a_code_goes =
        regex::Regex::new(r#"(Error::\w+\(\s*(Kind::\w+,\s*)?|\bcode\s*(:|==|!=)\s*|"code"\s*:\s*|json!\(\s*)$"#)
            .unwrap();
    where_a_code_goes.is_match(line)
}

fn misplaced(text: &str, codes: &BTreeMap<String, String>) -> Vec<String> {
    literals(text)
        .into_iter()
        .filter(|(at, value)| codes.contains_key(*value) && used_as_code(text, *at, value))
        .map(|(at, value)| {
            let line = text[..at].matches('\n').count() + 1;
            format!("line {line}: \"{value}\" (use error::code::{})", codes[value])
        })
        .collect()
}

#[test]
fn every_error_code_is_made_in_one_module_and_no_two_collide() {
    let list_path = src().join("error").join("code.rs");
    let list = codes(&std::fs::read_to_string(&list_path).unwrap());
    assert!(
        list.len() > 50,
        "src/error/code.rs lists {} codes: the list was not read",
        list.len()
    );
    let mut by_value: BTreeMap<String, String> = BTreeMap::new();
    let mut names = std::collections::BTreeSet::new();
    for (name, value) in &list {
        assert!(
            names.insert(name.clone()),
            "{name} is defined twice in src/error/code.rs"
        );
        if let Some(other) = by_value.insert(value.clone(), name.clone()) {
            panic!("{other} and {name} are both the code \"{value}\"");
        }
    }

    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut found = Vec::new();
    for file in files.iter().filter(|f| **f != list_path) {
        for what in misplaced(&std::fs::read_to_string(file).unwrap(), &by_value) {
            found.push(format!("{}: {what}", file.strip_prefix(src()).unwrap().display()));
        }
    }
    assert!(
        found.is_empty(),
        "error codes written outside src/error/code.rs:\n{}",
        found.join("\n")
    );
}

/// The scan itself: what it must find and what it must leave alone.
#[test]
fn the_code_scan_tells_codes_from_other_strings() {
    let codes: BTreeMap<String, String> = [
        ("claim_held", "CLAIM_HELD"),
        ("git", "GIT"),
        ("not_published", "NOT_PUBLISHED"),
    ]
    .map(|(v, n)| (v.to_owned(), n.to_owned()))
    .into_iter()
    .collect();
    let found = |text: &str| misplaced(text, &codes).len();
    assert_eq!(found(r#"Error::refused("claim_held", "x")"#), 1);
    assert_eq!(found("Error::refused(\n    \"claim_held\",\n    msg)"), 1);
    assert_eq!(found(r#"doc["error"]["code"] == json!("claim_held")"#), 1);
    assert_eq!(found(r#"Error::environment("git", why)"#), 1);
    assert_eq!(found(r#"let q = '\''; Error::refused("claim_held", x)"#), 1);
    assert_eq!(found(r#"Error::new(Kind::Refused, "git", why)"#), 1);
    assert_eq!(found(r#"if e.code.as_str() == "claim_held" {}"#), 1);
    assert_eq!(found(r#"let v = json!({"code": "git"});"#), 1);
    // Not codes: a program, a JSON key of the same name, comments, other text.
    assert_eq!(found(r#"Command::new("git")"#), 0);
    assert_eq!(found(r#"out["not_published"] = e.to_json();"#), 0);
    assert_eq!(found("// Error::refused(\"claim_held\", …)\nlet x = 1;"), 0);
    assert_eq!(found(r#"let c = '"'; let s = "claim_held_not";"#), 0);
    assert_eq!(found(r#"Error::refused(code::CLAIM_HELD, "git")"#), 0);
}

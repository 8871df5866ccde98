//! The error codes (the `code` of a `--json` error) live in one module,
//! src/error/code.rs (docs/decisions.md, "Errors and results inside"):
//! this test reads that list and fails when two codes collide, and when a
//! code is written as a string literal anywhere else in src/ — an error
//! made with a literal code, a code compared or put into JSON by hand.
//! (A `Code` can only be made in that module, so the compiler already
//! refuses `Error::refused("x", …)`; this catches the strings that slip
//! past the type: `json!("claim_held")`, `e.code.as_str() == "x"`.)
//!
//! It also keeps the user's error out of the modules below `ops`: they
//! fail with types of their own, and `ops::refusals` makes each the user's
//! error (kind, code, hint) in one `From`.

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

/// The modules below `ops` whose failures are typed: the user's error is
/// made from them in `ops::refusals`, never built where they fail.
const BELOW_OPS: &[&str] = &[
    "claims",
    "pool",
    "delivery",
    "workflow",
    "learn",
    "config.rs",
    "ids.rs",
    "clock.rs",
    "glob.rs",
    "codec.rs",
    "metrics",
    "daemon",
];

/// Files below `ops` that may still build the user's error, each with why.
/// Keep it short: a new entry needs a reason a reviewer accepts.
const MAY_BUILD_THE_USERS_ERROR: &[(&str, &str)] = &[];

/// `text` with comments, string and character literals blanked (same
/// length, so offsets and lines stay), and every `#[cfg(test)]` item
/// removed: tests may build an error by hand to feed what they test.
fn code_outside_tests(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'\'' {
            let len = match (b.get(i + 1), text.get(i + 1..).and_then(|r| r.chars().next())) {
                (Some(b'\\'), _) => 3 + b[i + 3..].iter().position(|&c| c == b'\'').map_or(0, |n| n + 1),
                (_, Some(c)) if b.get(i + 1 + c.len_utf8()) == Some(&b'\'') => 2 + c.len_utf8(),
                _ => 1,
            };
            if len > 1 {
                blank(&mut out, i, i + len);
            }
            i += len;
        } else if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            blank(&mut out, start, i);
        } else {
            i += 1;
        }
    }
    let mut code = String::from_utf8_lossy(&out).into_owned();
    while let Some(at) = code.find("#[cfg(test)]") {
        // The item: up to its `;`, or its braced body.
        let rest = &code[at..];
        let end = match (rest.find(';'), rest.find('{')) {
            (Some(semi), Some(brace)) if semi < brace => at + semi + 1,
            (_, Some(brace)) => {
                let mut depth = 0usize;
                let mut end = code.len();
                for (n, c) in rest[brace..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = at + brace + n + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (Some(semi), None) => at + semi + 1,
            (None, None) => code.len(),
        };
        let gone: String = code[at..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        code.replace_range(at..end, &gone);
    }
    code
}

/// Where `text` builds the user's error by hand: `Error::refused(`,
/// `invalid`, `failed`, `environment` or `new`, as line numbers.
fn builds_the_users_error(text: &str) -> Vec<usize> {
    let code = code_outside_tests(text);
    let call = regex::Regex::new(r"\bError\s*::\s*(refused|invalid|failed|environment|new)\s*\(").unwrap();
    call.find_iter(&code)
        .map(|m| code[..m.start()].matches('\n').count() + 1)
        .collect()
}

#[test]
fn modules_below_ops_fail_with_their_own_types() {
    let mut found = Vec::new();
    for module in BELOW_OPS {
        let mut files = Vec::new();
        rust_files(&src().join(module), &mut files);
        assert!(!files.is_empty(), "src/{module} is gone: update BELOW_OPS");
        for file in files {
            let name = file.strip_prefix(src()).unwrap().display().to_string();
            if MAY_BUILD_THE_USERS_ERROR.iter().any(|(f, _)| *f == name) {
                continue;
            }
            for line in builds_the_users_error(&std::fs::read_to_string(&file).unwrap()) {
                found.push(format!("src/{name}:{line}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "these modules below ops build the user's error (error::Error) themselves; return a typed \
         error of the module and convert it in src/ops/refusals/ (docs/decisions.md, \
         \"Errors and results inside\"):\n{}",
        found.join("\n")
    );
}

/// The scan itself: what it must find and what it must leave alone.
#[test]
fn the_scan_finds_the_users_error_built_outside_tests() {
    let found = |text: &str| builds_the_users_error(text);
    assert_eq!(found("fn f() -> Error {\n    Error::invalid(code::X, m)\n}"), [2]);
    assert_eq!(found("Err(crate::error::Error::refused(c, m))"), [1]);
    assert_eq!(found("Error::new(Kind::Failed, c, m)"), [1]);
    assert_eq!(found("Error :: environment (c, m)"), [1]);
    // After a test-only item, the code goes on being scanned.
    assert_eq!(
        found("#[cfg(test)]\nmod fixtures;\nfn f() { Error::failed(c, m) }"),
        [3]
    );
    assert_eq!(
        found("#[cfg(test)]\nmod tests {\n    fn t() { let s = \"}\"; Error::invalid(c, m); }\n}\nfn g() { Error::invalid(c, m) }"),
        [5]
    );
    // Not a construction: comments, strings, the typed errors' own, conversions.
    assert!(found("// Error::invalid(code::X, m)\nlet s = \"Error::refused(\";").is_empty());
    assert!(found("Error::io(\"reading x\", e); Error::from(bad); Error::git(w, e)").is_empty());
    assert!(found("BadError::invalid(x)").is_empty());
}

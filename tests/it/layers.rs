//! The layer order of src/ (docs/architecture.md, "Layers"), enforced: the
//! top-level modules are read off the file tree, every `crate::` path in
//! their code (comments and string literals left out) is an edge, and the
//! test fails on an edge that points up the order or on any cycle.
//!
//! [`LAYERS`] is the one place to change when a module is added, moved or
//! allowed a new dependency: keep it and the picture in
//! docs/architecture.md saying the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::{rust_files, src};

/// The layers of src/, top first. A module may use the modules of the
/// layers below its own, and of its own layer as long as that makes no
/// cycle. Every top-level module of src/ must be listed.
const LAYERS: &[(&str, &[&str])] = &[
    // Where a person or an agent comes in: parse, call ops, render.
    ("edges", &["cli", "mcp", "messages"]),
    // Every operation as a transaction over the store.
    ("operations", &["ops"]),
    // Where each subsystem's files live in the tree, and loading them.
    ("state", &["state"]),
    // Doctor's judgement of store facts and files.
    ("doctor", &["doctor"]),
    // The shared policy file, assembled from each subsystem's `Policy`.
    ("config", &["config"]),
    // The subsystems, pure (workflow's executor runs steps through os),
    // each using only those under it.
    ("daemon", &["daemon"]),
    ("delivery and metrics", &["delivery", "metrics"]),
    ("workflow", &["workflow"]),
    ("learn", &["learn"]),
    ("sync", &["sync"]),
    ("pool", &["pool"]),
    ("claims", &["claims"]),
    // The outside world: git, and the few system calls.
    ("store and os", &["store", "os"]),
    // Small types and functions every layer may use.
    (
        "leaves",
        &[
            "broken", "clock", "codec", "error", "finding", "glob", "ids", "redact", "term",
            // Test builds only: fixtures every module's unit tests may use.
            "testing",
        ],
    ),
];

/// The top-level modules of `src` and their files: `src/x.rs` and
/// everything under `src/x/`. The crate root and the binary are not modules.
fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_file() && (path.extension().is_none_or(|e| e != "rs") || name == "lib" || name == "main") {
            continue;
        }
        rust_files(&path, out.entry(name).or_default());
    }
    out
}

/// Rust source with comments, string and character literals blanked out,
/// so a path in a doc comment or a message is not an import.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < b.len() {
                if text[i..].starts_with("/*") {
                    depth += 1;
                    i += 2;
                } else if text[i..].starts_with("*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if let Some(len) = raw_string(rest) {
            i += len;
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // A character literal ('x', '\n', '\u{..}', '"'), or a lifetime.
            match char_literal(rest) {
                Some(len) => {
                    i += len;
                    out.push_str("' '");
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, `br#"…"#`) at the
/// start of `s`, when there is one.
fn raw_string(s: &str) -> Option<usize> {
    let body = s.strip_prefix("br").or_else(|| s.strip_prefix('r'))?;
    let hashes = body.len() - body.trim_start_matches('#').len();
    let body = body[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = body.find(&close)?;
    Some(s.len() - body.len() + end + close.len())
}

fn char_literal(s: &str) -> Option<usize> {
    let mut chars = s.char_indices().skip(1);
    let (_, first) = chars.next()?;
    if first == '\\' {
        let close = s[2..].find('\'')?;
        return Some(2 + close + 1);
    }
    let (at, next) = chars.next()?;
    (next == '\'').then_some(at + 1)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The top-level modules named by the `crate::` paths of `code`, grouped
/// imports (`crate::{a, b::c}`) included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("crate::") {
        let at = from + found;
        from = at + "crate::".len();
        // `$crate::` in a macro, or a path ending in `crate` (`foo_crate::`).
        if code[..at].chars().next_back().is_some_and(|c| is_ident(c) || c == '$') {
            continue;
        }
        let rest = code[from..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                    _ => item.push(c),
                }
            }
            items.push(item);
            for item in items {
                let name: String = item.trim().chars().take_while(|&c| is_ident(c)).collect();
                if !name.is_empty() && name != "self" {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// module -> the other top-level modules it uses, with a file that does.
fn edges(src: &Path) -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for (module, files) in modules(src) {
        let mut used: BTreeMap<String, PathBuf> = BTreeMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in crate_paths(&code_only(&text)) {
                if name != module {
                    used.entry(name).or_insert_with(|| file.clone());
                }
            }
        }
        out.insert(module, used);
    }
    out
}

/// Every problem with `edges` under `layers`: modules missing from the
/// table, edges up the order, and cycles.
fn problems(layers: &[(&str, &[&str])], edges: &BTreeMap<String, BTreeMap<String, PathBuf>>) -> Vec<String> {
    let rank: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, (_, mods))| mods.iter().map(move |m| (*m, layers.len() - i)))
        .collect();
    let layer_of = |m: &str| layers.iter().find(|(_, mods)| mods.contains(&m)).map(|(name, _)| *name);
    let mut out = Vec::new();
    for (module, used) in edges {
        let Some(&own) = rank.get(module.as_str()) else {
            out.push(format!(
                "src/{module} is not in LAYERS (tests/it/layers.rs): put it in its layer, and in docs/architecture.md"
            ));
            continue;
        };
        for (target, file) in used {
            match rank.get(target.as_str()) {
                // An item of the crate root (`crate::Result`), or a module
                // reported above as missing from the table.
                None => {}
                Some(&theirs) if theirs > own => out.push(format!(
                    "{module} (layer {:?}) uses {target} (layer {:?}), which is above it: {}",
                    layer_of(module).unwrap(),
                    layer_of(target).unwrap(),
                    file.display()
                )),
                Some(_) => {}
            }
        }
    }
    if let Some(cycle) = find_cycle(edges) {
        out.push(format!("import cycle: {}", cycle.join(" -> ")));
    }
    out
}

/// One cycle among the modules, as the path around it, if there is any.
fn find_cycle(edges: &BTreeMap<String, BTreeMap<String, PathBuf>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeMap<String, PathBuf>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flat_map(|e| e.keys()) {
            match marks.get(next.as_str()).copied() {
                Some(Mark::Open) => {
                    let start = path.iter().position(|p| p == next).unwrap();
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(Mark::New) => {
                    if let Some(cycle) = visit(next, edges, marks, path) {
                        return Some(cycle);
                    }
                }
                // Done, or not a module of ours.
                _ => {}
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks: BTreeMap<String, Mark> = edges.keys().map(|k| (k.clone(), Mark::New)).collect();
    for node in edges.keys() {
        if marks[node] == Mark::New {
            if let Some(cycle) = visit(node, edges, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn the_modules_of_src_form_the_documented_layers_without_cycles() {
    let edges = edges(&src());
    assert!(edges.len() > 10, "read the modules of src/: {:?}", edges.keys());
    let found = problems(LAYERS, &edges);
    assert!(found.is_empty(), "the layer order is broken:\n{}", found.join("\n"));
}

#[test]
fn the_scanner_reads_paths_and_skips_comments_and_strings() {
    let code = code_only(
        r####"
//! crate::doc_comment
use crate::{alpha, beta::{Gamma, delta}, self};
use crate::eps::Zeta;
/* crate::block /* nested crate::inner */ still comment crate::after */
let s = "crate::in_string \" crate::escaped";
let r = r#"crate::raw "quoted" "#;
let c = '"'; let q = '\''; fn f<'a>(x: &'a str) {}
let z = crate::zeta::call(); let m = $crate::macro_path; let n = not_crate::x;
"####,
    );
    let found = crate_paths(&code);
    let expected: BTreeSet<String> = ["alpha", "beta", "eps", "zeta"].iter().map(|s| s.to_string()).collect();
    assert_eq!(found, expected, "{code}");
}

#[test]
fn a_cycle_and_an_upward_edge_are_found() {
    let edge = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, BTreeMap<String, PathBuf>> {
        pairs
            .iter()
            .map(|(from, to)| {
                let used = to
                    .iter()
                    .map(|t| (t.to_string(), PathBuf::from(format!("src/{from}.rs"))))
                    .collect();
                (from.to_string(), used)
            })
            .collect()
    };
    let layers: &[(&str, &[&str])] = &[("top", &["a"]), ("middle", &["b", "c"]), ("bottom", &["d"])];
    let sound = edge(&[("a", &["b", "d"]), ("b", &["c", "d"]), ("c", &[]), ("d", &[])]);
    assert_eq!(problems(layers, &sound), Vec::<String>::new());
    let up = edge(&[("a", &["b"]), ("b", &[]), ("c", &[]), ("d", &["a"])]);
    assert_eq!(
        problems(layers, &up),
        ["d (layer \"bottom\") uses a (layer \"top\"), which is above it: src/d.rs"]
    );
    let both = edge(&[("a", &["b"]), ("b", &["a"]), ("c", &[]), ("d", &[])]);
    let found = problems(layers, &both);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("b (layer \"middle\") uses a"), "{found:?}");
    assert_eq!(found[1], "import cycle: a -> b -> a");
    let same_layer_cycle = edge(&[("a", &[]), ("b", &["c"]), ("c", &["b"]), ("d", &[])]);
    assert_eq!(problems(layers, &same_layer_cycle), ["import cycle: b -> c -> b"]);
    let unknown = edge(&[("a", &[]), ("b", &[]), ("c", &[]), ("d", &[]), ("e", &["a"])]);
    assert!(problems(layers, &unknown)[0].starts_with("src/e is not in LAYERS"));
}

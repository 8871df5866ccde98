//! The guard's delete policy through the binary on a real repository:
//! recursive deletes of untracked output are low, of tracked files medium
//! (the index tells), of the work tree's `.git` or anything outside it but
//! temporary directories high; `cd` earlier in the line moves the judgement.

use crate::common::Repo;
use serde_json::Value;

fn judged(repo: &Repo, dir: &std::path::Path, line: &str) -> (String, Vec<String>) {
    let mut cmd = crate::common::baton_cmd();
    cmd.arg("-C")
        .arg(dir)
        .args(["--json", "learn", "pre-command", "--command", line])
        .env("BATON_ACTOR", "human:dana");
    let out = cmd.output().expect("running baton");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{line}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let _ = repo;
    let rules = doc["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_owned())
        .collect();
    (doc["level"].as_str().unwrap().to_owned(), rules)
}

#[test]
fn recursive_deletes_are_judged_by_the_index_and_the_work_tree() {
    let repo = Repo::new();
    let root = repo.path();
    std::fs::create_dir_all(root.join("src/deep")).unwrap();
    std::fs::create_dir_all(root.join("build")).unwrap();
    std::fs::write(root.join("src/deep/lib.rs"), "x").unwrap();
    std::fs::write(root.join("build/out.o"), "x").unwrap();
    std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
    repo.git(&["add", "src", ".gitignore"]);
    repo.git(&["commit", "-qm", "tracked"]);
    let name = root.file_name().unwrap().to_str().unwrap().to_owned();
    let tracked = "rm.recursive-tracked";
    let outside = "rm.recursive-outside";
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        ("rm -rf build node_modules".into(), "low", None),
        ("rm -rf src".into(), "medium", Some(tracked)),
        ("rm -r src/deep/*".into(), "medium", Some(tracked)),
        ("cd src && rm -rf ../build".into(), "low", None),
        ("cd src && rm -rf deep".into(), "medium", Some(tracked)),
        ("(cd src; rm -rf ../build) && rm -rf deep".into(), "low", None),
        (format!("cd .. && rm -rf {name}/src"), "medium", Some(tracked)),
        (format!("cd .. && rm -rf {name}"), "high", Some(outside)),
        ("rm -rf .git/refs".into(), "high", Some(outside)),
        ("rm -rf /opt/app/cache".into(), "high", Some(outside)),
        ("rm -rf /var/tmp/scratch".into(), "low", None),
        ("rm -f src/deep/lib.rs".into(), "low", None),
        (
            "python3 -c 'import shutil; shutil.rmtree(\"src\")'".into(),
            "medium",
            Some(tracked),
        ),
    ];
    for (line, level, rule) in &cases {
        let (got, rules) = judged(&repo, root, line);
        assert_eq!(&got, level, "{line}: {rules:?}");
        if let Some(rule) = rule {
            assert!(rules.iter().any(|r| r == rule), "{line}: {rules:?}");
        }
    }
    // From a subdirectory, relative operands start there.
    let (got, _) = judged(&repo, &root.join("src"), "rm -rf deep");
    assert_eq!(got, "medium");
    let (got, _) = judged(&repo, &root.join("src"), "rm -rf ../build");
    assert_eq!(got, "low");
}

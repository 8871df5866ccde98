//! Secret redaction for recorded step output: the ledger is shared through
//! git, so tokens, keys, private keys, credentials in URLs and DSNs,
//! `Authorization:` headers, password flags and `password=`-style pairs never
//! reach it, nor the values of a step's own secret-looking `env` entries.
//!
//! Each pattern is compiled once per process, the first time a text may
//! match it (it contains one of the pattern's words); the names that look secret
//! (`workflow.secret_env`) once per run ([`SecretNames`]); a step's secret
//! values are picked once per step and replaced as exact strings.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use globset::{Candidate, Glob, GlobSet, GlobSetBuilder};
use regex::Regex;

use crate::error::Result;

const REDACTED: &str = "[REDACTED]";

/// Env values shorter than this are not replaced: `1`, `true` or `dev`
/// would blank out ordinary output everywhere, and are no secret anyway.
pub const MIN_SECRET_LEN: usize = 6;

/// One redaction rule: the pattern, its replacement, and words (lower
/// case) at least one of which any text it matches contains. A pattern is
/// compiled the first time a text contains one of its words, so a command
/// or an output with nothing secret-looking compiles none: `learn
/// post-command` redacts every line it records, within its few milliseconds.
struct Rule {
    needles: &'static [&'static str],
    source: &'static str,
    with: &'static str,
    compiled: OnceLock<Regex>,
}

impl Rule {
    const fn new(needles: &'static [&'static str], source: &'static str, with: &'static str) -> Rule {
        Rule {
            needles,
            source,
            with,
            compiled: OnceLock::new(),
        }
    }

    /// Whether the pattern may match `lower` (the text in ASCII lower case).
    fn may_match(&self, lower: &str) -> bool {
        self.needles.iter().any(|n| lower.contains(n))
    }

    fn regex(&self) -> &Regex {
        self.compiled
            .get_or_init(|| Regex::new(self.source).expect("redaction patterns are valid"))
    }
}

// ASCII word boundaries `(?-u:\b)` and case-insensitivity scoped to the
// words that need it: every secret shape here is ASCII, and the Unicode-aware
// forms cost several times more to compile.
static RULES: [Rule; 17] = [
    // PEM private keys, whole blocks (also a block cut off by the 4 KiB tail).
    Rule::new(
        &["private key-----"],
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
        "[REDACTED PRIVATE KEY]",
    ),
    // Authorization headers, whatever the scheme: the whole value, up to a quote or the line's end.
    Rule::new(
        &["authorization"],
        r#"(?-u:\b)((?i-u:(?:proxy-)?authorization)["']?[ \t]*[:=][ \t]*)[^\r\n"']+"#,
        "${1}[REDACTED]",
    ),
    Rule::new(
        &["bearer", "basic"],
        r"(?-u:\b)((?i-u:bearer|basic))[ \t]+[A-Za-z0-9._~+/=-]{8,}",
        "${1} [REDACTED]",
    ),
    // Password flags with their value as the next word: `--password X`, `--db-token "a b"`.
    Rule::new(
        &["pass", "token", "secret", "apikey", "api-key"],
        r#"(?m)((?:^|[ \t"'])--?[A-Za-z0-9_-]*(?i-u:password|passwd|passphrase|token|secret|api-?key)[A-Za-z0-9_-]*[ \t]+)("[^"\r\n]*"|'[^'\r\n]*'|[^\s"']+)"#,
        "${1}[REDACTED]",
    ),
    // MySQL-family clients take the password glued to -p: `mysql -uroot -psecret`.
    // (`-P` is the port.)
    Rule::new(
        &["mysql", "mariadb"],
        r"((?-u:\b)(?i-u:mysql|mysqldump|mysqladmin|mysqlimport|mysqlsh|mariadb|mariadb-dump)(?-u:\b)[^\r\n]*?[ \t]-p)[^\s]+",
        "${1}[REDACTED]",
    ),
    // key=value and key: value pairs whose key says secret.
    Rule::new(
        &[
            "pass",
            "pwd",
            "secret",
            "token",
            "api",
            "access",
            "private",
            "credential",
            "auth",
        ],
        r#"(?-u:\b)([A-Za-z0-9_.-]*(?i-u:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth)[A-Za-z0-9_.-]*)(["']?[ \t]*[=:][ \t]*["']?)[^\s"',;]+"#,
        "${1}${2}[REDACTED]",
    ),
    // Slack incoming webhooks: the URL is the credential.
    Rule::new(
        &["hooks.slack.com"],
        r"(?-u:\b)https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+",
        REDACTED,
    ),
    // Credentials in URLs and DSNs: scheme://user:secret@host, also an empty
    // user and a secret with `@` in it (up to the last `@` before the path).
    Rule::new(
        &["://"],
        r"(?-u:\b)([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^\s/]*@",
        "${1}:[REDACTED]@",
    ),
    // Go-style DSNs without a scheme: user:secret@tcp(host:port)/db
    Rule::new(
        &["@tcp(", "@udp(", "@unix("],
        r"(?-u:\b)([A-Za-z0-9_.-]+):[^\s@/]+@(tcp|udp|unix)\(",
        "${1}:[REDACTED]@${2}(",
    ),
    // Well-known token shapes.
    Rule::new(
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-"],
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,})",
        REDACTED,
    ),
    Rule::new(
        &["akia", "asia"],
        r"(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
        REDACTED,
    ),
    Rule::new(&["xox"], r"(?-u:\b)xox[abeprs]-[A-Za-z0-9-]{10,}", REDACTED),
    Rule::new(&["xapp-"], r"(?-u:\b)xapp-[A-Za-z0-9-]{10,}", REDACTED),
    // Stripe secret and restricted keys, and webhook signing secrets.
    Rule::new(
        &["_live_", "_test_"],
        r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}",
        REDACTED,
    ),
    Rule::new(&["whsec_"], r"(?-u:\b)whsec_[A-Za-z0-9+/=]{10,}", REDACTED),
    Rule::new(&["sk-"], r"(?-u:\b)sk-[A-Za-z0-9_-]{20,}", REDACTED),
    Rule::new(
        &["eyj"],
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
        REDACTED,
    ),
];

/// `workflow.secret_env`: which env names (any case) hold secrets. Checked
/// when a run starts; compiled into one set the first time a step has an
/// `env` at all (most runs never need it).
pub struct SecretNames {
    globs: Vec<Glob>,
    /// `None` if the set could not be built (a regex size limit): then every
    /// name counts as secret, failing closed.
    set: OnceLock<Option<GlobSet>>,
}

impl SecretNames {
    /// Refuses (exit 2) a pattern that does not compile, as `workflow.allow` does.
    pub fn new(patterns: &[String]) -> Result<SecretNames, crate::glob::BadPattern> {
        let globs = patterns
            .iter()
            .map(|p| crate::glob::glob_for("workflow.secret_env", p, true))
            .collect::<Result<_, _>>()?;
        Ok(SecretNames {
            globs,
            set: OnceLock::new(),
        })
    }

    /// The values of `env` whose names look secret, long enough to replace
    /// safely, longest first (so a value containing another is replaced whole).
    pub fn values(&self, env: &BTreeMap<String, String>) -> Vec<String> {
        if env.is_empty() {
            return Vec::new();
        }
        let set = self.set.get_or_init(|| {
            let mut builder = GlobSetBuilder::new();
            for glob in &self.globs {
                builder.add(glob.clone());
            }
            builder.build().ok()
        });
        let secret = |name: &str| {
            set.as_ref()
                .is_none_or(|set| set.is_match_candidate(&Candidate::from_bytes(name.as_bytes())))
        };
        let mut values: Vec<String> = env
            .iter()
            .filter(|(name, value)| value.len() >= MIN_SECRET_LEN && secret(name))
            .map(|(_, value)| value.clone())
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        values
    }
}

/// `text` with every `secrets` value and every known secret shape replaced.
pub fn redact(text: &str, secrets: &[String]) -> String {
    if text.is_empty() {
        // A quiet step: nothing to look at, and no patterns to compile for it.
        return String::new();
    }
    let mut out = text.to_owned();
    // Exact values first: a pattern could rewrite part of one and leave the rest.
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    let mut lower = out.to_ascii_lowercase();
    for rule in &RULES {
        if !rule.may_match(&lower) {
            continue;
        }
        if let std::borrow::Cow::Owned(replaced) = rule.regex().replace_all(&out, rule.with) {
            out = replaced;
            lower = out.to_ascii_lowercase();
        }
    }
    out
}

/// The last `limit` bytes of `bytes`, redacted. Redaction runs on a larger
/// window first, so a secret is not half-kept by the cut.
pub fn tail(bytes: &[u8], limit: usize, secrets: &[String]) -> String {
    let window = &bytes[bytes.len().saturating_sub(limit * 2)..];
    let text = redact(&String::from_utf8_lossy(window), secrets);
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    #[test]
    fn secrets_are_redacted() {
        let cases = [
            ("password=hunter2 ok", "password=[REDACTED] ok"),
            ("DB_PASSWORD: s3cr3t", "DB_PASSWORD: [REDACTED]"),
            ("export API_KEY=\"abc123\"", "export API_KEY=\"[REDACTED]\""),
            ("token ghp_abcdefghijklmnopqrstuvwxyz0123", "token [REDACTED]"),
            (
                "https://user:pa55@example.com/x",
                "https://user:[REDACTED]@example.com/x",
            ),
            ("key AKIAIOSFODNN7EXAMPLE here", "key [REDACTED] here"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input, &[]), want, "{input}");
        }
        let pem = "a\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\nz";
        assert_eq!(redact(pem, &[]), "a\n[REDACTED PRIVATE KEY]\nz");
        assert_eq!(redact("all tests passed", &[]), "all tests passed");
        let bearer = redact("Authorization: Bearer abcdefghijklmnop", &[]);
        assert!(!bearer.contains("abcdefghijklmnop"), "{bearer}");
    }

    #[test]
    fn what_ci_systems_redact_is_redacted() {
        let cases = [
            ("Authorization: token abc123def456", "Authorization: [REDACTED]"),
            (
                "curl -H 'Authorization: Bearer abc.def' x",
                "curl -H 'Authorization: [REDACTED]' x",
            ),
            ("Proxy-Authorization: Basic dXNlcjpw", "Proxy-Authorization: [REDACTED]"),
            ("https://hooks.slack.com/services/T0/B0/abcDEF123 ok", "[REDACTED] ok"),
            (concat!("sk_", "live_abcdefghij0123456789"), "[REDACTED]"),
            (concat!("rk_", "test_abcdefghij0123456789"), "[REDACTED]"),
            ("redis://:pw-secret@cache:6379", "redis://:[REDACTED]@cache:6379"),
            ("postgres://u:p@ss@db/x", "postgres://u:[REDACTED]@db/x"),
            (
                "root:pw@tcp(localhost:3306)/db",
                "root:[REDACTED]@tcp(localhost:3306)/db",
            ),
            ("mysql -uroot -ps3cret db", "mysql -uroot -p[REDACTED] db"),
            (
                "login --password hunter2 --user me",
                "login --password [REDACTED] --user me",
            ),
            ("login --db-token 'a b c'", "login --db-token [REDACTED]"),
            ("gho_abcdefghijklmnopqrstuvwxyz012345", "[REDACTED]"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input, &[]), want, "{input}");
        }
        // Near misses stay readable.
        for plain in [
            "http://localhost:8080/health",
            "mysql -P3306 -h db",
            "cargo test -p baton",
            "find . -print",
            "mail me@example.com:",
            "an access-token cache",
        ] {
            assert_eq!(redact(plain, &[]), plain);
        }
    }

    #[test]
    fn secret_env_values_are_replaced_exactly() {
        let names = SecretNames::new(&["*TOKEN*".into(), "*pat".into()]).unwrap();
        let env: BTreeMap<String, String> = [
            ("API_TOKEN", "tok-123456"),
            ("GH_PAT", "pat-1234567"),
            ("PATH", "/usr/bin:/bin"),
            ("SHORT_TOKEN", "12345"),
            ("OTHER_TOKEN", "tok-123456-longer"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let secrets = names.values(&env);
        // Longest first, so one value inside another goes whole.
        assert_eq!(secrets, ["tok-123456-longer", "pat-1234567", "tok-123456"]);
        assert_eq!(
            redact(
                "a tok-123456-longer b pat-1234567 c tok-123456 /usr/bin 12345",
                &secrets
            ),
            "a [REDACTED] b [REDACTED] c [REDACTED] /usr/bin 12345"
        );
        assert_eq!(
            SecretNames::new(&["[".into()])
                .err()
                .map(|e| crate::error::Error::from(e).code),
            Some(code::INVALID_CONFIG)
        );
    }

    /// Every pattern, applied whether or not its words are in the text.
    fn redact_unfiltered(text: &str) -> String {
        let mut out = text.to_owned();
        for rule in &RULES {
            out = rule.regex().replace_all(&out, rule.with).into_owned();
        }
        out
    }

    #[test]
    fn every_pattern_compiles_and_a_plain_text_compiles_none() {
        for rule in &RULES {
            assert!(!rule.needles.is_empty());
            assert!(
                rule.needles.iter().all(|n| *n == n.to_ascii_lowercase()),
                "{:?}",
                rule.needles
            );
            rule.regex();
        }
        let plain = "cargo build --release && cargo test --workspace 2>&1 | tee log";
        assert!(RULES.iter().all(|r| !r.may_match(plain)));
    }

    /// One text each rule matches, in the order of [`RULES`].
    const EXEMPLARS: [&str; 17] = [
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQ\n-----END EC PRIVATE KEY-----",
        "Proxy-Authorization: Basic dXNlcjpw",
        "bearer abcdefghijkl",
        "--db-Passphrase 'a b'",
        "mariadb-dump -uroot -psecret",
        "X_Private-Key: abc",
        "https://hooks.slack.com/triggers/T0/B0/abc",
        "redis://:pw-secret@cache:6379",
        "root:pw@unix(/tmp/sock)/db",
        "github_pat_abcdefghijklmnopqrstuv",
        "ASIAIOSFODNN7EXAMPLE",
        "xoxp-abcdefghij12",
        "xapp-abcdefghij12",
        "rk_live_abcdefghij12",
        "whsec_abcdefghij12",
        "sk-abcdefghijklmnopqrstu",
        "eyJabcdefghij.abcdefghijk.abcdefghijk",
    ];

    #[test]
    fn each_rules_words_are_in_what_it_matches() {
        for (rule, text) in RULES.iter().zip(EXEMPLARS) {
            assert!(rule.regex().is_match(text), "{} does not match {text:?}", rule.source);
            assert!(
                rule.may_match(&text.to_ascii_lowercase()),
                "{:?} miss {text:?}",
                rule.needles
            );
        }
    }

    proptest::proptest! {
        /// The words only skip patterns that could not match: the result is
        /// the same as with every pattern applied, on texts made of what the
        /// rules match, near misses and noise, in any order and case.
        #[test]
        fn the_words_never_change_what_is_redacted(
            parts in proptest::collection::vec(
                proptest::sample::select(
                    EXEMPLARS
                        .iter()
                        .copied()
                        .chain([
                            " ", "\n", "=", ": ", "\"", "-", "@", ":", "/", "(", "x", "password", "api_key", "auth",
                            "mysql", " -p", "https://", "u", "tcp(", "AKIA", "sk_test_abcdefghij12", "-----BEGIN RSA PRIVATE KEY-----",
                        ])
                        .collect::<Vec<_>>(),
                ),
                0..8,
            ),
            upper in proptest::bool::ANY,
        ) {
            let text: String = parts.concat();
            let text = if upper { text.to_ascii_uppercase() } else { text };
            proptest::prop_assert_eq!(redact(&text, &[]), redact_unfiltered(&text));
        }
    }

    #[test]
    fn the_tail_is_bounded_and_redacted() {
        let mut out = "x".repeat(10_000).into_bytes();
        out.extend_from_slice(b"\npassword=hunter2\n");
        let t = tail(&out, 4096, &[]);
        assert!(t.len() <= 4096);
        assert!(t.ends_with("password=[REDACTED]\n"));
    }
}

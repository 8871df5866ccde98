//! Secret redaction for recorded step output: the ledger is shared through
//! git, so tokens, keys, private keys and `password=`-style pairs never reach it.

use std::sync::OnceLock;

use regex::Regex;

const REDACTED: &str = "[REDACTED]";

fn patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let rules: &[(&str, &str)] = &[
            // PEM private keys, whole blocks (also a block cut off by the 4 KiB tail).
            (r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)", "[REDACTED PRIVATE KEY]"),
            (r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", "${1} [REDACTED]"),
            // key=value and key: value pairs whose key says secret.
            (
                r#"(?i)\b([A-Za-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth)[A-Za-z0-9_.-]*)(["']?\s*[=:]\s*["']?)[^\s"',;]+"#,
                "${1}${2}[REDACTED]",
            ),
            // Credentials in URLs: scheme://user:secret@host
            (r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^/\s@]+@", "${1}:[REDACTED]@"),
            // Well-known token shapes.
            (r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,})", REDACTED),
            (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", REDACTED),
            (r"\bxox[abprs]-[A-Za-z0-9-]{10,}", REDACTED),
            (r"\bsk-[A-Za-z0-9_-]{20,}", REDACTED),
            (r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", REDACTED),
        ];
        rules
            .iter()
            .map(|(re, with)| (Regex::new(re).expect("redaction patterns are valid"), *with))
            .collect()
    })
}

pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    for (re, with) in patterns() {
        out = re.replace_all(&out, *with).into_owned();
    }
    out
}

/// The last `limit` bytes of `bytes`, redacted. Redaction runs on a larger
/// window first, so a secret is not half-kept by the cut.
pub fn tail(bytes: &[u8], limit: usize) -> String {
    let window = &bytes[bytes.len().saturating_sub(limit * 2)..];
    let text = redact(&String::from_utf8_lossy(window));
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
            assert_eq!(redact(input), want, "{input}");
        }
        let pem = "a\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\nz";
        assert_eq!(redact(pem), "a\n[REDACTED PRIVATE KEY]\nz");
        assert_eq!(redact("all tests passed"), "all tests passed");
        let bearer = redact("Authorization: Bearer abcdefghijklmnop");
        assert!(!bearer.contains("abcdefghijklmnop"), "{bearer}");
    }

    #[test]
    fn the_tail_is_bounded_and_redacted() {
        let mut out = "x".repeat(10_000).into_bytes();
        out.extend_from_slice(b"\npassword=hunter2\n");
        let t = tail(&out, 4096);
        assert!(t.len() <= 4096);
        assert!(t.ends_with("password=[REDACTED]\n"));
    }
}

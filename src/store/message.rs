//! Commit messages of state commits: a human first line, then git trailers
//! (`Baton-Op`, `Baton-Subject`, `Baton-Actor`, `Baton-Generation`, ...) that
//! `baton log` and doctor read back (docs/storage.md).

/// A state commit's message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub summary: String,
    pub body: String,
    pub trailers: Vec<(String, String)>,
}

pub const OP: &str = "Baton-Op";
pub const SUBJECT: &str = "Baton-Subject";
pub const ACTOR: &str = "Baton-Actor";
pub const GENERATION: &str = "Baton-Generation";
pub const REASON: &str = "Baton-Reason";

/// Commit message lines must stay single lines; anything else would forge trailers.
pub fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Message {
    pub fn new(summary: impl AsRef<str>) -> Self {
        Message {
            summary: one_line(summary.as_ref()),
            ..Default::default()
        }
    }

    /// Free text between the summary and the trailers (merge reports, expiry lists).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn trailer(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.trailers.push((key.to_owned(), one_line(value.as_ref())));
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.trailers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn render(&self) -> String {
        let mut out = self.summary.clone();
        out.push_str("\n\n");
        let body = self.body.trim();
        if !body.is_empty() {
            // A body line that looks like a trailer would be read back as one.
            for line in body.lines() {
                if looks_like_trailer(line) {
                    out.push_str("  ");
                }
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
        }
        for (k, v) in &self.trailers {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push('\n');
        }
        out
    }

    /// Read a message back: the first line, and the trailers of the last paragraph.
    pub fn parse(text: &str) -> Message {
        let text = text.trim_end();
        let (summary, rest) = text.split_once('\n').unwrap_or((text, ""));
        let rest = rest.trim_matches('\n');
        let (body, last) = match rest.rfind("\n\n") {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => ("", rest),
        };
        let mut trailers = Vec::new();
        let is_trailer_block = !last.is_empty() && last.lines().all(looks_like_trailer);
        if is_trailer_block {
            for line in last.lines() {
                if let Some((k, v)) = line.split_once(':') {
                    trailers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
        }
        Message {
            summary: summary.trim().to_owned(),
            body: if is_trailer_block { body } else { rest }.trim().to_owned(),
            trailers,
        }
    }
}

fn looks_like_trailer(line: &str) -> bool {
    match line.split_once(": ") {
        Some((k, _)) => !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_text() {
        let m = Message::new("claims: claim T-42 by agent:alice")
            .trailer(OP, "claims.claim")
            .trailer(SUBJECT, "claim/T-42")
            .trailer(ACTOR, "agent:alice")
            .trailer(GENERATION, "3");
        let text = m.render();
        assert!(text.ends_with("Baton-Generation: 3\n"));
        assert_eq!(Message::parse(&text), m);
    }

    #[test]
    fn values_cannot_inject_trailers() {
        let m = Message::new("x\nBaton-Op: evil").trailer(REASON, "a\nBaton-Actor: human:mallory");
        let back = Message::parse(&m.render());
        assert_eq!(back.all(ACTOR).count(), 0);
        assert_eq!(back.summary, "x Baton-Op: evil");
    }

    #[test]
    fn body_survives() {
        let m = Message::new("sync: merge")
            .body("lost: T-1\nNote: x")
            .trailer(OP, "sync.merge");
        let back = Message::parse(&m.render());
        assert_eq!(back.get(OP), Some("sync.merge"));
        assert!(back.body.contains("lost: T-1"));
    }
}

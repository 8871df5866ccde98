//! What reaches a terminal: text that came from someone else (notes,
//! reasons, state files synced from other machines, a step's output) must
//! not be able to drive the terminal it is printed on. ESC starts escape
//! sequences (colours, cursor moves, OSC titles and hyperlinks, clipboard
//! writes), CR and BS overwrite what is on the line, BEL rings, and C1
//! characters are 8-bit escapes on some terminals; all of them are shown
//! escaped (`\x1b`, `\r`, `\u{9b}`) instead. A leaf: the CLI's renderer and
//! the workflow executor's live output both use it. JSON output needs none
//! of this: serde escapes control characters itself.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as itself, `newlines` telling
/// whether a line feed may.
fn is_unsafe(c: char, newlines: bool) -> bool {
    match c {
        '\n' => !newlines,
        // A tab only moves forward on the line: it can neither hide nor rewrite text.
        '\t' => false,
        c => c.is_control(),
    }
}

fn escape(s: &str, newlines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c, newlines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c, newlines) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// One user-provided value shown inside a line (a note, a reason, a path):
/// every control character escaped, line feeds included, so it can neither
/// drive the terminal nor forge a line of its own (`hint: ...`).
pub fn field(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Text the renderer laid out in lines: control characters escaped, its
/// line feeds (and tabs) kept.
pub fn lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// One line of a step's output as it streams to the terminal: its bytes
/// with control characters escaped, a trailing line feed kept, and bytes
/// that are not UTF-8 shown as `\xNN`.
pub fn line_bytes(line: &[u8]) -> Vec<u8> {
    let (body, newline) = match line.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (line, false),
    };
    let mut out = Vec::with_capacity(line.len() + 8);
    for chunk in body.utf8_chunks() {
        out.extend_from_slice(field(chunk.valid()).as_bytes());
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
    if newline {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_sequences_are_shown_not_sent() {
        assert_eq!(
            field("a\x1b[2Jb\x07c\rd\ne\x7f\u{9b}f\tg"),
            "a\\x1b[2Jb\\x07c\\rd\\ne\\x7f\\u{9b}f\tg"
        );
        assert_eq!(lines("one\ntwo\x1b]0;t\x07"), "one\ntwo\\x1b]0;t\\x07");
        assert!(matches!(field("plain text, ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn step_lines_keep_their_end_and_show_stray_bytes() {
        assert_eq!(line_bytes(b"a\x1b[31mb\r\n"), b"a\\x1b[31mb\\r\n");
        assert_eq!(line_bytes(b"no end\x9b"), b"no end\\x9b");
        assert_eq!(line_bytes("\u{9b}".as_bytes()), b"\\u{9b}");
    }

    proptest! {
        #[test]
        fn nothing_escaped_reaches_the_terminal(s in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let safe = |t: &str, newlines: bool| !t.chars().any(|c| is_unsafe(c, newlines));
            prop_assert!(safe(&field(&s), false));
            prop_assert!(safe(&lines(&s), true));
            let line = line_bytes(&bytes);
            let text = std::str::from_utf8(&line).expect("escaped output is UTF-8");
            let body = text.strip_suffix('\n').unwrap_or(text);
            prop_assert!(safe(body, false));
        }
    }
}

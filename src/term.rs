//! What reaches a terminal: text that came from someone else (notes,
//! reasons, state files synced from other machines, a step's output) must
//! not be able to drive the terminal it is printed on. ESC starts escape
//! sequences (colours, cursor moves, OSC titles and hyperlinks, clipboard
//! writes), CR and BS overwrite what is on the line, BEL rings, and C1
//! characters are 8-bit escapes on some terminals; all of them are shown
//! escaped (`\x1b`, `\r`, `\u{9b}`) instead. A leaf: the CLI's renderer and
//! the workflow executor's live output both use it. JSON output needs none
//! of this: serde escapes control characters itself.
//!
//! It also owns what baton itself adds on a terminal, and only there: the
//! colour of `error:`, `warning:`, `hint:` and `note:` labels (never with
//! `NO_COLOR` or `TERM=dumb`), and a progress line on stderr while a
//! network operation runs (never with `-q`).

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

static QUIET: AtomicBool = AtomicBool::new(false);

/// `-q`: no progress lines.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Which stream a label goes to.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Whether text on `stream` may carry colour: a terminal, `NO_COLOR` unset
/// or empty (no-color.org), and not `TERM=dumb`.
pub fn colour(stream: Stream) -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        return false;
    }
    match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    }
}

/// The labels baton starts a line with, and their colours.
const LABELS: &[(&str, &str)] = &[
    ("error:", "\x1b[1;31m"),
    ("warning:", "\x1b[1;33m"),
    ("hint:", "\x1b[36m"),
    ("note:", "\x1b[1m"),
];

/// `text` (already escaped) with the label that starts each of its lines
/// coloured when `on`; unchanged otherwise.
pub fn paint(text: &str, on: bool) -> Cow<'_, str> {
    if !on || !LABELS.iter().any(|(l, _)| text.contains(l)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        match LABELS.iter().find(|(l, _)| trimmed.starts_with(l)) {
            Some((label, code)) => {
                out.push_str(indent);
                out.push_str(code);
                out.push_str(label);
                out.push_str("\x1b[0m");
                out.push_str(&trimmed[label.len()..]);
            }
            None => out.push_str(line),
        }
    }
    Cow::Owned(out)
}

/// A line on stderr saying what baton is waiting for (`fetching from
/// origin`), with a spinner, while it lasts; only on a terminal, not with
/// `-q`, and only once it has lasted long enough to notice. Dropping it
/// clears the line.
pub struct Activity {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long an operation runs before its line appears (no flicker for quick ones).
const SHOW_AFTER: Duration = Duration::from_millis(150);
const FRAME: Duration = Duration::from_millis(100);

impl Activity {
    pub fn start(what: String) -> Activity {
        let stop = Arc::new(AtomicBool::new(false));
        if QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
            return Activity { stop, thread: None };
        }
        let flag = stop.clone();
        let what = field(&what).into_owned();
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || spin(&flag, &what))
            .ok();
        Activity { stop, thread }
    }
}

fn spin(stop: &AtomicBool, what: &str) {
    let started = std::time::Instant::now();
    let mut shown = false;
    let frames = ['|', '/', '-', '\\'];
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if started.elapsed() >= SHOW_AFTER {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{} {what}...", frames[n % frames.len()]);
            let _ = err.flush();
            shown = true;
            n += 1;
        }
        std::thread::park_timeout(FRAME);
    }
    if shown {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

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
    fn labels_are_painted_only_when_asked() {
        let text = "error: no\nhint: try\n  warning: odd\nplain error: not a label";
        assert_eq!(paint(text, false), text);
        assert_eq!(
            paint(text, true),
            "\x1b[1;31merror:\x1b[0m no\n\x1b[36mhint:\x1b[0m try\n  \x1b[1;33mwarning:\x1b[0m odd\nplain error: not a label"
        );
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

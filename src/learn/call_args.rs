//! The literal arguments of a call in inline code (see [`super::calls`]):
//! strings (with whether part of one is built at run time), lists, and
//! anything else as "built at run time", read by a small parser that skips
//! nested expressions. Pure and linear in the code's length.

use super::interp::Lang;

/// One argument of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Arg {
    /// A string literal; `true` when part of it is built at run time
    /// (interpolation, concatenation).
    Str(String, bool),
    List(Vec<Arg>),
    Other,
}

/// The arguments of the call whose name ends at `at`: `(...)`, or for the
/// languages that allow it, a bare list up to the end of the statement.
pub(super) fn call_args(lang: Lang, code: &str, at: usize) -> Option<Vec<Arg>> {
    let rest = &code[at..];
    let mut trimmed = rest.trim_start_matches([' ', '\t']);
    // Perl's `unlink glob "..."` and `unlink(glob("..."))`: the pattern is the target.
    if lang == Lang::Perl {
        let inner = trimmed.strip_prefix('(').unwrap_or(trimmed).trim_start();
        if let Some(after) = inner.strip_prefix("glob") {
            let after = after.trim_start();
            trimmed = after.strip_prefix('(').unwrap_or(after).trim_start();
            let mut p = Parser {
                text: trimmed.as_bytes(),
                pos: 0,
                lang,
            };
            return Some(vec![p.item(b')')]);
        }
    }
    let mut p = Parser {
        text: trimmed.as_bytes(),
        pos: 0,
        lang,
    };
    if trimmed.starts_with('(') {
        p.pos = 1;
        return Some(p.items(b')'));
    }
    let bare = matches!(lang, Lang::Perl | Lang::Ruby | Lang::Lua) && trimmed.len() < rest.len();
    let quoted = trimmed.starts_with(['"', '\'', '[']);
    (bare && quoted).then(|| p.items(b';'))
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
    lang: Lang,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c == b' ' || c == b'\t' || c == b'\r') {
            self.pos += 1;
        }
    }

    /// Items up to `close` (or a newline for a bare list), comma-separated.
    fn items(&mut self, close: u8) -> Vec<Arg> {
        let mut out = Vec::new();
        loop {
            self.skip_space();
            while self.peek() == Some(b'\n') && close != b';' {
                self.pos += 1;
                self.skip_space();
            }
            match self.peek() {
                None => return out,
                Some(c) if c == close || (close == b';' && c == b'\n') => {
                    self.pos += 1;
                    return out;
                }
                _ => {}
            }
            out.push(self.item(close));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close || (close == b';' && c == b'\n') => {
                    self.pos += 1;
                    return out;
                }
                None => return out,
                // Anything else after an item: it was built (`"rm " + p`).
                Some(_) => {
                    if let Some(Arg::Str(_, built)) = out.last_mut() {
                        *built = true;
                    }
                    self.skip_expression(close);
                    if self.peek() == Some(b',') {
                        self.pos += 1;
                    }
                }
            }
        }
    }

    fn item(&mut self, close: u8) -> Arg {
        let start = self.pos;
        // Python's string prefixes: r"", b"", f"", rb"", ...
        let mut formatted = false;
        while self
            .peek()
            .is_some_and(|c| matches!(c, b'r' | b'R' | b'b' | b'B' | b'u' | b'U' | b'f' | b'F'))
            && self.pos - start < 2
            && self.lang == Lang::Python
        {
            formatted |= matches!(self.peek(), Some(b'f' | b'F'));
            self.pos += 1;
        }
        match self.peek() {
            Some(q @ (b'"' | b'\'' | b'`')) => {
                self.pos += 1;
                let (text, interpolated) = self.string(q);
                Arg::Str(text, interpolated || formatted)
            }
            Some(b'[') if self.pos == start => {
                self.pos += 1;
                Arg::List(self.items(b']'))
            }
            _ => {
                self.pos = start;
                self.skip_expression(close);
                Arg::Other
            }
        }
    }

    /// A string's text after its opening quote, unescaped; whether it interpolates.
    fn string(&mut self, quote: u8) -> (String, bool) {
        let mut bytes = Vec::new();
        let mut interpolated = false;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\\' => {
                    if let Some(next) = self.peek() {
                        self.pos += 1;
                        bytes.push(match next {
                            b'n' if quote != b'\'' => b'\n',
                            b't' if quote != b'\'' => b'\t',
                            other => other,
                        });
                    }
                }
                _ if c == quote => break,
                b'$' | b'#' | b'{' if quote != b'\'' => {
                    interpolated = true;
                    bytes.push(c);
                }
                _ => bytes.push(c),
            }
        }
        (String::from_utf8_lossy(&bytes).into_owned(), interpolated)
    }

    /// Skip one expression: to the next `,` or `close` at this nesting.
    fn skip_expression(&mut self, close: u8) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'"' | b'\'' | b'`' => {
                    self.pos += 1;
                    self.string(c);
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth > 0 => depth -= 1,
                b',' if depth == 0 => return,
                b'\n' if close == b';' => return,
                _ if c == close && depth == 0 => return,
                b')' | b']' | b'}' => return,
                _ => {}
            }
            self.pos += 1;
        }
    }
}

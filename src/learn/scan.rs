//! The conservative scan: what the judge falls back on wherever the parser
//! or the walk stops (a line it cannot read, a line over its length or
//! nesting bounds, code nested deeper than the walk follows, more commands
//! than it collects, more wrappers than it peels). The text is cut at every
//! shell operator and bracket, quotes and backslashes are dropped, and each
//! piece is judged as if it were a command; the contents of every quoted
//! string are cut the same way, so code given as a string is seen too.
//!
//! It over-reads on purpose (`echo 'rm -rf /'` scans as `rm -rf /`): it only
//! runs where the judge already says at least medium, and it must never
//! judge lower than a rule that matches there.

use super::shell::{Command, Word};
use super::walk;

/// Words that start a compound command or a pipeline, not a program.
const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case", "esac", "!", "function",
    "select", "coproc", "time", "{", "}", "[[", "]]",
];

/// The commands the pieces of `text` would be, read as plain words.
pub fn scan(text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    pieces(text, &mut out);
    for quoted in quoted_strings(text) {
        pieces(quoted, &mut out);
    }
    out
}

fn pieces(text: &str, out: &mut Vec<Command>) {
    let cut = |c: char| matches!(c, ';' | '&' | '|' | '\n' | '(' | ')' | '{' | '}' | '`');
    for segment in text.split(cut) {
        let mut words: Vec<Word> = segment.split_whitespace().filter_map(word).collect();
        let lead = words
            .iter()
            .take_while(|w| KEYWORDS.contains(&w.text.as_str()) || is_assignment(&w.text))
            .count();
        words.drain(..lead);
        if words.is_empty() {
            continue;
        }
        out.extend(walk::argv(words).commands);
    }
}

/// A plain word with its quotes and backslashes dropped, flagged the way
/// the parser would flag it (expansions, globs, a leading tilde).
fn word(raw: &str) -> Option<Word> {
    let text: String = raw.chars().filter(|c| !matches!(c, '"' | '\'' | '\\')).collect();
    if text.is_empty() {
        return None;
    }
    let dynamic = text.contains('$');
    Some(Word {
        dynamic,
        parameter: dynamic && !text.contains("$("),
        only_expansion: text.starts_with('$'),
        glob: text.contains(['*', '?', '[']),
        tilde: text.starts_with('~'),
        text,
    })
}

fn is_assignment(text: &str) -> bool {
    text.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The contents of the quoted strings of `text` (outermost only; an
/// unterminated quote runs to the end).
fn quoted_strings(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize)> = None;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match open {
            None if c == '\\' => escaped = true,
            None if matches!(c, '\'' | '"') => open = Some((c, at + 1)),
            Some(('"', _)) if c == '\\' => escaped = true,
            Some((q, start)) if c == q => {
                out.push(&text[start..at]);
                open = None;
            }
            _ => {}
        }
    }
    if let Some((_, start)) = open {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> Vec<String> {
        scan(text).iter().map(Command::display).collect()
    }

    #[test]
    fn pieces_are_cut_at_operators_and_brackets() {
        assert_eq!(shown("a; b && c | d"), ["a", "b", "c", "d"]);
        assert_eq!(shown("if x=1 rm -rf \"/\"; then :; fi"), ["rm -rf /", ":", "/"]);
        assert_eq!(shown("(sudo rm -rf ~) \""), ["rm -rf ~"]);
    }

    #[test]
    fn quoted_code_is_scanned_too() {
        let got = shown("bash -c 'rm -rf /' \"");
        assert!(got.contains(&"rm -rf /".to_owned()), "{got:?}");
    }

    #[test]
    fn words_keep_their_expansion_flags() {
        let c = &scan("rm -rf $HOME/* ~")[0];
        assert!(c.argv[2].dynamic && c.argv[2].only_expansion && c.argv[2].glob);
        assert!(c.argv[3].tilde);
    }
}

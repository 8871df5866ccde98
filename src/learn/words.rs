//! brush-parser behind a fence: parsing a program, a word or a here-doc
//! body with the input bounded and any panic of the parser caught, and
//! turning parsed word pieces into a [`Word`] (quote removal, `$'...'`
//! escapes, which parts are expansions, globs or a home-directory tilde).

use brush_parser::ast;
use brush_parser::word::{TildeExpr, WordPiece, WordPieceWithSource};
use brush_parser::ParserOptions;

use super::shell::{ShellError, Word, MAX_BRACKETS, MAX_INPUT};

fn options() -> ParserOptions {
    ParserOptions::default()
}

/// How deep brackets nest; a backtick opens and the next one closes (they
/// counted as openers only, so a here-doc with 129 backticks was "too deep").
fn bracket_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut tick_open = false;
    for c in text.chars() {
        match c {
            '`' if tick_open => {
                tick_open = false;
                depth = depth.saturating_sub(1);
            }
            '(' | '{' | '[' | '`' => {
                tick_open |= c == '`';
                depth += 1;
                max = max.max(depth);
            }
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// `~` followed by a number too big for the parser's integer: brush-parser
/// panics on it (caught below, but the panic message would reach stderr).
fn huge_tilde_index(text: &str) -> bool {
    text.match_indices('~').any(|(at, _)| {
        let rest = text[at + 1..].trim_start_matches(['+', '-']);
        rest.chars().take_while(char::is_ascii_digit).count() > 18
    })
}

pub fn parse_program(text: &str) -> Result<ast::Program, ShellError> {
    if text.len() > MAX_INPUT {
        return Err(ShellError::TooLong(text.len()));
    }
    if bracket_depth(text) > MAX_BRACKETS {
        return Err(ShellError::TooDeep);
    }
    if huge_tilde_index(text) {
        return Err(ShellError::Syntax("a `~` directory-stack index is too large".into()));
    }
    // The parser is third-party code with unwraps inside; a panic on odd
    // input must become "cannot read", never a crash of the guard.
    let parsed = std::panic::catch_unwind(|| {
        let mut parser = brush_parser::Parser::new(std::io::BufReader::new(text.as_bytes()), &options());
        parser.parse_program().map_err(|e| e.to_string())
    });
    match parsed {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(why)) => Err(ShellError::Syntax(why)),
        Err(_) => Err(ShellError::Syntax("the parser failed on this input".into())),
    }
}

/// Characters that make an unquoted word more than its own text: an
/// expansion, a quote or escape, a glob, a brace, a tilde, an extended glob.
const SPECIAL: [char; 14] = ['$', '`', '\'', '"', '\\', '~', '*', '?', '[', '{', '(', '@', '+', '!'];

/// The [`Word`] of `raw` without the word parser, when `raw` is only plain
/// text and single-quoted strings (`item7`, `'%s\n'`, `a'b c'd`): what
/// [`parse_word`] and [`append_pieces`] give for it, which the property test
/// below checks. Most words of a long line are like this, and the parser
/// cost about 2 000 instructions a word. `None`: anything else, for the parser.
pub fn plain_word(raw: &str) -> Option<Word> {
    if raw.is_empty() {
        return None;
    }
    if !raw.contains(SPECIAL) {
        return Some(Word::literal(raw));
    }
    let mut word = Word {
        // As for parsed pieces: nothing but empty quotes (`''`) is "only expansion".
        only_expansion: true,
        ..Word::default()
    };
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'')?;
            word.only_expansion &= end == 0;
            word.text.push_str(&quoted[..end]);
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find('\'').unwrap_or(rest.len());
            let plain = &rest[..end];
            if plain.contains(SPECIAL) {
                return None;
            }
            word.only_expansion = false;
            word.text.push_str(plain);
            rest = &rest[end..];
        }
    }
    Some(word)
}

pub fn parse_word(raw: &str) -> Option<Vec<WordPieceWithSource>> {
    if huge_tilde_index(raw) {
        return None;
    }
    std::panic::catch_unwind(|| brush_parser::word::parse(raw, &options()).ok())
        .ok()
        .flatten()
}

pub fn parse_heredoc(raw: &str) -> Option<Vec<WordPieceWithSource>> {
    if huge_tilde_index(raw) {
        return None;
    }
    std::panic::catch_unwind(|| brush_parser::word::parse_heredoc(raw, &options()).ok())
        .ok()
        .flatten()
}

/// Append word pieces to `word`; `quoted` says whether they sit inside quotes
/// (where globs and tildes are literal).
pub fn append_pieces(word: &mut Word, raw: &str, pieces: &[WordPieceWithSource], quoted: bool) {
    for (i, p) in pieces.iter().enumerate() {
        let source = raw.get(p.start_index..p.end_index).unwrap_or("");
        match &p.piece {
            WordPiece::Text(t) => {
                word.only_expansion = false;
                if !quoted && t.contains(['*', '?', '[']) {
                    word.glob = true;
                }
                word.text.push_str(t);
            }
            WordPiece::SingleQuotedText(t) => {
                word.only_expansion &= t.is_empty();
                word.text.push_str(t);
            }
            WordPiece::AnsiCQuotedText(t) => {
                word.only_expansion = false;
                word.text.push_str(&ansi_c_unescape(t));
            }
            WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
                // Inner indices are relative to the raw word as well.
                if inner.is_empty() {
                    word.only_expansion = false;
                }
                append_pieces(word, raw, inner, true);
            }
            WordPiece::TildeExpansion(expr) => {
                word.only_expansion = false;
                if i == 0 && !quoted {
                    word.tilde = matches!(expr, TildeExpr::Home | TildeExpr::UserHome(_));
                }
                word.text.push_str(source);
            }
            WordPiece::EscapeSequence(s) => {
                word.only_expansion = false;
                word.text.push_str(s.strip_prefix('\\').unwrap_or(s));
            }
            WordPiece::ParameterExpansion(_) => {
                word.dynamic = true;
                word.parameter = true;
                word.text.push_str(source);
            }
            WordPiece::CommandSubstitution(_)
            | WordPiece::BackquotedCommandSubstitution(_)
            | WordPiece::ArithmeticExpression(_) => {
                word.dynamic = true;
                word.text.push_str(source);
            }
        }
    }
}

/// `$'...'` escapes: the common ones; anything else is kept as written.
fn ansi_c_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('e' | 'E') => out.push('\u{1b}'),
            Some('a') => out.push('\u{7}'),
            Some('0') => out.push('\0'),
            Some('x') => {
                let hex: String = std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_hexdigit()))
                    .take(2)
                    .collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) => out.push(char::from(b)),
                    Err(_) => out.push_str("\\x"),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::shell::parse_line;
    use proptest::prelude::*;

    /// What the walk makes of a word through the parser (without the
    /// substitutions it also walks: a plain word has none).
    fn parsed_word(raw: &str) -> Word {
        match parse_word(raw) {
            Some(pieces) => {
                let mut word = Word {
                    only_expansion: !pieces.is_empty(),
                    ..Word::default()
                };
                append_pieces(&mut word, raw, &pieces, false);
                word
            }
            None => Word {
                text: raw.to_owned(),
                dynamic: raw.contains('$') || raw.contains('`'),
                ..Word::default()
            },
        }
    }

    #[test]
    fn plain_words_skip_the_parser() {
        assert_eq!(plain_word("item7"), Some(Word::literal("item7")));
        assert_eq!(plain_word("'%s\\n'"), Some(Word::literal("%s\\n")));
        assert_eq!(plain_word("a'b c'd").map(|w| w.text), Some("ab cd".to_owned()));
        assert_eq!(plain_word("''"), Some(parsed_word("''")));
        for parsed in ["", "'open", "$HOME", "'a'$b", "a*'b'", "~/'x'", "\"a\"", "{a,b}"] {
            assert_eq!(plain_word(parsed), None, "{parsed}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Plain text and single quotes: the shortcut answers, as the parser does.
        #[test]
        fn plain_and_quoted_words_are_the_parsed_word(raw in "([a-z0-9_./:=,%#^&<>|;-]{1,4}|'[^']{0,6}'){1,6}") {
            prop_assert_eq!(plain_word(&raw), Some(parsed_word(&raw)), "{:?}", raw);
        }

        /// On any word, whenever the shortcut answers, it answers what the parser does.
        #[test]
        fn plain_word_is_the_parsed_word(raw in "([a-z0-9_./:=,%#^&<>|;@+!-]|'[^']{0,6}'|'|[$`\"\\~*?\\[\\]{}() \t\né])*") {
            if let Some(word) = plain_word(&raw) {
                prop_assert_eq!(word, parsed_word(&raw), "{:?}", raw);
            }
        }
    }

    #[test]
    fn backticks_pair_up_in_the_depth_bound() {
        let doc = format!("cat <<'EOF'\n{}EOF", "a `b` c\n".repeat(300));
        assert_eq!(bracket_depth(&doc), 1);
        assert!(parse_line(&doc).is_ok());
        assert_eq!(bracket_depth("(((`x`)))"), 4);
    }

    #[test]
    fn ansi_c_quotes_are_unescaped() {
        assert_eq!(ansi_c_unescape(r"a\tb\x41\\"), "a\tbA\\");
        let script = parse_line(r"echo $'rm\x20-rf'").unwrap();
        assert_eq!(script.commands[0].argv[1].text, "rm -rf");
    }
}

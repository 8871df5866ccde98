//! The walk over a parsed line: every simple command that would run, in
//! lists, pipelines, subshells, groups, compound commands, function calls,
//! substitutions and redirections, then unwrapped (see [`super::wrappers`])
//! and, when it runs code given as text, that code walked in turn.

use std::collections::HashMap;

use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};

use super::interp::{self, Effect};
use super::scan;
use super::shell::{Command, Problem, Redirect, RedirectOp, Script, Word, MAX_COMMANDS, MAX_DEPTH};
use super::simple;
use super::words::{append_pieces, parse_heredoc, parse_program, parse_word, plain_word};
use super::wrappers::{self, Unwrapped};

/// The wrapper name of commands found by reading an arithmetic expression as code.
pub const ARITHMETIC: &str = "((...))";

/// Walk a parsed program.
pub fn program(program: &ast::Program) -> Script {
    let mut walker = Walker::default();
    walker.program(program, &Ctx::default());
    walker.finish()
}

/// One simple command given as argv, unwrapped like a parsed one.
pub fn argv(words: Vec<Word>) -> Script {
    let mut walker = Walker::default();
    walker.emit(
        Pending {
            argv: words,
            ..Pending::default()
        },
        &Ctx::default(),
    );
    walker.finish()
}

/// Where the walker is: how deep, what feeds stdin, which functions are
/// being expanded, whether this runs concurrently with its caller.
#[derive(Debug, Clone, Default)]
struct Ctx {
    depth: usize,
    upstream: Vec<String>,
    /// Text the previous pipeline stage prints (`echo ... |`, `cat <<EOF |`).
    piped_text: Option<String>,
    wrappers: Vec<String>,
    functions: Vec<String>,
    concurrent: bool,
    /// Run by `xargs` (or nested in code it runs): operands come from input.
    appended: bool,
}

impl Ctx {
    fn nested(&self, wrapper: &str) -> Ctx {
        let mut wrappers = self.wrappers.clone();
        wrappers.push(wrapper.to_owned());
        Ctx {
            depth: self.depth + 1,
            wrappers,
            functions: self.functions.clone(),
            appended: self.appended,
            ..Ctx::default()
        }
    }
}

/// A simple command before its wrappers are unwrapped.
#[derive(Debug, Default)]
struct Pending {
    argv: Vec<Word>,
    redirects: Vec<Redirect>,
    substituted: Vec<String>,
    /// Here-doc or here-string text given to its stdin.
    stdin_text: Option<String>,
    /// Operands are added at run time (a `find -exec` command with `{}`).
    appended: bool,
    /// A process substitution is among its words (`source <(...)`).
    process_substitution: bool,
    /// What that process substitution prints, when it is fixed text.
    substituted_text: Option<String>,
}

/// Function calls nested deeper than this are not followed (each call of a
/// distinct function may call another; the chain is finite but may be long).
const MAX_CALLS: usize = 64;

#[derive(Default)]
pub struct Walker {
    commands: Vec<Command>,
    problems: Vec<Problem>,
    /// The `cd`/`pushd` targets run so far in this shell, in order.
    cd: Vec<Word>,
    /// Function definitions seen so far, by name, as source to walk when called.
    functions: HashMap<String, ast::FunctionBody>,
}

impl Walker {
    fn finish(self) -> Script {
        Script {
            commands: self.commands,
            problems: self.problems,
        }
    }

    fn full(&self) -> bool {
        self.commands.len() >= MAX_COMMANDS
    }

    fn problem(&mut self, why: String, code: &str) {
        self.problems.push(Problem {
            why,
            code: code.to_owned(),
        });
    }

    /// Walk something that runs in a subshell: a `cd` inside it does not
    /// move the commands after it.
    fn subshell<T>(&mut self, walk: impl FnOnce(&mut Self) -> T) -> T {
        let saved = self.cd.len();
        let out = walk(self);
        self.cd.truncate(saved);
        out
    }

    fn program(&mut self, program: &ast::Program, ctx: &Ctx) {
        for list in &program.complete_commands {
            self.compound_list(list, ctx);
        }
    }

    fn compound_list(&mut self, list: &ast::CompoundList, ctx: &Ctx) {
        for ast::CompoundListItem(and_or, sep) in &list.0 {
            let mut item_ctx = ctx.clone();
            item_ctx.concurrent |= matches!(sep, ast::SeparatorOperator::Async);
            self.pipeline(&and_or.first, &item_ctx);
            for next in &and_or.additional {
                let (ast::AndOr::And(p) | ast::AndOr::Or(p)) = next;
                self.pipeline(p, &item_ctx);
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline, ctx: &Ctx) {
        let mut stage_ctx = ctx.clone();
        let piped = pipeline.seq.len() > 1;
        stage_ctx.concurrent |= piped;
        for command in &pipeline.seq {
            let before = self.commands.len();
            // Each stage of a pipeline runs in a subshell of its own.
            let printed = if piped {
                self.subshell(|w| w.command(command, &stage_ctx))
            } else {
                self.command(command, &stage_ctx)
            };
            let programs: Vec<String> = self.commands[before..]
                .iter()
                .filter_map(|c| c.program().map(str::to_owned))
                .collect();
            stage_ctx.upstream.extend(programs);
            stage_ctx.piped_text = printed;
        }
    }

    /// Walk one command; returns the text it prints when that is known
    /// statically (so a following `| sh` can be judged on it).
    fn command(&mut self, command: &ast::Command, ctx: &Ctx) -> Option<String> {
        if self.full() {
            return None;
        }
        match command {
            ast::Command::Simple(simple) => self.simple(simple, ctx),
            ast::Command::Compound(compound, redirects) => {
                self.compound(compound, ctx);
                if let Some(list) = redirects {
                    let mut pending = Pending::default();
                    for r in &list.0 {
                        self.redirect(r, &mut pending, ctx);
                    }
                    self.attach_redirects(pending, ctx);
                }
                None
            }
            ast::Command::Function(def) => {
                self.functions.insert(def.fname.value.clone(), def.body.clone());
                None
            }
            ast::Command::ExtendedTest(test, _) => {
                self.extended_test(&test.expr, ctx);
                None
            }
        }
    }

    /// Redirections on a compound command (`{ ...; } > /dev/sda`) are judged
    /// as a command of their own, named after the group.
    fn attach_redirects(&mut self, pending: Pending, ctx: &Ctx) {
        if pending.redirects.is_empty() {
            return;
        }
        self.commands.push(Command {
            argv: vec![Word::literal("{...}")],
            redirects: pending.redirects,
            wrappers: ctx.wrappers.clone(),
            upstream: ctx.upstream.clone(),
            substituted: pending.substituted,
            depth: ctx.depth,
            ..Command::default()
        });
    }

    fn compound(&mut self, compound: &ast::CompoundCommand, ctx: &Ctx) {
        use ast::CompoundCommand as C;
        match compound {
            C::BraceGroup(g) => self.compound_list(&g.list, ctx),
            C::Subshell(s) => self.subshell(|w| w.compound_list(&s.list, ctx)),
            C::ForClause(f) => {
                for w in f.values.iter().flatten() {
                    self.word(&w.value, ctx, &mut Vec::new());
                }
                self.compound_list(&f.body.list, ctx);
            }
            C::ArithmeticForClause(f) => {
                for expr in [&f.initializer, &f.condition, &f.updater].into_iter().flatten() {
                    self.arithmetic(&expr.value, ctx, &mut Vec::new());
                }
                self.compound_list(&f.body.list, ctx);
            }
            C::CaseClause(c) => {
                self.word(&c.value.value, ctx, &mut Vec::new());
                for item in &c.cases {
                    if let Some(list) = &item.cmd {
                        self.compound_list(list, ctx);
                    }
                }
            }
            C::IfClause(i) => {
                self.compound_list(&i.condition, ctx);
                self.compound_list(&i.then, ctx);
                for e in i.elses.iter().flatten() {
                    if let Some(cond) = &e.condition {
                        self.compound_list(cond, ctx);
                    }
                    self.compound_list(&e.body, ctx);
                }
            }
            C::WhileClause(w) | C::UntilClause(w) => {
                self.compound_list(&w.0, ctx);
                self.compound_list(&w.1.list, ctx);
            }
            C::Coprocess(c) => {
                let mut co = ctx.clone();
                co.concurrent = true;
                self.command(&c.body, &co);
            }
            C::Arithmetic(a) => self.arithmetic(&a.expr.value, ctx, &mut Vec::new()),
        }
    }

    fn extended_test(&mut self, expr: &ast::ExtendedTestExpr, ctx: &Ctx) {
        use ast::ExtendedTestExpr as E;
        match expr {
            E::And(a, b) | E::Or(a, b) => {
                self.extended_test(a, ctx);
                self.extended_test(b, ctx);
            }
            E::Not(a) | E::Parenthesized(a) => self.extended_test(a, ctx),
            E::UnaryTest(_, w) => {
                self.word(&w.value, ctx, &mut Vec::new());
            }
            E::BinaryTest(_, a, b) => {
                self.word(&a.value, ctx, &mut Vec::new());
                self.word(&b.value, ctx, &mut Vec::new());
            }
        }
    }

    fn simple(&mut self, simple: &ast::SimpleCommand, ctx: &Ctx) -> Option<String> {
        use ast::CommandPrefixOrSuffixItem as Item;
        let mut pending = Pending::default();
        let prefix = simple.prefix.iter().flat_map(|p| p.0.iter());
        let suffix = simple.suffix.iter().flat_map(|s| s.0.iter());
        let mut items: Vec<&Item> = prefix.collect();
        let name = simple.word_or_name.as_ref();
        let name_index = items.len();
        items.extend(suffix);
        for (i, item) in items.iter().enumerate() {
            if i == name_index {
                if let Some(w) = name {
                    let word = self.word(&w.value, ctx, &mut pending.substituted);
                    pending.argv.push(word);
                }
            }
            match item {
                Item::Word(w) => {
                    let word = self.word(&w.value, ctx, &mut pending.substituted);
                    pending.argv.push(word);
                }
                Item::AssignmentWord(_, w) => {
                    // `X=$(cmd) prog`: the substitution runs; the assignment is not argv,
                    // unless it follows the program (`export X=...`).
                    let word = self.word(&w.value, ctx, &mut pending.substituted);
                    if i >= name_index && name.is_some() {
                        pending.argv.push(word);
                    }
                }
                Item::IoRedirect(r) => self.redirect(r, &mut pending, ctx),
                Item::ProcessSubstitution(_, sub) => self.process_substitution(sub, &mut pending, ctx),
            }
        }
        if name_index == items.len() {
            if let Some(w) = name {
                let word = self.word(&w.value, ctx, &mut pending.substituted);
                pending.argv.push(word);
            }
        }
        if pending.argv.is_empty() {
            // Only assignments or redirections (`> /dev/sda`): still judged.
            self.attach_redirects(pending, ctx);
            return None;
        }
        let printed = simple::printed_text(&pending.argv, pending.stdin_text.as_deref());
        self.emit(pending, ctx);
        printed
    }

    /// `<(...)`/`>(...)`: its commands run (the parse bounds its nesting, so
    /// it is always followed); what it prints is kept when that is fixed
    /// text, for a shell or `source` that reads it as code.
    fn process_substitution(&mut self, sub: &ast::SubshellCommand, pending: &mut Pending, ctx: &Ctx) {
        let before = self.commands.len();
        let inner = ctx.nested("<(...)");
        pending.process_substitution = true;
        let printed = self.subshell(|w| match sub.list.0.as_slice() {
            [ast::CompoundListItem(and_or, _)] if and_or.additional.is_empty() && and_or.first.seq.len() == 1 => {
                w.command(&and_or.first.seq[0], &inner)
            }
            _ => {
                w.compound_list(&sub.list, &inner);
                None
            }
        });
        pending.substituted_text = printed;
        pending.substituted.extend(
            self.commands[before..]
                .iter()
                .filter_map(|c| c.program().map(str::to_owned)),
        );
    }

    fn redirect(&mut self, r: &ast::IoRedirect, pending: &mut Pending, ctx: &Ctx) {
        use ast::IoFileRedirectKind as K;
        use ast::IoFileRedirectTarget as T;
        match r {
            ast::IoRedirect::File(_, kind, target) => {
                let op = match kind {
                    K::Read => RedirectOp::Read,
                    K::Write | K::Clobber => RedirectOp::Write,
                    K::Append => RedirectOp::Append,
                    K::ReadAndWrite => RedirectOp::ReadWrite,
                    K::DuplicateInput | K::DuplicateOutput => RedirectOp::Duplicate,
                };
                match target {
                    T::Filename(w) | T::Duplicate(w) => {
                        let target = self.word(&w.value, ctx, &mut pending.substituted);
                        pending.redirects.push(Redirect { op, target });
                    }
                    T::Fd(_) => {}
                    T::ProcessSubstitution(_, sub) => self.process_substitution(sub, pending, ctx),
                }
            }
            ast::IoRedirect::OutputAndError(w, append) => {
                let target = self.word(&w.value, ctx, &mut pending.substituted);
                let op = if *append { RedirectOp::Append } else { RedirectOp::Write };
                pending.redirects.push(Redirect { op, target });
            }
            ast::IoRedirect::HereString(_, w) => {
                let word = self.word(&w.value, ctx, &mut pending.substituted);
                pending.stdin_text = Some(word.text);
            }
            ast::IoRedirect::HereDocument(_, doc) => {
                let body = doc.doc.value.clone();
                if doc.requires_expansion {
                    // An unquoted here-doc runs the substitutions in its body.
                    if let Some(pieces) = parse_heredoc(&body) {
                        self.substitutions(&pieces, ctx, &mut pending.substituted);
                    }
                }
                pending.stdin_text = Some(body);
            }
        }
    }

    /// Convert one raw word; command substitutions inside it are walked (they
    /// run), their programs added to `substituted`.
    fn word(&mut self, raw: &str, ctx: &Ctx, substituted: &mut Vec<String>) -> Word {
        // Most words are plain text and single quotes: skip the word parser
        // (it dominated the walk of long lines).
        if let Some(word) = plain_word(raw) {
            return word;
        }
        match parse_word(raw) {
            Some(pieces) => {
                self.substitutions(&pieces, ctx, substituted);
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

    fn substitutions(&mut self, pieces: &[WordPieceWithSource], ctx: &Ctx, substituted: &mut Vec<String>) {
        for p in pieces {
            match &p.piece {
                WordPiece::CommandSubstitution(code) | WordPiece::BackquotedCommandSubstitution(code) => {
                    let before = self.commands.len();
                    self.subshell(|w| w.nested_code(code, "$(...)", ctx));
                    substituted.extend(
                        self.commands[before..]
                            .iter()
                            .filter_map(|c| c.program().map(str::to_owned)),
                    );
                }
                WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.substitutions(inner, ctx, substituted)
                }
                WordPiece::ArithmeticExpression(expr) => self.arithmetic(&expr.value, ctx, substituted),
                _ => {}
            }
        }
    }

    /// Parse and walk code that runs nested (`$(...)`, `sh -c`, `eval`).
    fn nested_code(&mut self, code: &str, wrapper: &str, ctx: &Ctx) {
        let inner = ctx.nested(wrapper);
        if inner.depth > MAX_DEPTH {
            self.problem(format!("{wrapper} code nested more than {MAX_DEPTH} deep"), code);
            return;
        }
        match parse_program(code) {
            // A new shell: its `cd` stays inside it.
            Ok(program) => self.subshell(|w| w.program(&program, &inner)),
            Err(e) => self.problem(format!("{wrapper} code: {e}"), code),
        }
    }

    /// An arithmetic expression (`$((...))`, `((...))`, `for ((...))`): the
    /// substitutions in it run. The parser also reads `( (cmd) )` as one
    /// (bash runs it as two subshells), so the text is walked as code too,
    /// its commands marked as such (they count for no family).
    fn arithmetic(&mut self, expr: &str, ctx: &Ctx, substituted: &mut Vec<String>) {
        if let Some(pieces) = parse_word(expr) {
            self.substitutions(&pieces, ctx, substituted);
        }
        if ctx.depth < MAX_DEPTH {
            let Ok(program) = parse_program(expr) else {
                // Neither arithmetic nor code the parser reads (`( ( sudo (x) ) )`):
                // its words still count.
                for mut command in scan::scan(expr) {
                    if command.program().is_some() {
                        command.wrappers.insert(0, ARITHMETIC.to_owned());
                        command.depth = ctx.depth + 1;
                        self.commands.push(command);
                    }
                }
                return;
            };
            {
                let inner = ctx.nested(ARITHMETIC);
                let before = self.commands.len();
                self.subshell(|w| w.program(&program, &inner));
                // Real arithmetic reads as odd "commands" (`$x > 3`): keep only
                // those with a fixed program name.
                let mut i = before;
                while i < self.commands.len() {
                    if self.commands[i].program().is_some() {
                        i += 1;
                    } else {
                        self.commands.remove(i);
                    }
                }
            }
        }
    }

    /// Unwrap wrappers and shells, then record the command (and whatever it runs).
    fn emit(&mut self, pending: Pending, ctx: &Ctx) {
        if self.full() {
            return;
        }
        let Unwrapped {
            argv,
            wrappers: names,
            appended_args,
            nested,
            code,
            exhausted,
        } = wrappers::unwrap(pending.argv);
        if exhausted {
            let text: Vec<&str> = argv.iter().map(|w| w.text.as_str()).collect();
            let why = format!("more than {} wrappers around one command", wrappers::MAX_WRAPPERS);
            self.problem(why, &text.join(" "));
        }
        let mut wrappers_all = ctx.wrappers.clone();
        wrappers_all.extend(names);
        for extra in nested {
            let mut inner = ctx.clone();
            inner.wrappers = wrappers_all.clone();
            inner.wrappers.push("find -exec".into());
            let appended = extra.iter().any(|w| w.text.contains("{}"));
            self.emit(
                Pending {
                    argv: extra,
                    appended,
                    ..Pending::default()
                },
                &inner,
            );
        }
        let mut command = Command {
            argv,
            redirects: pending.redirects,
            wrappers: wrappers_all,
            upstream: ctx.upstream.clone(),
            substituted: pending.substituted,
            appended_args: appended_args || pending.appended || ctx.appended,
            depth: ctx.depth,
            cd: self.cd.clone(),
            ..Command::default()
        };
        if let Some(code) = code {
            self.run_code(&mut command, code, ctx);
        } else if let Some((lang, code)) = interp::inline(&command.argv) {
            self.run_interpreted(&mut command, lang, code, ctx);
        } else if let Some(reader) = simple::input_reader(&command, pending.process_substitution) {
            // The code comes from a process substitution or stdin: judged when
            // it is fixed text, marked when another command prints it.
            let stdin = pending.stdin_text.or_else(|| ctx.piped_text.clone());
            let from_other = pending.process_substitution || (stdin.is_none() && !ctx.upstream.is_empty());
            let text = if pending.process_substitution {
                pending.substituted_text
            } else {
                stdin
            };
            match (text, reader) {
                (Some(text), None) => self.run_code(&mut command, wrappers::Code::Static(text), ctx),
                (Some(text), Some(lang)) => {
                    self.run_interpreted(&mut command, lang, wrappers::Code::Static(text), ctx);
                }
                (None, _) => command.code_input = from_other,
            }
        }
        if let Some(name) = command.program().map(str::to_owned) {
            self.call_function(&name, &mut command, ctx);
        }
        let moved = simple::cd_target(&command);
        self.commands.push(command);
        self.cd.extend(moved);
    }

    /// Inline code of an interpreter (`python3 -c`, `perl -e`, `awk`, ...):
    /// the shell strings it runs are walked, the commands it spawns and the
    /// files it deletes are recorded as commands, code it builds at run time
    /// marks it.
    fn run_interpreted(&mut self, command: &mut Command, lang: interp::Lang, code: wrappers::Code, ctx: &Ctx) {
        let text = match code {
            wrappers::Code::Static(text) => text,
            other => return self.run_code(command, other, ctx),
        };
        command.runs_code = true;
        let label = command.program().unwrap_or("code").to_owned();
        let mut inner = ctx.clone();
        inner.wrappers = command.wrappers.clone();
        inner.appended = command.appended_args;
        inner.upstream.clear();
        inner.piped_text = None;
        for effect in interp::effects(lang, &text) {
            match effect {
                Effect::Shell(code) => self.nested_code(&code, &label, &inner),
                Effect::Argv(argv) => {
                    let nested = inner.nested(&label);
                    if nested.depth > MAX_DEPTH {
                        let shown: Vec<&str> = argv.iter().map(|w| w.text.as_str()).collect();
                        self.problem(
                            format!("{label} code nested more than {MAX_DEPTH} deep"),
                            &shown.join(" "),
                        );
                        continue;
                    }
                    self.subshell(|w| {
                        w.emit(
                            Pending {
                                argv,
                                ..Pending::default()
                            },
                            &nested,
                        )
                    });
                }
                Effect::Dynamic => command.dynamic_code = true,
            }
        }
    }

    /// Code a command runs: parsed and walked when it is fixed text; when it
    /// is decided at run time the command is marked (the substitutions that
    /// print it were already walked as part of its words).
    fn run_code(&mut self, command: &mut Command, code: wrappers::Code, ctx: &Ctx) {
        command.runs_code = true;
        match code {
            wrappers::Code::Static(text) => {
                let label = command.program().unwrap_or("sh").to_owned();
                let mut inner = ctx.clone();
                inner.wrappers = command.wrappers.clone();
                inner.appended = command.appended_args;
                self.nested_code(&text, &label, &inner);
            }
            wrappers::Code::Variable => command.dynamic_code = true,
            wrappers::Code::Substituted => {
                command.substituted_code = true;
                command.code_input = true;
            }
        }
    }

    /// A call of a function defined on this line walks its body; a call of a
    /// function from inside itself, piped or in the background, is a fork bomb.
    fn call_function(&mut self, name: &str, command: &mut Command, ctx: &Ctx) {
        if ctx.functions.iter().any(|f| f == name) {
            command.fork_bomb = ctx.concurrent;
            return;
        }
        let Some(body) = self.functions.get(name).cloned() else {
            return;
        };
        if ctx.functions.len() >= MAX_CALLS {
            // The body's text is not at hand: the whole line is scanned.
            self.problem(format!("function calls nested more than {MAX_CALLS} deep"), "");
            return;
        }
        let mut inner = ctx.clone();
        inner.functions.push(name.to_owned());
        inner.upstream.clear();
        inner.piped_text = None;
        self.compound(&body.0, &inner);
    }
}

//! Learn's refusals, as the user's error: routing's, and a hook
//! install's conflict with the settings file as it is.

use crate::error::{code, with_cause, Error};
use crate::learn::hooks::{Clash, Conflict, Dialect, Invalid, NotInstalled, Target};
use crate::learn::policy::{InvalidLocal, LOCAL_PATH};
use crate::learn::{packs, route, BadPack, BadRule};

impl From<route::Refusal> for Error {
    fn from(refusal: route::Refusal) -> Error {
        let message = refusal.to_string();
        let error = match refusal {
            route::Refusal::EmptyTask => Error::invalid(code::EMPTY_TASK, message)
                .with_hint("describe the task, e.g. baton learn route \"fix the flaky login test\""),
            route::Refusal::NoRoles => Error::refused(code::NO_ROLES, message)
                .with_hint("add agents first: baton pool spawn --role <role>; or set learn.keywords (docs/learn.md)"),
        };
        error.with_source(refusal)
    }
}

impl From<Conflict> for Error {
    fn from(conflict: Conflict) -> Error {
        let path = &conflict.path;
        let again = "then run the install again";
        let hint = match &conflict.clash {
            Clash::NotAnObject { parent } => format!("make {parent} in {path} an object, {again}"),
            Clash::NotAMap { key, holds } => format!("`{key}` must map {holds}; fix it by hand"),
            Clash::NotAList { event } => {
                format!("hooks.{event} must be a list of {{matcher, hooks}} entries; fix it by hand")
            }
            Clash::OtherBatonHook { wanted, .. } => format!("remove that entry or change it to {wanted:?}, {again}"),
            Clash::NoHooksList { .. } => format!("give it a `hooks` list or remove it, {again}"),
            Clash::NotBatonsPlugin => {
                format!("move {path} away (or merge it by hand with baton's template), {again}")
            }
        };
        Error::refused(code::HOOK_CONFLICT, conflict.to_string())
            .with_hint(hint)
            .with_source(conflict)
    }
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Error {
        let message = with_cause(&invalid);
        let payload = |agent: &Dialect| {
            let a = agent.as_str();
            format!("this reads the JSON {a} writes to a hook's stdin; install it with `baton learn hooks install {a}`")
        };
        let error = match &invalid {
            Invalid::UnknownHook(_) => Error::invalid(code::UNKNOWN_HOOK, message)
                .with_hint(format!("--hook takes one of: {}", Dialect::NAMES)),
            Invalid::UnknownAgent(_) => Error::invalid(code::UNKNOWN_AGENT, message)
                .with_hint(format!("hooks can be installed for: {}", Target::NAMES)),
            Invalid::NotAnObject(agent)
            | Invalid::NotJson { agent, .. }
            | Invalid::NoToolName(agent)
            | Invalid::NoCommand { agent, .. } => {
                Error::invalid(code::INVALID_HOOK_PAYLOAD, message).with_hint(payload(agent))
            }
            Invalid::Settings { path, .. } => Error::invalid(code::INVALID_SETTINGS, message)
                .with_hint(format!("fix {path} (or move it away), then run the install again")),
        };
        error.with_source(invalid)
    }
}

impl From<NotInstalled> for Error {
    fn from(not: NotInstalled) -> Error {
        match not {
            NotInstalled::Conflict(conflict) => conflict.into(),
            NotInstalled::Invalid(invalid) => invalid.into(),
        }
    }
}

impl From<crate::learn::Invalid> for Error {
    fn from(invalid: crate::learn::Invalid) -> Error {
        use crate::learn::Invalid::*;
        let message = invalid.to_string();
        let policy = |hint: &str| Error::invalid(code::INVALID_LEARN_POLICY, message.clone()).with_hint(hint);
        let error = match &invalid {
            // Their own conversions, which keep them as the source.
            Rule(bad) => return bad.clone().into(),
            Pack(bad) => return bad.clone().into(),
            Local(bad) => return bad.clone().into(),
            KeywordRole(id) => Error::from(id.clone()).context("learn.keywords"),
            EscalateAfterZero => policy(
                "set learn.escalate_after to the number of failures in a row that raise a command's risk, e.g. 3",
            ),
            FailurePercent(_) => policy("set it between 1 and 100, e.g. 50"),
            EmptyKeyword { .. } => policy("remove the empty string from the list"),
            Loosened(id) => Error::invalid(code::LEARN_RULE_LOOSENED, message).with_hint(format!(
                "remove it from learn.rules; to relax {id} on this machine only, add it to {LOCAL_PATH} in the repository's git directory"
            )),
        };
        error.with_source(invalid)
    }
}

impl From<BadRule> for Error {
    fn from(bad: BadRule) -> Error {
        use BadRule::*;
        let level = "`level = \"low\" | \"medium\" | \"high\"`";
        let hint = match &bad {
            Id(_) => "rule ids are 1-64 characters of a-z 0-9 . - _, starting with a letter or digit, e.g. deploy.prod"
                .into(),
            UnknownKey { .. } => {
                "rule keys are id, level, disabled, why, program, subcommand, flags, any_flags, not_flags, args, text"
                    .into()
            }
            Twice(_) => "keep one entry per id".into(),
            Redefined(_) => "give a new id to add a rule of your own, or keep only `level` / `disabled`".into(),
            LearnedLevel => "remove `level`, or set `disabled = true` to turn learned escalation off".into(),
            ChangesNothing(_) => format!("set {level} or `disabled = true`"),
            NoProgram { known, .. } => format!(
                "add `program = \"...\"` (and `level`, `why`) to define it, or use a known id: {}",
                known.join(", ")
            ),
            NoLevel(_) => format!("add {level}"),
            NoWhy(_) => "add `why = \"...\"`: it is shown as the reason".into(),
            Flag { .. } => "write flags as they are typed: \"-f\", \"--force\", \"-auto-approve\"".into(),
            Glob { .. } => "use *, ?, [...] and {a,b} as in shell globs".into(),
            Text { .. } => TEXT_HINT.into(),
        };
        Error::invalid(code::INVALID_LEARN_RULE, with_cause(&bad))
            .with_hint(hint)
            .with_source(bad)
    }
}

const TEXT_HINT: &str = "write a regular expression one argument must contain, e.g. \"\\\\bdrop\\\\s+table\\\\b\"";

impl From<BadPack> for Error {
    fn from(bad: BadPack) -> Error {
        let message = bad.to_string();
        let error = match &bad {
            BadPack::Unknown(_) => {
                let names: Vec<&str> = packs::PACKS.iter().map(|(n, _)| *n).collect();
                Error::invalid(code::UNKNOWN_PACK, message).with_hint(format!(
                    "learn.packs takes pack names, comma-separated, or `all`: {}",
                    names.join(", ")
                ))
            }
            BadPack::Broken { .. } => Error::environment(code::BROKEN_PACK, message).with_hint(
                "this is a bug in this baton build; turn the pack off with `baton config set learn.packs ...`",
            ),
        };
        error.with_source(bad)
    }
}

impl From<InvalidLocal> for Error {
    fn from(e: InvalidLocal) -> Error {
        let hint = format!(
            "fix or remove {}: it holds `[[rules]]` entries like learn.rules",
            e.path.display()
        );
        Error::invalid(code::INVALID_LEARN_LOCAL, e.to_string())
            .with_hint(hint)
            .with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn a_hook_conflict_keeps_its_code_kind_and_words() {
        let path = ".claude/settings.json";
        let cases = [
            (
                Clash::NotAnObject { parent: "the file".into() },
                ".claude/settings.json: the file is not a JSON object",
                "make the file in .claude/settings.json an object, then run the install again",
            ),
            (
                Clash::NotAMap {
                    key: "hooks".into(),
                    holds: "event names to hook lists".into(),
                },
                ".claude/settings.json: `hooks` is not an object",
                "`hooks` must map event names to hook lists; fix it by hand",
            ),
            (
                Clash::NotAList { event: "PreToolUse".into() },
                ".claude/settings.json: hooks.PreToolUse is not a list",
                "hooks.PreToolUse must be a list of {matcher, hooks} entries; fix it by hand",
            ),
            (
                Clash::OtherBatonHook {
                    event: "PreToolUse".into(),
                    group: 0,
                    entry: 1,
                    existing: "/opt/baton learn pre-command".into(),
                    wanted: "baton learn pre-command".into(),
                },
                ".claude/settings.json: hooks.PreToolUse[0].hooks[1] already runs \"/opt/baton learn pre-command\"",
                "remove that entry or change it to \"baton learn pre-command\", then run the install again",
            ),
            (
                Clash::NoHooksList {
                    event: "PreToolUse".into(),
                    matcher: "Bash".into(),
                },
                ".claude/settings.json: the hooks.PreToolUse entry for Bash has no hooks list",
                "give it a `hooks` list or remove it, then run the install again",
            ),
            (
                Clash::NotBatonsPlugin,
                ".claude/settings.json: exists and is not baton's plugin",
                "move .claude/settings.json away (or merge it by hand with baton's template), then run the install again",
            ),
        ];
        for (clash, message, hint) in cases {
            let error = Error::from(Conflict::new(path, clash));
            assert_eq!((error.code, error.kind), (code::HOOK_CONFLICT, Kind::Refused));
            assert_eq!((error.message().as_ref(), error.hint.as_str()), (message, hint));
            assert!(error.is::<Conflict>());
        }
    }

    #[test]
    fn invalid_hook_input_keeps_its_code_words_and_cause() {
        use crate::learn::hooks::{parse_pre, settings};
        let json = serde_json::from_slice::<serde_json::Value>(b"not json").unwrap_err();
        let e = Error::from(parse_pre(Dialect::Codex, b"not json").unwrap_err());
        assert!(e.is::<serde_json::Error>());
        assert_eq!((e.code, e.kind), (code::INVALID_HOOK_PAYLOAD, Kind::Invalid));
        assert_eq!(
            (e.message().as_ref(), e.hint.as_str()),
            (
                format!("the codex hook payload is not JSON ({json})").as_str(),
                "this reads the JSON codex writes to a hook's stdin; install it with `baton learn hooks install codex`"
            )
        );
        let words = |payload: &[u8]| {
            Error::from(parse_pre(Dialect::Gemini, payload).unwrap_err())
                .message()
                .into_owned()
        };
        assert_eq!(words(b"[1]"), "the gemini hook payload is not a JSON object");
        assert_eq!(words(b"{}"), "the gemini hook payload has no tool_name");
        assert_eq!(
            words(br#"{"tool_name":"run_shell_command"}"#),
            "the gemini hook payload for run_shell_command has no tool_input.command"
        );
        let e = Error::from(Dialect::parse("cursor").unwrap_err());
        assert_eq!(
            (e.code, e.message().as_ref()),
            (code::UNKNOWN_HOOK, "unknown hook protocol \"cursor\"")
        );
        assert_eq!(e.hint, "--hook takes one of: claude, codex, gemini");
        let e = Error::from(Target::parse("vim").unwrap_err());
        assert_eq!(
            (e.code, e.message().as_ref()),
            (code::UNKNOWN_AGENT, "unknown agent \"vim\"")
        );
        assert_eq!(e.hint, "hooks can be installed for: claude, codex, gemini, opencode");
        let e = Error::from(settings(".gemini/settings.json", Some(b"{ nope")).unwrap_err());
        let json = serde_json::from_slice::<serde_json::Value>(b"{ nope").unwrap_err();
        assert_eq!((e.code, e.kind), (code::INVALID_SETTINGS, Kind::Invalid));
        assert_eq!(
            (e.message().as_ref(), e.hint.as_str()),
            (
                format!(".gemini/settings.json is not valid JSON ({json})").as_str(),
                "fix .gemini/settings.json (or move it away), then run the install again"
            )
        );
    }

    #[test]
    fn invalid_learn_config_keeps_its_code_words_and_cause() {
        use crate::learn::rules::RuleSet;
        use crate::learn::Policy;
        let refused = |text: &str| {
            let policy: Policy = toml::from_str(text).unwrap();
            let e = Error::from(policy.validate().unwrap_err());
            (e.code, e.kind, e.message().into_owned(), e.hint)
        };
        let open = String::from("(");
        let regex = regex::RegexBuilder::new(&open)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .unwrap_err();
        assert_eq!(
            refused("[[rules]]\nid = \"x.y\"\nprogram = \"p\"\ntext = \"(\"\nlevel = \"high\"\nwhy = \"w\""),
            (
                code::INVALID_LEARN_RULE,
                Kind::Invalid,
                format!("learn rule x.y: `text` is not a regular expression ({regex})"),
                r#"write a regular expression one argument must contain, e.g. "\\bdrop\\s+table\\b""#.into()
            )
        );
        let glob = globset::Glob::new("[").unwrap_err();
        assert_eq!(
            refused("[[rules]]\nid = \"x.y\"\nprogram = \"[\"\nlevel = \"high\"\nwhy = \"w\"").2,
            format!("learn rule x.y: \"[\" is not a glob pattern ({glob})")
        );
        assert_eq!(
            refused("[[rules]]\nid = \"git.reset-hard\""),
            (
                code::INVALID_LEARN_RULE,
                Kind::Invalid,
                "learn rule git.reset-hard changes nothing".into(),
                "set `level = \"low\" | \"medium\" | \"high\"` or `disabled = true`".into()
            )
        );
        assert_eq!(
            refused("escalate_failure_percent = 150"),
            (
                code::INVALID_LEARN_POLICY,
                Kind::Invalid,
                "learn.escalate_failure_percent is 150, not a percentage".into(),
                "set it between 1 and 100, e.g. 50".into()
            )
        );
        let (code, _, message, hint) = refused("[keywords]\n\"bad role\" = [\"x\"]");
        assert_eq!(code, code::INVALID_ID);
        assert_eq!(message, "learn.keywords: invalid role \"bad role\"");
        assert!(hint.starts_with("roles are "), "{hint}");
        assert_eq!(
            refused("[[rules]]\nid = \"pkg.publish\"\ndisabled = true").3,
            "remove it from learn.rules; to relax pkg.publish on this machine only, add it to baton/learn/local.toml in the repository's git directory"
        );
        let policy: Policy = toml::from_str("packs = [\"k8s\"]").unwrap();
        let e = Error::from(RuleSet::from_policy(&policy).unwrap_err());
        assert_eq!(
            (e.code, e.message().as_ref()),
            (code::UNKNOWN_PACK, "unknown rule pack \"k8s\"")
        );
        assert!(e.is::<BadPack>());
    }
}

//! Learn's refusals, as the user's error: routing's, and a hook
//! install's conflict with the settings file as it is.

use crate::error::{code, with_cause, Error};
use crate::learn::hooks::{Clash, Conflict, Dialect, Invalid, NotInstalled, Target};
use crate::learn::route;

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
}

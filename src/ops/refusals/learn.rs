//! Learn's refusals, as the user's error: routing's, and a hook
//! install's conflict with the settings file as it is.

use crate::error::{code, Error};
use crate::learn::hooks::{Clash, Conflict};
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
}

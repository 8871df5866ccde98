//! The opencode plugin `learn hooks install opencode` writes
//! (`templates/opencode-baton-guard.js`, with the baton and the actor
//! filled in): opencode has no hook settings to merge, so the plugin is
//! one file of baton's.

use super::{Clash, Conflict, HookCommand, Install};

/// The opencode plugin template: `hooks install opencode` writes it with
/// the baton command and the actor filled in.
pub const OPENCODE_PLUGIN: &str = include_str!("../../../../templates/opencode-baton-guard.js");

/// The plugin as installed: the template's default baton and actor replaced.
pub fn opencode_plugin(how: &HookCommand) -> String {
    let js = |s: &str| serde_json::to_string(s).expect("strings serialize");
    OPENCODE_PLUGIN
        .replacen(
            "const DEFAULT_BATON = \"baton\"",
            &format!("const DEFAULT_BATON = {}", js(&how.baton)),
            1,
        )
        .replacen(
            "const DEFAULT_ACTOR = \"agent:opencode\"",
            &format!("const DEFAULT_ACTOR = {}", js(&how.actor.to_string())),
            1,
        )
}

/// The first line of every opencode plugin baton wrote: one an older baton
/// wrote (say, before it judged `apply_patch`) is replaced, not refused.
fn is_batons_plugin(bytes: &[u8]) -> bool {
    let first = OPENCODE_PLUGIN.lines().next().unwrap_or_default();
    bytes.starts_with(first.as_bytes())
}

/// The plugin file: written when absent, left alone when it is this one,
/// replaced when an older baton wrote it, refused when it is someone else's.
pub(super) fn install(path: &'static str, existing: Option<&[u8]>, content: &str) -> Result<Install, Conflict> {
    let content = content.as_bytes();
    match existing {
        Some(bytes) if bytes == content => Ok(Install {
            path,
            content: content.to_vec(),
            changed: false,
            added: Vec::new(),
            notes: Vec::new(),
        }),
        Some(bytes) if is_batons_plugin(bytes) => Ok(Install {
            path,
            content: content.to_vec(),
            changed: true,
            added: vec![path.to_owned()],
            notes: Vec::new(),
        }),
        Some(_) => Err(Conflict::new(path, Clash::NotBatonsPlugin)),
        None => Ok(Install {
            path,
            content: content.to_vec(),
            changed: true,
            added: vec![path.to_owned()],
            notes: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{install, NotInstalled, Target};
    use super::*;
    use crate::ids::Actor;

    #[test]
    fn the_opencode_plugin_carries_the_baton_and_actor() {
        let how = HookCommand {
            baton: "/opt/my tools/baton".into(),
            actor: Actor::parse("agent:builder").unwrap(),
        };
        let plugin = opencode_plugin(&how);
        assert!(plugin.contains(r#"const DEFAULT_BATON = "/opt/my tools/baton""#));
        assert!(plugin.contains(r#"const DEFAULT_ACTOR = "agent:builder""#));
        let default = opencode_plugin(&HookCommand::default_for(Target::Opencode));
        assert_eq!(default, OPENCODE_PLUGIN, "the template's defaults are the defaults");
    }

    #[test]
    fn install_writes_the_opencode_plugin_once() {
        let done = install(Target::Opencode, None, &HookCommand::default_for(Target::Opencode)).unwrap();
        assert_eq!(done.path, ".opencode/plugins/baton-guard.js");
        assert!(String::from_utf8(done.content.clone())
            .unwrap()
            .contains("tool.execute.before"));
        assert!(
            !install(
                Target::Opencode,
                Some(&done.content),
                &HookCommand::default_for(Target::Opencode)
            )
            .unwrap()
            .changed
        );
        let err = install(
            Target::Opencode,
            Some(b"// mine"),
            &HookCommand::default_for(Target::Opencode),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            NotInstalled::Conflict(Conflict {
                clash: Clash::NotBatonsPlugin,
                ..
            })
        ));
    }

    #[test]
    fn an_older_opencode_plugin_of_batons_is_replaced() {
        let how = HookCommand::default_for(Target::Opencode);
        // What baton wrote before the plugin judged `apply_patch`.
        let older = OPENCODE_PLUGIN.replace(r#"tool === "patch" || tool === "apply_patch""#, r#"tool === "patch""#);
        assert_ne!(older, OPENCODE_PLUGIN);
        let done = install(Target::Opencode, Some(older.as_bytes()), &how).unwrap();
        assert!(done.changed);
        assert_eq!(done.content, OPENCODE_PLUGIN.as_bytes());
        // Someone else's file at that path is still left alone.
        let err = install(Target::Opencode, Some(b"// my guard\nexport const G = 1\n"), &how).unwrap_err();
        assert!(matches!(
            err,
            NotInstalled::Conflict(Conflict {
                clash: Clash::NotBatonsPlugin,
                ..
            })
        ));
    }
}

//! Why `learn hooks install` refuses a settings file as it is: the file
//! holds something in the place baton's entries go. The message is the
//! conflict's `Display`; the code and the hint (what to fix by hand) are
//! given where it becomes the user's error (`ops::refusals`).

/// A settings file (or the plugin's path) that cannot take baton's entries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {clash}")]
pub struct Conflict {
    /// The file, relative to the work tree (or the home directory).
    pub path: String,
    pub clash: Clash,
}

/// What in the file is in the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Clash {
    /// `parent` ("the file") is not a JSON object.
    #[error("{parent} is not a JSON object")]
    NotAnObject { parent: String },
    /// `key` is there and is not an object; it should map `holds`.
    #[error("`{key}` is not an object")]
    NotAMap { key: String, holds: String },
    /// `hooks.<event>` is not a list.
    #[error("hooks.{event} is not a list")]
    NotAList { event: String },
    /// Another baton hook command already runs for the event.
    #[error("hooks.{event}[{group}].hooks[{entry}] already runs {existing:?}")]
    OtherBatonHook {
        event: String,
        group: usize,
        entry: usize,
        existing: String,
        /// The command baton would install there.
        wanted: String,
    },
    /// The entry for baton's matcher has no `hooks` list.
    #[error("the hooks.{event} entry for {matcher} has no hooks list")]
    NoHooksList { event: String, matcher: String },
    /// The opencode plugin's path holds a file that is not baton's.
    #[error("exists and is not baton's plugin")]
    NotBatonsPlugin,
}

impl Conflict {
    pub fn new(path: &str, clash: Clash) -> Conflict {
        Conflict {
            path: path.to_owned(),
            clash,
        }
    }
}

//! Every stable machine code of baton's errors (the `code` of a `--json`
//! error document), in one list: a [`Code`] can only be made here, so a
//! code cannot be spelled twice or drift between where it is made and
//! where a caller, a test or the MCP server names it. `tests/it/codes.rs`
//! fails on a code string written anywhere else in src/ and on two codes
//! that collide. (Control flow tells failures apart by their typed source,
//! [`super::Error::is`], not by these codes.)

use std::fmt;

/// A stable machine code of an error; made only by this module's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Code(&'static str);

impl Code {
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The constants, and [`ALL`] listing them (for the collision test).
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        $($(#[$doc])* pub const $name: Code = Code($value);)*
        /// Every code, in the order of this file.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    // The environment: git, the file system, the repository.
    /// An unexpected failure of git.
    GIT = "git",
    /// A git command baton ran (as `git diff --cached`) failed.
    GIT_FAILED = "git_failed",
    /// Git's configuration could not be read or written.
    GIT_CONFIG = "git_config",
    /// A failure of the file system.
    IO = "io",
    /// Not inside a git repository.
    NOT_A_REPOSITORY = "not_a_repository",
    /// A repository without a work tree where one is needed.
    NO_WORK_TREE = "no_work_tree",
    /// `-C` names no directory.
    NO_SUCH_DIRECTORY = "no_such_directory",
    /// No home directory to install into.
    NO_HOME = "no_home",
    /// A path baton cannot use.
    UNUSABLE_PATH = "unusable_path",
    /// A path outside the repository's work tree.
    PATH_OUTSIDE_REPOSITORY = "path_outside_repository",
    /// A file baton would write is already there and says something else.
    EXISTS = "exists",
    /// A state file could not be encoded.
    ENCODE = "encode",

    // The state ref and its files.
    /// There is no state yet (`baton init` has not run).
    NO_STATE = "no_state",
    /// A state file that does not parse.
    CORRUPT = "corrupt_state",
    /// A state file this baton cannot use.
    UNPARSABLE_STATE = "unparsable_state",
    /// A state file written by a newer baton (a higher `schema`).
    NEWER_SCHEMA = "newer_schema",
    /// A ref lock is in the way of a write.
    LOCK_HELD = "lock_held",
    /// The ref kept moving under a write.
    CONTENTION = "contention",
    /// The write-behind writer stopped before its work was done.
    STATE_WRITER_STOPPED = "state_writer_stopped",
    /// The write-behind writer panicked.
    STATE_WRITER_PANICKED = "state_writer_panicked",

    // Remotes and sync.
    /// No remote is configured, or the named one does not exist.
    NO_REMOTE = "no_remote",
    /// The remote cannot be reached.
    REMOTE_UNREACHABLE = "remote_unreachable",
    /// A fetch or push was interrupted.
    REMOTE_INTERRUPTED = "remote_interrupted",
    /// A write landed here but did not reach the remote.
    NOT_PUBLISHED = "not_published",

    // Input.
    /// Flags or arguments that do not go together.
    USAGE = "usage",
    /// An id that is not of the allowed form.
    INVALID_ID = "invalid_id",
    /// An actor that is not `human:<name>` or `agent:<name>`.
    INVALID_ACTOR = "invalid_actor",
    /// A run id that is not of the allowed form.
    INVALID_RUN_ID = "invalid_run_id",
    /// A duration that does not parse.
    INVALID_DURATION = "invalid_duration",
    /// A timestamp that does not parse.
    INVALID_TIME = "invalid_time",
    /// A metrics counter key that is not valid.
    INVALID_COUNTER = "invalid_counter",
    /// A shell completions are not made for.
    UNSUPPORTED_SHELL = "unsupported_shell",
    /// A doctor subsystem that does not exist.
    UNKNOWN_SUBSYSTEM = "unknown_subsystem",
    /// `baton selftest` found a failure.
    SELFTEST_FAILED = "selftest_failed",

    // config.toml.
    /// A config key that does not exist.
    UNKNOWN_KEY = "unknown_key",
    /// A config value that is not valid for its key.
    INVALID_VALUE = "invalid_value",
    /// A config.toml that is not valid as a whole.
    INVALID_CONFIG = "invalid_config",

    // Claims and path reservations.
    /// There is no such claim.
    NO_CLAIM = "no_claim",
    /// Someone else holds the claim.
    CLAIM_HELD = "claim_held",
    /// The actor does not own the claim.
    NOT_OWNER = "not_owner",
    /// The claim is not in a state the operation accepts.
    WRONG_STATE = "wrong_state",
    /// A state that is not a claim state.
    INVALID_STATE = "invalid_state",
    /// The actor is not the claim's handoff target.
    NOT_HANDOFF_TARGET = "not_handoff_target",
    /// A handoff to the owner itself.
    HANDOFF_TO_SELF = "handoff_to_self",
    /// A forced takeover without `--reason`.
    REASON_REQUIRED = "reason_required",
    /// A claim is no longer held as the caller held it.
    CLAIM_MOVED = "claim_moved",
    /// A claim made here lost to one another machine published first.
    CLAIM_LOST = "claim_lost",
    /// The claim is only in the remote's state, not yet brought in here.
    CLAIM_NOT_MERGED = "claim_not_merged",
    /// A path pattern that does not parse.
    INVALID_PATTERN = "invalid_pattern",
    /// More path patterns than one claim may hold.
    TOO_MANY_PATTERNS = "too_many_patterns",
    /// Paths reserved by another claim.
    PATHS_RESERVED = "paths_reserved",
    /// Reserved paths lost to a reservation another machine published first.
    PATHS_LOST = "paths_lost",
    /// `shared` without paths.
    SHARED_WITHOUT_PATHS = "shared_without_paths",
    /// A path lookup without paths.
    NO_PATHS = "no_paths",

    // The agent pool.
    /// There is no such agent.
    NO_AGENT = "no_agent",
    /// No agent of the role has capacity.
    NO_CAPACITY = "no_capacity",
    /// The agent holds claims.
    AGENT_BUSY = "agent_busy",
    /// The agent is retired.
    AGENT_RETIRED = "agent_retired",
    /// The agent cannot take work.
    AGENT_UNAVAILABLE = "agent_unavailable",
    /// An agent chosen here lost to a change another machine published first.
    AGENT_LOST = "agent_lost",
    /// A capacity that is not valid.
    INVALID_CAPACITY = "invalid_capacity",
    /// A count that is not valid.
    INVALID_COUNT = "invalid_count",

    // Workflows and their runs.
    /// There is no such workflow definition.
    NO_WORKFLOW = "no_workflow",
    /// A workflow definition that is not valid.
    INVALID_WORKFLOW = "invalid_workflow",
    /// A workflow definition that cannot be read.
    UNREADABLE_WORKFLOW = "unreadable_workflow",
    /// A recorded workflow path outside the repository's workflows directory.
    DEFINITION_PATH = "definition_path",
    /// The definition changed since the run started.
    DEFINITION_CHANGED = "definition_changed",
    /// The definition of the run is gone.
    DEFINITION_MISSING = "definition_missing",
    /// There is no such template.
    NO_TEMPLATE = "no_template",
    /// There is no such run.
    NO_RUN = "no_run",
    /// The run is not running.
    RUN_NOT_RUNNING = "run_not_running",
    /// The run is still active.
    RUN_ACTIVE = "run_active",
    /// The run changed under the operation.
    RUN_CHANGED = "run_changed",
    /// The run runs on another machine.
    RUN_ELSEWHERE = "run_elsewhere",
    /// No run to resume.
    NOTHING_TO_RESUME = "nothing_to_resume",
    /// The run did not stop in time.
    STOP_TIMEOUT = "stop_timeout",
    /// The allow list or the risk guard refused a step.
    POLICY = "policy",

    // Deliveries.
    /// There is no such delivery.
    NO_DELIVERY = "no_delivery",
    /// A delivery of the issue is active.
    DELIVERY_ACTIVE = "delivery_active",
    /// The delivery is running.
    DELIVERY_RUNNING = "delivery_running",
    /// The delivery is finished.
    DELIVERY_FINISHED = "delivery_finished",
    /// The delivery is not in the phase the operation needs.
    WRONG_PHASE = "wrong_phase",
    /// The delivery failed.
    DELIVERY_FAILED = "delivery_failed",
    /// The delivery was stopped.
    DELIVERY_STOPPED = "delivery_stopped",
    /// The claim does not name the delivery as its own.
    NOT_CLAIMS_DELIVERY = "not_claims_delivery",
    /// A name that is not a workflow of the repository.
    WORKFLOW_NOT_NAMED = "workflow_not_named",

    // Learn, hooks and the MCP server.
    /// `.git/baton/learn.local.toml` does not parse or loosens a rule.
    INVALID_LEARN_LOCAL = "invalid_learn_local",
    /// A learn policy that is not valid.
    INVALID_LEARN_POLICY = "invalid_learn_policy",
    /// A learn rule that is not valid.
    INVALID_LEARN_RULE = "invalid_learn_rule",
    /// A local learn rule that loosens a shared one.
    LEARN_RULE_LOOSENED = "learn_rule_loosened",
    /// The learn statistics cannot be read.
    LEARN_STATISTICS_UNREADABLE = "learn_statistics_unreadable",
    /// The learn journal is locked by another process.
    JOURNAL_BUSY = "journal_busy",
    /// There is no such rule pack.
    UNKNOWN_PACK = "unknown_pack",
    /// A rule pack that does not parse.
    BROKEN_PACK = "broken_pack",
    /// A task with nothing to route on.
    EMPTY_TASK = "empty_task",
    /// No roles to route to.
    NO_ROLES = "no_roles",
    /// A hook payload that does not parse.
    INVALID_HOOK_PAYLOAD = "invalid_hook_payload",
    /// A hook protocol baton does not know.
    UNKNOWN_HOOK = "unknown_hook",
    /// A git hook baton would install is already there.
    HOOK_EXISTS = "hook_exists",
    /// An agent's settings hold a conflicting hook.
    HOOK_CONFLICT = "hook_conflict",
    /// An agent client that baton does not know.
    UNKNOWN_AGENT = "unknown_agent",
    /// An MCP client that baton does not know.
    UNKNOWN_CLIENT = "unknown_client",
    /// An agent's settings file that does not parse.
    INVALID_SETTINGS = "invalid_settings",
    /// An agent's settings hold a conflicting MCP server.
    MCP_CONFLICT = "mcp_conflict",
    /// The MCP server could not start.
    MCP_START = "mcp_start",
    /// The MCP session failed.
    MCP_SESSION = "mcp_session",
    /// An MCP tool call failed.
    TOOL_FAILED = "tool_failed",

    // The daemon.
    /// The daemon is already running.
    DAEMON_RUNNING = "daemon_running",
    /// The daemon failed.
    DAEMON_FAILED = "daemon_failed",
    /// The daemon would not stop.
    DAEMON_UNSTOPPABLE = "daemon_unstoppable",
    /// No service manager baton knows.
    UNKNOWN_SERVICE_MANAGER = "unknown_service_manager",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_codes_collide() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ALL {
            assert!(seen.insert(code.as_str()), "{code} is listed twice");
            assert!(
                !code.as_str().is_empty() && code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}: codes are lower_snake_case"
            );
        }
    }
}

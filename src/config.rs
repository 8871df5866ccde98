//! `config.toml`: the shared policy (docs/command-handbook.md, `config`), and `config get|set` on
//! `section.key` names. Setting a key re-validates the whole file, so a bad
//! duration or an unknown key never reaches the ref. Each section is the
//! policy type of the subsystem that applies it (`claims::Policy`,
//! `workflow::Policy`, `daemon::Policy`, `pool::Policy`, `sync::Policy`,
//! `learn::Policy`); this module only assembles them into one file.

use serde::{Deserialize, Serialize};

use crate::clock::{BadDuration, Span};
use crate::codec::{self, SCHEMA};
use crate::error::Result;
use crate::{claims, daemon, learn, pool, sync, workflow};

/// A key or value `config get|set` does not accept. The message is the
/// `Display` (a parser's account is the source, shown after it in
/// parentheses); the code and hint (a value that would do) are given where
/// it becomes the user's error (`ops::refusals`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Invalid {
    #[error("unknown config key {0:?}")]
    UnknownKey(String),
    #[error("{key} must be true or false, not {raw:?}")]
    NotABool { key: String, raw: String },
    #[error("{key} must be a whole number, not {raw:?}")]
    NotACount { key: String, raw: String },
    #[error("{0:?} is not a remote name")]
    NotARemote(String),
    /// A duration the key cannot take.
    #[error("{key}: {duration}")]
    Duration { key: String, duration: Box<BadDuration> },
    /// `learn.rules` or `learn.keywords` that is not the TOML `kind` says;
    /// `why` is the TOML parser's message or what was found instead.
    #[error("{key} must be a {kind}: {why}")]
    NotInline {
        key: String,
        kind: &'static str,
        why: String,
    },
    /// A pattern of a glob list that is not a glob; globset's account is the source.
    #[error("{key}: {pattern:?} is not a glob pattern")]
    Glob {
        key: String,
        pattern: String,
        #[source]
        source: globset::Error,
    },
    /// The value does not fit the section (the TOML deserializer's message).
    #[error("{key}: {why}")]
    Value { key: String, why: String },
    /// The `[learn]` section, checked as a whole.
    #[error(transparent)]
    Learn(#[from] learn::Invalid),
}

impl Invalid {
    /// A value of `key` that would do, as the hint of `config set` shows it.
    pub fn example(key: &str) -> &'static str {
        match key {
            "learn.rules" => r#"'[{ id = "git.reset-hard", level = "medium" }]'"#,
            "learn.keywords" => r#"'{ reviewer = ["review", "audit"] }'"#,
            "workflow.secret_env" => "*TOKEN*,*SECRET*,*KEY*",
            _ => "cargo *,{make,just} *",
        }
    }
}

pub const PATH: &str = crate::broken::CONFIG_PATH;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub schema: u32,
    #[serde(default)]
    pub claims: claims::Policy,
    #[serde(default)]
    pub workflow: workflow::Policy,
    #[serde(default)]
    pub daemon: daemon::Policy,
    #[serde(default)]
    pub pool: pool::Policy,
    #[serde(default)]
    pub sync: sync::Policy,
    /// The risk guard's own rules, routing keywords and escalation thresholds.
    #[serde(default)]
    pub learn: learn::Policy,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            schema: SCHEMA,
            claims: Default::default(),
            workflow: Default::default(),
            daemon: Default::default(),
            pool: Default::default(),
            sync: Default::default(),
            learn: Default::default(),
            extra: Default::default(),
        }
    }
}

const GLOBS: &str = "list of glob patterns, comma-separated";
const COUNT: &str = "whole number";
const RULES: &str = "TOML array of rule tables";
const KEYWORDS: &str = "TOML table of role = [keywords]";
const PACKS: &str = "rule pack names, comma-separated, or all";

/// Every key `config get|set` knows, with what it holds.
pub const KEYS: &[(&str, &str)] = &[
    ("claims.stale_after", "duration"),
    ("claims.handoff_timeout", "duration"),
    ("claims.default_lease", "duration or empty"),
    ("workflow.allow", GLOBS),
    ("workflow.default_timeout", "duration"),
    ("workflow.secret_env", GLOBS),
    ("daemon.interval", "duration"),
    ("daemon.snapshot_every", "duration"),
    ("daemon.full_every", "duration"),
    ("pool.heartbeat_timeout", "duration or empty"),
    ("sync.remote", "remote name"),
    ("sync.auto", "true or false"),
    ("learn.escalate_after", COUNT),
    ("learn.escalate_min_runs", COUNT),
    ("learn.escalate_failure_percent", COUNT),
    ("learn.packs", PACKS),
    ("learn.rules", RULES),
    ("learn.keywords", KEYWORDS),
];

/// Where a key's value comes from, as `config list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// baton's built-in value (`baton init` writes the defaults into the
    /// state's config.toml; a key left at its default still counts as one).
    Default,
    /// Set to something else in `config.toml` on the state ref.
    State,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::State => "state config",
        }
    }
}

/// One key with its value, its default and where the value comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub value: String,
    pub default: String,
    pub source: Source,
}

fn unknown_key(key: &str) -> Invalid {
    Invalid::UnknownKey(key.to_owned())
}

impl Config {
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Config> {
        let config: Config = codec::decode_toml(path, bytes)?;
        codec::check_schema(path, config.schema)?;
        Ok(config)
    }

    fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).expect("config serializes to a table")
    }

    /// The value of `section.key`, as text.
    pub fn get(&self, key: &str) -> Result<String, Invalid> {
        let kind = KEYS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| unknown_key(key))?;
        let (section, name) = key.split_once('.').expect("known keys have a section");
        let table = self.to_table();
        let value = table.get(section).and_then(|s| s.get(name));
        // Empty lists and tables are left out of the file.
        let value = match (value, kind) {
            (Some(v), _) => v,
            (None, RULES) => return Ok("[]".into()),
            (None, KEYWORDS) => return Ok("{}".into()),
            (None, PACKS) => return Ok(String::new()),
            (None, _) => return Err(unknown_key(key)),
        };
        Ok(match value {
            _ if kind == RULES || kind == KEYWORDS => value.to_string(),
            toml::Value::String(s) => s.clone(),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        })
    }

    /// `key` with its value, default and source.
    pub fn setting(&self, key: &str) -> Result<Setting, Invalid> {
        let (key, _) = KEYS.iter().find(|(k, _)| *k == key).ok_or_else(|| unknown_key(key))?;
        let value = self.get(key)?;
        let default = Config::default().get(key)?;
        let source = if value == default {
            Source::Default
        } else {
            Source::State
        };
        Ok(Setting {
            key,
            value,
            default,
            source,
        })
    }

    /// Every key, in the order of [`KEYS`].
    pub fn settings(&self) -> Result<Vec<Setting>, Invalid> {
        KEYS.iter().map(|(k, _)| self.setting(k)).collect()
    }

    /// A copy with `section.key` set from text, validated as a whole.
    pub fn with(&self, key: &str, raw: &str) -> Result<Config, Invalid> {
        let kind = KEYS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| unknown_key(key))?;
        let (section, name) = key.split_once('.').expect("known keys have a section");
        let value = match kind {
            "true or false" => match raw {
                "true" => toml::Value::Boolean(true),
                "false" => toml::Value::Boolean(false),
                _ => {
                    return Err(Invalid::NotABool {
                        key: key.to_owned(),
                        raw: raw.to_owned(),
                    })
                }
            },
            GLOBS => glob_list(key, raw)?,
            COUNT => raw
                .trim()
                .parse::<u32>()
                .map(|n| toml::Value::Integer(n.into()))
                .map_err(|_| Invalid::NotACount {
                    key: key.to_owned(),
                    raw: raw.to_owned(),
                })?,
            RULES | KEYWORDS => inline_toml(key, kind, raw)?,
            PACKS => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| toml::Value::String(p.to_owned()))
                    .collect(),
            ),
            "remote name" => {
                crate::ids::Role::parse(raw).map_err(|_| Invalid::NotARemote(raw.to_owned()))?;
                toml::Value::String(raw.to_owned())
            }
            _ => {
                // Bounded here, where a person gives them; see Span::parse_stored.
                if kind == "duration" || !raw.trim().is_empty() {
                    Span::parse(raw).map_err(|duration| Invalid::Duration {
                        key: key.to_owned(),
                        duration: Box::new(duration),
                    })?;
                }
                toml::Value::String(raw.trim().to_owned())
            }
        };
        let mut table = self.to_table();
        let section_table = table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .ok_or_else(|| unknown_key(key))?;
        section_table.insert(name.to_owned(), value);
        let config: Config = table.try_into().map_err(|e: toml::de::Error| Invalid::Value {
            key: key.to_owned(),
            why: e.message().to_owned(),
        })?;
        // The whole section is checked, rules compiled: a broken rule never reaches the ref.
        config.learn.validate()?;
        Ok(config)
    }
}

/// `learn.rules` (an array of tables) or `learn.keywords` (a table), written
/// as TOML on one line: `[{ id = "git.reset-hard", level = "medium" }]`.
fn inline_toml(key: &str, kind: &'static str, raw: &str) -> Result<toml::Value, Invalid> {
    let bad = |why: String| Invalid::NotInline {
        key: key.to_owned(),
        kind,
        why,
    };
    let doc: toml::Table =
        toml::from_str(&format!("value = {}", raw.trim())).map_err(|e| bad(e.message().to_owned()))?;
    let value = doc.get("value").cloned().ok_or_else(|| bad("no value".into()))?;
    match (&value, kind) {
        (toml::Value::Array(items), RULES) if items.iter().all(toml::Value::is_table) => Ok(value),
        (toml::Value::Table(_), KEYWORDS) => Ok(value),
        (other, _) => Err(bad(format!("got a {}", other.type_str()))),
    }
}

/// A pattern list from text, every pattern checked: one that is not a glob
/// is refused, never dropped (an emptied `workflow.allow` would allow anything).
fn glob_list(key: &str, raw: &str) -> Result<toml::Value, Invalid> {
    let patterns = split_patterns(raw);
    for p in &patterns {
        crate::glob::glob(p, false).map_err(|source| Invalid::Glob {
            key: key.to_owned(),
            pattern: p.clone(),
            source,
        })?;
    }
    Ok(toml::Value::Array(
        patterns.into_iter().map(toml::Value::String).collect(),
    ))
}

/// Comma-separated patterns, where a comma inside `{...}` (a glob's
/// alternatives) or after a backslash does not separate.
fn split_patterns(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut escaped = false;
    for c in raw.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{code, Code, Error};

    /// The code a user sees when `key` cannot take `value`.
    fn refusal(c: &Config, key: &str, value: &str) -> Code {
        c.with(key, value).map_err(Error::from).unwrap_err().code
    }

    #[test]
    fn default_config_round_trips_with_the_documented_values() {
        let text = toml::to_string(&Config::default()).unwrap();
        let back = Config::parse(PATH, text.as_bytes()).unwrap();
        assert_eq!(back.get("claims.stale_after").unwrap(), "48h");
        assert_eq!(back.get("claims.handoff_timeout").unwrap(), "24h");
        assert_eq!(back.get("workflow.default_timeout").unwrap(), "30m");
        assert_eq!(back.get("daemon.interval").unwrap(), "60s");
        assert_eq!(back.get("daemon.snapshot_every").unwrap(), "1h");
        assert_eq!(back.get("daemon.full_every").unwrap(), "1h");
        assert_eq!(back.get("claims.default_lease").unwrap(), "");
        assert!(text.contains("stale_after = \"48h\""), "{text}");
        assert_eq!(back.workflow.secret_env, workflow::settings::DEFAULT_SECRET_ENV);
        assert_eq!(back.get("sync.auto").unwrap(), "false");
    }

    #[test]
    fn settings_say_where_each_value_comes_from() {
        let c = Config::default().with("claims.stale_after", "12h").unwrap();
        let all = c.settings().unwrap();
        assert_eq!(all.len(), KEYS.len());
        let stale = all.iter().find(|s| s.key == "claims.stale_after").unwrap();
        assert_eq!(
            (stale.value.as_str(), stale.default.as_str(), stale.source),
            ("12h", "48h", Source::State)
        );
        let lease = c.setting("claims.default_lease").unwrap();
        assert_eq!((lease.value.as_str(), lease.source), ("", Source::Default));
        assert_eq!(c.setting("nope.key").map_err(Error::from).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn set_validates() {
        let c = Config::default();
        assert_eq!(
            c.with("claims.stale_after", "12h")
                .unwrap()
                .get("claims.stale_after")
                .unwrap(),
            "12h"
        );
        assert_eq!(
            c.with("claims.stale_after", "soon")
                .map_err(Error::from)
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(c.with("nope.key", "1").map_err(Error::from).unwrap_err().exit_code(), 2);
        assert_eq!(
            c.with("sync.auto", "yes").map_err(Error::from).unwrap_err().exit_code(),
            2
        );
        let allow = c.with("workflow.allow", "cargo *, make *").unwrap();
        assert_eq!(allow.workflow.allow, vec!["cargo *", "make *"]);
        // Out-of-bounds durations and patterns that do not compile are refused.
        assert_eq!(refusal(&c, "claims.stale_after", "0s"), code::INVALID_DURATION);
        assert_eq!(refusal(&c, "claims.default_lease", "11y"), code::INVALID_DURATION);
        assert_eq!(refusal(&c, "workflow.allow", "cargo ["), code::INVALID_VALUE);
        assert_eq!(refusal(&c, "workflow.secret_env", "*KEY*,["), code::INVALID_VALUE);
    }

    #[test]
    fn learn_keys_are_set_and_validated_as_a_whole() {
        let c = Config::default();
        assert_eq!(c.get("learn.escalate_after").unwrap(), "3");
        assert_eq!(c.get("learn.rules").unwrap(), "[]");
        assert_eq!(c.get("learn.keywords").unwrap(), "{}");
        let c = c.with("learn.escalate_after", "5").unwrap();
        assert_eq!(c.learn.escalate_after, 5);
        assert_eq!(refusal(&c, "learn.escalate_after", "0"), code::INVALID_LEARN_POLICY);
        assert_eq!(refusal(&c, "learn.escalate_after", "many"), code::INVALID_VALUE);
        let loosening = r#"[{ id = "git.reset-hard", level = "medium" }]"#;
        assert_eq!(
            refusal(&c, "learn.rules", loosening),
            code::LEARN_RULE_LOOSENED,
            "the shared config only tightens"
        );
        let rules = r#"[{ id = "git.clean-force", level = "high" }, { id = "deploy.prod", program = "kubectl", subcommand = "delete", level = "high", why = "w" }]"#;
        let c = c.with("learn.rules", rules).unwrap();
        assert_eq!(c.learn.rules.len(), 2);
        let shown = c.get("learn.rules").unwrap();
        let again = Config::default().with("learn.rules", &shown).unwrap();
        assert_eq!(again.learn.rules, c.learn.rules, "what get prints, set takes: {shown}");
        let bad = r#"[{ id = "new.rule", level = "high" }]"#;
        let err = c.with("learn.rules", bad).map_err(Error::from).unwrap_err();
        assert_eq!(err.exit_code(), 2, "a new rule needs a program and a why");
        assert!(!err.hint.is_empty());
        assert_eq!(refusal(&c, "learn.rules", "{ a = 1 }"), code::INVALID_VALUE);
        assert_eq!(refusal(&c, "learn.rules", "["), code::INVALID_VALUE);
        assert_eq!(c.get("learn.packs").unwrap(), "");
        let c = c.with("learn.packs", "kubernetes, databases").unwrap();
        assert_eq!(c.learn.packs, ["kubernetes", "databases"]);
        assert_eq!(c.get("learn.packs").unwrap(), "kubernetes,databases");
        assert_eq!(c.with("learn.packs", "all").unwrap().learn.packs, ["all"]);
        assert_eq!(refusal(&c, "learn.packs", "k8s"), code::UNKNOWN_PACK);
        assert!(c.with("learn.packs", "").unwrap().learn.packs.is_empty());
        let c = c.with("learn.keywords", r#"{ scribe = ["notes"] }"#).unwrap();
        assert_eq!(c.learn.keywords["scribe"], ["notes"]);
        assert_eq!(
            c.with("learn.keywords", r#"{ "a b" = ["x"] }"#)
                .map_err(Error::from)
                .unwrap_err()
                .exit_code(),
            2
        );
        let text = toml::to_string(&c).unwrap();
        let back = Config::parse(PATH, text.as_bytes()).unwrap();
        assert_eq!(back.learn, c.learn);
    }

    #[test]
    fn pattern_lists_split_on_commas_outside_alternatives() {
        assert_eq!(split_patterns("{echo,printf} *, true,,"), ["{echo,printf} *", "true"]);
        assert_eq!(split_patterns(r"a\,b,c"), [r"a\,b", "c"]);
        assert_eq!(split_patterns(" "), Vec::<String>::new());
        let c = Config::default()
            .with("workflow.allow", "{echo,printf} *,true")
            .unwrap();
        assert_eq!(c.get("workflow.allow").unwrap(), "{echo,printf} *,true");
    }

    #[test]
    fn out_of_bounds_durations_in_a_stored_file_still_load() {
        let text = "schema = 1\n[claims]\nstale_after = \"0s\"\n[workflow]\ndefault_timeout = \"500000000000y\"\n";
        let c = Config::parse(PATH, text.as_bytes()).unwrap();
        assert_eq!(c.get("claims.stale_after").unwrap(), "0s");
        assert_eq!(c.get("workflow.default_timeout").unwrap(), "500000000000y");
    }

    #[test]
    fn unknown_fields_survive() {
        let text = "schema = 1\nfuture = 3\n[claims]\nstale_after = \"1h\"\nlater = true\n";
        let c = Config::parse(PATH, text.as_bytes()).unwrap();
        let out = toml::to_string(&c).unwrap();
        assert!(out.contains("future = 3"));
        assert!(out.contains("later = true"));
    }
}

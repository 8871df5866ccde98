//! Service definitions for `daemon run` under a service manager: the
//! shipped templates (`templates/`, embedded in the binary like the
//! workflow templates), filled in for one repository, one baton binary and
//! one actor. Pure: [`render`] returns the text; `ops::daemon` writes it.

use std::path::Path;

use crate::ids::Actor;

/// What `daemon install` cannot write a definition for; the code and hint
/// are given where it becomes the user's error (`ops::refusals`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Not a service manager baton knows.
    #[error("unknown service manager {0:?}")]
    UnknownManager(String),
    /// A path (shown as a field) that no quoting makes safe in a service
    /// definition: not UTF-8, or with a control character.
    #[error("{} cannot be written into a service definition", crate::term::field(.0))]
    UnusablePath(String),
}

type Result<T, E = Invalid> = std::result::Result<T, E>;

pub const SYSTEMD_TEMPLATE: &str = include_str!("../../templates/baton-daemon.service");
pub const LAUNCHD_TEMPLATE: &str = include_str!("../../templates/com.baton.daemon.plist");

/// The service managers baton writes a definition for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Systemd,
    Launchd,
}

impl Manager {
    pub fn parse(raw: &str) -> Result<Manager> {
        match raw {
            "systemd" => Ok(Manager::Systemd),
            "launchd" => Ok(Manager::Launchd),
            _ => Err(Invalid::UnknownManager(raw.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Manager::Systemd => "systemd",
            Manager::Launchd => "launchd",
        }
    }

    /// The file name for the repository called `name` (one service per repository).
    pub fn file_name(self, name: &str) -> String {
        match self {
            Manager::Systemd => format!("baton-daemon-{name}.service"),
            Manager::Launchd => format!("{}.plist", launchd_label(name)),
        }
    }

    /// Where the user's service manager looks, under `home`.
    pub fn user_dir(self, home: &Path) -> std::path::PathBuf {
        match self {
            Manager::Systemd => home.join(".config/systemd/user"),
            Manager::Launchd => home.join("Library/LaunchAgents"),
        }
    }

    /// What to run after writing `path`, to start the service.
    pub fn next_steps(self, path: &Path, name: &str) -> Vec<String> {
        match self {
            Manager::Systemd => {
                let unit = self.file_name(name);
                vec![
                    "systemctl --user daemon-reload".to_owned(),
                    format!("systemctl --user enable --now {unit}"),
                    format!("journalctl --user -u {unit} -f"),
                ]
            }
            Manager::Launchd => vec![format!(
                "launchctl bootstrap gui/$(id -u) {}",
                shell_quote(&path.display().to_string())
            )],
        }
    }
}

pub fn launchd_label(name: &str) -> String {
    format!("com.baton.daemon.{name}")
}

/// A repository directory's name as it may appear in a unit file name and a
/// launchd label: ASCII letters, digits, `.`, `_`, `-`; anything else `-`.
pub fn service_name(repo: &Path) -> String {
    let base = repo
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches(|c| c == '.' || c == '-').to_owned();
    if name.is_empty() {
        "repo".to_owned()
    } else {
        name
    }
}

/// What a definition is filled in with.
pub struct Fill<'a> {
    pub repo: &'a Path,
    pub baton: &'a Path,
    pub actor: &'a Actor,
    /// The file-name-safe repository name (see [`service_name`]).
    pub name: &'a str,
}

/// The template of `manager` filled in. Paths with a line break or another
/// control character are refused: no quoting makes them safe in a unit file.
pub fn render(manager: Manager, fill: &Fill<'_>) -> Result<String> {
    let repo = path_text(fill.repo)?;
    let baton = path_text(fill.baton)?;
    let actor = fill.actor.to_string();
    Ok(match manager {
        Manager::Systemd => SYSTEMD_TEMPLATE
            .replace(
                "ExecStart=%h/.cargo/bin/baton -C /path/to/repo daemon run",
                &format!(
                    "ExecStart={} -C {} daemon run",
                    systemd_word(&baton),
                    systemd_word(&repo)
                ),
            )
            .replace(
                "WorkingDirectory=/path/to/repo",
                &format!("WorkingDirectory={}", systemd_path(&repo)),
            )
            .replace(
                "Description=baton reconciler for /path/to/repo",
                &format!("Description=baton reconciler for {}", systemd_path(&repo)),
            )
            .replace("BATON_ACTOR=human:%u", &format!("BATON_ACTOR={actor}")),
        Manager::Launchd => LAUNCHD_TEMPLATE
            .replace("<string>/Users/you/.cargo/bin/baton</string>", &xml_string(&baton))
            .replace(
                "<string>/path/to/repo/.git/baton/daemon.log</string>",
                &xml_string(&format!("{repo}/.git/baton/daemon.log")),
            )
            .replace("<string>/path/to/repo</string>", &xml_string(&repo))
            .replace("<string>human:you</string>", &xml_string(&actor))
            .replace(
                "<string>com.baton.daemon</string>",
                &xml_string(&launchd_label(fill.name)),
            ),
    })
}

fn path_text(p: &Path) -> Result<String> {
    let text = p.to_str().ok_or_else(|| unusable(p))?;
    if text.chars().any(char::is_control) {
        return Err(unusable(p));
    }
    Ok(text.to_owned())
}

fn unusable(p: &Path) -> Invalid {
    Invalid::UnusablePath(p.to_string_lossy().into_owned())
}

/// A path where systemd expands specifiers: `%` doubled.
fn systemd_path(p: &str) -> String {
    p.replace('%', "%%")
}

/// One word of an `ExecStart=` line: quoted when it has a space or a quote.
fn systemd_word(w: &str) -> String {
    let w = systemd_path(w);
    if w.chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';' | '$'))
    {
        format!(
            "\"{}\"",
            w.replace('\\', "\\\\").replace('"', "\\\"").replace('$', "$$")
        )
    } else {
        w
    }
}

fn xml_string(s: &str) -> String {
    let escaped = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!("<string>{escaped}</string>")
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(manager: Manager, repo: &str) -> String {
        let actor = Actor::parse("human:dana").unwrap();
        let fill = Fill {
            repo: Path::new(repo),
            baton: Path::new("/opt/baton/bin/baton"),
            actor: &actor,
            name: &service_name(Path::new(repo)),
        };
        render(manager, &fill).unwrap()
    }

    #[test]
    fn every_placeholder_is_filled() {
        let unit = filled(Manager::Systemd, "/work/app");
        let body: String = unit
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!body.contains("/path/to/repo") && !body.contains(".cargo"), "{unit}");
        assert!(
            body.contains("ExecStart=/opt/baton/bin/baton -C /work/app daemon run"),
            "{unit}"
        );
        assert!(body.contains("Environment=BATON_ACTOR=human:dana"), "{unit}");
        let unit_section = body.split("\n[Service]\n").next().unwrap();
        assert!(unit_section.contains("StartLimitIntervalSec=") && unit_section.contains("StartLimitBurst="));
        let plist = filled(Manager::Launchd, "/Users/dana/app");
        let body = plist.split_once("-->").unwrap().1;
        assert!(
            !body.contains("/path/to/repo") && !body.contains("/Users/you"),
            "{plist}"
        );
        assert!(body.contains("<string>com.baton.daemon.app</string>"), "{plist}");
        assert!(body.contains("<string>human:dana</string>"), "{plist}");
        assert!(
            body.contains("<string>/Users/dana/app/.git/baton/daemon.log</string>"),
            "{plist}"
        );
    }

    #[test]
    fn odd_paths_are_quoted_or_refused() {
        let unit = filled(Manager::Systemd, "/work/my app 100%");
        assert!(unit.contains(r#"-C "/work/my app 100%%" daemon run"#), "{unit}");
        assert_eq!(service_name(Path::new("/work/my app 100%")), "my-app-100");
        let plist = filled(Manager::Launchd, "/work/a&b<c>");
        assert!(plist.contains("<string>/work/a&amp;b&lt;c&gt;</string>"), "{plist}");
        let actor = Actor::parse("human:dana").unwrap();
        let fill = Fill {
            repo: Path::new("/work/a\nb"),
            baton: Path::new("/bin/baton"),
            actor: &actor,
            name: "a-b",
        };
        assert_eq!(
            render(Manager::Systemd, &fill).unwrap_err(),
            Invalid::UnusablePath("/work/a\nb".into())
        );
    }
}

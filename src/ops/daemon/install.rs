//! `daemon install systemd|launchd`: the service definition for this
//! repository (see [`crate::daemon::service`]) written where the user's
//! service manager looks, or to `--output`.

use std::path::PathBuf;

use crate::daemon::service::{self, Fill, Manager};
use crate::error::code;
use crate::error::{Error, Result};
use crate::ids::Actor;
use crate::ops::Session;

/// What `daemon install` is asked to do.
#[derive(Debug, Clone)]
pub struct InstallArgs {
    pub manager: Manager,
    /// Write here instead of the service manager's user directory.
    pub output: Option<PathBuf>,
    /// Overwrite a different file already there.
    pub force: bool,
}

/// What `daemon install` wrote.
#[derive(Debug, Clone)]
pub struct Installed {
    pub manager: Manager,
    pub path: PathBuf,
    /// False when the file already said exactly this.
    pub changed: bool,
    pub actor: Actor,
    pub baton: PathBuf,
    pub repo: PathBuf,
    /// The commands that start the service.
    pub next: Vec<String>,
}

pub fn install(s: &Session, args: &InstallArgs) -> Result<Installed> {
    let actor = s.actor()?;
    let repo = s.base_dir();
    let repo = repo.canonicalize().unwrap_or(repo);
    let baton = std::env::current_exe().map_err(|e| Error::io("locating the baton binary", e))?;
    let baton = baton.canonicalize().unwrap_or(baton);
    let name = service::service_name(&repo);
    let text = service::render(
        args.manager,
        &Fill {
            repo: &repo,
            baton: &baton,
            actor: &actor,
            name: &name,
        },
    )?;
    let path = match &args.output {
        Some(p) => p.clone(),
        None => {
            let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).ok_or_else(|| {
                Error::environment(code::NO_HOME, "HOME is not set: there is no user service directory")
                    .with_hint("pass --output <file>")
            })?;
            args.manager
                .user_dir(std::path::Path::new(&home))
                .join(args.manager.file_name(&name))
        }
    };
    let changed = match std::fs::read(&path) {
        Ok(existing) if existing == text.as_bytes() => false,
        Ok(_) if !args.force => return Err(crate::daemon::Refusal::DefinitionExists(path).into()),
        _ => {
            write(&path, &text)?;
            true
        }
    };
    let next = args.manager.next_steps(&path, &name);
    Ok(Installed {
        manager: args.manager,
        path,
        changed,
        actor,
        baton,
        repo,
        next,
    })
}

/// Write through a temporary file in the same directory, so the service
/// manager never reads half a definition.
fn write(path: &std::path::Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(format!("writing in {}", dir.display()), e))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))?;
    Ok(())
}

//! The executor itself never hangs when `waitpid` cannot report a step's
//! exit (Hardening issue, item 4): with SIGCHLD ignored the kernel reaps
//! steps itself and `waitpid` says ECHILD. The binary resets SIGCHLD at
//! start; this checks the library underneath that reset, so it is a test
//! binary of its own: it ignores SIGCHLD for its whole process.

#![cfg(unix)]

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use baton::clock::Span;
use baton::ids::RunId;
use baton::redact::SecretNames;
use baton::workflow::def::{self, Format};
use baton::workflow::exec::{self, Options, Sink};
use baton::workflow::ledger::{DefinitionRef, Run, StepStatus};

#[test]
fn ended_steps_are_seen_and_timeouts_honoured_when_waitpid_says_echild() {
    // SAFETY: setting a signal disposition; this test binary runs nothing else.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let text = r#"name = "echild"
[[steps]]
id = "quick"
run = ["true"]
timeout = "5s"
depends_on = []
[[steps]]
id = "slow"
run = ["sleep", "30"]
timeout = "1s"
depends_on = []
"#;
    let def = def::parse("echild.toml", text, Format::Toml).unwrap();
    let now = baton::clock::now().unwrap();
    let mut run = Run::new(
        RunId::generate("wf", &now),
        &def,
        DefinitionRef {
            path: "echild.toml".into(),
            blob: "0".repeat(40),
        },
        "host".into(),
        std::process::id(),
        "human:tester".into(),
        now,
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        jobs: 2,
        dir: dir.path().to_path_buf(),
        default_timeout: Span::parse("30m").unwrap(),
        sink: Sink::Stderr,
        secret_names: SecretNames::new(&[]).unwrap(),
    };
    let (done, finished) = mpsc::channel();
    let t0 = Instant::now();
    std::thread::spawn(move || {
        let selected: BTreeSet<usize> = (0..def.steps.len()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = exec::execute(&def, &mut run, &selected, &opts, &stop, |_, _| Ok(())).unwrap();
        let _ = done.send((stopped, run));
    });
    let (stopped, run) = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the executor hung: a step's end was never noticed");
    assert!(!stopped);
    assert!(t0.elapsed() < Duration::from_secs(10), "took {:?}", t0.elapsed());
    let quick = &run.steps[0];
    assert_eq!(quick.attempts.len(), 1, "{quick:?}");
    // Its exit status is lost: the attempt ends, failed, and says why.
    assert_eq!(quick.attempts[0].exit_code, None, "{quick:?}");
    assert_eq!(quick.status, StepStatus::Failed, "{quick:?}");
    assert!(quick.attempts[0].output.contains("exit status"), "{quick:?}");
    let slow = &run.steps[1];
    assert_eq!(slow.attempts.len(), 1, "{slow:?}");
    assert!(slow.attempts[0].timed_out, "{slow:?}");
    assert!(slow.attempts[0].duration_ms < 8_000, "{slow:?}");
}

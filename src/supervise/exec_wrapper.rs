//! The exec wrapper: how a supervised program gets killed when the workbench dies.
//!
//! portable-pty offers no hook between fork and exec, so the supervisor starts
//! `n3x __n3x-exec <workbench pid> -- PROGRAM ARGS…` in the PTY instead. That process asks the
//! kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`), checks that its parent is still
//! the workbench (otherwise the workbench died before the request and nobody would kill it),
//! and then becomes the program with `exec` (same pid, and the request survives exec).
//!
//! `main` calls [`run_if_requested`] before parsing the command line. That call also marks the
//! running executable as one that can be the wrapper: a program that embeds the library without
//! it (a test, a benchmark) would otherwise re-run *itself* in front of every program it starts,
//! and itself start programs again. [`crate::supervise::Supervisor`] refuses to spawn through
//! such an executable unless it is given n3x's path with `with_wrapper`.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};

/// The first argument that selects the wrapper.
pub const ARG: &str = "__n3x-exec";

/// Exit code when the wrapper itself fails (bad arguments, or the workbench is gone already).
pub const EXIT_WRAPPER_FAILED: u8 = 125;

/// Exit code when the program exists but cannot be executed (as in a shell).
pub const EXIT_CANNOT_EXECUTE: u8 = 126;

/// Exit code when the program is not found (as in a shell).
pub const EXIT_NOT_FOUND: u8 = 127;

/// Set once `main` has called [`run_if_requested`]: this executable handles `__n3x-exec`.
static HANDLES_WRAPPER: AtomicBool = AtomicBool::new(false);

/// Whether the running executable handles `__n3x-exec` (its `main` called [`run_if_requested`]).
pub(crate) fn this_executable_is_a_wrapper() -> bool {
    HANDLES_WRAPPER.load(Ordering::Relaxed)
}

/// If this process was started as the exec wrapper, becomes the program and does not return
/// (or returns the exit code of the failure); otherwise returns `None` at once. Call it first
/// in `main`: it also marks this executable as able to be the wrapper.
pub fn run_if_requested() -> Option<ExitCode> {
    HANDLES_WRAPPER.store(true, Ordering::Relaxed);
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(ARG)) {
        return None;
    }
    Some(run(args.collect()))
}

/// The wrapper's command line for running `argv` under the workbench process `parent`.
pub(crate) fn command_line(wrapper: &OsStr, parent: u32, argv: &[OsString]) -> Vec<OsString> {
    let mut line = vec![
        wrapper.to_owned(),
        ARG.into(),
        parent.to_string().into(),
        "--".into(),
    ];
    line.extend(argv.iter().cloned());
    line
}

fn run(args: Vec<OsString>) -> ExitCode {
    let (parent, argv) = match parse(&args) {
        Some(parsed) => parsed,
        None => {
            eprintln!("n3x: usage: n3x {ARG} PARENT_PID -- PROGRAM [ARG]...");
            return ExitCode::from(EXIT_WRAPPER_FAILED);
        }
    };
    let (signal, zero) = (libc::SIGKILL as libc::c_ulong, 0 as libc::c_ulong);
    // SAFETY: prctl(PR_SET_PDEATHSIG, SIGKILL) only changes this process's death signal.
    let set = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal, zero, zero, zero) };
    if set != 0 {
        let e = std::io::Error::last_os_error();
        eprintln!("n3x: cannot arrange to be stopped with the workbench: {e}");
        return ExitCode::from(EXIT_WRAPPER_FAILED);
    }
    // The parent may have died between our fork and the prctl: then the signal never comes.
    if std::os::unix::process::parent_id() != parent {
        eprintln!(
            "n3x: the workbench (pid {parent}) has ended; not starting '{}'",
            argv[0].to_string_lossy()
        );
        return ExitCode::from(EXIT_WRAPPER_FAILED);
    }
    // std resets SIGPIPE (which Rust ignores) to its default before exec, so pipelines in the
    // program behave as in a shell.
    let err = Command::new(&argv[0]).args(&argv[1..]).exec();
    eprintln!(
        "n3x: cannot run '{}': {}",
        argv[0].to_string_lossy(),
        without_os_error(&err)
    );
    ExitCode::from(if err.kind() == std::io::ErrorKind::NotFound {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_EXECUTE
    })
}

fn parse(args: &[OsString]) -> Option<(u32, &[OsString])> {
    let parent = args.first()?.to_str()?.parse().ok()?;
    if args.get(1)? != "--" || args.len() < 3 {
        return None;
    }
    Some((parent, &args[2..]))
}

/// "No such file or directory (os error 2)" → "No such file or directory".
fn without_os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_round_trips() {
        let argv: Vec<OsString> = vec!["sh".into(), "-c".into(), "echo --".into()];
        let line = command_line(OsStr::new("/bin/n3x"), 42, &argv);
        assert_eq!(line[1], ARG);
        assert_eq!(parse(&line[2..]), Some((42, &argv[..])));
    }

    #[test]
    fn malformed_wrapper_arguments_are_refused() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(parse(&args(&["x", "--", "sh"])), None);
        assert_eq!(parse(&args(&["12", "sh"])), None);
        assert_eq!(parse(&args(&["12", "--"])), None);
    }
}

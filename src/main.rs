//! The `n3x` command.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Started as the exec wrapper in front of a supervised program: become that program.
    #[cfg(target_os = "linux")]
    if let Some(code) = n3x::supervise::exec_wrapper::run_if_requested() {
        return code;
    }
    n3x::cli::main()
}

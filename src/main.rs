//! The `n3x` command.

use std::process::ExitCode;

fn main() -> ExitCode {
    n3x::cli::main()
}

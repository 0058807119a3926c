//! The `n3x` command as a user runs it (`assert_cmd`): list, render, validate, themes,
//! screenshots, the CI pipeline and releases.

mod commands;
mod habits;
mod pipeline;
mod screenshots;
mod themes;
mod validation;

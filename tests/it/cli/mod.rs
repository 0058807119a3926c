//! The `n3x` command as a user runs it (`assert_cmd`): list, render, validate, themes,
//! screenshots.

mod commands;
mod screenshots;
mod themes;
mod validation;

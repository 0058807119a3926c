//! The `n3x` command as a user runs it (`assert_cmd`): list, render, validate, themes,
//! screenshots, the CI pipeline, releases and OTA bundles.

mod commands;
mod habits;
mod ota;
mod pipeline;
mod screenshots;
mod themes;
mod validation;

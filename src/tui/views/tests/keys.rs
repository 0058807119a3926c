//! The Tests view's keys.

use crate::tui::keymap::{Binding, DOWN, ENTER, TESTS, UP, bindings, ch};

/// The view's part of the keymap, in the order the help lists it.
pub const BINDINGS: &[Binding] = bindings![
    TESTS, Up, [ch('k'), UP], "Previous test";
    TESTS, Down, [ch('j'), DOWN], "Next test";
    TESTS, RunTest, [ch('R')], "Run the selected test", "run";
    TESTS, ConsoleAtFailure, [ch('c'), ENTER], "Console where it failed", "console";
];

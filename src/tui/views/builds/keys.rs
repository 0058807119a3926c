//! The Builds view's keys.

use crate::tui::keymap::{
    BUILDS, Binding, DOWN, PAGE_DOWN, PAGE_UP, UP, WHEEL_DOWN, WHEEL_UP, bindings, ch,
};

/// The view's part of the keymap, in the order the help lists it.
pub const BINDINGS: &[Binding] = bindings![
    BUILDS, Up, [ch('k'), UP], "Previous build";
    BUILDS, Down, [ch('j'), DOWN], "Next build";
    BUILDS, DetailUp, [ch('K'), PAGE_UP, WHEEL_UP], "Scroll log up, pause";
    BUILDS, DetailDown, [ch('J'), PAGE_DOWN, WHEEL_DOWN], "Scroll log down";
    BUILDS, Follow, [ch('f')], "Follow/pause output", "follow";
    BUILDS, Search, [ch('/')], "Search the log", "search";
    BUILDS, NextMatch, [ch('n')], "Newer match";
    BUILDS, PrevMatch, [ch('N')], "Older match";
    BUILDS, CancelBuild, [ch('c')], "Cancel the build", "cancel";
    BUILDS, RetryBuild, [ch('R')], "Build it again", "retry";
    BUILDS, OpenLog, [ch('o')], "Full log in a pager", "log";
];

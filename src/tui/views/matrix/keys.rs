//! The Matrix view's keys, pane by pane: the table of variants, the file list, the previewed
//! file, the diff.

use crate::tui::keymap::{
    Binding, CLICK, DIFF, DOWN, END, ENTER, ESC, FILES, HOME, PAGE_DOWN, PAGE_UP, PREVIEW, TABLE,
    UP, WHEEL_DOWN, WHEEL_UP, bindings, ch,
};

/// The view's part of the keymap, in the order the help lists it.
pub const BINDINGS: &[Binding] = bindings![
    TABLE, Up, [ch('k'), UP, WHEEL_UP], "Previous variant";
    TABLE, Down, [ch('j'), DOWN, WHEEL_DOWN], "Next variant";
    TABLE, PageUp, [PAGE_UP], "One page up";
    TABLE, PageDown, [PAGE_DOWN], "One page down";
    TABLE, First, [HOME, ch('g')], "First variant";
    TABLE, Last, [END, ch('G')], "Last variant";
    TABLE, Filter, [ch('/')], "Filter the variants", "filter";
    TABLE, ClearFilter, [ESC], "Clear the filter";
    TABLE, Sort, [ch('s')], "Sort by next column", "sort";
    TABLE, DetailDown, [ch('J')], "Scroll details down";
    TABLE, DetailUp, [ch('K')], "Scroll details up";
    TABLE, Open, [ENTER], "Preview rendered files", "files";
    TABLE, Mark, [ch('m'), ch(' ')], "Mark/unmark for diff", "mark";
    TABLE, Diff, [ch('d')], "Diff the two marked", "diff";
    TABLE, Edit, [ch('e')], "Edit variant's profile", "edit";
    TABLE, Build, [ch('b')], "Build (default backend)", "build";
    TABLE, BuildWith, [ch('B')], "Build with a backend…";
    TABLE, EditFile, [ch('E')], "Edit a profile file…";
    TABLE, Click, [CLICK], "Select clicked variant";
    FILES, Up, [ch('k'), UP, WHEEL_UP], "Previous file";
    FILES, Down, [ch('j'), DOWN, WHEEL_DOWN], "Next file";
    FILES, First, [HOME, ch('g')], "First file";
    FILES, Last, [END, ch('G')], "Last file";
    FILES, Open, [ENTER], "Read the file", "read";
    FILES, DetailDown, [ch('J')], "Scroll the file down";
    FILES, DetailUp, [ch('K')], "Scroll the file up";
    FILES, PageDown, [PAGE_DOWN], "One page down the file";
    FILES, PageUp, [PAGE_UP], "One page up the file";
    FILES, Back, [ESC], "Back to the variants", "back";
    FILES, Click, [CLICK], "Pick clicked file/pane";
    PREVIEW, Up, [ch('k'), UP, WHEEL_UP], "Scroll the file up";
    PREVIEW, Down, [ch('j'), DOWN, WHEEL_DOWN], "Scroll the file down";
    PREVIEW, PageUp, [PAGE_UP], "One page up the file";
    PREVIEW, PageDown, [PAGE_DOWN], "One page down the file";
    PREVIEW, First, [HOME, ch('g')], "Top of the file";
    PREVIEW, Last, [END, ch('G')], "End of the file";
    PREVIEW, Back, [ESC], "Back to the file list", "back";
    PREVIEW, Click, [CLICK], "Pick clicked file/pane";
    DIFF, Up, [ch('k'), UP, WHEEL_UP], "Scroll the diff up";
    DIFF, Down, [ch('j'), DOWN, WHEEL_DOWN], "Scroll the diff down";
    DIFF, PageUp, [PAGE_UP], "One page up the diff";
    DIFF, PageDown, [PAGE_DOWN], "One page down the diff";
    DIFF, First, [HOME, ch('g')], "Top of the diff";
    DIFF, Last, [END, ch('G')], "End of the diff";
    DIFF, Back, [ESC], "Back to the variants", "back";
];

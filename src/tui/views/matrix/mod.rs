//! The Matrix view: the variants as rows, the filter, the sort order, the selection, the marks
//! for the diff, the focused pane, and what the detail pane says about the selected variant
//! (this file); what its keys and clicks do ([`actions`]), its drawing ([`draw`], with the
//! file [`preview`] and the [`diff`] of two variants), its keys ([`keys`]).

pub mod actions;
pub mod diff;
pub mod draw;
pub mod keys;
pub mod preview;

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use ratatui::layout::Rect;

use crate::matrix::{self, Variant};
use crate::profile::Profiles;
use crate::render::{self, RenderedFile};
use crate::tui::keymap::Pane;
use diff::DiffState;
use preview::PreviewState;

/// The rendered files of one variant (or why they cannot be rendered), shared.
pub type Files = Arc<Result<Vec<RenderedFile>, String>>;

/// How many variants can be marked at once (the two sides of a diff).
pub const MAX_MARKS: usize = 2;

/// A column of the matrix table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The variant ID.
    Variant,
    /// The machine.
    Machine,
    /// The role (base, server, agent).
    Role,
    /// The network profile.
    Profile,
    /// The cluster node.
    Node,
    /// The state of the last build.
    Build,
}

impl Column {
    /// Every column, in table order.
    pub const ALL: [Column; 6] = [
        Column::Variant,
        Column::Machine,
        Column::Role,
        Column::Profile,
        Column::Node,
        Column::Build,
    ];

    /// The column's header.
    pub fn title(self) -> &'static str {
        match self {
            Column::Variant => "VARIANT",
            Column::Machine => "MACHINE",
            Column::Role => "ROLE",
            Column::Profile => "PROFILE",
            Column::Node => "NODE",
            Column::Build => "BUILD",
        }
    }

    /// The column's position in a row's cells.
    pub fn index(self) -> usize {
        Column::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

/// What a cell shows when there is nothing to show.
pub const NOTHING: &str = "—";

/// One variant as a table row.
#[derive(Debug, Clone)]
pub struct Row {
    /// The variant.
    pub variant: Variant,
    /// The cell texts, in [`Column::ALL`] order.
    pub cells: [String; 6],
    /// Every cell, lowercased, for the filter.
    haystack: String,
}

impl Row {
    fn new(variant: Variant) -> Row {
        let or_nothing = |s: &Option<String>| s.clone().unwrap_or_else(|| NOTHING.into());
        let cells = [
            variant.id.clone(),
            variant.machine.clone(),
            variant.role.clone(),
            or_nothing(&variant.profile),
            or_nothing(&variant.node),
            // Set by the build engine's updates and the build history.
            NOTHING.to_string(),
        ];
        let haystack = cells.join("\u{1f}").to_lowercase();
        Row {
            variant,
            cells,
            haystack,
        }
    }
}

/// The Matrix view's state.
#[derive(Debug, Clone)]
pub struct MatrixState {
    profiles: Arc<Profiles>,
    rows: Vec<Row>,
    /// Indices into `rows` of the rows shown, filtered and sorted.
    shown: Vec<usize>,
    /// Index into `shown`.
    selected: usize,
    filter: String,
    sort: Option<Column>,
    /// First line of the detail pane on screen (clamped when drawn).
    pub detail_scroll: Cell<u16>,
    /// First row of the table on screen (kept by the drawing so the selection stays visible).
    pub offset: Cell<usize>,
    /// Rows the table showed at the last draw: the size of a page.
    pub page: Cell<usize>,
    /// The table's rows on screen at the last draw (for mouse clicks).
    pub table_area: Cell<Option<Rect>>,
    /// The selected variant's rendered files, once asked for (the preview draws them every
    /// frame; they are rendered once per selection and profiles).
    files: RefCell<Option<(String, Files)>>,
    /// The pane the keys go to.
    pub pane: Pane,
    /// The file preview's state.
    pub preview: PreviewState,
    /// The diff on screen, while there is one.
    pub diff: Option<DiffState>,
    /// Keys of the marked variants, the older mark first.
    marks: Vec<String>,
}

/// What marking did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkChange {
    /// The variant was marked.
    Marked(String),
    /// The variant was marked and the older mark, this one, dropped.
    Replaced(String),
    /// The variant was unmarked.
    Unmarked(String),
}

impl MatrixState {
    /// Shows `state` (`running`, `succeeded` …) in the BUILD column of the variant with this
    /// key (`<id>@<machine>`); the filter matches it too.
    pub fn set_build_state(&mut self, key: &str, state: &str) {
        for row in self.rows.iter_mut().filter(|r| r.variant.key() == key) {
            row.cells[Column::Build.index()] = state.to_string();
            row.haystack = row.cells.join("\u{1f}").to_lowercase();
        }
    }

    /// The variants of `p`, unfiltered, in matrix order, the first one selected.
    pub fn new(p: Arc<Profiles>) -> MatrixState {
        let mut state = MatrixState {
            profiles: Arc::clone(&p),
            rows: Vec::new(),
            shown: Vec::new(),
            selected: 0,
            filter: String::new(),
            sort: None,
            detail_scroll: Cell::new(0),
            offset: Cell::new(0),
            page: Cell::new(10),
            table_area: Cell::new(None),
            files: RefCell::new(None),
            pane: Pane::Table,
            preview: PreviewState::default(),
            diff: None,
            marks: Vec::new(),
        };
        state.set_profiles(p);
        state
    }

    /// Takes new profiles; keeps the filter, the sort and (if it still exists) the selected
    /// variant; the diff is built again from them, or closed when its variants are gone.
    pub fn set_profiles(&mut self, p: Arc<Profiles>) {
        let key = self.selected_variant().map(Variant::key);
        let states: Vec<(String, String)> = self
            .rows
            .iter()
            .map(|r| (r.variant.key(), r.cells[Column::Build.index()].clone()))
            .filter(|(_, s)| s != NOTHING)
            .collect();
        self.rows = matrix::variants(&p).into_iter().map(Row::new).collect();
        self.profiles = p;
        self.files.replace(None);
        for (k, state) in &states {
            self.set_build_state(k, state);
        }
        let rows = &self.rows;
        self.marks
            .retain(|m| rows.iter().any(|r| &r.variant.key() == m));
        self.refresh(key);
        let count = self.file_count();
        self.preview.select(self.preview.file, count);
        self.refresh_diff();
    }

    /// The profiles the rows come from.
    pub fn profiles(&self) -> &Profiles {
        &self.profiles
    }

    /// The selected variant's rendered files (none for a base image), rendered once per
    /// selection.
    pub fn files(&self) -> Option<Files> {
        let v = self.selected_variant()?;
        let key = v.key();
        let mut cache = self.files.borrow_mut();
        if let Some((cached, files)) = cache.as_ref()
            && *cached == key
        {
            return Some(Arc::clone(files));
        }
        let files: Files = Arc::new(preview::files(&self.profiles, v));
        *cache = Some((key, Arc::clone(&files)));
        Some(files)
    }

    /// How many files the selected variant previews.
    pub fn file_count(&self) -> usize {
        self.files()
            .map_or(0, |f| f.as_ref().as_ref().map_or(0, Vec::len))
    }

    /// The Matrix view's areas are learnt anew by drawing them; nothing drawn, nothing to click.
    pub fn forget_areas(&self) {
        self.table_area.set(None);
        self.preview.list_area.set(None);
        self.preview.content_area.set(None);
    }

    /// Marks the selected variant, or unmarks it when it is marked. With [`MAX_MARKS`] marks
    /// already, the older one gives way. `None` when no variant is selected.
    pub fn toggle_mark(&mut self) -> Option<MarkChange> {
        let key = self.selected_variant()?.key();
        if let Some(at) = self.marks.iter().position(|m| *m == key) {
            self.marks.remove(at);
            return Some(MarkChange::Unmarked(key));
        }
        self.marks.push(key);
        if self.marks.len() > MAX_MARKS {
            return Some(MarkChange::Replaced(self.marks.remove(0)));
        }
        Some(MarkChange::Marked(
            self.marks.last().cloned().unwrap_or_default(),
        ))
    }

    /// The marked variants' keys, the older mark first.
    pub fn marks(&self) -> &[String] {
        &self.marks
    }

    /// `A` for the older mark, `B` for the newer, `None` for a variant not marked.
    pub fn mark_label(&self, key: &str) -> Option<char> {
        self.marks
            .iter()
            .position(|m| m == key)
            .map(|i| if i == 0 { 'A' } else { 'B' })
    }

    /// The marked variants, the older mark first.
    pub fn marked_variants(&self) -> Vec<&Variant> {
        self.marks
            .iter()
            .filter_map(|m| {
                self.rows
                    .iter()
                    .find(|r| &r.variant.key() == m)
                    .map(|r| &r.variant)
            })
            .collect()
    }

    /// Every row, in matrix order.
    pub fn all_rows(&self) -> &[Row] {
        &self.rows
    }

    /// The rows shown, filtered and sorted.
    pub fn shown(&self) -> impl ExactSizeIterator<Item = &Row> {
        self.shown.iter().map(|&i| &self.rows[i])
    }

    /// Index of the selected row among the shown rows (0 when none is shown).
    pub fn selected_index(&self) -> usize {
        self.selected
    }

    /// The selected variant, if any row is shown.
    pub fn selected_variant(&self) -> Option<&Variant> {
        self.shown
            .get(self.selected)
            .map(|&i| &self.rows[i].variant)
    }

    /// The filter text.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The column the rows are sorted by (`None`: matrix order).
    pub fn sort(&self) -> Option<Column> {
        self.sort
    }

    /// Sets the filter: rows whose cells contain it, ignoring case, stay.
    pub fn set_filter(&mut self, filter: &str) {
        let key = self.selected_variant().map(Variant::key);
        self.filter = filter.to_string();
        self.refresh(key);
    }

    /// Sorts by the next column; after the last one, back to matrix order.
    pub fn cycle_sort(&mut self) {
        let key = self.selected_variant().map(Variant::key);
        self.sort = match self.sort {
            None => Some(Column::ALL[0]),
            Some(c) => Column::ALL.get(c.index() + 1).copied(),
        };
        self.refresh(key);
    }

    /// Moves the selection by `delta` rows, stopping at the ends.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.shown.len().saturating_sub(1);
        let next = self.selected.saturating_add_signed(delta).min(last);
        self.select(next);
    }

    /// Selects the first shown row.
    pub fn first(&mut self) {
        self.select(0);
    }

    /// Selects the last shown row.
    pub fn last(&mut self) {
        self.select(self.shown.len().saturating_sub(1));
    }

    /// Selects shown row `index` (clamped to the shown rows).
    pub fn select_row(&mut self, index: usize) {
        self.select(index.min(self.shown.len().saturating_sub(1)));
    }

    fn select(&mut self, index: usize) {
        if index != self.selected {
            self.selected = index;
            self.detail_scroll.set(0);
        }
    }

    fn refresh(&mut self, keep: Option<String>) {
        let needle = self.filter.to_lowercase();
        self.shown = (0..self.rows.len())
            .filter(|&i| self.rows[i].haystack.contains(&needle))
            .collect();
        if let Some(col) = self.sort {
            let c = col.index();
            // Stable: ties keep matrix order.
            self.shown
                .sort_by(|&a, &b| self.rows[a].cells[c].cmp(&self.rows[b].cells[c]));
        }
        let index = keep
            .as_ref()
            .and_then(|k| {
                self.shown
                    .iter()
                    .position(|&i| &self.rows[i].variant.key() == k)
            })
            .unwrap_or(0);
        let now = self.shown.get(index).map(|&i| self.rows[i].variant.key());
        self.selected = index;
        if now != keep {
            self.detail_scroll.set(0);
        }
    }
}

/// One titled part of the detail pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading.
    pub title: String,
    /// Its lines.
    pub lines: Vec<String>,
}

/// Everything the detail pane says about `v`: kas chain and command, Nix attribute, artifacts,
/// and the files rendered for its profile and node.
pub fn details(p: &Profiles, v: &Variant) -> Vec<Section> {
    let section = |title: &str, lines: Vec<String>| Section {
        title: title.to_string(),
        lines,
    };
    let mut out = vec![
        section("kas chain", matrix::overlay_chain(p, v)),
        section(
            "kas-container command",
            vec![matrix::kas_container_argv(p, v).join(" ")],
        ),
        section("Nix attribute", vec![matrix::nix_attr_path(v)]),
        section(
            "artifacts",
            matrix::artifacts(p, v)
                .into_iter()
                .map(|a| a.unique_name)
                .collect(),
        ),
    ];
    let assets = matrix::release_assets(p, v);
    if !assets.is_empty() {
        out.push(section("release assets", assets));
    }
    let files = match (&v.profile, &v.node) {
        (Some(profile), Some(node)) => section(
            &format!("rendered files ({profile}, {node})"),
            match render::render_node(p, profile, node) {
                Ok(files) => files.into_iter().map(|f| f.path).collect(),
                Err(e) => vec![format!("cannot render: {e}")],
            },
        ),
        _ => section(
            "rendered files",
            vec!["none: this variant carries no network profile".into()],
        ),
    };
    out.push(files);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Profiles {
        Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
            .expect("the shipped profiles are valid")
    }

    fn ids(m: &MatrixState) -> Vec<String> {
        m.shown().map(|r| r.variant.key()).collect()
    }

    #[test]
    fn the_filter_matches_any_column_ignoring_case() {
        let mut m = MatrixState::new(Arc::new(shipped()));
        assert_eq!(m.shown().len(), 16);
        m.set_filter("JETSON");
        assert_eq!(
            ids(&m),
            ["base@jetson-orin-nano", "server@jetson-orin-nano"]
        );
        m.set_filter("bonding");
        assert_eq!(m.shown().len(), 2);
        m.set_filter("no such thing");
        assert_eq!(m.shown().len(), 0);
        assert!(m.selected_variant().is_none());
        m.move_by(1);
        m.last();
        assert!(m.selected_variant().is_none());
        m.set_filter("");
        assert_eq!(m.shown().len(), 16);
    }

    #[test]
    fn the_selection_survives_filtering_when_it_can() {
        let mut m = MatrixState::new(Arc::new(shipped()));
        m.move_by(4);
        assert_eq!(m.selected_variant().unwrap().id, "server-simple-server-2");
        m.set_filter("server-2");
        assert_eq!(m.selected_variant().unwrap().id, "server-simple-server-2");
        m.set_filter("arm64");
        assert_eq!(m.selected_variant().unwrap().key(), "base@qemuarm64");
    }

    #[test]
    fn sort_cycles_through_every_column_and_back() {
        let mut m = MatrixState::new(Arc::new(shipped()));
        let original = ids(&m);
        for col in Column::ALL {
            m.cycle_sort();
            assert_eq!(m.sort(), Some(col));
            let cells: Vec<String> = m.shown().map(|r| r.cells[col.index()].clone()).collect();
            assert!(cells.is_sorted(), "{col:?}: {cells:?}");
        }
        m.cycle_sort();
        assert_eq!(m.sort(), None);
        assert_eq!(ids(&m), original);
    }

    #[test]
    fn moving_stops_at_the_ends() {
        let mut m = MatrixState::new(Arc::new(shipped()));
        m.move_by(-3);
        assert_eq!(m.selected_index(), 0);
        m.move_by(100);
        assert_eq!(m.selected_index(), 15);
        m.first();
        assert_eq!(m.selected_index(), 0);
        m.last();
        assert_eq!(m.selected_variant().unwrap().key(), "agent@amd-v3c18i");
    }

    #[test]
    fn at_most_two_marks_the_older_giving_way() {
        let mut m = MatrixState::new(Arc::new(shipped()));
        let key = |m: &MatrixState| m.selected_variant().unwrap().key();
        let first = key(&m);
        assert_eq!(m.toggle_mark(), Some(MarkChange::Marked(first.clone())));
        m.move_by(1);
        let second = key(&m);
        m.toggle_mark();
        m.move_by(1);
        let third = key(&m);
        assert_eq!(m.toggle_mark(), Some(MarkChange::Replaced(first.clone())));
        assert_eq!(m.marks(), [second.clone(), third.clone()]);
        assert_eq!(m.mark_label(&second), Some('A'));
        assert_eq!(m.mark_label(&third), Some('B'));
        assert_eq!(m.mark_label(&first), None);
        assert_eq!(m.toggle_mark(), Some(MarkChange::Unmarked(third)));
        assert_eq!(m.marked_variants().len(), 1);
        // Marks survive filtering and sorting.
        m.set_filter("zzz");
        m.cycle_sort();
        assert_eq!(m.toggle_mark(), None, "nothing selected, nothing marked");
        m.set_filter("");
        assert_eq!(m.marks(), [second]);
    }

    #[test]
    fn a_selections_files_are_rendered_once_and_again_for_new_profiles_or_selection() {
        let mut m = MatrixState::new(Arc::new(shipped()));
        assert_eq!(m.file_count(), 0, "a base image has no per-node files");
        m.move_by(5);
        assert_eq!(m.selected_variant().unwrap().id, "server-vlans-server-1");
        let first = m.files().unwrap();
        assert!(Arc::ptr_eq(&first, &m.files().unwrap()), "rendered once");
        assert_eq!(m.file_count(), first.as_ref().as_ref().unwrap().len());
        m.move_by(1);
        let other = m.files().unwrap();
        assert!(
            !Arc::ptr_eq(&first, &other),
            "another variant, its own files"
        );
        m.set_profiles(Arc::new(shipped()));
        assert!(
            !Arc::ptr_eq(&other, &m.files().unwrap()),
            "new profiles render again"
        );
    }

    #[test]
    fn details_list_rendered_files_only_for_variants_with_a_node() {
        let p = shipped();
        let all = matrix::variants(&p);
        let with_node = all
            .iter()
            .find(|v| v.id == "server-vlans-server-1")
            .unwrap();
        let d = details(&p, with_node);
        let files = d.last().unwrap();
        assert_eq!(files.title, "rendered files (vlans, server-1)");
        let expected: Vec<String> = render::render_node(&p, "vlans", "server-1")
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(files.lines, expected);
        assert!(d[0].lines.contains(&"kas/base.yml".to_string()));
        let base = &all[0];
        let d = details(&p, base);
        assert_eq!(
            d.last().unwrap().lines,
            ["none: this variant carries no network profile"]
        );
    }
}

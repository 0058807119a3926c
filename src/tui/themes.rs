//! The shipped themes, built into the binary, and how a theme given as `NAME` or `PATH` is
//! found: a path is read as a theme file; a name is looked up as `NAME.yaml` in the user's
//! themes directory first, then among the built-in themes.

use std::io;
use std::path::{Path, PathBuf};

use crate::profile::error::join;
use crate::profile::{Problem, display_path};
use crate::suggest::{closest, did_you_mean};
use crate::tui::theme_file::{self, ThemeFile};

/// The names of the built-in themes.
pub const NAMES: [&str; 3] = ["dark", "light", "high-contrast"];

/// The built-in theme files, embedded from `themes/`.
const FILES: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.yaml")),
    ("light", include_str!("../../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.yaml"),
    ),
];

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// The name is neither an installed nor a built-in theme.
    #[error(
        "no theme named \"{name}\"; built-in: {}; or give a path to a .yaml file\n  fix: {}",
        NAMES.join(", "),
        unknown_fix(name, user_dir.as_deref())
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The user's themes directory that was searched, if there is one.
        user_dir: Option<PathBuf>,
    },
    /// The theme file could not be read.
    #[error(
        "{}: cannot read the theme file: {source}\n  fix: check the path and the file's permissions; a theme given without / or .yaml is looked up by name instead",
        path.display()
    )]
    Read {
        /// The file, as given.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The file is not a valid theme; every problem is listed.
    #[error("{}", join(.0))]
    Invalid(Vec<Problem>),
}

fn unknown_fix(name: &str, user_dir: Option<&Path>) -> String {
    let installed = match user_dir {
        Some(dir) => format!("install it as {}/{name}.yaml, ", dir.display()),
        None => String::new(),
    };
    format!(
        "{}use a built-in name, {installed}or pass a file such as ./{name}.yaml",
        did_you_mean(closest(name, NAMES))
    )
}

/// The text of a built-in theme file.
pub fn builtin_text(name: &str) -> Option<&'static str> {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A built-in theme by name; `None` if there is none by that name. (The shipped files are
/// checked by the tests; an error here would name the broken file.)
pub fn builtin(name: &str) -> Option<Result<ThemeFile, ThemeError>> {
    let text = builtin_text(name)?;
    let file = PathBuf::from(format!("themes/{name}.yaml (built in)"));
    Some(theme_file::parse(&file, text).map_err(ThemeError::Invalid))
}

/// True if `spec` is meant as a path (it has a `/` or ends in `.yaml` or `.yml`), not a name.
pub fn is_path(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".yaml") || spec.ends_with(".yml")
}

/// Loads the theme `spec` names: a path (relative ones start at `base`), or a name looked up
/// in `user_dir` (the user's themes directory) and then among the built-in themes.
pub fn load(spec: &str, base: &Path, user_dir: Option<&Path>) -> Result<ThemeFile, ThemeError> {
    if is_path(spec) {
        return load_file(&base.join(spec));
    }
    if let Some(dir) = user_dir {
        let installed = dir.join(format!("{spec}.yaml"));
        if installed.is_file() {
            return load_file(&installed);
        }
    }
    builtin(spec).unwrap_or_else(|| {
        Err(ThemeError::Unknown {
            name: spec.to_string(),
            user_dir: user_dir.map(Path::to_path_buf),
        })
    })
}

/// Reads and checks one theme file.
pub fn load_file(path: &Path) -> Result<ThemeFile, ThemeError> {
    let shown = display_path(path);
    let text = std::fs::read_to_string(path).map_err(|source| ThemeError::Read {
        path: shown.clone(),
        source,
    })?;
    theme_file::parse(&shown, &text).map_err(ThemeError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::Theme;
    use crate::tui::theme_file::Background;
    use ratatui::style::Color;

    #[test]
    fn the_shipped_dark_file_is_the_default_theme() {
        let dark = builtin("dark").unwrap().unwrap();
        assert_eq!(dark.theme, Theme::dark());
        assert_eq!(dark.background, Background::Dark);
    }

    #[test]
    fn every_built_in_theme_loads_and_differs() {
        let all: Vec<ThemeFile> = NAMES
            .iter()
            .map(|n| builtin(n).unwrap().unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect();
        assert_ne!(all[0].theme, all[1].theme);
        assert_ne!(all[0].theme, all[2].theme);
        assert_eq!(all[1].background, Background::Light);
        assert!(builtin("solarized").is_none());
    }

    /// Relative luminance (WCAG) of the 256-colour index or named colour a light theme uses.
    fn luminance(c: Color) -> f64 {
        let (r, g, b) = match c {
            Color::Indexed(i) if (16..232).contains(&i) => {
                let level = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
                let i = i - 16;
                (level(i / 36), level((i / 6) % 6), level(i % 6))
            }
            Color::Indexed(i) if i >= 232 => {
                let v = 8 + 10 * (i - 232);
                (v, v, v)
            }
            Color::Black => (0, 0, 0),
            other => panic!("the light theme should use fixed colours, not {other:?}"),
        };
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    fn contrast(a: f64, b: f64) -> f64 {
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn the_light_theme_is_readable_on_white() {
        let t = builtin("light").unwrap().unwrap().theme;
        let white = 1.0;
        let styles = [
            t.text,
            t.dim,
            t.heading,
            t.tab_active,
            t.tab_inactive,
            t.header,
            t.selected,
            t.key,
            t.status,
            t.error,
            t.ok,
            t.warn,
            t.marked,
            t.code_section,
            t.code_key,
            t.code_value,
            t.code_comment,
            t.diff_added,
            t.diff_removed,
            t.diff_header,
        ];
        for s in styles {
            let fg =
                s.fg.map(luminance)
                    .expect("light styles set their text colour");
            let bg = s.bg.map(luminance).unwrap_or(white);
            // WCAG AA for normal text is 4.5; the comment grey is allowed a little less.
            assert!(
                contrast(fg, bg) >= 4.0,
                "{s:?}: contrast {:.2}",
                contrast(fg, bg)
            );
        }
    }

    #[test]
    fn names_come_before_paths_and_installed_themes_before_built_in_ones() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(
            dir.path().join("light.yaml"),
            "extends: dark\nstyles:\n  text: { fg: red }\n",
        )
        .unwrap();
        let mine = load("light", Path::new("/"), Some(dir.path())).unwrap();
        assert_eq!(mine.theme.text.fg, Some(Color::Red));
        let shipped = load("light", Path::new("/"), None).unwrap();
        assert_eq!(shipped.background, Background::Light);
        let by_path = load("light.yaml", dir.path(), None).unwrap();
        assert_eq!(by_path, mine);
        assert!(is_path("./x") && is_path("x.yml") && !is_path("high-contrast"));
    }

    #[test]
    fn an_unknown_name_says_what_exists() {
        let e = load(
            "drak",
            Path::new("/"),
            Some(Path::new("/home/u/.config/n3x/themes")),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "no theme named \"drak\"; built-in: dark, light, high-contrast; or give a path to a .yaml file\n  fix: did you mean \"dark\"? use a built-in name, install it as /home/u/.config/n3x/themes/drak.yaml, or pass a file such as ./drak.yaml"
        );
        let e = load("nope.yaml", Path::new("/nonexistent"), None).unwrap_err();
        assert!(matches!(e, ThemeError::Read { .. }), "{e}");
    }
}

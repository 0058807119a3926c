//! Themes as a user meets them: `--theme NAME|PATH`, `N3X_THEME`, `theme:` in the XDG
//! `config.yaml`, `NO_COLOR`, and the errors for bad names, files and configurations. Every
//! run has its own configuration directory (a temporary one), never the real user's.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// A sandbox: a working directory and an XDG configuration directory, both temporary.
struct Sandbox {
    cwd: TempDir,
    xdg: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            cwd: TempDir::new().unwrap(),
            xdg: TempDir::new().unwrap(),
        }
    }

    /// Writes `text` to `rel` under the working directory.
    fn file(&self, rel: &str, text: &str) -> PathBuf {
        write(&self.cwd.path().join(rel), text)
    }

    /// Writes `text` to `rel` under `$XDG_CONFIG_HOME/n3x`.
    fn config(&self, rel: &str, text: &str) -> PathBuf {
        write(&self.xdg.path().join("n3x").join(rel), text)
    }

    /// `n3x` in the sandbox, with the shipped profiles and no colour or theme variables.
    fn n3x(&self) -> Command {
        let mut cmd = Command::cargo_bin("n3x").unwrap();
        cmd.current_dir(self.cwd.path())
            .env("N3X_PROFILES", common::repo().join("profiles"))
            .env("XDG_CONFIG_HOME", self.xdg.path())
            .env_remove("NO_COLOR")
            .env_remove("N3X_THEME");
        cmd
    }

    /// Runs `n3x [args] screenshot` and returns the SVG it wrote.
    fn screenshot(&self, cmd: &mut Command) -> String {
        let out = self.cwd.path().join("shot.svg");
        let _ = std::fs::remove_file(&out);
        let result = cmd
            .args(["screenshot", "--size", "100x30", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        std::fs::read_to_string(&out).unwrap()
    }

    /// Runs `n3x [args] screenshot`, expects exit code 2 and nothing written; returns stderr.
    fn refused(&self, cmd: &mut Command) -> String {
        let out = self.cwd.path().join("refused.svg");
        let result = cmd
            .args(["screenshot", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8(result.stderr).unwrap();
        assert_eq!(result.status.code(), Some(2), "{err}");
        assert!(result.stdout.is_empty());
        assert!(!out.exists(), "nothing is written on an error");
        assert!(!err.contains("panicked"), "{err}");
        err
    }
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// The page background of a screenshot.
fn backdrop(svg: &str) -> &str {
    let page = r#"<rect width="100%" height="100%" fill=""#;
    let start = svg.find(page).unwrap() + page.len();
    &svg[start..start + 7]
}

/// Every colour used in a screenshot.
fn colours(svg: &str) -> BTreeSet<&str> {
    svg.match_indices("fill=\"#")
        .map(|(i, _)| &svg[i + 6..i + 13])
        .collect()
}

const DARK_BG: &str = "#1d1f21";
const LIGHT_BG: &str = "#fafafa";
/// Colour index 25 of the light theme's headings (#005faf).
const LIGHT_HEADING: &str = "#005faf";
/// White, the high-contrast theme's text (the dark theme uses none).
const HIGH_CONTRAST_TEXT: &str = "#ffffff";

#[test]
fn built_in_themes_by_name_work_from_any_directory() {
    let s = Sandbox::new();
    let dark = s.screenshot(&mut s.n3x());
    assert_eq!(backdrop(&dark), DARK_BG);
    assert_eq!(s.screenshot(s.n3x().args(["--theme", "dark"])), dark);

    let light = s.screenshot(s.n3x().args(["--theme", "light"]));
    assert_eq!(backdrop(&light), LIGHT_BG, "a light theme on a light page");
    assert!(colours(&light).contains(LIGHT_HEADING));

    let high = s.screenshot(s.n3x().args(["--theme", "high-contrast"]));
    assert_eq!(backdrop(&high), DARK_BG);
    assert!(colours(&high).contains(HIGH_CONTRAST_TEXT));
    assert_ne!(high, dark);
}

#[test]
fn a_theme_file_by_path_and_an_installed_theme_by_name() {
    let s = Sandbox::new();
    s.file(
        "my/purple.yaml",
        "extends: light\nstyles:\n  heading: { fg: \"#800080\", modifiers: [bold] }\n",
    );
    let svg = s.screenshot(s.n3x().args(["--theme", "my/purple.yaml"]));
    assert!(colours(&svg).contains("#800080"));
    assert_eq!(
        backdrop(&svg),
        LIGHT_BG,
        "the background comes with extends"
    );

    // Installed under the config directory, found by name; it shadows a built-in one.
    s.config(
        "themes/light.yaml",
        "extends: dark\nstyles:\n  heading: { fg: \"#123456\" }\n",
    );
    let svg = s.screenshot(s.n3x().args(["--theme", "light"]));
    assert!(colours(&svg).contains("#123456"));
    assert_eq!(backdrop(&svg), DARK_BG);
}

#[test]
fn an_unknown_theme_name_exits_2_and_names_the_built_in_ones() {
    let s = Sandbox::new();
    let err = s.refused(s.n3x().args(["--theme", "x"]));
    let mut lines = err.lines();
    assert_eq!(
        lines.next(),
        Some(
            "error: no theme named \"x\"; built-in: dark, light, high-contrast; or give a path to a .yaml file"
        )
    );
    let fix = lines.next().unwrap();
    assert!(fix.starts_with("  fix: "), "{err}");
    assert!(
        fix.contains(&format!("{}/n3x/themes/x.yaml", s.xdg.path().display())),
        "{err}"
    );
    let err = s.refused(s.n3x().args(["--theme", "ligth"]));
    assert!(err.contains("did you mean \"light\"?"), "{err}");
    let err = s.refused(s.n3x().args(["--theme", "gone.yaml"]));
    assert!(
        err.starts_with("error: gone.yaml: cannot read the theme file:"),
        "{err}"
    );
}

#[test]
fn a_bad_theme_file_is_refused_with_file_line_column_and_fix() {
    let s = Sandbox::new();
    s.file(
        "themes/foo.yaml",
        "extends: dark\nstyles:\n  heading:\n    fg: cyna\n",
    );
    let err = s.refused(s.n3x().args(["--theme", "themes/foo.yaml"]));
    assert_eq!(
        err.lines().next(),
        Some("error: themes/foo.yaml:4:9: styles.heading.fg: unknown colour \"cyna\""),
        "{err}"
    );
    let fix = err.lines().nth(1).unwrap();
    for form in [
        "  fix: did you mean \"cyan\"?",
        "light-red",
        "\"#rrggbb\"",
        "0-255",
    ] {
        assert!(fix.contains(form), "{form}: {err}");
    }

    s.file(
        "themes/bad.yaml",
        "extends: dark\nstyles:\n  headng: { fg: cyan }\n  key: { modifiers: [bold, blinking] }\n",
    );
    let err = s.refused(s.n3x().args(["--theme", "themes/bad.yaml"]));
    assert!(
        err.contains(
            "error: themes/bad.yaml:3:3: styles.headng: unknown style \"headng\"\n  fix: did you mean \"heading\"?"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "error: themes/bad.yaml:4:28: styles.key.modifiers[1]: unknown modifier \"blinking\"\n  fix: "
        ),
        "{err}"
    );

    // Without extends every style must be there.
    s.file("themes/short.yaml", "styles:\n  text: { fg: red }\n");
    let err = s.refused(s.n3x().args(["--theme", "themes/short.yaml"]));
    assert!(
        err.starts_with(
            "error: themes/short.yaml:1:1: styles: missing styles \"dim\", \"heading\","
        ),
        "{err}"
    );
    assert!(
        err.contains("extends: dark"),
        "the fix offers extends: {err}"
    );

    // Broken YAML is located too.
    s.file("themes/syntax.yaml", "styles: {\n  text: {}\n");
    let err = s.refused(s.n3x().args(["--theme", "themes/syntax.yaml"]));
    assert!(err.starts_with("error: themes/syntax.yaml:1:"), "{err}");
}

#[test]
fn the_flag_beats_the_variable_beats_the_config_file_beats_dark() {
    let s = Sandbox::new();
    s.config("config.yaml", "# my settings\ntheme: light\n");
    let from_config = s.screenshot(&mut s.n3x());
    assert_eq!(backdrop(&from_config), LIGHT_BG);

    let from_env = s.screenshot(s.n3x().env("N3X_THEME", "high-contrast"));
    assert!(colours(&from_env).contains(HIGH_CONTRAST_TEXT));

    let from_flag = s.screenshot(
        s.n3x()
            .env("N3X_THEME", "high-contrast")
            .args(["--theme", "dark"]),
    );
    assert_eq!(from_flag, s.screenshot(&mut Sandbox::new().n3x()));
    assert!(!colours(&from_flag).contains(HIGH_CONTRAST_TEXT));
}

#[test]
fn the_config_file_is_found_under_home_without_xdg_config_home() {
    let s = Sandbox::new();
    let home = TempDir::new().unwrap();
    write(
        &home.path().join(".config/n3x/config.yaml"),
        "theme: light\n",
    );
    let svg = s.screenshot(
        s.n3x()
            .env_remove("XDG_CONFIG_HOME")
            .env("HOME", home.path()),
    );
    assert_eq!(backdrop(&svg), LIGHT_BG);
}

#[test]
fn a_theme_path_in_the_config_file_is_relative_to_it() {
    let s = Sandbox::new();
    s.config(
        "mine.yaml",
        "extends: dark\nstyles:\n  heading: { fg: \"#abcdef\" }\n",
    );
    s.config("config.yaml", "theme: mine.yaml\n");
    let svg = s.screenshot(&mut s.n3x());
    assert!(colours(&svg).contains("#abcdef"));
}

#[test]
fn a_bad_config_file_names_its_line_and_the_keys_it_may_have() {
    let s = Sandbox::new();
    let file = s.config("config.yaml", "theme: light\ncolours: many\n");
    let err = s.refused(&mut s.n3x());
    assert_eq!(
        err.lines().next().unwrap(),
        format!(
            "error: {}:2:1: colours: unknown key \"colours\"",
            file.display()
        )
    );
    assert!(
        err.contains("  fix: ") && err.contains("keys: theme"),
        "{err}"
    );

    // An unknown theme named in the file points at the file's line.
    s.config("config.yaml", "theme: solarized\n");
    let err = s.refused(&mut s.n3x());
    assert!(
        err.starts_with(&format!(
            "error: {}:1:8: theme: no theme named \"solarized\"",
            file.display()
        )),
        "{err}"
    );
    // --theme decides without reading the file.
    s.config("config.yaml", "colours: many\n");
    s.screenshot(s.n3x().args(["--theme", "light"]));
}

#[test]
fn no_color_drops_every_colour_of_every_theme() {
    let s = Sandbox::new();
    for (theme, page, text) in [
        ("dark", DARK_BG, "#c5c8c6"),
        ("light", LIGHT_BG, "#1d1f21"),
        ("high-contrast", DARK_BG, "#c5c8c6"),
    ] {
        let plain = s.screenshot(s.n3x().env("NO_COLOR", "1").args(["--theme", theme]));
        let used = colours(&plain);
        assert_eq!(
            used,
            BTreeSet::from([page, text]),
            "{theme}: only the terminal's own colours"
        );
        let coloured = s.screenshot(s.n3x().env("NO_COLOR", "").args(["--theme", theme]));
        assert!(
            colours(&coloured).len() > 2,
            "{theme}: empty NO_COLOR keeps colours"
        );
    }
    // A bad name is still an error: NO_COLOR must not hide a typo.
    s.refused(s.n3x().env("NO_COLOR", "1").args(["--theme", "nope"]));
}

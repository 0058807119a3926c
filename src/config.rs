//! The user's configuration: where it lives (the XDG config directory), what `config.yaml` may
//! say, and which theme wins (`--theme`, then `N3X_THEME`, then `theme:` in `config.yaml`,
//! then `dark`).
//!
//! The environment comes in as an [`Env`] value, so every function here can be tested without
//! touching the process's environment; the only I/O is reading `config.yaml`.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::profile::error::join;
use crate::profile::locate::{FieldPath, locate};
use crate::profile::{Problem, display_path};
use crate::suggest::{closest, did_you_mean};

/// The configuration file's name inside the configuration directory.
pub const CONFIG_FILE: &str = "config.yaml";
/// The directory of installed themes inside the configuration directory.
pub const THEMES_DIR: &str = "themes";
/// The theme used when nothing chooses one.
pub const DEFAULT_THEME: &str = "dark";
/// The keys `config.yaml` knows.
pub const KEYS: [&str; 3] = ["theme", "k3s_binary", "source_mirror"];

/// The environment variables the configuration depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// `XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<OsString>,
    /// `HOME`.
    pub home: Option<OsString>,
    /// `N3X_THEME`: a theme name or path.
    pub n3x_theme: Option<OsString>,
    /// `NO_COLOR`: any non-empty value turns colours off.
    pub no_color: Option<OsString>,
}

impl Env {
    /// The values of this process's environment.
    pub fn from_process() -> Env {
        Env {
            xdg_config_home: std::env::var_os("XDG_CONFIG_HOME"),
            home: std::env::var_os("HOME"),
            n3x_theme: std::env::var_os("N3X_THEME"),
            no_color: std::env::var_os("NO_COLOR"),
        }
    }

    /// True when `NO_COLOR` asks for no colours (set and not empty, see no-color.org).
    pub fn no_color(&self) -> bool {
        self.no_color.as_ref().is_some_and(|v| !v.is_empty())
    }
}

/// n3x's configuration directory: `$XDG_CONFIG_HOME/n3x` when that variable holds an absolute
/// path (the XDG spec says to ignore relative ones), else `$HOME/.config/n3x`; `None` without
/// either.
pub fn dir(env: &Env) -> Option<PathBuf> {
    let absolute = |v: &Option<OsString>| v.as_ref().map(PathBuf::from).filter(|p| p.is_absolute());
    absolute(&env.xdg_config_home)
        .or_else(|| absolute(&env.home).map(|h| h.join(".config")))
        .map(|d| d.join("n3x"))
}

/// The user's themes directory (`<config dir>/themes`).
pub fn themes_dir(env: &Env) -> Option<PathBuf> {
    dir(env).map(|d| d.join(THEMES_DIR))
}

/// A value read from `config.yaml`, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value.
    pub value: String,
    /// The file, as shown to the user.
    pub file: PathBuf,
    /// 1-based line and column of the value, when known.
    pub position: Option<(usize, usize)>,
}

/// What `config.yaml` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `theme:`, a theme name or a path (relative to the configuration directory).
    pub theme: Option<Setting>,
    /// `k3s_binary:`, the k3s executable for images (relative to the configuration directory).
    pub k3s_binary: Option<Setting>,
    /// `source_mirror:`, ISAR's Debian source mirror (relative to the configuration directory).
    pub source_mirror: Option<Setting>,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error(
        "{}: cannot read the configuration file: {source}\n  fix: check the file's permissions, or remove it to use the defaults",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The file is not a valid configuration; every problem is listed.
    #[error("{}", join(.0))]
    Invalid(Vec<Problem>),
}

/// Reads `config.yaml` in the configuration directory `dir`; no file is an empty configuration.
pub fn load(dir: &Path) -> Result<Config, ConfigError> {
    let path = dir.join(CONFIG_FILE);
    let shown = display_path(&path);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&shown, &text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Config::default()),
        Err(source) => Err(ConfigError::Read {
            path: shown,
            source,
        }),
    }
}

/// Parses the text of a configuration file (`file` names it in problems).
pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let doc: Value = serde_yaml::from_str(text)
        .map_err(|e| ConfigError::Invalid(vec![crate::profile::yaml_problem(file, &e, None)]))?;
    let problem = |path: &FieldPath, message: String, fix: String| Problem {
        file: file.to_path_buf(),
        position: locate(text, path),
        field: (!path.0.is_empty()).then(|| path.to_string()),
        message,
        fix,
    };
    let map = match doc {
        Value::Null => return Ok(Config::default()),
        Value::Mapping(m) => m,
        _ => {
            return Err(ConfigError::Invalid(vec![problem(
                &FieldPath::root(),
                "the configuration is not a mapping of keys to values".into(),
                format!(
                    "write one `key: value` per line; the keys are: {}",
                    KEYS.join(", ")
                ),
            )]));
        }
    };
    let mut config = Config::default();
    let mut problems = Vec::new();
    for (k, v) in &map {
        let key = match k {
            Value::String(s) => s.as_str(),
            _ => {
                problems.push(problem(
                    &FieldPath::root(),
                    "a key is not a name".into(),
                    format!("use one of: {}", KEYS.join(", ")),
                ));
                continue;
            }
        };
        let path = FieldPath::root().key(key);
        match (key, v) {
            ("theme", Value::String(s)) if !s.is_empty() => {
                let position = locate(text, &path).map(|(l, c)| {
                    // Point at the value: after `theme:` and the spaces that follow it.
                    let line = text.lines().nth(l - 1).unwrap_or("");
                    let after = line.get(c - 1 + key.len() + 1..).unwrap_or("");
                    (l, c + key.len() + 1 + after.len() - after.trim_start().len())
                });
                config.theme = Some(Setting {
                    value: s.clone(),
                    file: file.to_path_buf(),
                    position,
                });
            }
            ("k3s_binary" | "source_mirror", Value::String(s)) if !s.is_empty() => {
                let setting = Some(Setting {
                    value: s.clone(),
                    file: file.to_path_buf(),
                    position: locate(text, &path),
                });
                if key == "k3s_binary" {
                    config.k3s_binary = setting;
                } else {
                    config.source_mirror = setting;
                }
            }
            ("k3s_binary" | "source_mirror", _) => problems.push(problem(
                &path,
                format!("{key} is not a path"),
                format!("write e.g. `{key}: /opt/k3s/{}` (relative paths start in the configuration directory)", if key == "k3s_binary" { "k3s" } else { "mirror" }),
            )),
            ("theme", _) => problems.push(problem(
                &path,
                "theme is not a theme name or path".into(),
                "write e.g. `theme: light` (dark, light, high-contrast, an installed theme) or `theme: themes/mine.yaml`".into(),
            )),
            _ => problems.push(problem(
                &path,
                format!("unknown key \"{key}\""),
                format!(
                    "{}remove it or correct its spelling; config.yaml knows the keys: {}",
                    did_you_mean(closest(key, KEYS)),
                    KEYS.join(", ")
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// Where the theme choice came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--theme`.
    Flag,
    /// `N3X_THEME`.
    Env,
    /// `theme:` in `config.yaml`.
    Config(Setting),
    /// Nothing chose one.
    Default,
}

impl Origin {
    /// How an error about the theme's name should start, to say where the name came from
    /// (nothing for `--theme`: the user just typed it).
    pub fn prefix(&self) -> String {
        match self {
            Origin::Flag | Origin::Default => String::new(),
            Origin::Env => "N3X_THEME: ".into(),
            Origin::Config(s) => match s.position {
                Some((l, c)) => format!("{}:{l}:{c}: theme: ", s.file.display()),
                None => format!("{}: theme: ", s.file.display()),
            },
        }
    }
}

/// The theme to load: its name or path, where a relative path starts, and who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeChoice {
    /// A theme name or path.
    pub spec: String,
    /// The directory a relative path is relative to.
    pub base: PathBuf,
    /// Who chose it.
    pub origin: Origin,
}

/// Chooses the theme: `--theme` (`flag`), else `N3X_THEME`, else `theme:` in `config.yaml`,
/// else [`DEFAULT_THEME`]. `config.yaml` is read only when neither of the first two is given.
/// Paths from the flag or the variable are relative to `cwd`, from `config.yaml` to its
/// directory.
pub fn theme_choice(flag: Option<&str>, env: &Env, cwd: &Path) -> Result<ThemeChoice, ConfigError> {
    let given = |spec: &str, origin| ThemeChoice {
        spec: spec.to_string(),
        base: cwd.to_path_buf(),
        origin,
    };
    if let Some(spec) = flag {
        return Ok(given(spec, Origin::Flag));
    }
    if let Some(spec) = env.n3x_theme.as_ref().filter(|v| !v.is_empty()) {
        return Ok(given(&spec.to_string_lossy(), Origin::Env));
    }
    if let Some(dir) = dir(env)
        && let Some(setting) = load(&dir)?.theme
    {
        return Ok(ThemeChoice {
            spec: setting.value.clone(),
            base: dir,
            origin: Origin::Config(setting),
        });
    }
    Ok(given(DEFAULT_THEME, Origin::Default))
}

/// A path setting the workbench and the commands share: the flag, else the environment
/// variable `var`, else `key` in `config.yaml` (relative to its directory), else none; the same
/// order as the theme. Returns the path and where it came from, for the views to show.
pub fn path_setting(
    flag: Option<&Path>,
    var: &str,
    key: &str,
    env: &Env,
) -> Result<Option<(PathBuf, String)>, ConfigError> {
    if let Some(path) = flag {
        return Ok(Some((
            path.to_path_buf(),
            format!("--{}", key.replace('_', "-")),
        )));
    }
    if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(Some((PathBuf::from(value), format!("${var}"))));
    }
    let Some(dir) = dir(env) else {
        return Ok(None);
    };
    let config = load(&dir)?;
    let setting = match key {
        "k3s_binary" => config.k3s_binary,
        "source_mirror" => config.source_mirror,
        _ => None,
    };
    Ok(setting.map(|s| {
        let shown = format!("{}: {key}", s.file.display());
        (dir.join(&s.value), shown)
    }))
}

/// The k3s binary in use: `--k3s-binary`, `N3X_K3S_BINARY`, `k3s_binary:` in `config.yaml`.
pub fn k3s_binary(flag: Option<&Path>, env: &Env) -> Result<Option<PathBuf>, ConfigError> {
    Ok(path_setting(flag, "N3X_K3S_BINARY", "k3s_binary", env)?.map(|(p, _)| p))
}

/// ISAR's source mirror in use: `--source-mirror`, `N3X_SOURCE_MIRROR`, `source_mirror:` in
/// `config.yaml`.
pub fn source_mirror(flag: Option<&Path>, env: &Env) -> Result<Option<PathBuf>, ConfigError> {
    Ok(path_setting(flag, "N3X_SOURCE_MIRROR", "source_mirror", env)?.map(|(p, _)| p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(xdg: Option<&str>, home: Option<&str>, theme: Option<&str>) -> Env {
        Env {
            xdg_config_home: xdg.map(OsString::from),
            home: home.map(OsString::from),
            n3x_theme: theme.map(OsString::from),
            no_color: None,
        }
    }

    #[test]
    fn k3s_binary_and_source_mirror_are_read_relative_to_the_config() {
        let c = parse(
            Path::new("config.yaml"),
            "k3s_binary: bin/k3s\nsource_mirror: /srv/mirror\n",
        )
        .unwrap();
        assert_eq!(c.k3s_binary.unwrap().value, "bin/k3s");
        assert_eq!(c.source_mirror.unwrap().position, Some((2, 1)));
        let err = parse(Path::new("config.yaml"), "k3s_binary: [1]\n").unwrap_err();
        assert!(
            err.to_string().contains("k3s_binary is not a path"),
            "{err}"
        );
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::create_dir_all(dir.path().join("n3x")).unwrap();
        std::fs::write(dir.path().join("n3x/config.yaml"), "k3s_binary: bin/k3s\n").unwrap();
        let e = env(dir.path().to_str(), None, None);
        assert_eq!(
            k3s_binary(None, &e).unwrap(),
            Some(dir.path().join("n3x/bin/k3s"))
        );
        assert_eq!(
            k3s_binary(Some(Path::new("/flag/k3s")), &e).unwrap(),
            Some(PathBuf::from("/flag/k3s"))
        );
    }

    #[test]
    fn the_config_directory_follows_xdg() {
        assert_eq!(
            dir(&env(Some("/x/cfg"), Some("/home/u"), None)),
            Some(PathBuf::from("/x/cfg/n3x"))
        );
        // Empty or relative XDG_CONFIG_HOME is ignored, as the spec says.
        for xdg in [Some(""), Some("rel/cfg"), None] {
            assert_eq!(
                dir(&env(xdg, Some("/home/u"), None)),
                Some(PathBuf::from("/home/u/.config/n3x"))
            );
        }
        assert_eq!(dir(&env(None, None, None)), None);
        assert_eq!(
            themes_dir(&env(Some("/c"), None, None)),
            Some(PathBuf::from("/c/n3x/themes"))
        );
    }

    #[test]
    fn no_color_needs_a_non_empty_value() {
        let mut e = Env::default();
        assert!(!e.no_color());
        e.no_color = Some("".into());
        assert!(!e.no_color());
        e.no_color = Some("0".into());
        assert!(e.no_color());
    }

    #[test]
    fn config_theme_is_read_with_its_place() {
        let c = parse(Path::new("c.yaml"), "# mine\ntheme:   light\n").unwrap();
        let s = c.theme.unwrap();
        assert_eq!(s.value, "light");
        assert_eq!(s.position, Some((2, 10)));
        assert_eq!(parse(Path::new("c.yaml"), "").unwrap(), Config::default());
        assert_eq!(
            parse(Path::new("c.yaml"), "# only\n").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_file_and_line() {
        let e = parse(Path::new("c.yaml"), "theme: dark\nthem: light\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "c.yaml:2:1: them: unknown key \"them\"\n  fix: did you mean \"theme\"? remove it or correct its spelling; config.yaml knows the keys: theme, k3s_binary, source_mirror"
        );
        let e = parse(Path::new("c.yaml"), "theme: [a]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.yaml:1:1: theme: theme is not a theme name"),
            "{e}"
        );
        let e = parse(Path::new("c.yaml"), "- theme\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a mapping"), "{e}");
        let e = parse(Path::new("c.yaml"), "theme: 'a\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.yaml:1:"), "{e}");
    }

    #[test]
    fn the_flag_beats_the_variable_beats_the_file_beats_dark() {
        let cfg = tempfile::TempDir::new().unwrap();
        let xdg = cfg.path().to_str().unwrap();
        std::fs::create_dir_all(cfg.path().join("n3x")).unwrap();
        std::fs::write(cfg.path().join("n3x/config.yaml"), "theme: light\n").unwrap();
        let cwd = Path::new("/work");

        let c = theme_choice(
            Some("high-contrast"),
            &env(Some(xdg), None, Some("dark")),
            cwd,
        )
        .unwrap();
        assert_eq!(
            (c.spec.as_str(), &c.origin),
            ("high-contrast", &Origin::Flag)
        );
        assert_eq!(c.base, cwd);

        let c = theme_choice(None, &env(Some(xdg), None, Some("dark")), cwd).unwrap();
        assert_eq!((c.spec.as_str(), &c.origin), ("dark", &Origin::Env));

        let c = theme_choice(None, &env(Some(xdg), None, Some("")), cwd).unwrap();
        assert_eq!(c.spec, "light");
        assert_eq!(c.base, cfg.path().join("n3x"));
        assert!(
            c.origin.prefix().ends_with("config.yaml:1:8: theme: "),
            "{:?}",
            c.origin
        );

        let empty = tempfile::TempDir::new().unwrap();
        let c = theme_choice(None, &env(empty.path().to_str(), None, None), cwd).unwrap();
        assert_eq!((c.spec.as_str(), &c.origin), ("dark", &Origin::Default));
    }

    #[test]
    fn a_broken_config_file_matters_only_when_it_is_read() {
        let cfg = tempfile::TempDir::new().unwrap();
        let xdg = cfg.path().to_str().unwrap();
        std::fs::create_dir_all(cfg.path().join("n3x")).unwrap();
        std::fs::write(cfg.path().join("n3x/config.yaml"), "colour: red\n").unwrap();
        let e = theme_choice(None, &env(Some(xdg), None, None), Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("config.yaml:1:1: colour: unknown key \"colour\""),
            "{e}"
        );
        assert!(theme_choice(Some("dark"), &env(Some(xdg), None, None), Path::new("/")).is_ok());
    }
}

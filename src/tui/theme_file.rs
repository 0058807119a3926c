//! Theme files: the styles of a [`Theme`] as a small YAML document.
//!
//! ```yaml
//! extends: dark          # optional: a built-in theme that fills in the styles left out
//! background: light      # optional: dark | light, the terminal background it is made for
//! styles:
//!   heading: { fg: cyan, bg: "#1d1f21", modifiers: [bold] }
//! ```
//!
//! Without `extends` every style of [`Theme`] must be given. Colours are names (`light-red`),
//! `"#rrggbb"` or indexes 0-255. Every problem names the file, line and column, the field and
//! the fix; all problems of a file are reported at once.

use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde_yaml::Value;

use crate::profile::Problem;
use crate::profile::locate::{FieldPath, Seg, locate};
use crate::suggest::{closest, did_you_mean};
use crate::tui::theme::Theme;
use crate::tui::themes;

/// The terminal background a theme is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Background {
    /// A dark terminal (the default).
    #[default]
    Dark,
    /// A light terminal.
    Light,
}

/// A theme read from a file: its styles and the background they are made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThemeFile {
    /// The styles.
    pub theme: Theme,
    /// The terminal background the styles are made for.
    pub background: Background,
}

/// The style names of a theme file, one per field of [`Theme`], in field order.
pub const STYLES: [&str; 21] = [
    "text",
    "dim",
    "heading",
    "border",
    "tab_active",
    "tab_inactive",
    "header",
    "selected",
    "key",
    "status",
    "error",
    "ok",
    "warn",
    "marked",
    "code_section",
    "code_key",
    "code_value",
    "code_comment",
    "diff_added",
    "diff_removed",
    "diff_header",
];

/// The colour names a theme file may use.
pub const COLOURS: [(&str, Color); 17] = [
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark-gray", Color::DarkGray),
    ("light-red", Color::LightRed),
    ("light-green", Color::LightGreen),
    ("light-yellow", Color::LightYellow),
    ("light-blue", Color::LightBlue),
    ("light-magenta", Color::LightMagenta),
    ("light-cyan", Color::LightCyan),
    ("white", Color::White),
    ("reset", Color::Reset),
];

/// The modifier names a theme file may use.
pub const MODIFIERS: [(&str, Modifier); 9] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("slow-blink", Modifier::SLOW_BLINK),
    ("rapid-blink", Modifier::RAPID_BLINK),
    ("reversed", Modifier::REVERSED),
    ("hidden", Modifier::HIDDEN),
    ("crossed-out", Modifier::CROSSED_OUT),
];

const TOP_KEYS: [&str; 3] = ["extends", "background", "styles"];
const STYLE_KEYS: [&str; 3] = ["fg", "bg", "modifiers"];
const BACKGROUNDS: [(&str, Background); 2] =
    [("dark", Background::Dark), ("light", Background::Light)];

/// The field of `theme` a style name stands for.
fn style_mut<'a>(theme: &'a mut Theme, name: &str) -> Option<&'a mut Style> {
    Some(match name {
        "text" => &mut theme.text,
        "dim" => &mut theme.dim,
        "heading" => &mut theme.heading,
        "border" => &mut theme.border,
        "tab_active" => &mut theme.tab_active,
        "tab_inactive" => &mut theme.tab_inactive,
        "header" => &mut theme.header,
        "selected" => &mut theme.selected,
        "key" => &mut theme.key,
        "status" => &mut theme.status,
        "error" => &mut theme.error,
        "ok" => &mut theme.ok,
        "warn" => &mut theme.warn,
        "marked" => &mut theme.marked,
        "code_section" => &mut theme.code_section,
        "code_key" => &mut theme.code_key,
        "code_value" => &mut theme.code_value,
        "code_comment" => &mut theme.code_comment,
        "diff_added" => &mut theme.diff_added,
        "diff_removed" => &mut theme.diff_removed,
        "diff_header" => &mut theme.diff_header,
        _ => return None,
    })
}

fn colour_fix(guess: Option<&str>) -> String {
    let names: Vec<&str> = COLOURS.iter().map(|(n, _)| *n).collect();
    format!(
        "{}use a colour name ({}), \"#rrggbb\" in quotes (YAML reads an unquoted # as a comment), or an index 0-255",
        did_you_mean(guess),
        names.join(", ")
    )
}

/// Reads a theme from `text`, the contents of `file` (named in the problems as given).
pub fn parse(file: &Path, text: &str) -> Result<ThemeFile, Vec<Problem>> {
    let doc: Value = serde_yaml::from_str(text)
        .map_err(|e| vec![crate::profile::yaml_problem(file, &e, None)])?;
    let mut r = Reader {
        file,
        text,
        problems: Vec::new(),
    };
    let theme = r.document(&doc);
    match theme {
        Some(t) if r.problems.is_empty() => Ok(t),
        _ => Err(r.problems),
    }
}

/// Where a problem points: at a key, or at the value after it.
#[derive(Clone, Copy)]
enum At {
    Key,
    Value,
}

struct Reader<'a> {
    file: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn problem(&mut self, path: &FieldPath, at: At, message: String, fix: String) {
        let position = match (at, path.0.last()) {
            (_, None) => None,
            (At::Value, Some(Seg::Key(_))) => value_position(self.text, path),
            (_, Some(Seg::Index(n))) => {
                let list = FieldPath(path.0[..path.0.len() - 1].to_vec());
                item_position(self.text, &list, *n)
            }
            (At::Key, _) => locate(self.text, path),
        };
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            position,
            field: (!path.0.is_empty()).then(|| path.to_string()),
            message,
            fix,
        });
    }

    fn document(&mut self, doc: &Value) -> Option<ThemeFile> {
        let root = FieldPath::root();
        let map = match doc {
            Value::Mapping(m) => m,
            Value::Null => {
                self.problem(
                    &root,
                    At::Key,
                    "the theme file is empty".into(),
                    "copy themes/dark.yaml and change it, or write `extends: dark` and a `styles:` mapping with the styles to change".into(),
                );
                return None;
            }
            other => {
                self.problem(
                    &root,
                    At::Key,
                    format!("a theme file is a mapping, not {}", kind(other)),
                    "write the keys extends (optional), background (optional) and styles at the top level, as in themes/dark.yaml".into(),
                );
                return None;
            }
        };
        let mut extends: Option<ThemeFile> = None;
        // Set when the file says `extends:` at all: a bad name is reported once, not again as
        // every style missing.
        let mut extending = false;
        let mut background: Option<Background> = None;
        let mut styles: Option<&Value> = None;
        for (k, v) in map {
            let Some(key) = self.key(&root, k, &TOP_KEYS, "a theme file") else {
                continue;
            };
            let path = root.key(key);
            match key {
                "extends" => {
                    extending = true;
                    extends = self.extends(&path, v);
                }
                "background" => background = self.background(&path, v),
                _ => styles = Some(v),
            }
        }
        let base = extends.map(|b| b.theme).unwrap_or_else(Theme::monochrome);
        let mut theme = base;
        let mut given: Vec<&str> = Vec::new();
        match styles {
            Some(Value::Mapping(m)) => {
                let path = root.key("styles");
                for (k, v) in m {
                    let Some(name) = self.key(&path, k, &STYLES, "styles") else {
                        continue;
                    };
                    // Given, even when its value is bad (that is reported on its own).
                    given.push(name);
                    if let Some(style) = self.style(&path.key(name), v)
                        && let Some(slot) = style_mut(&mut theme, name)
                    {
                        *slot = style;
                    }
                }
            }
            Some(other) => self.problem(
                &root.key("styles"),
                At::Value,
                format!("styles is a mapping from style names to styles, not {}", kind(other)),
                "write one style per line below styles:, indented, e.g. `  heading: { fg: cyan, modifiers: [bold] }`".into(),
            ),
            None if !extending => self.problem(
                &root,
                At::Key,
                "the theme file has no styles".into(),
                "add a styles: mapping with every style (see themes/dark.yaml), or `extends: dark` to start from a built-in theme".into(),
            ),
            None => {}
        }
        if !extending && matches!(styles, Some(Value::Mapping(_))) {
            let missing: Vec<String> = STYLES
                .iter()
                .filter(|s| !given.contains(s))
                .map(|s| format!("\"{s}\""))
                .collect();
            if !missing.is_empty() {
                self.problem(
                    &root.key("styles"),
                    At::Key,
                    format!(
                        "missing style{} {}",
                        if missing.len() == 1 { "" } else { "s" },
                        missing.join(", ")
                    ),
                    "add each one under styles: (themes/dark.yaml lists them all), or add `extends: dark` at the top to take the missing ones from a built-in theme".into(),
                );
            }
        }
        Some(ThemeFile {
            theme,
            background: background
                .or(extends.map(|b| b.background))
                .unwrap_or_default(),
        })
    }

    /// The key as text if it is one of `allowed`; reports it otherwise.
    fn key(
        &mut self,
        parent: &FieldPath,
        key: &Value,
        allowed: &[&'static str],
        what: &str,
    ) -> Option<&'static str> {
        let list = allowed.join(", ");
        let Value::String(name) = key else {
            self.problem(
                parent,
                At::Key,
                format!("a key of {what} is {}, not a name", kind(key)),
                format!("use one of: {list}"),
            );
            return None;
        };
        if let Some(known) = allowed.iter().find(|a| *a == name) {
            return Some(known);
        }
        let guess = closest(name, allowed.iter().copied());
        let (message, fix) = if what == "styles" {
            (
                format!("unknown style \"{name}\""),
                format!("{}the styles are: {list}", did_you_mean(guess)),
            )
        } else {
            (
                format!("unknown key \"{name}\""),
                format!(
                    "{}remove it or correct its spelling; {what} has the keys: {list}",
                    did_you_mean(guess)
                ),
            )
        };
        self.problem(&parent.key(name.as_str()), At::Key, message, fix);
        None
    }

    fn extends(&mut self, path: &FieldPath, v: &Value) -> Option<ThemeFile> {
        let names = themes::NAMES.join(", ");
        let found = match v {
            Value::String(name) => themes::builtin(name).and_then(Result::ok).ok_or_else(|| {
                (
                    format!("no built-in theme \"{name}\""),
                    format!(
                        "{}extend one of: {names}",
                        did_you_mean(closest(name, themes::NAMES))
                    ),
                )
            }),
            other => Err((
                format!("extends names a built-in theme, not {}", kind(other)),
                format!("extend one of: {names}"),
            )),
        };
        found
            .map_err(|(message, fix)| self.problem(path, At::Value, message, fix))
            .ok()
    }

    fn background(&mut self, path: &FieldPath, v: &Value) -> Option<Background> {
        if let Value::String(s) = v
            && let Some((_, b)) = BACKGROUNDS.iter().find(|(n, _)| n == s)
        {
            return Some(*b);
        }
        let shown = match v {
            Value::String(s) => format!("\"{s}\""),
            other => kind(other).to_string(),
        };
        self.problem(
            path,
            At::Value,
            format!("unknown background {shown}"),
            "write dark or light: the terminal background the theme is made for".into(),
        );
        None
    }

    fn style(&mut self, path: &FieldPath, v: &Value) -> Option<Style> {
        let map = match v {
            Value::Mapping(m) => m,
            Value::Null => {
                self.problem(
                    path,
                    At::Key,
                    "no style given".into(),
                    "write {} for the terminal's own colours, or { fg: COLOUR, bg: COLOUR, modifiers: [...] }; parts on the lines below must be indented deeper than the style's name".into(),
                );
                return None;
            }
            other => {
                self.problem(
                    path,
                    At::Value,
                    format!("a style is a mapping, not {}", kind(other)),
                    "write it as { fg: COLOUR, bg: COLOUR, modifiers: [...] }, e.g. { fg: cyan, modifiers: [bold] }".into(),
                );
                return None;
            }
        };
        let mut style = Style::new();
        let mut ok = true;
        for (k, v) in map {
            let Some(key) = self.key(path, k, &STYLE_KEYS, "a style") else {
                ok = false;
                continue;
            };
            let field = path.key(key);
            match key {
                "fg" | "bg" => match colour(v) {
                    Ok(c) if key == "fg" => style = style.fg(c),
                    Ok(c) => style = style.bg(c),
                    Err((message, guess)) => {
                        ok = false;
                        self.problem(&field, At::Value, message, colour_fix(guess));
                    }
                },
                _ => match self.modifiers(&field, v) {
                    Some(m) => style = style.add_modifier(m),
                    None => ok = false,
                },
            }
        }
        ok.then_some(style)
    }

    fn modifiers(&mut self, path: &FieldPath, v: &Value) -> Option<Modifier> {
        let names: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
        let list = names.join(", ");
        let items = match v {
            Value::Sequence(items) => items,
            other => {
                self.problem(
                    path,
                    At::Value,
                    format!("modifiers is a list, not {}", kind(other)),
                    format!("write them in brackets, e.g. [bold] or [bold, underlined]; modifiers: {list}"),
                );
                return None;
            }
        };
        let mut all = Modifier::empty();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let found = match item {
                Value::String(s) => MODIFIERS.iter().find(|(n, _)| n == s).map(|(_, m)| *m),
                _ => None,
            };
            match found {
                Some(m) => all |= m,
                None => {
                    ok = false;
                    let (shown, guess) = match item {
                        Value::String(s) => (format!("\"{s}\""), closest(s, names.iter().copied())),
                        other => (kind(other).to_string(), None),
                    };
                    self.problem(
                        &path.index(i),
                        At::Value,
                        format!("unknown modifier {shown}"),
                        format!("{}use one of: {list}", did_you_mean(guess)),
                    );
                }
            }
        }
        ok.then_some(all)
    }
}

/// The colour a value names, or what is wrong with it (and a close colour name).
fn colour(v: &Value) -> Result<Color, (String, Option<&'static str>)> {
    let index = |n: u64| {
        u8::try_from(n)
            .map(Color::Indexed)
            .map_err(|_| (format!("colour index {n} is outside 0-255"), None))
    };
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(n) => index(n),
            None => Err((format!("colour index {n} is outside 0-255"), None)),
        },
        Value::String(s) => {
            if let Some((_, c)) = COLOURS.iter().find(|(name, _)| name == s) {
                return Ok(*c);
            }
            if let Some(hex) = s.strip_prefix('#') {
                return rgb(hex).ok_or_else(|| {
                    (
                        format!("\"{s}\" is not a colour: after # come six hex digits, #rrggbb"),
                        None,
                    )
                });
            }
            if let Ok(n) = s.parse::<u64>() {
                return index(n);
            }
            Err((
                format!("unknown colour \"{s}\""),
                closest(s, COLOURS.iter().map(|(n, _)| *n)),
            ))
        }
        Value::Null => Err((
            "no colour given (an unquoted #rrggbb is a YAML comment)".into(),
            None,
        )),
        other => Err((format!("a colour is a name, not {}", kind(other)), None)),
    }
}

fn rgb(hex: &str) -> Option<Color> {
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let part = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some(Color::Rgb(part(0)?, part(2)?, part(4)?))
}

/// What a YAML value is, in words.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Line and column of the value at `path`: just after `key:` when the value is on the same
/// line, else the key's own place.
fn value_position(text: &str, path: &FieldPath) -> Option<(usize, usize)> {
    let (line, col) = locate(text, path)?;
    let Some(Seg::Key(key)) = path.0.last() else {
        return Some((line, col));
    };
    let l = text.lines().nth(line - 1)?;
    let rest = l.get(col - 1..)?;
    let key_len = if rest.starts_with(['"', '\'']) {
        key.len() + 2
    } else {
        key.len()
    };
    let Some(after) = rest.get(key_len..).and_then(|r| r.strip_prefix(':')) else {
        return Some((line, col));
    };
    let value = after.trim_start();
    if value.is_empty() || value.starts_with('#') {
        return Some((line, col));
    }
    Some((line, col + key_len + 1 + (after.len() - value.len())))
}

/// Line and column of item `n` of the list at `list`, in flow (`[a, b]`) or block (`- a`)
/// style; the list's own place when the item cannot be found.
fn item_position(text: &str, list: &FieldPath, n: usize) -> Option<(usize, usize)> {
    let (line, col) = value_position(text, list)?;
    let l = text.lines().nth(line - 1)?;
    if l.get(col - 1..).is_some_and(|r| r.starts_with('[')) {
        // The byte after '[' has the 0-based index `col`.
        let mut offset = col;
        for (i, part) in l[col..].split([',', ']']).enumerate() {
            if i == n {
                let lead = part.len() - part.trim_start().len();
                return Some((line, offset + lead + 1));
            }
            offset += part.len() + 1;
        }
        return Some((line, col));
    }
    locate(text, &list.index(n)).or(Some((line, col)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse(Path::new("t.yaml"), text)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    fn with(lines: &str) -> String {
        let mut text = String::from("styles:\n");
        for s in STYLES {
            text.push_str(&format!("  {s}: {{}}\n"));
        }
        text.replace("  heading: {}\n", lines)
    }

    #[test]
    fn reads_colours_in_every_form_and_modifiers() {
        let t = parse(
            Path::new("t.yaml"),
            &with(
                "  heading: { fg: light-red, bg: \"#0a0B0c\", modifiers: [bold, crossed-out] }\n",
            ),
        )
        .unwrap();
        assert_eq!(
            t.theme.heading,
            Style::new()
                .fg(Color::LightRed)
                .bg(Color::Rgb(10, 11, 12))
                .add_modifier(Modifier::BOLD | Modifier::CROSSED_OUT)
        );
        assert_eq!(t.background, Background::Dark);
        let t = parse(
            Path::new("t.yaml"),
            &with("  heading:\n    fg: 25\n    bg: \"200\"\n    modifiers:\n      - italic\n"),
        )
        .unwrap();
        assert_eq!(
            t.theme.heading,
            Style::new()
                .fg(Color::Indexed(25))
                .bg(Color::Indexed(200))
                .add_modifier(Modifier::ITALIC)
        );
    }

    #[test]
    fn a_misspelt_colour_is_located_at_its_value() {
        let e = errors(&with("  heading: { fg: cyna }\n"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:4:18: styles.heading.fg: unknown colour \"cyna\"\n  fix: did you mean \"cyan\"? use a colour name (black,"),
            "{}",
            e[0]
        );
        let e = errors(&with("  heading:\n    bg: cyna\n"));
        assert!(
            e[0].starts_with("t.yaml:5:9: styles.heading.bg:"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn bad_indexes_hex_and_unquoted_hex_are_explained() {
        let e = errors(&with("  heading: { fg: 256 }\n"));
        assert!(e[0].contains("colour index 256 is outside 0-255"), "{e:?}");
        let e = errors(&with("  heading: { fg: \"#12345g\" }\n"));
        assert!(e[0].contains("six hex digits"), "{e:?}");
        let e = errors(&with("  heading:\n    fg: #123456\n"));
        assert!(
            e[0].contains("an unquoted #rrggbb is a YAML comment"),
            "{e:?}"
        );
        assert!(e[0].contains("\"#rrggbb\" in quotes"), "{e:?}");
    }

    #[test]
    fn unknown_and_missing_styles_and_keys_are_named() {
        let e = errors(&with("  headng: { fg: cyan }\n"));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:4:3: styles.headng: unknown style \"headng\"\n  fix: did you mean \"heading\"?"),
            "{}",
            e[0]
        );
        assert!(
            e[1].starts_with(
                "t.yaml:1:1: styles: missing style \"heading\"\n  fix: add each one under styles:"
            ),
            "{}",
            e[1]
        );
        let e = errors(&with("  heading: { fg: cyan, colour: red }\n"));
        assert!(
            e[0].starts_with("t.yaml:4:24: styles.heading.colour: unknown key \"colour\""),
            "{e:?}"
        );
        let e = errors(&format!("name: x\n{}", with("  heading: {}\n")));
        assert!(
            e[0].starts_with("t.yaml:1:1: name: unknown key \"name\""),
            "{e:?}"
        );
        let e = errors("styles:\n  text: {}\n");
        assert!(
            e[0].contains("missing styles \"dim\", \"heading\""),
            "{e:?}"
        );
    }

    #[test]
    fn bad_modifiers_point_at_the_item() {
        let e = errors(&with("  heading: { modifiers: [bold, blod] }\n"));
        assert!(
            e[0].starts_with("t.yaml:4:32: styles.heading.modifiers[1]: unknown modifier \"blod\"\n  fix: did you mean \"bold\"?"),
            "{e:?}"
        );
        let e = errors(&with(
            "  heading:\n    modifiers:\n      - bold\n      - blink\n",
        ));
        assert!(
            e[0].starts_with("t.yaml:7:9: styles.heading.modifiers[1]:"),
            "{e:?}"
        );
        let e = errors(&with("  heading: { modifiers: bold }\n"));
        assert!(e[0].contains("modifiers is a list, not text"), "{e:?}");
    }

    #[test]
    fn extends_fills_in_and_sets_the_background() {
        let t = parse(
            Path::new("t.yaml"),
            "extends: light\nstyles:\n  heading: { fg: red }\n",
        )
        .unwrap();
        let light = themes::builtin("light").unwrap().unwrap();
        assert_eq!(t.background, Background::Light);
        assert_eq!(t.theme.heading, Style::new().fg(Color::Red));
        assert_eq!(t.theme.text, light.theme.text);
        let t = parse(Path::new("t.yaml"), "extends: dark\nbackground: light\n").unwrap();
        assert_eq!((t.theme, t.background), (Theme::dark(), Background::Light));
        let e = errors("extends: drak\n");
        assert!(
            e[0].starts_with(
                "t.yaml:1:10: extends: no built-in theme \"drak\"\n  fix: did you mean \"dark\"?"
            ),
            "{e:?}"
        );
    }

    #[test]
    fn broken_documents_are_reported_not_panicked_on() {
        assert!(errors("")[0].contains("the theme file is empty"));
        assert!(errors("- a\n")[0].contains("a theme file is a mapping, not a list"));
        assert!(errors("styles: [1]\n")[0].contains("styles is a mapping"));
        assert!(
            errors("background: grey\nextends: dark\n")[0].contains("unknown background \"grey\"")
        );
        assert!(errors(&with("  heading:\n"))[0].contains("no style given"));
        assert!(errors(&with("  heading: red\n"))[0].contains("a style is a mapping, not text"));
        let e = errors("styles: { text: {}\n");
        assert!(e[0].starts_with("t.yaml:1:"), "{e:?}");
        for cut in 0..with("  heading: { fg: cyan }\n").len() {
            let text = with("  heading: { fg: cyan }\n");
            let _ = parse(Path::new("t.yaml"), &text[..cut]);
        }
    }
}

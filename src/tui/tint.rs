//! Syntax tinting of rendered files for the preview: a pure function from a file's path and
//! text to styled lines, one per line of the file.
//!
//! Three families cover everything `render` writes: ini-like files (systemd-networkd units and
//! drop-ins, `KEY=value` environment files, dnsmasq and modules-load files, `--flag=value`
//! lists), YAML (k3s `config.yaml`) and JSON (`nixos.json`, the QEMU plan).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::tui::theme::Theme;

/// How a file is tinted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `[Section]` headers, `Key=value` lines and `#`/`;` comments.
    Ini,
    /// `key: value` mappings, `- item` lists and `#` comments.
    Yaml,
    /// Keys, strings, numbers and punctuation.
    Json,
}

impl Syntax {
    /// The syntax of the file at `path`, by its extension; ini-like when unknown.
    pub fn of(path: &str) -> Syntax {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("yaml" | "yml") => Syntax::Yaml,
            Some("json") => Syntax::Json,
            _ => Syntax::Ini,
        }
    }
}

/// The lines of `text` (the file at `path`), tinted with the theme's `code_*` styles. Tabs
/// become spaces and other control characters are dropped, so what is drawn is what is there.
pub fn tint(path: &str, text: &str, theme: &Theme) -> Vec<Line<'static>> {
    let syntax = Syntax::of(path);
    text.lines()
        .map(printable)
        .map(|line| match syntax {
            Syntax::Ini => ini_line(&line, theme),
            Syntax::Yaml => yaml_line(&line, theme),
            Syntax::Json => json_line(&line, theme),
        })
        .collect()
}

fn printable(line: &str) -> String {
    line.chars()
        .filter_map(|c| match c {
            '\t' => Some("    ".to_string()),
            c if c.is_control() => None,
            c => Some(c.to_string()),
        })
        .collect()
}

fn span(text: &str, style: Style) -> Span<'static> {
    Span::styled(text.to_string(), style)
}

/// A line without the spans of empty pieces.
fn line(spans: Vec<Span<'static>>) -> Line<'static> {
    Line::from(
        spans
            .into_iter()
            .filter(|s| !s.content.is_empty())
            .collect::<Vec<_>>(),
    )
}

fn ini_line(text: &str, t: &Theme) -> Line<'static> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return line(vec![span(text, t.code_comment)]);
    }
    if trimmed.starts_with('[') && trimmed.trim_end().ends_with(']') {
        return line(vec![span(text, t.code_section)]);
    }
    match text.split_once('=') {
        Some((key, value)) => line(vec![
            span(key, t.code_key),
            span("=", t.text),
            span(value, t.code_value),
        ]),
        None => line(vec![span(text, t.text)]),
    }
}

fn yaml_line(text: &str, t: &Theme) -> Line<'static> {
    let body = text.trim_start();
    let indent = &text[..text.len() - body.len()];
    if body.starts_with('#') {
        return line(vec![span(text, t.code_comment)]);
    }
    let (dash, rest) = match body.strip_prefix("- ") {
        Some(rest) => ("- ", rest),
        None if body == "-" => ("-", ""),
        None => ("", body),
    };
    let mut spans = vec![span(indent, t.text), span(dash, t.text)];
    let key_end = rest
        .find(": ")
        .or_else(|| rest.ends_with(':').then(|| rest.len() - 1));
    match key_end {
        Some(end) if !rest.starts_with(['"', '\'', '{', '[']) => {
            let top_level = indent.is_empty() && dash.is_empty();
            let key_style = if top_level {
                t.code_section
            } else {
                t.code_key
            };
            spans.extend([
                span(&rest[..end], key_style),
                span(":", t.text),
                span(&rest[end + 1..], t.code_value),
            ]);
        }
        _ => spans.push(span(rest, t.code_value)),
    }
    line(spans)
}

fn json_line(text: &str, t: &Theme) -> Line<'static> {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            let string: String = chars[start..i].iter().collect();
            let is_key = chars[i..].iter().find(|c| !c.is_whitespace()) == Some(&':');
            spans.push(span(&std::mem::take(&mut plain), t.text));
            spans.push(span(
                &string,
                if is_key { t.code_key } else { t.code_value },
            ));
        } else if c.is_ascii_digit() || c == '-' || c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "-+.".contains(chars[i]))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            spans.push(span(&std::mem::take(&mut plain), t.text));
            spans.push(span(&word, t.code_value));
        } else {
            plain.push(c);
            i += 1;
        }
    }
    spans.push(span(&plain, t.text));
    line(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    /// A theme whose code styles all differ, so each span's style says what it was taken for.
    fn distinct() -> Theme {
        Theme {
            text: Style::new(),
            code_section: Style::new().fg(Color::Blue),
            code_key: Style::new().fg(Color::Cyan),
            code_value: Style::new().fg(Color::Green),
            code_comment: Style::new().fg(Color::DarkGray),
            ..Theme::dark()
        }
    }

    /// Each span of a line as (text, style).
    fn spans(line: &Line) -> Vec<(String, Style)> {
        line.spans
            .iter()
            .map(|s| (s.content.to_string(), s.style))
            .collect()
    }

    fn one(path: &str, text: &str) -> Vec<(String, Style)> {
        let lines = tint(path, text, &distinct());
        assert_eq!(lines.len(), 1, "{lines:?}");
        spans(&lines[0])
    }

    #[test]
    fn the_syntax_follows_the_file_name() {
        let of = Syntax::of;
        assert_eq!(
            of("rootfs/etc/systemd/network/15-eth1.network"),
            Syntax::Ini
        );
        assert_eq!(of("rootfs/etc/rancher/k3s/config.yaml"), Syntax::Yaml);
        assert_eq!(of("kas/node/server-1.yml"), Syntax::Yaml);
        assert_eq!(of("nixos.json"), Syntax::Json);
        assert_eq!(of("rootfs/etc/default/k3s-server"), Syntax::Ini);
        assert_eq!(of("some.dir/file"), Syntax::Ini);
    }

    #[test]
    fn ini_sections_keys_values_and_comments() {
        let t = distinct();
        assert_eq!(
            one("a.network", "[Match]"),
            [("[Match]".into(), t.code_section)]
        );
        assert_eq!(
            one("a.network", "Name=eth1"),
            [
                ("Name".into(), t.code_key),
                ("=".into(), t.text),
                ("eth1".into(), t.code_value)
            ]
        );
        assert_eq!(
            one("a.network", "# Generated by n3x"),
            [("# Generated by n3x".into(), t.code_comment)]
        );
        // An empty value keeps its key; a line without `=` is plain text.
        assert_eq!(
            one("n3x.conf", "ExecStart="),
            [("ExecStart".into(), t.code_key), ("=".into(), t.text)]
        );
        assert_eq!(one("hostname", "server-1"), [("server-1".into(), t.text)]);
        // Only the first `=` splits: values may hold more.
        assert_eq!(
            one("k3s-flags.txt", "--etcd-arg=heartbeat-interval=500")[2],
            ("heartbeat-interval=500".into(), t.code_value)
        );
    }

    #[test]
    fn yaml_top_level_keys_nested_keys_lists_and_comments() {
        let t = distinct();
        assert_eq!(
            one("config.yaml", "node-ip: 192.168.200.1"),
            [
                ("node-ip".into(), t.code_section),
                (":".into(), t.text),
                (" 192.168.200.1".into(), t.code_value)
            ]
        );
        assert_eq!(
            one("config.yaml", "disable:"),
            [("disable".into(), t.code_section), (":".into(), t.text)]
        );
        assert_eq!(
            one("config.yaml", "  nested: x")[1],
            ("nested".into(), t.code_key)
        );
        assert_eq!(
            one("config.yaml", "- traefik"),
            [("- ".into(), t.text), ("traefik".into(), t.code_value)]
        );
        assert_eq!(
            one("config.yaml", "# Generated"),
            [("# Generated".into(), t.code_comment)]
        );
        // A URL's colons are part of the value.
        assert_eq!(
            one("config.yaml", "server: https://192.168.1.1:6443")[2],
            (" https://192.168.1.1:6443".into(), t.code_value)
        );
    }

    #[test]
    fn json_keys_are_not_values() {
        let t = distinct();
        assert_eq!(
            one("nixos.json", r#"  "hostName": "server-1","#),
            [
                ("  ".into(), t.text),
                (r#""hostName""#.into(), t.code_key),
                (": ".into(), t.text),
                (r#""server-1""#.into(), t.code_value),
                (",".into(), t.text)
            ]
        );
        assert_eq!(
            one("plan.json", r#"{"mem": 1024, "ok": true}"#)
                .into_iter()
                .filter(|(_, s)| *s == t.code_value)
                .map(|(text, _)| text)
                .collect::<Vec<_>>(),
            ["1024", "true"]
        );
        // Escaped quotes stay inside the string.
        assert_eq!(
            one("a.json", r#""a\"b": 1"#)[0],
            (r#""a\"b""#.into(), t.code_key)
        );
    }

    #[test]
    fn every_line_is_kept_and_nothing_is_lost() {
        let text = "# c\n\n[Match]\nName=eth1\n\tIndented=x\u{7}\n";
        let lines = tint("a.network", text, &Theme::dark());
        let back: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(back, ["# c", "", "[Match]", "Name=eth1", "    Indented=x"]);
        // Unterminated strings in JSON do not run past the end of the line.
        let lines = tint("a.json", "\"open", &Theme::dark());
        assert_eq!(lines[0].to_string(), "\"open");
    }
}

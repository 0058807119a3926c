//! Screenshots made by the program itself: a view drawn headlessly on ratatui's TestBackend,
//! written as an SVG image (colours and all) and as plain text. The image shows the terminal a
//! theme is made for: light themes on a light background, dark ones on a dark one.

use std::fmt::Write;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use crate::tui::app::App;
use crate::tui::theme_file::Background;
use crate::tui::ui;

/// The named keys `--keys` understands, as written between `<` and `>`.
pub const KEY_NAMES: [(&str, KeyCode); 16] = [
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("S-Tab", KeyCode::BackTab),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("PgUp", KeyCode::PageUp),
    ("PgDn", KeyCode::PageDown),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("Space", KeyCode::Char(' ')),
    ("BS", KeyCode::Backspace),
    ("F1", KeyCode::F(1)),
    ("lt", KeyCode::Char('<')),
];

/// The key presses a `--keys` text stands for: each character is the key that types it, and a
/// name between angle brackets (`<Enter>`, `<Esc>`, `<PgDn>`, `<lt>` for `<` itself, see
/// [`KEY_NAMES`]) is that key.
pub fn parse_keys(text: &str) -> Result<Vec<KeyEvent>, String> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let close = rest.find('>').ok_or_else(|| {
                format!("`{rest}` opens a key name with < but does not close it with >; write <lt> for < itself")
            })?;
            let name = &rest[1..close];
            let code = KEY_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, code)| *code)
                .ok_or_else(|| {
                    let known: Vec<String> =
                        KEY_NAMES.iter().map(|(n, _)| format!("<{n}>")).collect();
                    format!("unknown key <{name}>; use one of {}", known.join(" "))
                })?;
            keys.push(KeyEvent::new(code, KeyModifiers::NONE));
            rest = &rest[close + 1..];
        } else {
            keys.push(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(keys)
}

/// Width and height of one terminal cell in the SVG, in pixels.
const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;

/// The default colours of the terminal a screenshot shows (what `Color::Reset` looks like).
#[derive(Debug, Clone, Copy)]
struct Backdrop {
    fg: &'static str,
    bg: &'static str,
}

const DARK: Backdrop = Backdrop {
    fg: "#c5c8c6",
    bg: "#1d1f21",
};
const LIGHT: Backdrop = Backdrop {
    fg: "#1d1f21",
    bg: "#fafafa",
};

impl Backdrop {
    fn for_background(background: Background) -> Backdrop {
        match background {
            Background::Dark => DARK,
            Background::Light => LIGHT,
        }
    }
}

/// Draws the app's current view at `width`×`height` cells.
pub fn capture(app: &mut App, width: u16, height: u16) -> Buffer {
    let mut terminal = ratatui::Terminal::new(TestBackend::new(width, height))
        .expect("a test backend never fails");
    terminal
        .draw(|frame| ui::draw(frame, app))
        .expect("a test backend never fails");
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row, trailing spaces removed.
pub fn to_text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn named(i: u8) -> &'static str {
    const PALETTE: [&str; 16] = [
        "#1d1f21", "#cc6666", "#b5bd68", "#f0c674", "#81a2be", "#b294bb", "#8abeb7", "#c5c8c6",
        "#666666", "#ff7b7b", "#c3e88d", "#ffe58f", "#82aaff", "#c792ea", "#89ddff", "#ffffff",
    ];
    PALETTE[usize::from(i & 15)]
}

fn hex(color: Color, default: &str) -> String {
    match color {
        Color::Reset => default.to_string(),
        Color::Black => named(0).into(),
        Color::Red => named(1).into(),
        Color::Green => named(2).into(),
        Color::Yellow => named(3).into(),
        Color::Blue => named(4).into(),
        Color::Magenta => named(5).into(),
        Color::Cyan => named(6).into(),
        Color::Gray => named(7).into(),
        Color::DarkGray => named(8).into(),
        Color::LightRed => named(9).into(),
        Color::LightGreen => named(10).into(),
        Color::LightYellow => named(11).into(),
        Color::LightBlue => named(12).into(),
        Color::LightMagenta => named(13).into(),
        Color::LightCyan => named(14).into(),
        Color::White => named(15).into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if i < 16 => named(i).into(),
        Color::Indexed(i) if i >= 232 => {
            let v = 8 + 10 * (i - 232);
            format!("#{v:02x}{v:02x}{v:02x}")
        }
        Color::Indexed(i) => {
            let i = i - 16;
            let level = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
            format!(
                "#{:02x}{:02x}{:02x}",
                level(i / 36),
                level((i / 6) % 6),
                level(i % 6)
            )
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The screen as an SVG image on a dark terminal.
pub fn to_svg(buffer: &Buffer) -> String {
    to_svg_on(buffer, Background::Dark)
}

/// The screen as an SVG image on a terminal with the given background (the one the theme in
/// use is made for).
pub fn to_svg_on(buffer: &Buffer, background: Background) -> String {
    let term = Backdrop::for_background(background);
    let (w, h) = (buffer.area.width, buffer.area.height);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" viewBox="0 0 {:.1} {:.1}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">"#,
        f32::from(w) * CELL_W,
        f32::from(h) * CELL_H,
        f32::from(w) * CELL_W,
        f32::from(h) * CELL_H
    );
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" fill="{}"/>"#,
        term.bg
    );
    for y in 0..h {
        let top = f32::from(y) * CELL_H;
        for x in 0..w {
            let cell = &buffer[(x, y)];
            let (fg, bg) = colours(term, cell.fg, cell.bg, cell.modifier);
            if bg != term.bg {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{CELL_W:.1}" height="{CELL_H:.1}" fill="{bg}"/>"#,
                    f32::from(x) * CELL_W
                );
            }
            let symbol = cell.symbol();
            if symbol.trim().is_empty() {
                continue;
            }
            let mut attrs = String::new();
            if cell.modifier.contains(Modifier::BOLD) {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if cell.modifier.contains(Modifier::UNDERLINED) {
                attrs.push_str(r#" text-decoration="underline""#);
            }
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" fill="{fg}"{attrs}>{}</text>"#,
                f32::from(x) * CELL_W,
                top + CELL_H * 0.78,
                escape(symbol)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn colours(term: Backdrop, fg: Color, bg: Color, modifier: Modifier) -> (String, String) {
    let (fg, bg) = (hex(fg, term.fg), hex(bg, term.bg));
    if modifier.contains(Modifier::REVERSED) {
        (bg, fg)
    } else {
        (fg, bg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn svg_carries_text_colours_and_escapes() {
        let mut b = Buffer::empty(Rect::new(0, 0, 4, 1));
        b.set_string(0, 0, "<a&", Style::new().fg(Color::Red).bg(Color::Blue));
        let svg = to_svg(&b);
        assert!(svg.contains(">&lt;</text>") && svg.contains(">&amp;</text>"));
        assert!(svg.contains(r##"fill="#cc6666""##), "{svg}");
        assert!(svg.contains(r##"fill="#81a2be""##), "{svg}");
        assert_eq!(to_text(&b), "<a&\n");
    }

    #[test]
    fn keys_are_characters_and_names_in_angle_brackets() {
        let codes: Vec<KeyCode> = parse_keys("m j<Enter><pgdn><lt>")
            .unwrap()
            .into_iter()
            .map(|k| k.code)
            .collect();
        assert_eq!(
            codes,
            [
                KeyCode::Char('m'),
                KeyCode::Char(' '),
                KeyCode::Char('j'),
                KeyCode::Enter,
                KeyCode::PageDown,
                KeyCode::Char('<'),
            ]
        );
        assert_eq!(parse_keys("").unwrap(), []);
        let e = parse_keys("<Return>").unwrap_err();
        assert!(
            e.contains("unknown key <Return>") && e.contains("<Enter>"),
            "{e}"
        );
        assert!(parse_keys("a<Enter").unwrap_err().contains("<lt>"));
    }

    #[test]
    fn reversed_cells_swap_colours() {
        let (fg, bg) = colours(DARK, Color::Reset, Color::Reset, Modifier::REVERSED);
        assert_eq!((fg.as_str(), bg.as_str()), (DARK.bg, DARK.fg));
        assert_eq!(hex(Color::Indexed(196), "x"), "#ff0000");
        assert_eq!(hex(Color::Indexed(244), "x"), "#808080");
    }

    #[test]
    fn a_light_theme_is_shown_on_a_light_terminal() {
        let mut b = Buffer::empty(Rect::new(0, 0, 2, 1));
        b.set_string(0, 0, "ab", Style::new());
        let dark = to_svg(&b);
        let light = to_svg_on(&b, Background::Light);
        assert!(dark.contains(r##"<rect width="100%" height="100%" fill="#1d1f21"/>"##));
        assert!(light.contains(r##"<rect width="100%" height="100%" fill="#fafafa"/>"##));
        // Default-coloured text is dark on the light terminal, light on the dark one.
        assert!(light.contains(r##"fill="#1d1f21">a</text>"##), "{light}");
        assert!(dark.contains(r##"fill="#c5c8c6">a</text>"##), "{dark}");
    }
}

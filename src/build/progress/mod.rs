//! Live progress of image builds, read line by line from the builders' own output.
//!
//! [`BitbakeProgress`] understands BitBake's knotty UI (what `kas build` and
//! `kas-container build` print), [`NixProgress`] the `@nix {json}` lines of
//! `nix build --log-format internal-json`. Both are pure state machines: feed them lines in
//! the order the program wrote them, ask for a snapshot whenever the screen is redrawn.
//! Nothing here reads files, spawns processes or looks at the clock.

pub mod bitbake;
pub mod nix;

pub use bitbake::{BitbakeProgress, BitbakeSnapshot, SstateSummary};
pub use nix::{NixProgress, NixSnapshot};

/// How important a line for the log pane is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// An error reported by the build tool.
    Error,
    /// A warning reported by the build tool.
    Warning,
    /// The build tool's own notes (`NOTE:`, `building '…'`).
    Info,
    /// Anything else: the output of a task or builder, unrecognised text.
    Output,
}

/// One line for the log pane: cleaned of terminal escapes, with its origin when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// How important the line is.
    pub level: LogLevel,
    /// Who wrote it, when the tool says so (for Nix: the derivation name, `hello-2.12`).
    pub origin: Option<String>,
    /// The text, without a trailing newline or escape sequences.
    pub text: String,
}

impl LogLine {
    /// The line as a terminal would show it: `origin> text`, or just the text.
    pub fn display(&self) -> String {
        match &self.origin {
            Some(o) => format!("{o}> {}", self.text),
            None => self.text.clone(),
        }
    }
}

/// What one fed line meant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fed {
    /// The progress state changed: a new snapshot would differ.
    pub changed: bool,
    /// What the log pane should show for the line; `None` for pure progress chatter
    /// (a redrawn BitBake footer, a Nix progress record).
    pub log: Option<LogLine>,
}

/// What the build engine needs from either parser.
pub trait BuildProgress {
    /// Feeds one line of output (without its newline).
    fn feed(&mut self, line: &str) -> Fed;
    /// How far the build is, `0.0..=1.0`, once the total amount of work is known.
    fn fraction(&self) -> Option<f64>;
    /// A one-line summary for a status bar.
    fn status_line(&self) -> String;
    /// BitBake's shared-state summary, for builds that print one.
    fn sstate(&self) -> Option<SstateSummary> {
        None
    }
}

impl BuildProgress for BitbakeProgress {
    fn feed(&mut self, line: &str) -> Fed {
        BitbakeProgress::feed(self, line)
    }
    fn fraction(&self) -> Option<f64> {
        BitbakeProgress::fraction(self)
    }
    fn status_line(&self) -> String {
        self.snapshot().line
    }
    fn sstate(&self) -> Option<SstateSummary> {
        BitbakeProgress::sstate(self)
    }
}

impl BuildProgress for NixProgress {
    fn feed(&mut self, line: &str) -> Fed {
        NixProgress::feed(self, line)
    }
    fn fraction(&self) -> Option<f64> {
        NixProgress::fraction(self)
    }
    fn status_line(&self) -> String {
        self.snapshot().line
    }
}

/// Cleans one line of terminal output: drops ANSI escape sequences (CSI, OSC, two-byte
/// escapes) and other control characters, keeps what a terminal would finally show after
/// carriage returns (the last non-empty `\r`-separated segment), trims trailing blanks.
pub fn clean_line(line: &str) -> String {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let mut segments: Vec<String> = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ST (ESC \).
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' {
                            break;
                        }
                        if c == '\x1b' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                // Character set selection: ESC ( B and friends.
                Some('(' | ')' | '*' | '+') => {
                    chars.next();
                }
                _ => {}
            },
            // The 8-bit CSI.
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\r' => segments.push(String::new()),
            '\t' => segments.last_mut().expect("one segment").push(c),
            c if c.is_control() => {}
            c => segments.last_mut().expect("one segment").push(c),
        }
    }
    let last = segments
        .into_iter()
        .rev()
        .find(|s| !s.trim().is_empty())
        .unwrap_or_default();
    last.trim_end().to_string()
}

/// A byte count the way Nix shows one: `512 B`, `3.4 KiB`, `34.1 MiB`, `1.2 GiB`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Joins names into `a, b, c, …` showing at most `max` of them.
fn list_some(names: &[String], max: usize) -> String {
    let mut s = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        s.push_str(", …");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_line_drops_escapes_and_keeps_the_last_carriage_return_segment() {
        assert_eq!(clean_line("\x1b[1;32mNOTE\x1b[0m: hi"), "NOTE: hi");
        assert_eq!(
            clean_line("\x1b[3A\x1b[JSetscene tasks: 1 of 2"),
            "Setscene tasks: 1 of 2"
        );
        assert_eq!(clean_line("a 10%\rb 20%\rc 30%\r"), "c 30%");
        assert_eq!(clean_line("\r\x1b[Kbuilding foo\n"), "building foo");
        assert_eq!(clean_line("\x1b]0;title\x07text"), "text");
        assert_eq!(clean_line("\x1b(Bplain\x08 \t"), "plain");
        assert_eq!(clean_line(""), "");
        // An escape cut off at the end of the line does not panic.
        assert_eq!(clean_line("half\x1b["), "half");
        assert_eq!(clean_line("half\x1b"), "half");
    }

    #[test]
    fn bytes_are_shown_like_nix_shows_them() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(35_756_441), "34.1 MiB");
        assert_eq!(format_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn lists_are_cut_with_an_ellipsis() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        assert_eq!(list_some(&names, 3), "a, b, c, …");
        assert_eq!(list_some(&names[..2], 3), "a, b");
        assert_eq!(list_some(&[], 3), "");
    }

    #[test]
    fn log_lines_display_with_their_origin() {
        let l = LogLine {
            level: LogLevel::Output,
            origin: Some("hello-2.12".into()),
            text: "make all".into(),
        };
        assert_eq!(l.display(), "hello-2.12> make all");
    }
}

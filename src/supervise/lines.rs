//! A child's output as plain-text lines: escape codes removed, carriage returns honoured, each
//! line capped in length; delivered on a bounded channel that never blocks the reader.

use std::borrow::Cow;
use std::collections::VecDeque;

use tokio::sync::mpsc;

/// Longest line text delivered, in bytes; the rest of a longer line is cut off (and marked).
pub const MAX_LINE: usize = 4096;

/// What the line receiver of a [`Child`](super::Child) gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// One line of output, without escape codes.
    Line {
        /// 1-based number of this line in the whole output, dropped lines included.
        number: u64,
        /// The text (invalid UTF-8 replaced); after a carriage return only the text that
        /// followed it, as a terminal would show it.
        text: String,
        /// The line was longer than [`MAX_LINE`] bytes and was cut.
        truncated: bool,
    },
    /// This many lines were not delivered because the receiver fell behind; the log file has
    /// them.
    Dropped(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Escape,
    Intermediate,
    Csi,
    /// OSC, DCS, SOS, PM or APC: a string ended by BEL or ST (`ESC \`).
    Str,
    StrEscape,
}

/// Splits a byte stream into lines, removing ANSI escape sequences. Holds at most one line.
pub(crate) struct Splitter {
    state: State,
    line: Vec<u8>,
    truncated: bool,
    /// A carriage return was seen: the next text starts the line over.
    carriage: bool,
}

impl Splitter {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Ground,
            line: Vec::with_capacity(MAX_LINE),
            truncated: false,
            carriage: false,
        }
    }

    /// Feeds bytes; `emit(text, truncated)` is called for every completed line.
    pub(crate) fn feed(&mut self, bytes: &[u8], emit: &mut impl FnMut(&[u8], bool)) {
        let mut i = 0;
        while i < bytes.len() {
            // Fast path: a run of plain text outside any escape sequence.
            if self.state == State::Ground {
                let run = bytes[i..]
                    .iter()
                    .position(|&b| !is_text(b))
                    .unwrap_or(bytes.len() - i);
                if run > 0 {
                    self.push(&bytes[i..i + run]);
                    i += run;
                    continue;
                }
            }
            self.byte(bytes[i], emit);
            i += 1;
        }
    }

    /// Ends the stream: an unfinished last line is emitted too.
    pub(crate) fn finish(&mut self, emit: &mut impl FnMut(&[u8], bool)) {
        if !self.line.is_empty() || self.truncated {
            self.end_line(emit);
        }
        self.state = State::Ground;
    }

    fn byte(&mut self, b: u8, emit: &mut impl FnMut(&[u8], bool)) {
        use State::*;
        // A newline always ends the line, even inside a broken escape sequence.
        if b == b'\n' {
            self.state = Ground;
            self.end_line(emit);
            return;
        }
        match self.state {
            Ground => match b {
                0x1b => self.state = Escape,
                b'\r' => self.carriage = true,
                b if is_text(b) => self.push(&[b]),
                _ => {} // bell, backspace, other controls: not text
            },
            Escape => {
                self.state = match b {
                    b'[' => Csi,
                    b']' | b'P' | b'X' | b'^' | b'_' => Str,
                    0x20..=0x2f => Intermediate,
                    0x1b => Escape,
                    _ => Ground,
                }
            }
            Intermediate => match b {
                0x20..=0x2f => {}
                0x1b => self.state = Escape,
                _ => self.state = Ground,
            },
            Csi => match b {
                0x40..=0x7e => self.state = Ground,
                0x1b => self.state = Escape,
                _ => {}
            },
            Str => match b {
                0x07 => self.state = Ground,
                0x1b => self.state = StrEscape,
                _ => {}
            },
            StrEscape => {
                if b == b'\\' {
                    self.state = Ground;
                } else {
                    // ESC ended the string and starts a new sequence.
                    self.state = Escape;
                    self.byte(b, emit);
                }
            }
        }
    }

    fn push(&mut self, text: &[u8]) {
        if self.carriage {
            self.carriage = false;
            self.line.clear();
            self.truncated = false;
        }
        let room = MAX_LINE - self.line.len();
        if text.len() > room {
            self.truncated = true;
        }
        self.line.extend_from_slice(&text[..text.len().min(room)]);
    }

    fn end_line(&mut self, emit: &mut impl FnMut(&[u8], bool)) {
        emit(&self.line, self.truncated);
        self.line.clear();
        self.truncated = false;
        self.carriage = false;
    }
}

/// Bytes that are line text: tab, printable ASCII and everything of UTF-8.
fn is_text(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// The text of a line: invalid UTF-8 replaced; a character cut in half by truncation dropped.
pub(crate) fn text_of(bytes: &[u8], truncated: bool) -> Cow<'_, str> {
    let bytes = if truncated {
        complete_utf8(bytes)
    } else {
        bytes
    };
    String::from_utf8_lossy(bytes)
}

/// `bytes` without a trailing incomplete UTF-8 sequence.
fn complete_utf8(bytes: &[u8]) -> &[u8] {
    let mut start = bytes.len();
    // Walk back over at most three continuation bytes to the lead byte.
    while start > 0 && bytes.len() - start < 4 {
        start -= 1;
        let b = bytes[start];
        if b & 0xc0 != 0x80 {
            let needed = match b {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf7 => 4,
                _ => 1,
            };
            return if bytes.len() - start < needed {
                &bytes[..start]
            } else {
                bytes
            };
        }
    }
    bytes
}

/// Sends lines on a bounded channel without ever waiting: when the receiver is behind, lines
/// are counted instead and one [`Output::Dropped`] marker goes out before the next line that
/// fits. One slot is always kept free so that the last marker fits when the output ends.
pub(crate) struct Sink {
    tx: Option<mpsc::Sender<Output>>,
    number: u64,
    dropped: u64,
}

impl Sink {
    pub(crate) fn new(tx: mpsc::Sender<Output>) -> Self {
        Self {
            tx: Some(tx),
            number: 0,
            dropped: 0,
        }
    }

    /// Offers one line.
    pub(crate) fn offer(&mut self, text: Cow<'_, str>, truncated: bool) {
        self.number += 1;
        let Some(tx) = &self.tx else { return };
        if tx.is_closed() {
            self.tx = None;
            return;
        }
        // Only this sink sends, so free capacity can only grow between the check and the send.
        let needed = if self.dropped > 0 { 3 } else { 2 };
        if tx.capacity() < needed {
            self.dropped += 1;
            return;
        }
        if self.dropped > 0 {
            let _ = tx.try_send(Output::Dropped(self.dropped));
            self.dropped = 0;
        }
        let _ = tx.try_send(Output::Line {
            number: self.number,
            text: text.into_owned(),
            truncated,
        });
    }

    /// Ends the output: a pending marker goes out (its slot was kept free) and the channel
    /// closes.
    pub(crate) fn finish(&mut self) {
        if let Some(tx) = self.tx.take()
            && self.dropped > 0
        {
            let _ = tx.try_send(Output::Dropped(self.dropped));
        }
    }
}

/// The last lines of output, kept for failure reports. Reuses its strings once full.
pub(crate) struct Tail {
    cap: usize,
    lines: VecDeque<String>,
}

impl Tail {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            lines: VecDeque::with_capacity(cap),
        }
    }

    pub(crate) fn push(&mut self, text: &str) {
        if self.cap == 0 {
            return;
        }
        let mut s = if self.lines.len() >= self.cap {
            self.lines.pop_front().unwrap_or_default()
        } else {
            String::new()
        };
        s.clear();
        s.push_str(text);
        self.lines.push_back(s);
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(String, bool)> {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        let mut emit = |t: &[u8], tr: bool| out.push((text_of(t, tr).into_owned(), tr));
        for c in chunks {
            s.feed(c, &mut emit);
        }
        s.finish(&mut emit);
        out
    }

    fn texts(chunks: &[&[u8]]) -> Vec<String> {
        split(chunks).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn colours_cursor_moves_and_titles_are_not_text() {
        let out = texts(&[
            b"\x1b[1;31mERROR\x1b[0m: disk\n",
            b"\x1b]0;window title\x07plain\n",
            b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n",
            b"\x1b(Bcharset\x1b=\n",
        ]);
        assert_eq!(out, ["ERROR: disk", "plain", "link", "charset"]);
    }

    #[test]
    fn sequences_and_characters_split_across_reads_are_reassembled() {
        let euro = "€".as_bytes();
        let out = texts(&[
            b"a\x1b",
            b"[3",
            b"2mb\x1b]0;ti",
            b"tle\x1b",
            b"\\c ",
            &euro[..1],
            &euro[1..],
            b"\n",
        ]);
        assert_eq!(out, ["abc €"]);
    }

    #[test]
    fn carriage_return_keeps_what_a_terminal_shows_last() {
        let out = texts(&[
            b"10%\r50%\r\x1b[K100%\n",
            b"dos line\r\n",
            b"no newline at end",
        ]);
        assert_eq!(out, ["100%", "dos line", "no newline at end"]);
    }

    #[test]
    fn long_lines_are_cut_and_marked_without_splitting_a_character() {
        let mut long = vec![b'x'; MAX_LINE - 1];
        long.extend_from_slice("é and more".as_bytes());
        long.push(b'\n');
        let out = split(&[&long, b"short\n"]);
        assert_eq!(out[0].0.len(), MAX_LINE - 1);
        assert!(out[0].1);
        assert_eq!(out[1], ("short".to_string(), false));
    }

    #[test]
    fn a_line_of_exactly_the_maximum_length_is_whole() {
        let mut line = vec![b'y'; MAX_LINE];
        line.push(b'\n');
        let out = split(&[&line[..100], &line[100..]]);
        assert_eq!((out[0].0.len(), out[0].1), (MAX_LINE, false));
    }

    #[test]
    fn a_newline_ends_a_broken_escape_sequence() {
        assert_eq!(texts(&[b"\x1b]unterminated\nnext\n"]), ["", "next"]);
    }

    #[tokio::test]
    async fn a_slow_receiver_gets_one_marker_per_gap_and_every_line_is_counted() {
        let (tx, mut rx) = mpsc::channel(4);
        let mut sink = Sink::new(tx);
        for i in 1..=10 {
            sink.offer(Cow::Owned(format!("{i}")), false);
        }
        // Three lines fit (one slot stays free); seven were dropped.
        let mut got = Vec::new();
        while let Ok(o) = rx.try_recv() {
            got.push(o);
        }
        assert_eq!(got.len(), 3);
        sink.offer(Cow::Borrowed("11"), false);
        sink.finish();
        while let Some(o) = rx.recv().await {
            got.push(o);
        }
        let line = |n: u64| Output::Line {
            number: n,
            text: n.to_string(),
            truncated: false,
        };
        assert_eq!(
            got,
            [line(1), line(2), line(3), Output::Dropped(7), line(11)]
        );
    }

    #[tokio::test]
    async fn the_last_marker_fits_even_when_the_channel_is_full() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut sink = Sink::new(tx);
        for i in 0..5 {
            sink.offer(Cow::Owned(i.to_string()), false);
        }
        sink.finish();
        let mut got = Vec::new();
        while let Some(o) = rx.recv().await {
            got.push(o);
        }
        assert_eq!(got.last(), Some(&Output::Dropped(4)));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn the_tail_keeps_only_the_last_lines() {
        let mut t = Tail::new(2);
        for s in ["a", "b", "c"] {
            t.push(s);
        }
        assert_eq!(t.lines(), ["b", "c"]);
    }
}

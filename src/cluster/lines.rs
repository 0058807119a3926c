//! Lines from a socket, with a bound on how much of one line is kept, that survive being
//! interrupted: a timeout around [`LineReader::next`] loses nothing, the partial line stays
//! in the reader.

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// One line without its `\n` (and without a `\r` before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's bytes, at most the reader's limit.
    pub bytes: Vec<u8>,
    /// The line was longer than the limit; `bytes` holds its beginning.
    pub cut: bool,
}

/// Reads lines from `R`.
pub struct LineReader<R> {
    inner: BufReader<R>,
    line: Vec<u8>,
    cut: bool,
    max: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader keeping at most `max` bytes of a line.
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner: BufReader::with_capacity(64 * 1024, inner),
            line: Vec::new(),
            cut: false,
            max,
        }
    }

    /// Keep at most `max` bytes of the lines from now on.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// The next complete line; `None` at the end of the stream (a last line without `\n` is
    /// dropped: it is a line cut off, not an answer). Cancel-safe.
    pub async fn next(&mut self) -> io::Result<Option<Line>> {
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                return Ok(None);
            }
            let (part, used, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            let room = self.max.saturating_sub(self.line.len());
            if part.len() > room {
                self.cut = true;
            }
            self.line.extend_from_slice(&part[..part.len().min(room)]);
            self.inner.consume(used);
            if done {
                let mut bytes = std::mem::take(&mut self.line);
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                let cut = std::mem::replace(&mut self.cut, false);
                return Ok(Some(Line { bytes, cut }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str, cut: bool) -> Option<Line> {
        Some(Line {
            bytes: s.as_bytes().to_vec(),
            cut,
        })
    }

    #[tokio::test]
    async fn splits_trims_cuts_and_drops_a_cut_off_last_line() {
        let input: &[u8] = b"one\r\ntwo\n\n0123456789abc\nfour\nrest";
        let mut reader = LineReader::new(input, 10);
        assert_eq!(reader.next().await.unwrap(), line("one", false));
        assert_eq!(reader.next().await.unwrap(), line("two", false));
        assert_eq!(reader.next().await.unwrap(), line("", false));
        assert_eq!(reader.next().await.unwrap(), line("0123456789", true));
        assert_eq!(reader.next().await.unwrap(), line("four", false));
        assert_eq!(reader.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_line_split_across_reads_survives_an_interruption() {
        let (mut tx, rx) = tokio::io::duplex(64);
        let mut reader = LineReader::new(rx, 100);
        use tokio::io::AsyncWriteExt;
        tx.write_all(b"hel").await.unwrap();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), reader.next()).await;
        assert!(waited.is_err(), "no line yet");
        tx.write_all(b"lo\n").await.unwrap();
        assert_eq!(reader.next().await.unwrap(), line("hello", false));
    }
}

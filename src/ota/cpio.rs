//! The `.swu` container: a cpio archive in the "new ASCII" format (`070701`, what `cpio -H
//! newc` writes and SWUpdate reads). Headers are 110 bytes of ASCII, 8 hex digits per field;
//! the name (with its NUL) and the data are each padded to 4 bytes; `TRAILER!!!` ends it.
//! The writer streams file contents; the reader lists entries and reads small ones (the
//! `sw-description` of a bundle) without loading the payload.

use std::io::{self, Read, Seek, SeekFrom, Write};

/// The magic of a newc header.
const MAGIC: &[u8; 6] = b"070701";
/// The name of the last entry.
const TRAILER: &str = "TRAILER!!!";
/// The largest file newc can hold (sizes are 32-bit).
pub const MAX_FILE: u64 = u32::MAX as u64;

/// One entry of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name.
    pub name: String,
    /// Size of its data in bytes.
    pub size: u64,
    /// Offset of its data from the start of the archive.
    pub offset: u64,
}

fn pad4(n: u64) -> u64 {
    (4 - n % 4) % 4
}

fn header(ino: u32, name: &str, size: u32) -> Vec<u8> {
    let mode = if name == TRAILER { 0 } else { 0o100644 };
    let fields = [
        ino,
        mode,
        0,
        0,
        1,
        0,
        size,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    let mut h = MAGIC.to_vec();
    for f in fields {
        h.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    h.extend_from_slice(name.as_bytes());
    h.push(0);
    h.extend(std::iter::repeat_n(0, pad4(h.len() as u64) as usize));
    h
}

/// Writes entries one after another, then the trailer and zeros up to a 512-byte block, as
/// `cpio` does (SWUpdate reads that padding and fails on an archive without it).
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    ino: u32,
    written: u64,
}

impl<W: Write> Writer<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            ino: 1,
            written: 0,
        }
    }

    /// Appends `name` with exactly `size` bytes read from `data`.
    pub fn add(&mut self, name: &str, size: u64, data: &mut impl Read) -> io::Result<()> {
        let size32 = u32::try_from(size).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name} has {size} bytes, more than a cpio archive can hold"),
            )
        })?;
        let h = header(self.ino, name, size32);
        self.out.write_all(&h)?;
        self.ino += 1;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name} ended after {copied} of {size} bytes"),
            ));
        }
        self.out.write_all(&[0; 3][..pad4(size) as usize])?;
        self.written += h.len() as u64 + size + pad4(size);
        Ok(())
    }

    /// Writes the trailer and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let h = header(0, TRAILER, 0);
        self.out.write_all(&h)?;
        self.written += h.len() as u64;
        let block = (512 - self.written % 512) % 512;
        self.out.write_all(&vec![0; block as usize])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Lists the entries of an archive (up to the trailer).
pub fn list(input: &mut (impl Read + Seek)) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut pos = 0u64;
    loop {
        input.seek(SeekFrom::Start(pos))?;
        let mut h = [0u8; 110];
        input
            .read_exact(&mut h)
            .map_err(|_| bad(format!("the archive ends inside the header at byte {pos}")))?;
        if &h[..6] != MAGIC && &h[..6] != b"070702" {
            return Err(bad(format!(
                "no cpio newc header at byte {pos} (a .swu is a `cpio -H newc` archive)"
            )));
        }
        let field = |i: usize| {
            let s = std::str::from_utf8(&h[6 + i * 8..14 + i * 8]).unwrap_or("");
            u64::from_str_radix(s, 16)
                .map_err(|_| bad(format!("a malformed cpio header at byte {pos}")))
        };
        let size = field(6)?;
        let namesize = field(11)?;
        if namesize == 0 || namesize > 4096 {
            return Err(bad(format!("a malformed cpio name at byte {pos}")));
        }
        let mut name = vec![0u8; namesize as usize];
        input.read_exact(&mut name)?;
        name.pop();
        let name = String::from_utf8_lossy(&name).into_owned();
        let data = pos + 110 + namesize + pad4(110 + namesize);
        if name == TRAILER {
            return Ok(entries);
        }
        entries.push(Entry {
            name,
            size,
            offset: data,
        });
        pos = data + size + pad4(size);
    }
}

/// The data of `entry`, read whole (for small entries).
pub fn read(input: &mut (impl Read + Seek), entry: &Entry) -> io::Result<Vec<u8>> {
    input.seek(SeekFrom::Start(entry.offset))?;
    let mut data = vec![0; entry.size as usize];
    input.read_exact(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_with_their_offsets_and_padding() {
        let mut w = Writer::new(Vec::new());
        w.add("sw-description", 5, &mut &b"hello"[..]).unwrap();
        w.add("a.zst", 0, &mut &b""[..]).unwrap();
        w.add("b", 8, &mut &b"12345678"[..]).unwrap();
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len() % 512, 0, "padded to a block like cpio's");
        let mut c = io::Cursor::new(bytes);
        let entries = list(&mut c).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["sw-description", "a.zst", "b"]);
        assert_eq!(read(&mut c, &entries[0]).unwrap(), b"hello");
        assert_eq!(read(&mut c, &entries[2]).unwrap(), b"12345678");
    }

    #[test]
    fn a_short_input_is_an_error_not_a_truncated_entry() {
        let mut w = Writer::new(Vec::new());
        let err = w.add("x", 10, &mut &b"abc"[..]).unwrap_err();
        assert!(err.to_string().contains("ended after 3 of 10"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_cpio_says_so() {
        let err = list(&mut io::Cursor::new(vec![b'x'; 200])).unwrap_err();
        assert!(err.to_string().contains("no cpio newc header"), "{err}");
    }
}

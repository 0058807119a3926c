//! The two archive formats the quick images need, written directly: `newc` cpio for the
//! initramfs (the kernel unpacks it; uncompressed needs no decompressor under TCG) and ustar
//! for each node's layer (the guest unpacks it with `tar`). Entries keep the order they are
//! added in; parents must be added before their children.

use std::io::{self, Write};

/// What an archive entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Dir,
    /// A regular file with its contents.
    File(Vec<u8>),
    /// A symbolic link to the target.
    Symlink(String),
}

/// One entry: a relative path (no leading `/`), its permission bits, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The path inside the archive, relative (`etc/hostname`).
    pub path: String,
    /// Permission bits (`0o644`).
    pub mode: u32,
    /// The entry.
    pub entry: Entry,
}

impl Item {
    /// A directory.
    pub fn dir(path: impl Into<String>) -> Item {
        Item {
            path: path.into(),
            mode: 0o755,
            entry: Entry::Dir,
        }
    }

    /// A file.
    pub fn file(path: impl Into<String>, mode: u32, contents: impl Into<Vec<u8>>) -> Item {
        Item {
            path: path.into(),
            mode,
            entry: Entry::File(contents.into()),
        }
    }

    /// A symbolic link.
    pub fn symlink(path: impl Into<String>, target: impl Into<String>) -> Item {
        Item {
            path: path.into(),
            mode: 0o777,
            entry: Entry::Symlink(target.into()),
        }
    }
}

/// The directories above a relative path, outermost first: `etc/systemd/network/x` gives
/// `etc`, `etc/systemd`, `etc/systemd/network`. Archives list parents before their children.
pub fn parent_dirs(path: &str) -> Vec<String> {
    path.match_indices('/')
        .map(|(at, _)| path[..at].to_string())
        .filter(|dir| !dir.is_empty())
        .collect()
}

/// Writes `items` as a newc cpio archive (owner root, mtime 0), ending with the trailer.
pub fn write_cpio(out: &mut impl Write, items: &[Item]) -> io::Result<()> {
    let mut written = 0usize;
    for (ino, item) in items.iter().enumerate() {
        let (kind, data): (u32, &[u8]) = match &item.entry {
            Entry::Dir => (0o040000, &[]),
            Entry::File(bytes) => (0o100000, bytes),
            Entry::Symlink(target) => (0o120000, target.as_bytes()),
        };
        let nlink = if item.entry == Entry::Dir { 2 } else { 1 };
        written += cpio_entry(
            out,
            &item.path,
            u32::try_from(ino + 1).unwrap_or(u32::MAX),
            kind | (item.mode & 0o7777),
            nlink,
            data,
        )?;
    }
    written += cpio_entry(out, "TRAILER!!!", 0, 0, 1, &[])?;
    // The kernel reads the archive in 512-byte blocks; pad like cpio(1) does.
    out.write_all(&vec![0; (512 - written % 512) % 512])
}

fn cpio_entry(
    out: &mut impl Write,
    name: &str,
    ino: u32,
    mode: u32,
    nlink: u32,
    data: &[u8],
) -> io::Result<usize> {
    let size = u32::try_from(data.len())
        .map_err(|_| io::Error::other(format!("{name} is too large for cpio")))?;
    let name_size = u32::try_from(name.len() + 1).unwrap_or(u32::MAX);
    let header = format!(
        "070701{ino:08x}{mode:08x}{:08x}{:08x}{nlink:08x}{:08x}{size:08x}{:08x}{:08x}{:08x}{:08x}{name_size:08x}{:08x}",
        0, 0, 0, 0, 0, 0, 0, 0
    );
    let mut n = 0;
    out.write_all(header.as_bytes())?;
    out.write_all(name.as_bytes())?;
    out.write_all(&[0])?;
    n += header.len() + name.len() + 1;
    let pad = (4 - n % 4) % 4;
    out.write_all(&[0; 3][..pad])?;
    n += pad;
    out.write_all(data)?;
    n += data.len();
    let pad = (4 - n % 4) % 4;
    out.write_all(&[0; 3][..pad])?;
    Ok(n + pad)
}

/// Writes `items` as a ustar archive (owner root, mtime 0), ending with two zero blocks.
pub fn write_tar(out: &mut impl Write, items: &[Item]) -> io::Result<()> {
    for item in items {
        let (typeflag, data, link): (u8, &[u8], &str) = match &item.entry {
            Entry::Dir => (b'5', &[], ""),
            Entry::File(bytes) => (b'0', bytes, ""),
            Entry::Symlink(target) => (b'2', &[], target),
        };
        let path = if item.entry == Entry::Dir && !item.path.ends_with('/') {
            format!("{}/", item.path)
        } else {
            item.path.clone()
        };
        out.write_all(&tar_header(&path, item.mode, data.len(), typeflag, link)?)?;
        out.write_all(data)?;
        out.write_all(&vec![0; (512 - data.len() % 512) % 512])?;
    }
    out.write_all(&[0; 1024])
}

fn tar_header(
    path: &str,
    mode: u32,
    size: usize,
    typeflag: u8,
    link: &str,
) -> io::Result<[u8; 512]> {
    let mut h = [0u8; 512];
    // ustar splits long paths into a prefix (155) and a name (100) at a `/`.
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        let split = path
            .char_indices()
            .filter(|(i, c)| *c == '/' && *i <= 155 && path.len() - i - 1 <= 100)
            .map(|(i, _)| i)
            .next_back()
            .ok_or_else(|| io::Error::other(format!("path too long for a tar archive: {path}")))?;
        (&path[..split], &path[split + 1..])
    };
    if link.len() > 100 {
        return Err(io::Error::other(format!("link target too long: {link}")));
    }
    let put =
        |h: &mut [u8; 512], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, format!("{:07o}\0", mode & 0o7777).as_bytes());
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    put(&mut h, 148, b"        ");
    h[156] = typeflag;
    put(&mut h, 157, link.as_bytes());
    put(&mut h, 257, b"ustar\x0000");
    put(&mut h, 265, b"root");
    put(&mut h, 297, b"root");
    put(&mut h, 345, prefix.as_bytes());
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn items() -> Vec<Item> {
        vec![
            Item::dir("etc"),
            Item::dir("etc/systemd"),
            Item::file("etc/hostname", 0o644, "server-1\n"),
            Item::file("init", 0o755, "#!/bin/sh\necho hi\n"),
            Item::symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
            Item::file(
                format!("etc/{}/deep.conf", "d".repeat(120)),
                0o600,
                "long path\n",
            ),
        ]
    }

    #[test]
    fn parents_come_outermost_first() {
        assert_eq!(
            parent_dirs("etc/systemd/network/x"),
            ["etc", "etc/systemd", "etc/systemd/network"]
        );
        assert!(parent_dirs("init").is_empty());
    }

    /// The archives are checked with the real cpio and tar programs.
    #[test]
    fn tar_lists_and_extracts_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut all = items();
        all.insert(5, Item::dir(format!("etc/{}", "d".repeat(120))));
        let mut bytes = Vec::new();
        write_tar(&mut bytes, &all).unwrap();
        assert_eq!(bytes.len() % 512, 0);
        let file = dir.path().join("layer.tar");
        std::fs::write(&file, &bytes).unwrap();
        let out = dir.path().join("x");
        std::fs::create_dir(&out).unwrap();
        let status = Command::new("tar")
            .arg("-xf")
            .arg(&file)
            .arg("-C")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            std::fs::read_to_string(out.join("etc/hostname")).unwrap(),
            "server-1\n"
        );
        let deep = out.join(format!("etc/{}/deep.conf", "d".repeat(120)));
        assert_eq!(std::fs::read_to_string(&deep).unwrap(), "long path\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&deep).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::read_link(out.join("etc/localtime")).unwrap(),
            std::path::Path::new("/usr/share/zoneinfo/UTC")
        );
    }

    #[test]
    fn cpio_is_read_back_by_cpio() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        let short: Vec<Item> = items().into_iter().take(5).collect();
        write_cpio(&mut bytes, &short).unwrap();
        assert_eq!(bytes.len() % 512, 0);
        let file = dir.path().join("initrd.cpio");
        std::fs::write(&file, &bytes).unwrap();
        // The real cpio (installed by scripts/test.sh) lists the entries in order.
        let listing = Command::new("cpio")
            .args(["-t", "-F"])
            .arg(&file)
            .output()
            .expect("cpio is installed (apt-get install cpio)");
        assert!(listing.status.success(), "{listing:?}");
        let names = String::from_utf8_lossy(&listing.stdout);
        assert_eq!(
            names.lines().collect::<Vec<_>>(),
            [
                "etc",
                "etc/systemd",
                "etc/hostname",
                "init",
                "etc/localtime"
            ]
        );
        let out = dir.path().join("x");
        std::fs::create_dir(&out).unwrap();
        let extract = Command::new("cpio")
            .args(["-i", "-d", "--quiet", "-F"])
            .arg(&file)
            .current_dir(&out)
            .output()
            .unwrap();
        assert!(extract.status.success(), "{extract:?}");
        assert_eq!(
            std::fs::read_to_string(out.join("init")).unwrap(),
            "#!/bin/sh\necho hi\n"
        );
    }
}

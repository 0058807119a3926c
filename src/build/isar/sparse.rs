//! Copying disk images without filling their holes: a `.wic` of 1.2 GB holds a few hundred MB
//! of data, and eleven plain copies would write the rest as zeros.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Copies `from` to `to` (created or truncated), writing only the data regions `from` has
/// (`SEEK_DATA`/`SEEK_HOLE`), so holes stay holes. Returns the file's length. Falls back to
/// reading everything on file systems without hole reporting.
pub fn copy_sparse(from: &Path, to: &Path) -> io::Result<u64> {
    let src = File::open(from)?;
    let len = src.metadata()?.len();
    let dst = File::create(to)?;
    dst.set_len(len)?;
    let fd = src.as_raw_fd();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos: u64 = 0;
    while pos < len {
        let offset = libc::off_t::try_from(pos).map_err(io::Error::other)?;
        // SAFETY: lseek on an open descriptor has no memory-safety preconditions.
        let data = unsafe { libc::lseek(fd, offset, libc::SEEK_DATA) };
        if data < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole is left
            }
            if e.raw_os_error() == Some(libc::EINVAL) {
                copy_range(&src, &dst, pos, len, &mut buf)?; // no hole reporting here
                break;
            }
            return Err(e);
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(io::Error::last_os_error());
        }
        let (data, hole) = (data as u64, (hole as u64).min(len));
        copy_range(&src, &dst, data, hole, &mut buf)?;
        pos = hole;
    }
    dst.sync_all()?;
    Ok(len)
}

fn copy_range(src: &File, dst: &File, mut at: u64, end: u64, buf: &mut [u8]) -> io::Result<()> {
    while at < end {
        let want = usize::try_from((end - at).min(buf.len() as u64)).unwrap_or(buf.len());
        let n = src.read_at(&mut buf[..want], at)?;
        if n == 0 {
            break;
        }
        dst.write_all_at(&buf[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn holes_stay_holes_and_the_bytes_are_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("disk.wic");
        let f = File::create(&from).unwrap();
        f.set_len(64 << 20).unwrap();
        f.write_all_at(b"boot", 0).unwrap();
        f.write_all_at(b"root", 40 << 20).unwrap();
        drop(f);
        let to = dir.path().join("copy.wic");
        assert_eq!(copy_sparse(&from, &to).unwrap(), 64 << 20);
        assert_eq!(std::fs::read(&from).unwrap(), std::fs::read(&to).unwrap());
        let blocks = to.metadata().unwrap().blocks() * 512;
        assert!(
            blocks < 8 << 20,
            "{blocks} bytes allocated for 8 bytes of data"
        );
    }
}

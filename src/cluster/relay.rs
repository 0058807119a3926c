//! Consoles for other processes: the cluster's owner serves each node's console on a unix
//! socket in the private runtime directory, and `n3x console NODE` attaches to it.
//!
//! The supervisor stays the only reader of the console's PTY; the relay sends an attaching
//! client the screen as it is now, then every byte that follows, and passes the client's keys
//! to the console. Any number of clients may watch; all of them may type.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::RecvError;

use crate::supervise::Child;

/// The key that leaves an attached console by default: Ctrl-] (0x1d), as telnet does.
pub const ESCAPE: u8 = 0x1d;

/// Serves `child`'s console on `socket` until the listener fails or the task is dropped.
pub async fn serve(socket: PathBuf, child: Child) -> io::Result<()> {
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(client(stream, child.clone()));
    }
}

async fn client(stream: UnixStream, child: Child) {
    let (mut reader, mut writer) = stream.into_split();
    // Subscribe before taking the screen, so nothing written between the two is lost.
    let mut bytes = child.subscribe_bytes();
    let screen = child.with_screen(|s| s.contents_formatted());
    if writer.write_all(&screen).await.is_err() {
        return;
    }
    let output = async {
        loop {
            match bytes.recv().await {
                Ok(chunk) => {
                    if writer.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                // Too slow a client: give it the screen again and go on from there.
                Err(RecvError::Lagged(_)) => {
                    let screen = child.with_screen(|s| s.contents_formatted());
                    if writer.write_all(b"\x1b[H\x1b[2J").await.is_err()
                        || writer.write_all(&screen).await.is_err()
                    {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    };
    let input = async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if child.write_input(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = output => {}
        () = input => {}
    }
}

/// Attaches the calling terminal to the console served on `socket` until the user presses
/// the escape key or the console ends. The terminal is put in raw mode meanwhile and always
/// restored.
pub fn attach(socket: &Path, node: &str, escape: u8) -> io::Result<()> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot attach to the console of {node} ({}): {e}; is the cluster up? `n3x cluster status`",
                socket.display()
            ),
        )
    })?;
    let mut out = io::stdout();
    writeln!(
        out,
        "attached to the console of {node}; {} leaves\r",
        escape_name(escape)
    )?;
    crossterm::terminal::enable_raw_mode()?;
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
    let _restore = Restore;
    let mut from_console = stream.try_clone()?;
    let printer = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        let mut out = io::stdout();
        while let Ok(n) = from_console.read(&mut buf) {
            if n == 0 || out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                break;
            }
        }
    });
    let mut stdin = io::stdin();
    let mut buf = [0u8; 1024];
    loop {
        let n = stdin.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if let Some(at) = buf[..n].iter().position(|b| *b == escape) {
            stream.write_all(&buf[..at])?;
            break;
        }
        if stream.write_all(&buf[..n]).is_err() {
            break;
        }
        if printer.is_finished() {
            break;
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    drop(_restore);
    writeln!(io::stdout(), "\ndetached from the console of {node}")?;
    Ok(())
}

/// How the escape key is written, e.g. `Ctrl-]`.
pub fn escape_name(escape: u8) -> String {
    match escape {
        1..=26 => format!("Ctrl-{}", (b'a' + escape - 1) as char),
        27 => "Ctrl-[".into(),
        28 => "Ctrl-\\".into(),
        29 => "Ctrl-]".into(),
        30 => "Ctrl-^".into(),
        31 => "Ctrl-_".into(),
        other => format!("byte 0x{other:02x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escape_key_has_a_readable_name() {
        assert_eq!(escape_name(ESCAPE), "Ctrl-]");
        assert_eq!(escape_name(1), "Ctrl-a");
    }
}

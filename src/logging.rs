//! n3x's own log: what the engines decide and try (QMP calls, control-channel retries,
//! readiness probes, builds, boots), for when something goes wrong.
//!
//! Off unless asked for: `N3X_LOG` (a `tracing` filter such as `debug` or `n3x::cluster=trace`)
//! or `-v` (info), `-vv` (debug), `-vvv` (trace). It goes to `<state>/n3x.log`, never to the
//! terminal (the workbench owns the screen). When the file passes [`CAP`] bytes it becomes
//! `n3x.log.1` (the one before that is dropped) and a new one starts.
//!
//! **Secrets.** Whatever is registered with [`secret`] (the k3s join token) is replaced by
//! `[secret]` in every line before it reaches the file, whoever logged it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use tracing_subscriber::EnvFilter;

/// The environment variable with the log filter.
pub const ENV: &str = "N3X_LOG";

/// The log file's name in the state directory.
pub const FILE: &str = "n3x.log";

/// Bytes after which the log file is rotated (one old file is kept).
pub const CAP: u64 = 8 * 1024 * 1024;

/// What every log line shows instead of a secret.
pub const REDACTED: &str = "[secret]";

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Never lets `value` reach the log (a k3s join token). Short values are ignored: they would
/// blank out ordinary words.
pub fn secret(value: &str) {
    if value.len() < 8 {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_string());
    }
}

fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut text = text.to_string();
    for s in secrets.iter() {
        if text.contains(s.as_str()) {
            text = text.replace(s.as_str(), REDACTED);
        }
    }
    text
}

/// The filter asked for: `N3X_LOG` wins; else `-v` counts; `None` when logging is off.
pub fn filter(env: Option<&str>, verbose: u8) -> Option<String> {
    match env.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(e.to_string()),
        None => match verbose {
            0 => None,
            1 => Some("info".into()),
            2 => Some("debug".into()),
            _ => Some("trace".into()),
        },
    }
}

/// Why the log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The filter does not parse.
    #[error(
        "{ENV}={filter}: not a log filter: {reason}\n  fix: use a level (error, warn, info, debug, trace) or e.g. n3x::cluster=debug"
    )]
    Filter {
        /// The filter given.
        filter: String,
        /// What the parser said.
        reason: String,
    },
    /// The log file cannot be opened.
    #[error("cannot open the log file {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// A subscriber that writes lines matching `filter` to `<state>/n3x.log` (for
/// `tracing::subscriber::with_default` in tests; [`init`] installs one for the process).
pub fn subscriber(
    state: &Path,
    filter: &str,
) -> Result<impl tracing::Subscriber + Send + Sync + 'static, LogError> {
    let env_filter = EnvFilter::try_new(filter).map_err(|e| LogError::Filter {
        filter: filter.to_string(),
        reason: e.to_string(),
    })?;
    let file = Capped::open(state.join(FILE))?;
    Ok(tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_ansi(false)
        .with_thread_names(true)
        .with_writer(Mutex::new(file))
        .finish())
}

/// Installs the log for this process when `N3X_LOG` or `-v` ask for it; returns the file.
pub fn init(state: &Path, verbose: u8) -> Result<Option<PathBuf>, LogError> {
    let env = std::env::var(ENV).ok();
    let Some(filter) = filter(env.as_deref(), verbose) else {
        return Ok(None);
    };
    let subscriber = subscriber(state, &filter)?;
    // Only fails when one is installed already (then that one stays).
    let _ = tracing::subscriber::set_global_default(subscriber);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), args = ?args_for_log(), "n3x starts");
    Ok(Some(state.join(FILE)))
}

fn args_for_log() -> Vec<String> {
    std::env::args().skip(1).map(|a| redact(&a)).collect()
}

/// The log file, rotated once it passes [`CAP`] bytes. Every write is one formatted event.
struct Capped {
    path: PathBuf,
    file: File,
    size: u64,
}

impl Capped {
    fn open(path: PathBuf) -> Result<Self, LogError> {
        let error = |source| LogError::Open {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(error)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(error)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Capped { path, file, size })
    }

    fn rotate(&mut self) -> io::Result<()> {
        std::fs::rename(&self.path, self.path.with_extension("log.1"))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size >= CAP {
            self.rotate()?;
        }
        let text = redact(&String::from_utf8_lossy(buf));
        self.file.write_all(text.as_bytes())?;
        self.size += text.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_the_verbosity_flags() {
        assert_eq!(filter(None, 0), None);
        assert_eq!(filter(Some(" "), 0), None);
        assert_eq!(filter(None, 2).as_deref(), Some("debug"));
        assert_eq!(filter(None, 5).as_deref(), Some("trace"));
        assert_eq!(filter(Some("n3x=warn"), 2).as_deref(), Some("n3x=warn"));
    }

    #[test]
    fn a_secret_never_reaches_the_file_and_the_file_is_capped() {
        let dir = tempfile::TempDir::new().unwrap();
        let token = "n3x-0123456789abcdef-join";
        secret(token);
        let subscriber = subscriber(dir.path(), "debug").unwrap();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(argv = ?["k3s", "server", "--token", token], "spawn");
            tracing::info!("joined with {token}");
        });
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(!text.contains(token), "{text}");
        assert_eq!(text.matches(REDACTED).count(), 2, "{text}");

        let mut capped = Capped::open(dir.path().join("big.log")).unwrap();
        let line = vec![b'x'; 1024 * 1024];
        for _ in 0..CAP / (1024 * 1024) {
            capped.write_all(&line).unwrap();
        }
        capped.write_all(b"after\n").unwrap();
        let size = |name: &str| dir.path().join(name).metadata().unwrap().len();
        assert_eq!(size("big.log"), 6, "a fresh file after the cap");
        assert_eq!(size("big.log.1"), CAP);
    }

    #[test]
    fn a_bad_filter_says_how_to_write_one() {
        let dir = tempfile::TempDir::new().unwrap();
        let err = subscriber(dir.path(), "n3x=loud").map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("fix: use a level"), "{err}");
    }
}

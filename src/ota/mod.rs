//! Over-the-air updates of the A/B (`feature: swupdate`) images with SWUpdate.
//!
//! [`bundle`] makes a signed `.swu` from a built image's root file system and checks it with
//! the host's own `swupdate -c`; [`swdesc`] renders its `sw-description` (pure); [`cpio`] reads
//! and writes the archive; [`run`] runs the external programs (openssl, zstd, debugfs,
//! swupdate) under the supervisor, every byte logged.
//!
//! On the image (kas/meta-n3x's swupdate-config): GRUB boots slot A (`APP`) or B (`APP_b`)
//! from its environment block, SWUpdate's `grub` interface flips the slot, `n3x-ota` installs
//! into the slot that is not running, `n3x-ota-confirm` confirms a trial boot.

pub mod bundle;
pub mod cpio;
pub mod run;
pub mod swdesc;

/// Why an OTA command failed. Every message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum OtaError {
    /// Bad input: a missing or wrong file, flag or profile field.
    #[error("{what}\n  fix: {fix}")]
    Input {
        /// What is wrong, naming the file or flag.
        what: String,
        /// What would be right.
        fix: String,
    },
    /// A program n3x needs is missing or failed.
    #[error("{0}")]
    Tool(String),
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What n3x was doing.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl OtaError {
    /// A bad-input error.
    pub fn input(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Input {
            what: what.into(),
            fix: fix.into(),
        }
    }
}

/// Maps an I/O error to [`OtaError::Io`] with what n3x was doing.
pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> OtaError {
    let what = what.into();
    move |source| OtaError::Io { what, source }
}

//! The k3s join token of a cluster run and the secrets layer that carries it to the nodes.
//!
//! The token never appears in a rendered file, a log or a screen: it is generated (or read
//! from the file or environment variable the profile names), written only into the runtime
//! directory (mode 0600) and into each node's secrets layer (a tar whose entry is mode 0600),
//! which QEMU hands to the guest over fw_cfg.

use std::io::Read;
use std::path::Path;

use crate::build::quick::archive::{self, Item};
use crate::build::quick::hex;
use crate::profile::{Profiles, TokenSource};

/// Why the token could not be had.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// `source: file` without a readable file.
    #[error(
        "the k3s token file {path} cannot be read: {reason}\n  fix: create it (one line, the token) or use `source: generate` in profiles/cluster.yaml"
    )]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// `source: env` without the variable.
    #[error(
        "the k3s token variable {name} is not set\n  fix: export {name}=<token>, or use `source: generate` in profiles/cluster.yaml"
    )]
    Env {
        /// The variable.
        name: String,
    },
    /// No randomness.
    #[error("cannot read /dev/urandom for a new k3s token: {0}")]
    Random(String),
}

/// The join token for a cluster run, as the profile says to get it. From here on n3x's own
/// log shows it as `[secret]` ([`crate::logging::secret`]).
pub fn token(p: &Profiles) -> Result<String, TokenError> {
    let token = find_token(p)?;
    crate::logging::secret(&token);
    Ok(token)
}

fn find_token(p: &Profiles) -> Result<String, TokenError> {
    let t = &p.cluster.k3s.token;
    match t.source {
        TokenSource::Generate => {
            let mut bytes = [0u8; 24];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut bytes))
                .map_err(|e| TokenError::Random(e.to_string()))?;
            Ok(format!("n3x-{}", hex(&bytes)))
        }
        TokenSource::File => {
            let path = t.file.clone().unwrap_or_default();
            let text = std::fs::read_to_string(&path).map_err(|e| TokenError::File {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let token = text.trim().to_string();
            if token.is_empty() {
                return Err(TokenError::File {
                    path,
                    reason: "it is empty".into(),
                });
            }
            Ok(token)
        }
        TokenSource::Env => {
            let name = t.env.clone().unwrap_or_default();
            std::env::var(&name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| v.trim().to_string())
                .ok_or(TokenError::Env { name })
        }
    }
}

/// The secrets layer of a node: the token at the profile's `node_path`, mode 0600, its
/// directories 0700.
pub fn secrets_layer(node_path: &str, token: &str) -> std::io::Result<Vec<u8>> {
    let path = node_path.trim_start_matches('/');
    let mut items: Vec<Item> = archive::parent_dirs(path)
        .into_iter()
        .map(|dir| {
            let mut item = Item::dir(dir);
            // System directories keep their usual mode; the token's own directories are private.
            if item.path.starts_with("var/lib/rancher") {
                item.mode = 0o700;
            }
            item
        })
        .collect();
    items.push(Item::file(path, 0o600, format!("{token}\n")));
    let mut bytes = Vec::new();
    archive::write_tar(&mut bytes, &items)?;
    Ok(bytes)
}

/// Writes `bytes` to `path` with mode 0600 (created that way: never readable by others).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_generated_token_is_fresh_each_run() {
        let p = Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap();
        let a = token(&p).unwrap();
        let b = token(&p).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 48);
    }

    #[test]
    fn the_secrets_layer_holds_only_the_token_and_keeps_it_private() {
        let dir = tempfile::tempdir().unwrap();
        let tar = dir.path().join("secrets.tar");
        write_private(
            &tar,
            &secrets_layer("/var/lib/rancher/k3s/server/token", "s3cret").unwrap(),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&tar).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let out = dir.path().join("x");
        std::fs::create_dir(&out).unwrap();
        assert!(
            Command::new("tar")
                .arg("-xpf")
                .arg(&tar)
                .arg("-C")
                .arg(&out)
                .status()
                .unwrap()
                .success()
        );
        let token = out.join("var/lib/rancher/k3s/server/token");
        assert_eq!(std::fs::read_to_string(&token).unwrap(), "s3cret\n");
        assert_eq!(
            std::fs::metadata(&token).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(out.join("var/lib/rancher"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
}

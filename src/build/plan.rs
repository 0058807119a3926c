//! What a build will do, step by step, before anything runs: the exact commands of the
//! variant's backend and the copies that follow them. `n3x build --dry-run` prints this; the
//! build engine runs it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::BuildError;
use crate::matrix::{self, Variant};

/// The build systems a variant can be built with.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Debian images with ISAR through kas (`kas-container --isar build`, or `kas build`).
    Isar,
    /// NixOS systems with `nix build`.
    Nixos,
    /// A bootable Debian test image from Debian's packages with mmdebstrap, in seconds.
    Quick,
}

impl Backend {
    /// The backend's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Isar => "isar",
            Backend::Nixos => "nixos",
            Backend::Quick => "quick",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing a build does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "lowercase")]
pub enum Step {
    /// Run a program (through the supervisor: argv only, logged, cancellable).
    Run {
        /// What it is for, in a few words.
        what: String,
        /// The exact argv.
        argv: Vec<String>,
        /// The directory it runs in.
        cwd: PathBuf,
    },
    /// Copy a build output to its unique name and record its sha256, before the next build
    /// can overwrite it.
    Collect {
        /// Where the build system wrote it.
        from: PathBuf,
        /// Its unique name in the artifacts directory.
        to: PathBuf,
    },
    /// An in-process step of the quick backend.
    Quick(crate::build::quick::Task),
    /// Something the build tells before it runs (who runs kas, where the caches are).
    Note {
        /// The note.
        text: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Run { argv, cwd, .. } => {
                write!(f, "run   (in {}) {}", cwd.display(), shell_words(argv))
            }
            Step::Collect { from, to } => write!(
                f,
                "copy  {} -> {} (and record its sha256)",
                from.display(),
                to.display()
            ),
            Step::Quick(task) => write!(f, "n3x   {task}"),
            Step::Note { text } => write!(f, "note  {text}"),
        }
    }
}

/// Quotes an argv for display so it can be pasted into a shell.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%^".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The flake attribute of a variant's NixOS system:
/// `nixosConfigurations."<machine>-<id>".config.system.build.toplevel`, or `None` for a variant
/// the flake has no system for (see [`crate::render::nixos::has_system`]).
pub fn nixos_attr(v: &Variant) -> Option<String> {
    crate::render::nixos::has_system(v).then(|| {
        format!(
            "nixosConfigurations.{}.config.system.build.toplevel",
            matrix::nix_attr_name(&crate::render::nixos::system_name(v))
        )
    })
}

/// The nixos backend's step: `nix build` of the variant's system with machine-readable
/// progress, its result linked into the build's directory; or why the variant has no system.
pub fn nixos_steps(v: &Variant, repo: &Path, build_dir: &Path) -> Result<Vec<Step>, BuildError> {
    let Some(attr) = nixos_attr(v) else {
        return Err(BuildError::NoNixos {
            variant: v.key(),
            feature: v.feature.clone().unwrap_or_default(),
        });
    };
    Ok(vec![Step::Run {
        what: format!("build {} with Nix", v.key()),
        argv: vec![
            "nix".into(),
            "--extra-experimental-features".into(),
            "nix-command flakes".into(),
            "build".into(),
            format!(".#{attr}"),
            // -L first: on Nix 2.8 a -L after --log-format switches back to the plain logger.
            "-L".into(),
            "--log-format".into(),
            "internal-json".into(),
            "--out-link".into(),
            build_dir.join("result").display().to_string(),
        ],
        cwd: repo.to_path_buf(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::matrix::testing::{shipped, variant};

    #[test]
    fn nixos_builds_the_variants_system_with_json_progress() {
        let p = shipped();
        let v = variant(&p, "server-simple-server-1@qemuamd64");
        let steps = nixos_steps(&v, Path::new("/repo"), Path::new("/state/builds/b1")).unwrap();
        let text = steps[0].to_string();
        assert!(
            text.contains(
                r#"'.#nixosConfigurations."qemuamd64-server-simple-server-1".config.system.build.toplevel'"#
            ),
            "{text}"
        );
        assert!(text.contains("-L --log-format internal-json"), "{text}");
        assert!(
            text.contains("--out-link /state/builds/b1/result"),
            "{text}"
        );
    }

    #[test]
    fn a_variant_with_a_feature_has_no_nixos_system_and_says_which_backend_builds_it() {
        let p = shipped();
        let v = variant(&p, "base-swupdate@qemuamd64");
        assert_eq!(nixos_attr(&v), None);
        let why = nixos_steps(&v, Path::new("/repo"), Path::new("/b"))
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("base-swupdate@qemuamd64 has no NixOS system"),
            "{why}"
        );
        assert!(why.contains("--backend isar"), "{why}");
        let with_system = matrix::variants(&p)
            .iter()
            .filter(|v| nixos_attr(v).is_some())
            .count();
        assert_eq!(with_system, 15);
    }

    #[test]
    fn shell_words_quotes_only_what_a_shell_would_split() {
        let argv = ["a".to_string(), "b c".into(), "it's".into(), String::new()];
        assert_eq!(shell_words(&argv), r#"a 'b c' 'it'\''s' ''"#);
    }
}

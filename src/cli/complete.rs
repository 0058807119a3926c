//! Shell completions and the man page: `n3x completions bash|zsh|fish` prints the shell's
//! registration (it calls back into `n3x` with `COMPLETE=<shell>` while completing, so profile,
//! node, variant, machine and test names come from the profiles in use), and `n3x man` prints
//! the roff man page.

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::engine::CompletionCandidate;

use crate::profile::{self, Profiles};

/// The environment variable that turns an `n3x` run into a completion request.
pub const ENV: &str = "COMPLETE";

/// Arguments of `n3x completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells n3x writes completions for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// bash: `source <(n3x completions bash)` in ~/.bashrc.
    Bash,
    /// zsh: `source <(n3x completions zsh)` in ~/.zshrc.
    Zsh,
    /// fish: `n3x completions fish | source` in ~/.config/fish/config.fish.
    Fish,
}

/// Answers a completion request (`COMPLETE=<shell>` in the environment) and exits; otherwise
/// returns at once. Call before anything writes to standard output.
pub fn answer_if_requested() {
    clap_complete::CompleteEnv::with_factory(crate::cli::Cli::command)
        .var(ENV)
        .complete();
}

/// The registration script of `shell`, for `n3x completions`.
pub fn registration(shell: Shell) -> String {
    use clap_complete::env::EnvCompleter;
    let mut buf = Vec::new();
    let (var, name, bin) = (ENV, "n3x", "n3x");
    let written = match shell {
        Shell::Bash => clap_complete::env::Bash.write_registration(var, name, bin, bin, &mut buf),
        Shell::Zsh => clap_complete::env::Zsh.write_registration(var, name, bin, bin, &mut buf),
        Shell::Fish => clap_complete::env::Fish.write_registration(var, name, bin, bin, &mut buf),
    };
    match written {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => String::new(),
    }
}

/// The man page, in roff.
pub fn man_page() -> String {
    let mut buf = Vec::new();
    let _ = clap_mangen::Man::new(crate::cli::Cli::command()).render(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The profiles in use (as n3x would find them from here), if they load.
fn profiles() -> Option<Profiles> {
    let cwd = std::env::current_dir().ok()?;
    let explicit = std::env::var_os("N3X_PROFILES").map(std::path::PathBuf::from);
    let root = profile::find_root(explicit.as_deref(), &cwd).ok()?;
    Profiles::load(&root).ok()
}

fn candidates(names: impl IntoIterator<Item = String>) -> Vec<CompletionCandidate> {
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort();
    names.dedup();
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// Network profile names.
pub fn profile_names() -> Vec<CompletionCandidate> {
    candidates(
        profiles()
            .map(|p| p.networks.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default(),
    )
}

/// Node names of the cluster.
pub fn node_names() -> Vec<CompletionCandidate> {
    candidates(
        profiles()
            .map(|p| {
                p.cluster
                    .nodes
                    .iter()
                    .map(|n| n.name.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    )
}

/// Variant IDs of the matrix.
pub fn variant_ids() -> Vec<CompletionCandidate> {
    candidates(
        profiles()
            .map(|p| {
                crate::matrix::variants(&p)
                    .into_iter()
                    .map(|v| v.id)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    )
}

/// Machine names.
pub fn machine_names() -> Vec<CompletionCandidate> {
    candidates(
        profiles()
            .map(|p| p.machines.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default(),
    )
}

/// Test names of the catalog.
#[cfg(target_os = "linux")]
pub fn test_names() -> Vec<CompletionCandidate> {
    candidates(
        profiles()
            .map(|p| {
                crate::scenario::catalog::catalog(&p)
                    .into_iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    )
}

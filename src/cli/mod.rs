//! Command-line interface: argument parsing, the commands `list`, `render`, `validate`,
//! `build` ([`build`]), `ota` ([`ota`]), `cluster`, `console`, `exec`, `link` ([`cluster`]), `test` ([`test`]),
//! and the full-screen workbench when no command is given. The only place where errors become
//! plain text.
//!
//! Exit codes (listed in `n3x --help`): 0 success; 1 the thing failed (a problem found, a failed build
//! or test, no or an unreachable cluster, stale files); 2 usage or profile errors; `exec` passes
//! the remote command's code through and uses 255 for its own failures.

pub mod build;
pub mod cluster;
pub mod complete;
#[cfg(target_os = "linux")]
pub mod github;
pub mod json;
#[cfg(target_os = "linux")]
pub mod ota;
pub mod pipe;
pub mod test;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::config::{self, ConfigError};
use crate::matrix::{self, Variant};
use crate::profile::{self, ProfileError, Profiles, display_path};
use crate::render::{self, OWNED_DIRS, output};
use crate::tui;
use crate::tui::theme_file::ThemeFile;
use crate::tui::themes::{self, ThemeError};

/// n3x: define a K3s edge cluster once, render every backend's files, build and boot it.
///
/// Without a command, n3x opens the full-screen workbench (press ? in it for every key).
#[derive(Debug, Parser)]
#[command(name = "n3x", version, after_help = MAIN_AFTER_HELP)]
pub struct Cli {
    /// The profiles directory (default: ./profiles, or the nearest one above).
    #[arg(
        long,
        global = true,
        env = "N3X_PROFILES",
        value_name = "DIR",
        help_heading = GLOBAL
    )]
    pub profiles: Option<PathBuf>,
    /// Colours of the workbench and screenshots: dark, light, high-contrast, a theme installed
    /// as ~/.config/n3x/themes/NAME.yaml, or a path to a .yaml file. Without it: $N3X_THEME,
    /// else `theme:` in ~/.config/n3x/config.yaml, else dark. NO_COLOR=1 turns colours off.
    #[arg(long, global = true, value_name = "NAME|PATH", value_parser = clap::builder::NonEmptyStringValueParser::new(), help_heading = GLOBAL)]
    pub theme: Option<String>,
    /// Headless: line output only (timestamps, node, stage), never the full-screen workbench;
    /// for CI. Without a command it is an error.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub batch: bool,
    /// Write n3x's own log to <state>/n3x.log: -v info, -vv debug, -vvv trace ($N3X_LOG, a
    /// filter such as `debug` or `n3x::cluster=trace`, wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,
    /// What to do; without one, the full-screen workbench opens (on a terminal).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the build matrix: variant, machine, role, profile, node.
    List(ListArgs),
    /// Render files from the profiles (one node, one profile, or the whole repository).
    #[command(
        after_help = "Examples:\n  n3x render --all                                  write kas/ and nixos/ parts\n  n3x render --check                                exit 1 with a diff when stale\n  n3x render --profile vlans --node server-1 --out /tmp/s1\n  n3x render --profile simple --plan                the QEMU plan as JSON"
    )]
    Render(RenderArgs),
    /// Check the profiles and say what is wrong, where, and how to fix it.
    #[command(
        after_help = "Examples:\n  n3x validate                      the profiles in use\n  n3x validate profiles/network/vlans.yaml\n  n3x validate --json | jq '.problems[]'"
    )]
    Validate(ValidateArgs),
    /// Draw a workbench view headlessly into an SVG image and a plain-text copy.
    Screenshot(ScreenshotArgs),
    /// Build variants (isar, nixos or quick backend), show what would run, or list past builds.
    #[command(
        after_help = "Examples:\n  n3x build --backend quick --variant base          the quick test image\n  n3x build --backend isar --machine qemuamd64 --dry-run\n  n3x build --list --json                           past builds for scripts"
    )]
    Build(crate::cli::build::BuildArgs),
    /// Write the CI workflows (GitHub Actions, GitLab CI) from the profiles (`generate`), or
    /// check that the committed ones are current (`--check`, exit 1 with a diff).
    #[cfg(target_os = "linux")]
    Ci(crate::ci::command::CiArgs),
    /// Make the release assets of the built release variants: .wic.zst, .wic.bmap, SHA256SUMS.
    #[cfg(target_os = "linux")]
    Release(crate::release::ReleaseArgs),
    /// Boot a profile's QEMU cluster (`up`), show it (`status`) or stop it (`down`).
    #[cfg(target_os = "linux")]
    #[command(
        subcommand,
        after_help = "Examples:\n  n3x cluster up --profile simple --accel tcg       boot; Ctrl-C tears it down\n  n3x cluster up --profile vlans --detach           return once every node is ready\n  n3x cluster status --json\n  n3x cluster down"
    )]
    Cluster(crate::cli::cluster::ClusterCommand),
    /// Attach to a node's serial console (Ctrl-] leaves).
    #[cfg(target_os = "linux")]
    Console(crate::cli::cluster::ConsoleArgs),
    /// Run a command on a node through its control channel; its exit code becomes n3x's.
    #[cfg(target_os = "linux")]
    Exec(crate::cli::cluster::ExecArgs),
    /// Set a node's NIC link up or down (fault injection through QMP).
    #[cfg(target_os = "linux")]
    Link(crate::cli::cluster::LinkArgs),
    /// Run cluster tests from the catalog (`--list` shows it): boot, follow every node to
    /// k3s Ready, check; JUnit and artifacts for CI. Exit 0 passed, 1 failed, 2 usage error.
    #[cfg(target_os = "linux")]
    #[command(
        after_help = "Examples:\n  n3x test --list                                   the catalog per backend\n  n3x test cluster-simple                           one test\n  n3x test --batch --junit report.xml               every available test, for CI"
    )]
    Test(crate::cli::test::TestArgs),
    /// Print shell completions (names of profiles, nodes, variants and tests included):
    /// `source <(n3x completions bash)`.
    Completions(crate::cli::complete::CompletionsArgs),
    /// Print the man page (roff): `n3x man > ~/.local/share/man/man1/n3x.1`.
    Man,
    /// Over-the-air updates of the A/B images: make a signed SWUpdate bundle (`bundle`).
    #[cfg(target_os = "linux")]
    #[command(subcommand)]
    Ota(crate::cli::ota::OtaCommand),
}

/// Arguments of `n3x screenshot`.
#[derive(Debug, Args)]
pub struct ScreenshotArgs {
    /// The view to draw.
    #[arg(long, value_enum, default_value = "matrix")]
    pub view: ScreenshotView,
    /// Terminal size in cells, WIDTHxHEIGHT.
    #[arg(long, default_value = "120x40", value_parser = parse_size)]
    pub size: (u16, u16),
    /// In the Matrix view, select this variant (the first row with that ID).
    #[arg(long, value_name = "ID")]
    pub variant: Option<String>,
    /// Keys to press after selecting the variant and the view, before the capture, written as
    /// [`tui::screenshot::parse_keys`] reads them.
    #[arg(
        long,
        value_name = "KEYS",
        default_value = "",
        help = "Keys to press after selecting the variant and the view, before the capture: each \
                character is the key that types it; <Enter> <Esc> <Tab> <S-Tab> <Up> <Down> \
                <Left> <Right> <PgUp> <PgDn> <Home> <End> <Space> are those keys, <lt> is `<`. \
                E.g. `--keys '<Enter>jjj'` previews the variant's 4th file, `--keys 'mjmd'` \
                diffs it with the next variant"
    )]
    pub keys: String,
    /// The SVG file to write; the text copy goes beside it with the extension .txt.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// The views `n3x screenshot` can draw.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScreenshotView {
    /// The Matrix view.
    Matrix,
    /// The Builds view.
    Builds,
    /// The Cluster view.
    Cluster,
    /// The Tests view.
    Tests,
}

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("`{s}` is not WIDTHxHEIGHT, e.g. 120x40"))?;
    let parse = |v: &str| {
        v.parse::<u16>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| format!("`{v}` is not a size between 1 and 1000"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// Arguments of `n3x list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only variants of this machine.
    #[arg(long, value_name = "M", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::machine_names))]
    pub machine: Option<String>,
    /// Only variants with this ID (IDs repeat across machines).
    #[arg(long, value_name = "ID", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::variant_ids))]
    pub variant: Option<String>,
    /// Print JSON with every detail (kas chain and command, artifacts, Nix attribute).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `n3x render`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["profile", "all", "check"])))]
pub struct RenderArgs {
    /// Network profile to render.
    #[arg(long, value_name = "P", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::profile_names))]
    pub profile: Option<String>,
    /// One node of the profile (default: every node, plus the QEMU plan).
    #[arg(long, value_name = "N", requires = "profile", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::node_names))]
    pub node: Option<String>,
    /// Directory to write into (with --profile).
    #[arg(long, value_name = "DIR", requires = "profile")]
    pub out: Option<PathBuf>,
    /// Print the QEMU plan of the profile's cluster as JSON instead of writing files.
    #[arg(long, requires = "profile", conflicts_with_all = ["node", "out"])]
    pub plan: bool,
    /// Nodes of the plan, comma-separated (default: every cluster node).
    #[arg(long, value_name = "A,B", value_delimiter = ',', requires = "plan")]
    pub nodes: Option<Vec<String>>,
    /// Machine of the plan.
    #[arg(long, value_name = "M", default_value = "qemuamd64", requires = "plan")]
    pub machine: String,
    /// Write every rendered part into kas/ and nixos/ of the repository.
    #[arg(long, conflicts_with_all = ["profile", "check"])]
    pub all: bool,
    /// Compare the committed files with a fresh render; exit 1 with a diff when stale.
    #[arg(long, conflicts_with_all = ["profile", "all"])]
    pub check: bool,
}

/// Arguments of `n3x validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A profiles directory, or a file inside one (default: the profiles in use).
    pub path: Option<PathBuf>,
    /// JSON on standard output: ok, profiles, machines, networks, nodes, variants, and
    /// problems (file, line, column, field, message, fix); exit 1 when there are problems.
    #[arg(long)]
    pub json: bool,
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What to print (after `error: `).
    pub message: String,
}

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// What `n3x --help` shows after the options: examples, environment, exit codes.
const MAIN_AFTER_HELP: &str = "\
Examples:
  n3x                                        the workbench (press ? for every key)
  n3x list --machine qemuamd64               the build matrix of one machine
  n3x validate                               check the profiles: file:line:col and a fix
  n3x render --all && git diff               write every backend's files
  n3x build --backend quick --variant base   build one image
  n3x cluster up --profile simple            boot a cluster; Ctrl-C tears it down
  n3x test --batch --junit report.xml        the test catalog, for CI

Environment:
  N3X_PROFILES   the profiles directory (like --profiles)
  N3X_THEME      the theme when --theme is not given (then config.yaml, then dark)
  N3X_STATE_DIR  images, builds, logs, test history (default $XDG_STATE_HOME/n3x)
  N3X_LOG        n3x's own log into <state>/n3x.log, a filter such as debug (like -vv)
  NO_COLOR       no colours

Exit codes:
  0    success
  1    the thing failed: a problem found (validate, render --check, ci --check), a failed
       build or test, no running cluster or one that does not answer
  2    usage or profile errors (bad flags, unknown names, profiles that do not load)
  255  n3x exec's own failures (no cluster, no answer); otherwise the remote command's code
  130  interrupted (Ctrl-C), 143 terminated (SIGTERM)";

/// Exit code of `n3x exec` when it fails itself (as ssh does), so that no remote command's
/// code is mistaken for it.
pub const EXIT_EXEC_FAILED: u8 = 255;

impl Failure {
    /// A usage or profile error: exit code 2.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

/// A runtime failure (the command ran and its work failed): exit code 1.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { code: 1, message }
    }
}

impl From<ProfileError> for Failure {
    fn from(e: ProfileError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

/// Parses the arguments, runs the command, prints errors, and returns the exit code.
pub fn main() -> ExitCode {
    complete::answer_if_requested();
    let cli = Cli::parse();
    if let Err(f) = start_log(cli.verbose) {
        eprintln!("error: {}", f.message);
        return ExitCode::from(f.code);
    }
    match run(cli) {
        // Output that could not be written (a full disk) fails the command; a reader that
        // went away (a closed pipe) does not.
        Ok(_) if pipe::failure().is_some() => {
            let e = pipe::failure().unwrap_or_default();
            eprintln!("error: cannot write to standard output: {e}");
            ExitCode::FAILURE
        }
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// Starts n3x's own log when `N3X_LOG` or `-v` ask for it ([`crate::logging`]).
fn start_log(verbose: u8) -> Result<(), Failure> {
    if crate::logging::filter(std::env::var(crate::logging::ENV).ok().as_deref(), verbose).is_none()
    {
        return Ok(());
    }
    let state = crate::cli::build::state_dir(None).map_err(Failure::usage)?;
    crate::logging::init(&state, verbose).map_err(|e| Failure::usage(e.to_string()))?;
    Ok(())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::usage(format!("no current directory: {e}")))?;
    match cli.command {
        None if cli.batch => Err(Failure::usage(
            "--batch runs a command headlessly, and none was given; e.g. `n3x test --batch --junit report.xml`, `n3x build --batch --variant ID`, `n3x cluster up --batch --profile P`",
        )),
        None => workbench(cli.profiles.as_deref(), cli.theme.as_deref(), &cwd),
        Some(Command::Validate(args)) => validate(cli.profiles.as_deref(), args, &cwd),
        Some(Command::Completions(args)) => {
            out(&complete::registration(args.shell))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            out(&complete::man_page())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::List(args)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            list(&p, &args)
        }
        Some(Command::Render(args)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            render(&p, &args)
        }
        #[cfg(target_os = "linux")]
        Some(Command::Cluster(command)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            crate::cli::cluster::cluster(p, &command)
        }
        #[cfg(target_os = "linux")]
        Some(Command::Console(args)) => crate::cli::cluster::console(&args),
        #[cfg(target_os = "linux")]
        Some(Command::Exec(args)) => crate::cli::cluster::exec(&args).map_err(|f| Failure {
            code: EXIT_EXEC_FAILED,
            message: f.message,
        }),
        #[cfg(target_os = "linux")]
        Some(Command::Link(args)) => crate::cli::cluster::link(&args),
        #[cfg(target_os = "linux")]
        Some(Command::Test(crate::cli::test::TestArgs {
            report: Some(crate::cli::test::TestReport::MergeJunit(args)),
            ..
        })) => crate::scenario::merge::run(&args).map_err(|e| Failure::usage(e.to_string())),
        #[cfg(target_os = "linux")]
        Some(Command::Test(args)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            crate::cli::test::run(p, &args)
        }
        #[cfg(target_os = "linux")]
        Some(Command::Ci(args)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            crate::ci::command::run(&p, &args).map_err(Failure::from)
        }
        #[cfg(target_os = "linux")]
        Some(Command::Ota(command)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            crate::cli::ota::run(&p, &command).map_err(Failure::usage)
        }
        #[cfg(target_os = "linux")]
        Some(Command::Release(args)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            crate::release::run(&p, &args).map_err(|e| {
                use crate::release::ReleaseError as E;
                match e {
                    E::NoVariant { .. } | E::BadVersion(_) | E::TagMismatch { .. } => {
                        Failure::usage(e.to_string())
                    }
                    _ => Failure::from(e.to_string()),
                }
            })
        }
        Some(Command::Build(args)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            crate::cli::build::run(p, &args)
        }
        Some(Command::Screenshot(args)) => {
            let p = load(cli.profiles.as_deref(), &cwd)?;
            let theme = theme(cli.theme.as_deref(), &cwd)?;
            screenshot(p, theme, &args)
        }
    }
}

/// The workbench, only on a terminal: without one it would write escape codes into a pipe or a
/// file, so it refuses and names the commands that print plain text instead.
fn workbench(
    explicit: Option<&Path>,
    theme_flag: Option<&str>,
    cwd: &Path,
) -> Result<ExitCode, Failure> {
    if !std::io::stdout().is_terminal() {
        return Err(Failure::usage(
            "the workbench needs a terminal and standard output is not one; use `n3x list` (a table) or `n3x list --json` (every detail) instead",
        ));
    }
    let p = load(explicit, cwd)?;
    let theme = theme(theme_flag, cwd)?;
    // The settings a flag gives the commands come from $N3X_… or config.yaml here.
    let env = config::Env::from_process();
    let mut isar = crate::build::isar::IsarOptions::from_env();
    isar.source_mirror = config::source_mirror(None, &env)?;
    let builds = crate::build::engine::Settings {
        repo: repo_root(&p),
        state: crate::cli::build::state_dir(None).map_err(Failure::usage)?,
        isar,
        k3s_binary: config::k3s_binary(None, &env)?,
        jobs: 1,
        size: (40, 160),
    };
    match tui::run(std::sync::Arc::new(p), theme.theme, builds) {
        Ok(tui::Exit::Quit) => Ok(ExitCode::SUCCESS),
        Ok(tui::Exit::Signal(n)) => Ok(ExitCode::from(128 + n as u8)),
        Err(e) => Err(Failure::from(format!("the terminal failed: {e}"))),
    }
}

/// The theme in use: chosen by `--theme`, `N3X_THEME`, `config.yaml` or the default, and
/// replaced by [`tui::theme::Theme::monochrome`] when `NO_COLOR` is set.
fn theme(flag: Option<&str>, cwd: &Path) -> Result<ThemeFile, Failure> {
    let env = config::Env::from_process();
    let choice = config::theme_choice(flag, &env, cwd)?;
    let file = themes::load(
        &choice.spec,
        &choice.base,
        config::themes_dir(&env).as_deref(),
    )
    .map_err(|e| match e {
        // Say where a bad name or path came from; a bad file names itself.
        ThemeError::Unknown { .. } | ThemeError::Read { .. } => {
            Failure::usage(format!("{}{e}", choice.origin.prefix()))
        }
        ThemeError::Invalid(_) => Failure::usage(e.to_string()),
    })?;
    Ok(ThemeFile {
        theme: file.theme.unless_no_color(env.no_color.as_deref()),
        background: file.background,
    })
}

fn load(explicit: Option<&Path>, cwd: &Path) -> Result<Profiles, Failure> {
    let root = profile::find_root(explicit, cwd)?;
    Ok(Profiles::load(&root)?)
}

/// Prints `text`; a failed write is handled by [`pipe`] (never a panic).
fn out(text: &str) -> Result<(), Failure> {
    pipe::write(text);
    Ok(())
}

fn validate(explicit: Option<&Path>, args: ValidateArgs, cwd: &Path) -> Result<ExitCode, Failure> {
    let root = match &args.path {
        None => profile::find_root(explicit, cwd)?,
        Some(path) if path.is_dir() => profile::find_root(Some(path), cwd)?,
        Some(path) if path.is_file() => {
            let start = path.parent().unwrap_or(Path::new("."));
            start
                .ancestors()
                .find(|d| d.join(profile::CLUSTER_FILE).is_file())
                .map(Path::to_path_buf)
                .ok_or_else(|| Failure::usage(format!(
                    "{} is not inside a profiles directory (none of its parents has cluster.yaml)\n  fix: pass the profiles directory, e.g. n3x validate profiles/",
                    path.display()
                )))?
        }
        Some(path) => {
            return Err(Failure::usage(format!(
                "{} does not exist\n  fix: pass a profiles directory or a file in one",
                path.display()
            )));
        }
    };
    // Problems in the profiles are what validate looks for: a finding, exit 1.
    let p = match Profiles::load(&root) {
        Ok(p) => p,
        Err(ProfileError::Invalid(problems)) if args.json => {
            let found = problems.iter().map(json::problem).collect();
            out(&json::text(&json::validation(&root, None, found)))?;
            return Ok(ExitCode::from(1));
        }
        #[cfg(target_os = "linux")]
        Err(ProfileError::Invalid(problems)) if github::enabled() => {
            for p in &problems {
                out(&github::problem(&json::problem(p)))?;
            }
            return Err(Failure::from(ProfileError::Invalid(problems).to_string()));
        }
        Err(e) => return Err(Failure::from(e.to_string())),
    };
    let variants = matrix::variants(&p);
    // The k3s pin of the backends beside the profiles (the repository they belong to).
    let problems = root
        .parent()
        .map(|repo| crate::build::pins::check(&p, repo))
        .unwrap_or_default();
    #[cfg(target_os = "linux")]
    if github::enabled() && !args.json {
        for p in &problems {
            out(&github::problem(&json::problem_text(p)))?;
        }
    }
    if args.json {
        let found: Vec<_> = problems.iter().map(|t| json::problem_text(t)).collect();
        let code = if found.is_empty() { 0 } else { 1 };
        out(&json::text(&json::validation(&root, Some(&p), found)))?;
        return Ok(ExitCode::from(code));
    }
    if !problems.is_empty() {
        return Err(Failure {
            code: 1,
            message: problems.join("\nerror: "),
        });
    }
    out(&format!(
        "{}: ok ({} machines, {} network profiles, {} nodes, {} variants)\n",
        display_path(&root).display(),
        p.machines.len(),
        p.networks.len(),
        p.cluster.nodes.len(),
        variants.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn list(p: &Profiles, args: &ListArgs) -> Result<ExitCode, Failure> {
    let all = matrix::variants(p);
    let selected = matrix::select(&all, args.machine.as_deref(), args.variant.as_deref());
    if selected.is_empty() {
        let mut filters = Vec::new();
        if let Some(v) = &args.variant {
            filters.push(format!("--variant {v}"));
        }
        if let Some(m) = &args.machine {
            filters.push(format!("--machine {m}"));
        }
        return Err(Failure::usage(format!(
            "no variant matches {}\n  fix: run `n3x list` to see all {} variants (IDs repeat across machines; filters combine)",
            filters.join(" "),
            all.len()
        )));
    }
    if args.json {
        let docs: Vec<serde_json::Value> = selected.iter().map(|v| variant_json(p, v)).collect();
        let mut text = serde_json::to_string_pretty(&docs).expect("JSON values serialize");
        text.push('\n');
        out(&text)?;
    } else {
        out(&table(&selected, all.len()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything known about one variant, for `list --json`.
pub fn variant_json(p: &Profiles, v: &Variant) -> serde_json::Value {
    json!({
        "id": v.id,
        "machine": v.machine,
        "role": v.role,
        "feature": v.feature,
        "profile": v.profile,
        "node": v.node,
        "test_overlay": v.test_overlay,
        "release": v.release,
        "kas_chain": matrix::overlay_chain(p, v),
        "kas_command": matrix::kas_container_argv(p, v),
        "nix_attr": matrix::nix_attr_path(v),
        "nixos_attr": crate::build::plan::nixos_attr(v),
        "artifacts": matrix::artifacts(p, v),
        "release_assets": matrix::release_assets(p, v),
    })
}

fn table(rows: &[&Variant], total: usize) -> String {
    let header = ["VARIANT", "MACHINE", "ROLE", "PROFILE", "NODE"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|v| {
            [
                v.id.clone(),
                v.machine.clone(),
                v.role.clone(),
                v.profile.clone().unwrap_or_else(|| "-".into()),
                v.node.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cols: [&str; 5]| {
        let mut s = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i == 4 {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.push('\n');
        s
    };
    let mut text = line(header);
    for row in &cells {
        text.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    if rows.len() == total {
        text.push_str(&format!("Total: {total} variants\n"));
    } else {
        text.push_str(&format!("Total: {} variants (of {total})\n", rows.len()));
    }
    text
}

fn repo_root(p: &Profiles) -> PathBuf {
    p.root
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn render(p: &Profiles, args: &RenderArgs) -> Result<ExitCode, Failure> {
    if args.check {
        return render_check(p);
    }
    if args.all {
        let root = repo_root(p);
        let files = render::render_all(p);
        let summary =
            output::write(&root, &files, OWNED_DIRS).map_err(|e| Failure::usage(format!("{e}")))?;
        out(&format!(
            "rendered {} files into {}: {} written, {} unchanged, {} stale removed\n",
            files.len(),
            display_path(&root).display(),
            summary.written.len(),
            summary.unchanged,
            summary.removed.len()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let name = args
        .profile
        .as_deref()
        .expect("clap requires --profile here");
    let profile = render::profile(p, name).map_err(|e| Failure::usage(e.to_string()))?;
    if args.plan {
        let plan = render::qemu::plan(p, profile, &args.machine, args.nodes.as_deref())
            .map_err(|e| Failure::usage(e.to_string()))?;
        out(&plan.to_json())?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = &args.out else {
        return Err(Failure::usage(
            "say where to write: --out DIR\n  fix: e.g. n3x render --profile simple --node server-1 --out /tmp/server-1 (or --plan to print the QEMU plan)",
        ));
    };
    let files = match &args.node {
        Some(node) => render::render_node(p, name, node),
        None => render::render_profile(p, name),
    }
    .map_err(|e| Failure::usage(e.to_string()))?;
    let summary = output::write(dir, &files, &[]).map_err(|e| Failure::usage(format!("{e}")))?;
    out(&format!(
        "rendered {} files into {} ({} written, {} unchanged)\n",
        files.len(),
        dir.display(),
        summary.written.len(),
        summary.unchanged
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn render_check(p: &Profiles) -> Result<ExitCode, Failure> {
    let root = repo_root(p);
    let files = render::render_all(p);
    let drift =
        output::compare(&root, &files, OWNED_DIRS).map_err(|e| Failure::usage(format!("{e}")))?;
    if drift.is_empty() {
        out(&format!(
            "all {} rendered files are up to date\n",
            files.len()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = output::drift_report(&drift, "rendered", "n3x render --all");
    out(&text)?;
    #[cfg(target_os = "linux")]
    if github::enabled() {
        for d in &drift {
            out(&github::drift(d, "n3x render --all"))?;
        }
    }
    Ok(ExitCode::from(1))
}

fn screenshot(p: Profiles, theme: ThemeFile, args: &ScreenshotArgs) -> Result<ExitCode, Failure> {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let press = |app: &mut tui::app::App, code| {
        app.handle(crate::tui::msg::Msg::Key(KeyEvent::new(
            code,
            KeyModifiers::NONE,
        )));
    };
    let rows = match &args.variant {
        Some(id) => matrix::variants(&p)
            .iter()
            .position(|v| &v.id == id)
            .ok_or_else(|| {
                Failure::usage(format!(
                    "no variant `{id}`\n  fix: run `n3x list` to see the variant IDs"
                ))
            })?,
        None => 0,
    };
    let keys = tui::screenshot::parse_keys(&args.keys).map_err(Failure::usage)?;
    let mut app = tui::app::App::new(std::sync::Arc::new(p), theme.theme);
    for _ in 0..rows {
        press(&mut app, KeyCode::Down);
    }
    let key = match args.view {
        ScreenshotView::Matrix => '1',
        ScreenshotView::Builds => '2',
        ScreenshotView::Cluster => '3',
        ScreenshotView::Tests => '4',
    };
    press(&mut app, KeyCode::Char(key));
    for key in keys {
        app.handle(crate::tui::msg::Msg::Key(key));
    }
    let (width, height) = args.size;
    let buffer = tui::screenshot::capture(&mut app, width, height);
    let text_path = args.out.with_extension("txt");
    let files = [
        render::RenderedFile {
            path: args.out.to_string_lossy().into_owned(),
            contents: tui::screenshot::to_svg_on(&buffer, theme.background),
            mode: 0o644,
        },
        render::RenderedFile {
            path: text_path.to_string_lossy().into_owned(),
            contents: tui::screenshot::to_text(&buffer),
            mode: 0o644,
        },
    ];
    output::write(Path::new(""), &files, &[]).map_err(|e| Failure::usage(e.to_string()))?;
    out(&format!(
        "wrote {} and {}\n",
        args.out.display(),
        text_path.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

//! `n3x test`: list the catalog, or run tests headlessly with timestamped lines, a timeline
//! per test, JUnit XML and an artifacts directory.
//!
//! Exit codes: 0 every test passed, 1 a test failed, 2 a usage or setup error (unknown test,
//! a backend n3x cannot boot, a test that could not run).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use crate::build::plan::Backend;
use crate::cli::Failure;
use crate::cli::cluster::{BootArgs, repo_of};
use crate::profile::{Profiles, display_path};
use crate::scenario::batch::{self, Batch, Style};
use crate::scenario::catalog::{self, Availability, TestDef};
use crate::scenario::result::{TestResult, Verdict};
use crate::scenario::runner::{self, Settings};
use crate::scenario::{history, junit};
use crate::supervise::Supervisor;

/// Arguments of `n3x test`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TestArgs {
    /// Tests to run, by name (`n3x test --list` shows them); none runs every test of the
    /// catalog available on the backend.
    #[arg(value_name = "NAME", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::test_names))]
    pub names: Vec<String>,
    /// List the catalog: every test per backend, and why a backend cannot run it.
    #[arg(long, conflicts_with_all = ["names", "junit", "keep_on_failure"])]
    pub list: bool,
    /// With --list: JSON (test, backend, profile, nodes, summary, available, why_not,
    /// images_command) instead of the table.
    #[arg(long, requires = "list")]
    pub json: bool,
    /// The image backend.
    #[arg(long, value_enum, default_value = "quick", value_name = "B")]
    pub backend: Backend,
    /// Keep the VMs of a failed test running for inspection (the run stops there; n3x
    /// prints how to reach them and holds them until Ctrl-C or `n3x cluster down`).
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Write JUnit XML here (one testcase per test); a copy goes into the artifacts.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The artifacts directory: console logs, k3s journals, report JSON, JUnit (default:
    /// <state>/tests/artifacts/<time>).
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    #[command(flatten)]
    /// How the nodes boot.
    pub boot: BootArgs,
    /// A readiness stage's timeout, e.g. `registered=90` (seconds; repeatable; stages: qemu,
    /// kernel, userspace, network, k3s-service, api, registered, ready, cluster).
    #[arg(long = "timeout", value_name = "STAGE=SECS")]
    pub timeouts: Vec<String>,
    /// Run only shard I of N (1-based) of the selected tests, for N CI runners: the split
    /// keeps each runner's expected time even (times from the test history, else the
    /// catalog's estimates) and the N shards together run every test exactly once.
    #[arg(long, value_name = "I/N", value_parser = crate::scenario::shard::ShardSpec::parse, conflicts_with_all = ["list", "keep_on_failure"])]
    pub shard: Option<crate::scenario::shard::ShardSpec>,
    /// A report over finished runs instead of a run.
    #[command(subcommand)]
    pub report: Option<TestReport>,
}

/// Reports over finished runs (`n3x test merge-junit …`).
#[derive(Debug, clap::Subcommand)]
pub enum TestReport {
    /// Merge the JUnit files of a run's shards into one JUnit file and print a summary.
    /// Exit 0 every test passed, 1 a test failed, 2 a shard is missing or the files disagree.
    MergeJunit(crate::scenario::merge::MergeArgs),
}

/// The default timeouts with `STAGE=SECS` overrides.
pub fn timeouts(overrides: &[String]) -> Result<crate::readiness::Timeouts, String> {
    use crate::readiness::Stage;
    let mut t = crate::readiness::Timeouts::default();
    let names: Vec<&str> = Stage::ALL
        .iter()
        .map(|s| s.label())
        .chain(["cluster"])
        .collect();
    for o in overrides {
        let bad = || {
            format!(
                "--timeout {o}: expected STAGE=SECONDS with a stage of {} and whole seconds above 0",
                names.join(", ")
            )
        };
        let (name, secs) = o.split_once('=').ok_or_else(bad)?;
        let secs: u64 = secs.parse().ok().filter(|s| *s > 0).ok_or_else(bad)?;
        let d = std::time::Duration::from_secs(secs);
        match Stage::ALL.iter().find(|s| s.label() == name) {
            Some(stage) => t.set(*stage, d),
            None if name == "cluster" => t.cluster = d,
            None => return Err(bad()),
        }
    }
    Ok(t)
}

/// Which tests `args` names (every one of the catalog when none is named), in the order
/// they run ([`catalog::run_order`]).
pub fn select(p: &Profiles, args: &TestArgs) -> Result<Vec<TestDef>, String> {
    let all = catalog::catalog(p);
    if args.names.is_empty() {
        return Ok(catalog::run_order(all));
    }
    let unknown: Vec<&String> = args
        .names
        .iter()
        .filter(|n| catalog::find(&all, n).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "no test called {} in the catalog\n  the tests: {}\n  fix: pick names from that list (`n3x test --list` tells more)",
            unknown
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            all.iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut out: Vec<TestDef> = Vec::new();
    for n in &args.names {
        if !out.iter().any(|t| &t.name == n) {
            out.extend(catalog::find(&all, n).cloned());
        }
    }
    Ok(catalog::run_order(out))
}

/// The exit code of a run: 1 when a test failed or could not finish, else 0.
pub fn exit_code(results: &[TestResult]) -> u8 {
    if results
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Failed | Verdict::Error))
    {
        1
    } else {
        0
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Runs `n3x test …`. `Err` is a usage or setup error (exit code 2).
pub fn run(p: Profiles, args: &TestArgs) -> Result<ExitCode, Failure> {
    if args.list && args.json {
        let doc = crate::cli::json::test_catalog(&p, &catalog::catalog(&p));
        crate::out!("{}", crate::cli::json::text(&doc));
        return Ok(ExitCode::SUCCESS);
    }
    if args.list {
        crate::out!("{}", catalog::list_table(&p, &catalog::catalog(&p)));
        return Ok(ExitCode::SUCCESS);
    }
    let tests = select(&p, args).map_err(Failure::usage)?;
    for t in &tests {
        if let Availability::Unavailable { why, command } =
            catalog::availability(&p, t, args.backend)
        {
            return Err(Failure::usage(format!(
                "{} cannot run on {}: {why}\n  make the images: {command}\n  fix: run it on the quick backend (--backend quick)",
                t.name, args.backend
            )));
        }
    }
    let accel = args.boot.accel().map_err(Failure::usage)?;
    let state = args.boot.state()?;
    let (tests, properties) = match args.shard {
        None => (tests, Vec::new()),
        Some(spec) => {
            let split = crate::scenario::shard::split(&state, args.backend.name(), tests, spec);
            crate::outln!("n3x test: {}", split.line);
            (split.tests, split.properties)
        }
    };
    let stamp = crate::build::state::utc(SystemTime::now()).replace([':', '-'], "");
    let artifacts = match &args.artifacts {
        Some(dir) if dir.is_absolute() => dir.clone(),
        Some(dir) => std::env::current_dir()
            .map_err(|e| format!("no current directory: {e}"))?
            .join(dir),
        None => state.join("tests").join("artifacts").join(&stamp),
    };
    std::fs::create_dir_all(&artifacts).map_err(|e| {
        format!(
            "cannot create the artifacts directory {}: {e}",
            artifacts.display()
        )
    })?;
    if let Some(file) = &args.junit
        && let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {} for --junit: {e}", dir.display()))?;
    }
    let settings = Settings {
        repo: repo_of(&p),
        state: state.clone(),
        artifacts: artifacts.clone(),
        accel,
        k3s_binary: args.boot.k3s_binary()?,
        backend: args.backend,
        timeouts: timeouts(&args.timeouts).map_err(Failure::usage)?,
    };
    let mut printer = Batch::new(Style::from_env(
        std::io::stdout().is_terminal(),
        display_path(&p.root.join(crate::profile::NETWORK_DIR))
            .display()
            .to_string(),
    ));
    for t in &tests {
        if let Some(last) = history::previous(&history::load(&state, &t.name), args.backend.name())
        {
            printer.previous.insert(t.name.clone(), last);
        }
    }
    crate::outln!(
        "n3x test: {} test(s) on {}: {}; artifacts in {}",
        tests.len(),
        args.backend,
        tests
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        artifacts.display()
    );
    // The suite's timestamp in JUnit is when it started.
    let suite_started = crate::build::state::utc(SystemTime::now());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let p = Arc::new(p);
    let keep = args.keep_on_failure;
    let (results, signalled) = rt.block_on(async move {
        let supervisor =
            Supervisor::new().map_err(|e| format!("cannot start the supervisor: {e}"))?;
        let (tx, mut rx) = crate::stream::channel(crate::stream::CAPACITY);
        let print = tokio::spawn(async move {
            let mut stdout = crate::cli::pipe::Stdout;
            while let Some(update) = rx.recv().await {
                printer.update(update, &mut stdout);
            }
        });
        let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
        let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        let mut results = Vec::new();
        let mut signalled = None;
        let mut running: Option<runner::Running> = None;
        for (i, t) in tests.iter().enumerate() {
            let reuse = running.take();
            let step = runner::run(
                Arc::clone(&p),
                t,
                &settings,
                supervisor.clone(),
                tx.clone(),
                reuse,
            );
            let (result, after) = tokio::select! {
                r = step => r,
                _ = sigint.recv() => { signalled = Some(130); break; }
                _ = sigterm.recv() => { signalled = Some(143); break; }
            };
            let failed = result.verdict != Verdict::Passed;
            results.push(result);
            let Some(after) = after else {
                if failed && keep {
                    break;
                }
                continue;
            };
            if failed && keep {
                tx.send(crate::scenario::TestUpdate::Kept {
                    test: t.name.clone(),
                    profile: t.profile.clone(),
                    nodes: after
                        .owner
                        .cluster()
                        .plan
                        .nodes
                        .iter()
                        .map(|n| n.name.clone())
                        .collect(),
                });
                // Hold the VMs until the user is done with them (Ctrl-C, or SIGTERM from
                // `n3x cluster down`); the exit code still says that the test failed.
                tokio::select! {
                    _ = sigint.recv() => {}
                    _ = sigterm.recv() => {}
                }
                crate::outln!("n3x test: tearing the kept cluster down");
                after.owner.down().await;
                break;
            }
            match tests.get(i + 1) {
                Some(next) if !failed && runner::reusable(t, next) => running = Some(after),
                _ => after.owner.down().await,
            }
        }
        if let Some(left) = running {
            left.owner.down().await;
        }
        drop(tx);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), print).await;
        Ok::<_, String>((results, signalled))
    })?;
    let document = junit::document_with(
        &results,
        Some(args.backend.name()),
        &hostname(),
        &suite_started,
        &properties,
    );
    let write = |file: &std::path::Path| {
        crate::render::output::write_file_atomic(file, &document)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))
    };
    write(&artifacts.join("junit.xml"))?;
    if let Some(file) = &args.junit {
        write(file)?;
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        use std::io::Write as _;
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut f| f.write_all(crate::cli::github::step_summary(&results).as_bytes()));
        if let Err(e) = appended {
            eprintln!(
                "n3x test: cannot append to $GITHUB_STEP_SUMMARY ({}): {e}",
                std::path::Path::new(&summary).display()
            );
        }
    }
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(artifacts.join("report.json"), json + "\n")
        .map_err(|e| format!("cannot write the report: {e}"))?;
    crate::out!("\n{}", batch::summary(&results));
    crate::outln!(
        "n3x test: JUnit in {}; console logs, k3s journals and reports in {}",
        args.junit
            .as_ref()
            .unwrap_or(&artifacts.join("junit.xml"))
            .display(),
        artifacts.display()
    );
    if let Some(code) = signalled {
        crate::outln!("n3x test: interrupted; every VM and switch of the running test is stopped");
        return Ok(ExitCode::from(code));
    }
    Ok(ExitCode::from(exit_code(&results)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readiness::Stage;

    #[test]
    fn timeouts_take_stage_equals_seconds_and_refuse_anything_else() {
        let t = timeouts(&["registered=90".into(), "cluster=30".into()]).unwrap();
        assert_eq!(t.of(Stage::Registered), std::time::Duration::from_secs(90));
        assert_eq!(t.cluster, std::time::Duration::from_secs(30));
        assert_eq!(
            t.of(Stage::Network),
            crate::readiness::Timeouts::default().of(Stage::Network)
        );
        for bad in [
            "registered",
            "registerd=9",
            "ready=0",
            "ready=-1",
            "ready=1.5",
        ] {
            let e = timeouts(&[bad.into()]).unwrap_err();
            assert!(e.contains("k3s-service") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn only_bond_failover_runs_on_the_cluster_of_cluster_bonding_vlans() {
        let p = Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
            .unwrap();
        let c = catalog::catalog(&p);
        let t = |n| catalog::find(&c, n).unwrap();
        assert!(runner::reusable(
            t("cluster-bonding-vlans"),
            t("bond-failover")
        ));
        assert!(!runner::reusable(
            t("bond-failover"),
            t("cluster-bonding-vlans")
        ));
        assert!(!runner::reusable(t("cluster-vlans"), t("bond-failover")));
        assert!(!runner::reusable(
            t("network-bonding-vlans"),
            t("bond-failover")
        ));
        let names = |ts: Vec<TestDef>| ts.into_iter().map(|t| t.name).collect::<Vec<_>>();
        let order = catalog::run_order(
            [
                "cluster-bonding-vlans",
                "cluster-dhcp-simple",
                "bond-failover",
                "vlan-negative",
            ]
            .map(|n| t(n).clone())
            .to_vec(),
        );
        assert_eq!(
            names(order),
            [
                "cluster-bonding-vlans",
                "bond-failover",
                "cluster-dhcp-simple",
                "vlan-negative"
            ]
        );
        let whole = names(catalog::run_order(c.clone()));
        let at = |n: &str| whole.iter().position(|x| x == n).unwrap();
        assert_eq!(at("bond-failover"), at("cluster-bonding-vlans") + 1);
        assert_eq!(whole.len(), c.len());
    }
}

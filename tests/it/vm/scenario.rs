//! `n3x test`: the catalog on the command line, usage errors, JUnit that validates against the
//! JUnit schema (Jenkins' junit-10.xsd, with xmllint), and — with root, QEMU, vde2 and
//! mmdebstrap — the catalog's tests on real clusters under TCG with the k3s stand-in: the
//! parity tests, bond-failover and vlan-negative pass; a broken profile fails the right test
//! at the right stage; vlan-negative fails when a joiner does reach server-1.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use assert_cmd::prelude::*;
use common::repo;
use n3x::scenario::junit;
use n3x::scenario::result::{
    Check, Failure, NodeTimeline, Signature, StageTime, TestResult, Verdict,
};
use predicates::prelude::*;

fn n3x() -> Command {
    let mut cmd = Command::cargo_bin("n3x").unwrap();
    cmd.current_dir(repo())
        .env_remove("N3X_PROFILES")
        .env_remove("GITHUB_ACTIONS")
        .env("N3X_STATE_DIR", common::vm_state_dir());
    cmd
}

#[test]
fn list_shows_every_test_per_backend_and_what_the_image_backends_lack() {
    let out = n3x().args(["test", "--list"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for name in [
        "cluster-simple",
        "cluster-vlans",
        "cluster-bonding-vlans",
        "cluster-dhcp-simple",
        "bond-failover",
        "vlan-negative",
        "network-simple",
        "network-vlans-broken",
    ] {
        let quick = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")) && l.contains(" quick "))
            .unwrap_or_else(|| panic!("no quick row for {name}:\n{text}"));
        assert!(quick.contains("available"), "{quick}");
    }
    let isar = text
        .lines()
        .find(|l| l.starts_with("cluster-vlans ") && l.contains(" isar "))
        .unwrap();
    assert!(
        isar.contains("unavailable")
            && isar.contains("n3x build --backend isar --variant server-vlans-server-1"),
        "{isar}"
    );
    assert!(text.contains("unavailable: the cluster engine boots only quick images"));
}

#[test]
fn an_unknown_test_is_a_usage_error_that_lists_the_catalog() {
    n3x()
        .args(["test", "cluster-simpel"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no test called `cluster-simpel`")
                .and(predicate::str::contains("cluster-simple, cluster-vlans"))
                .and(predicate::str::contains("vlan-negative")),
        );
}

#[test]
fn usage_errors_exit_2() {
    let cases: [(&[&str], &str); 5] = [
        // A backend n3x cannot boot says what would make the images.
        (
            &["cluster-vlans", "--backend", "nixos"],
            "n3x build --backend nixos --variant server-vlans-server-1",
        ),
        (&["--list", "cluster-vlans"], "cannot be used with"),
        (
            &["--backend", "docker"],
            "possible values: isar, nixos, quick",
        ),
        (
            &["cluster-simple", "--timeout", "ready"],
            "--timeout ready: expected STAGE=SECONDS",
        ),
        (
            &["cluster-simple", "--accel", "hvf"],
            "unknown accelerator `hvf`",
        ),
    ];
    for (args, says) in cases {
        n3x()
            .arg("test")
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    // --batch never opens the workbench; without a command it says what to run.
    n3x()
        .arg("--batch")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "n3x test --batch --junit report.xml",
        ));
}

fn xmllint() -> bool {
    common::tool_available("xmllint", "libxml2-utils")
}

/// Validates `xml` against the JUnit schema: Ok, or xmllint's complaint.
fn validate(xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    std::fs::write(&file, xml).unwrap();
    validate_file(&file)
}

fn validate_file(file: &Path) -> Result<(), String> {
    common::validate_junit(file)
}

fn stage(stage: &str, outcome: &str, at: u64, took: u64) -> StageTime {
    StageTime {
        stage: stage.into(),
        outcome: outcome.into(),
        at: Duration::from_millis(at),
        elapsed: Duration::from_millis(took),
        detail: "eth1.200=192.168.200.2/24 (as rendered) & <more>".into(),
    }
}

fn sample() -> Vec<TestResult> {
    let timeline = vec![NodeTimeline {
        node: "server-2".into(),
        stages: vec![
            stage("qemu", "passed", 0, 120),
            stage("network", "passed", 120, 9_000),
            stage("k3s-service", "failed", 9_120, 120_000),
        ],
        standin: true,
    }];
    let passed = TestResult {
        name: "cluster-simple".into(),
        backend: "quick".into(),
        profile: "simple".into(),
        verdict: Verdict::Passed,
        failure: None,
        duration: Duration::from_millis(61_234),
        setup: Duration::from_secs(2),
        timeline: timeline.clone(),
        checks: vec![Check {
            name: "every node still Ready".into(),
            passed: true,
            detail: "server-1 sees them".into(),
        }],
        started: "2026-12-01T19:00:00Z".into(),
    };
    let failed = TestResult {
        name: "cluster-vlans".into(),
        profile: "vlans".into(),
        verdict: Verdict::Failed,
        failure: Some(Failure {
            node: "server-2".into(),
            stage: "k3s-service".into(),
            hint: "the joiner's token is not the server's \"token\" <fix: the same token>".into(),
            signatures: vec![Signature {
                node: "server-2".into(),
                id: "stale-bootstrap-token".into(),
                title: "bootstrap data encrypted with a different token".into(),
                explanation: "the datastore was initialised with another token".into(),
                fix: "wipe /var/lib/rancher/k3s/server/{db,tls,cred}".into(),
                line: "panic: bootstrap data already found and encrypted with different token"
                    .into(),
                source: "k3s journal".into(),
            }],
            console_tail: vec![
                "[  OK  ] Started k3s-server.service".into(),
                "\u{1b}[0mescape \u{7} & <tags> ]]> end".into(),
            ],
            console_log: Some(("/state/clusters/vlans/server-2.console.log".into(), 412)),
        }),
        ..passed.clone()
    };
    let error = TestResult {
        name: "cluster-dhcp-simple".into(),
        profile: "dhcp-simple".into(),
        verdict: Verdict::Error,
        failure: Some(Failure {
            node: "setup".into(),
            stage: "cluster up".into(),
            hint: "qemu-system-x86_64 is not installed".into(),
            signatures: vec![],
            console_tail: vec![],
            console_log: None,
        }),
        timeline: vec![],
        ..passed.clone()
    };
    vec![passed, failed, error]
}

#[test]
fn junit_validates_against_the_schema_and_failures_carry_node_stage_hint_signature_and_tail() {
    let xml = junit::document(&sample(), "ci-host", "2026-12-01T19:05:00");
    assert!(xml.contains("<testsuites name=\"n3x test\" tests=\"3\" failures=\"1\" errors=\"1\""));
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert!(
        xml.contains("<failure type=\"k3s-service\" message=\"server-2 stopped at k3s-service: the joiner's token is not the server's &quot;token&quot; &lt;fix"),
        "{xml}"
    );
    for part in [
        "node: server-2",
        "stage: k3s-service",
        "signature: bootstrap data encrypted with a different token (stale-bootstrap-token)",
        "console tail of server-2:",
        "&lt;tags&gt; ]]&gt; end",
        "console log: /state/clusters/vlans/server-2.console.log (line 412)",
        "<error type=\"cluster up\"",
    ] {
        assert!(xml.contains(part), "no `{part}` in\n{xml}");
    }
    if !xmllint() {
        return;
    }
    validate(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    // The validator is real: a testcase without its required name is refused.
    let broken = xml.replacen("<testcase name=\"cluster-simple\"", "<testcase", 1);
    assert!(
        validate(&broken).is_err(),
        "xmllint accepted a testcase without a name"
    );
}

#[test]
fn junit_of_no_tests_is_still_valid() {
    let xml = junit::document(&[], "ci-host", "2026-12-01T19:05:00");
    assert!(xml.contains("tests=\"0\""));
    // An empty sum of floats is -0.0, which the schema's time pattern refuses.
    assert!(xml.contains("time=\"0.000\""), "{xml}");
    if xmllint() {
        validate(&xml).unwrap();
    }
}

// ---- The Tests view ----

mod view {
    use std::sync::Arc;
    use std::time::Duration;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use n3x::cluster::engine::ClusterUpdate;
    use n3x::readiness::{Outcome, ReadinessUpdate, Stage, StageEvent};
    use n3x::scenario::TestUpdate;
    use n3x::scenario::result::{Failure, TestResult, Verdict};
    use n3x::session::SessionUpdate;
    use n3x::supervise::{Spec, Supervisor};
    use n3x::tui::app::{App, Request, View};
    use n3x::tui::msg::Msg;
    use n3x::tui::theme::Theme;
    use n3x::tui::ui;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn press(a: &mut App, c: char) -> n3x::tui::app::Update {
        a.handle(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    fn screen(a: &mut App) -> String {
        let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
        t.draw(|f| ui::draw(f, a)).unwrap();
        let b = t.backend().buffer();
        (0..b.area.height)
            .map(|y| {
                (0..b.area.width)
                    .map(|x| b[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn stage(node: &str, stage: Stage, outcome: Outcome, at: u64, took: u64) -> Msg {
        Msg::Test(TestUpdate::Session {
            test: "cluster-vlans".into(),
            update: SessionUpdate::Readiness(ReadinessUpdate::Stage(StageEvent {
                node: node.into(),
                stage,
                outcome,
                at: Duration::from_secs(at + took),
                elapsed: Duration::from_secs(took),
                detail: String::new(),
            })),
        })
    }

    #[tokio::test]
    async fn stages_show_live_the_failure_after_and_c_scrolls_the_console_back_to_it() {
        let p = Arc::new(super::common::shipped());
        let mut a = App::new(Arc::clone(&p), Theme::dark());
        press(&mut a, '4');
        assert_eq!(a.view, View::Tests);
        press(&mut a, 'j');
        let text = screen(&mut a);
        assert!(text.contains("▶ cluster-vlans"), "{text}");
        assert!(text.contains("never run"), "{text}");

        // A node whose console printed 100 lines; the test stops at line 60.
        let dir = tempfile::tempdir().unwrap();
        let supervisor = Supervisor::new()
            .unwrap()
            .with_wrapper(env!("CARGO_BIN_EXE_n3x"));
        let log = dir.path().join("agent-1.console.log");
        let mut spec = Spec::new(["seq", "1", "100"], &log);
        spec.size = (10, 40);
        let child = supervisor.spawn(spec).unwrap();
        child.wait().await;

        a.handle(Msg::Test(TestUpdate::Started {
            test: "cluster-vlans".into(),
            backend: "quick".into(),
            profile: "vlans".into(),
            nodes: vec!["server-1".into(), "agent-1".into()],
        }));
        a.handle(Msg::Test(TestUpdate::Session {
            test: "cluster-vlans".into(),
            update: SessionUpdate::Cluster(ClusterUpdate::Console {
                node: "agent-1".into(),
                child: child.clone(),
            }),
        }));
        // The engine passes each console line on as the node prints it.
        for i in 1..=100 {
            a.handle(Msg::Test(TestUpdate::Session {
                test: "cluster-vlans".into(),
                update: SessionUpdate::Cluster(ClusterUpdate::Line {
                    node: "agent-1".into(),
                    text: i.to_string(),
                }),
            }));
        }
        a.handle(stage("server-1", Stage::QemuStarted, Outcome::Passed, 0, 1));
        a.handle(stage("server-1", Stage::Network, Outcome::Passed, 1, 20));
        a.handle(stage("agent-1", Stage::Network, Outcome::Passed, 1, 25));
        a.handle(stage("agent-1", Stage::K3sService, Outcome::Running, 26, 4));
        let text = screen(&mut a);
        assert!(text.contains("running"), "{text}");
        assert!(text.contains("Boot to Ready (0 … 30.0s)"), "{text}");
        let lane = text
            .lines()
            .find(|l| l.contains("agent-1      |"))
            .unwrap_or_else(|| panic!("no lane for agent-1:\n{text}"));
        assert!(lane.contains("nnn") && lane.contains('s'), "{lane}");
        // The Cluster view shows the test's nodes meanwhile.
        assert_eq!(a.cluster.nodes.len(), 1);
        assert_eq!(
            press(&mut a, 'R').request,
            None,
            "one test at a time: R does nothing while one runs"
        );

        let result = TestResult {
            name: "cluster-vlans".into(),
            backend: "quick".into(),
            profile: "vlans".into(),
            verdict: Verdict::Failed,
            failure: Some(Failure {
                node: "agent-1".into(),
                stage: "registered".into(),
                hint: "agent-1 never registered: no route to 192.168.200.1".into(),
                signatures: vec![],
                console_tail: vec!["100".into()],
                console_log: Some((log.display().to_string(), 60)),
            }),
            duration: Duration::from_secs(90),
            setup: Duration::from_secs(1),
            timeline: vec![],
            checks: vec![],
            started: "2026-12-01T19:00:00Z".into(),
        };
        a.handle(Msg::Test(TestUpdate::Finished(Box::new(result))));
        let text = screen(&mut a);
        assert!(text.contains("cluster-vlans           FAILED"), "{text}");
        assert!(text.contains("agent-1 stopped at registered"), "{text}");
        assert!(text.contains("hint: agent-1 never registered"), "{text}");

        // c: the Cluster view, agent-1 selected, its console 40 lines back: line 60 is on it.
        press(&mut a, 'c');
        assert_eq!(a.view, View::Cluster);
        assert_eq!(a.cluster.selected().unwrap().name, "agent-1");
        let text = screen(&mut a);
        let console: Vec<&str> = text.lines().skip(5).collect();
        assert!(
            console.iter().any(|l| l.contains("│60"))
                && !console.iter().any(|l| l.contains("│100")),
            "{text}"
        );

        // R asks the runner to run the selected test once nothing runs.
        press(&mut a, '4');
        match press(&mut a, 'R').request {
            Some(Request::Test(def)) => assert_eq!(def.name, "cluster-vlans"),
            other => panic!("R asked for {other:?}"),
        }
    }
}

// ---- Real clusters (root, QEMU, vde2, mmdebstrap) ----

fn can_boot() -> bool {
    common::can_boot_vms("scenario VM tests") && xmllint()
}

/// A finished `n3x test` run: its exit code, output, JUnit and artifacts.
struct Run {
    code: i32,
    out: String,
    junit: String,
    artifacts: tempfile::TempDir,
}

impl Run {
    fn results(&self) -> Vec<TestResult> {
        let text = std::fs::read_to_string(self.artifacts.path().join("report.json"))
            .unwrap_or_else(|e| panic!("no report.json ({e}):\n{}", self.out));
        serde_json::from_str(&text).unwrap()
    }
}

/// `n3x test --batch` under TCG with the k3s stand-in, with `profiles` (default: the shipped
/// ones) and GitHub Actions annotations on.
fn n3x_test(profiles: Option<&Path>, extra: &[&str], names: &[&str]) -> Run {
    let artifacts = tempfile::tempdir().unwrap();
    let junit = artifacts.path().join("out/report.xml");
    let mut cmd = n3x();
    if let Some(dir) = profiles {
        cmd.arg("--profiles").arg(dir);
    }
    let out: Output = cmd
        .env("GITHUB_ACTIONS", "true")
        .env("NO_COLOR", "1")
        .args(["test", "--batch", "--accel", "tcg", "--k3s-binary"])
        .arg(common::k3s_standin())
        // Under TCG on a 2-core machine shared with builds, a node's networkd may take
        // minutes after its control channel answers; the default gives it one.
        .args(["--timeout", "network=240"])
        .arg("--junit")
        .arg(&junit)
        .arg("--artifacts")
        .arg(artifacts.path())
        .args(extra)
        .args(names)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let junit =
        std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("no JUnit ({e}):\n{text}"));
    validate(&junit).unwrap_or_else(|e| panic!("the JUnit does not validate: {e}\n{junit}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        out: text,
        junit,
        artifacts,
    }
}

/// A copy of the shipped profiles with `edit` applied to one network profile's text.
fn profiles_with(dir: &Path, profile: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let root = dir.join("profiles");
    common::copy_tree(&repo().join("profiles"), &root);
    let file = root.join(format!("network/{profile}.yaml"));
    let text = std::fs::read_to_string(&file).unwrap();
    let changed = edit(&text);
    assert_ne!(changed, text, "the edit of {profile} changed nothing");
    std::fs::write(&file, changed).unwrap();
    root
}

#[test]
fn the_parity_tests_bond_failover_and_vlan_negative_pass() {
    if !can_boot() {
        return;
    }
    let _one = common::vm_serial();
    let names = [
        "cluster-simple",
        "cluster-vlans",
        "cluster-bonding-vlans",
        "cluster-dhcp-simple",
        "bond-failover",
        "vlan-negative",
    ];
    let run = n3x_test(None, &[], &names);
    assert_eq!(run.code, 0, "{}", run.out);
    assert!(
        run.junit
            .contains("tests=\"6\" failures=\"0\" errors=\"0\""),
        "{}",
        run.junit
    );
    let results = run.results();
    // bond-failover runs right behind cluster-bonding-vlans, on its cluster.
    assert_eq!(
        results.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        [
            "cluster-simple",
            "cluster-vlans",
            "cluster-bonding-vlans",
            "bond-failover",
            "cluster-dhcp-simple",
            "vlan-negative"
        ]
    );
    for r in &results {
        assert_eq!(r.verdict, Verdict::Passed, "{r:?}");
        // Every node through every stage that applies to it, on the stand-in.
        for node in r.timeline.iter().filter(|n| n.node != "cluster") {
            assert!(
                node.stages
                    .iter()
                    .all(|s| s.outcome == "passed" || s.outcome == "skipped"),
                "{}: {node:?}",
                r.name
            );
        }
        // Cluster tests: every node reaches the others on each network, its NICs in order.
        if r.name.starts_with("cluster-") {
            for node in ["server-1", "server-2", "agent-1"] {
                for check in [
                    format!("{node} reaches the nodes it shares a network with"),
                    format!("{node} has its NICs in plan order"),
                ] {
                    assert!(
                        r.checks.iter().any(|c| c.name == check && c.passed),
                        "{}: no passed {check:?} in {:?}",
                        r.name,
                        r.checks
                    );
                }
            }
        }
        let dir = run.artifacts.path().join(&r.name);
        for node in ["server-1", "server-2", "agent-1"] {
            let console = std::fs::read_to_string(dir.join(format!("{node}.console.log")))
                .unwrap_or_default();
            assert!(!console.is_empty(), "{}: no console log of {node}", r.name);
            let journal = std::fs::read_to_string(dir.join(format!("{node}.k3s-journal.log")))
                .unwrap_or_default();
            assert!(
                journal.contains("level=info"),
                "{}: {node}'s journal: {journal}",
                r.name
            );
        }
        assert!(
            run.out.contains(&format!("::group::{} (quick", r.name)),
            "{}",
            run.out
        );
        assert!(
            run.out.contains(&format!("[{}] PASSED in", r.name)),
            "{}",
            run.out
        );
    }
    // bond-failover runs on the cluster cluster-bonding-vlans brought to Ready.
    assert!(
        run.out
            .contains("[bond-failover] n3x: on the cluster of cluster-bonding-vlans"),
        "{}",
        run.out
    );
    let failover = &results[3];
    let checks: Vec<&str> = failover.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(
        checks.contains(&"the bond fails over")
            && checks.contains(&"the bond returns to its primary")
            && checks.contains(&"every node still Ready"),
        "{checks:?}"
    );
    let negative = &results[5];
    assert!(
        negative
            .checks
            .iter()
            .any(|c| c.name == "server-2 cannot reach server-1" && c.passed),
        "{:?}",
        negative.checks
    );
    assert!(
        negative
            .checks
            .iter()
            .any(|c| c.name == "no joiner registered" && c.passed),
        "{:?}",
        negative.checks
    );
    // The timeline and its history: the next run compares with this one.
    assert!(
        run.out.contains("timeline of cluster-vlans (quick"),
        "{}",
        run.out
    );
    assert!(
        history_of("cluster-vlans")
            .iter()
            .any(|h| h.started == results[1].started)
    );
    assert!(!run.out.contains("::error"), "{}", run.out);
}

fn history_of(test: &str) -> Vec<TestResult> {
    n3x::scenario::history::load(&common::vm_state_dir(), test)
}

/// Broken profiles: a joiner on the wrong VLAN makes cluster-vlans fail at that node's k3s
/// stages with the reason; vlan-negative, whose joiners must stay isolated, fails when one of
/// them is on server-1's VLANs after all (it can reach server-1 and joins); a server URL where
/// no server is fails cluster-simple at a joiner's k3s stage with the unreachable-server
/// signature. (A wrong agent token, which fails agent-1 at k3s-service with its signature:
/// `tests/it/vm/readiness.rs`, which also checks what the server logged.)
#[test]
fn broken_profiles_fail_the_right_test_at_the_right_node_and_stage() {
    if !can_boot() {
        return;
    }
    let _one = common::vm_serial();
    let dir = tempfile::tempdir().unwrap();
    let root = profiles_with(dir.path(), "vlans", |t| {
        t.replace(
            "agent-1: { addresses: { cluster: 192.168.200.3, storage: 192.168.100.3 } }",
            "agent-1:\n    addresses: { cluster: 192.168.200.3, storage: 192.168.100.3 }\n    vlans: { cluster: 222 }",
        )
    });
    let broken = root.join("network/vlans-broken.yaml");
    let text = std::fs::read_to_string(&broken).unwrap();
    let leaky = text.replace("    vlans: { cluster: 201, storage: 101 }\n", "");
    assert_ne!(leaky, text);
    std::fs::write(&broken, leaky).unwrap();

    // agent-1 cannot register: 90 s is ample here for a node that can (it takes seconds).
    let run = n3x_test(
        Some(&root),
        &["--timeout", "registered=90"],
        &["cluster-vlans", "vlan-negative"],
    );
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(
        run.junit.contains("tests=\"2\" failures=\"2\""),
        "{}",
        run.junit
    );
    let results = run.results();

    let vlans = &results[0];
    assert_eq!(vlans.verdict, Verdict::Failed);
    let f = vlans.failure.as_ref().unwrap();
    assert_eq!(f.node, "agent-1", "{f:?}");
    assert!(
        ["k3s-service", "registered", "ready"].contains(&f.stage.as_str()),
        "{f:?}"
    );
    assert!(!f.console_tail.is_empty(), "{f:?}");
    assert!(
        run.junit.contains("message=\"agent-1 stopped at"),
        "{}",
        run.junit
    );
    assert!(
        run.out.contains("::error file=")
            && run
                .out
                .contains("network/vlans.yaml,title=cluster-vlans (quick)%3A agent-1 at"),
        "{}",
        run.out
    );

    let negative = &results[1];
    assert_eq!(negative.verdict, Verdict::Failed);
    let f = negative.failure.as_ref().unwrap();
    assert_eq!(
        (f.node.as_str(), f.stage.as_str()),
        ("server-2", "check: server-2 cannot reach server-1"),
        "{f:?}"
    );
    assert!(f.hint.contains("traffic crosses VLANs"), "{f:?}");
    assert!(
        negative
            .checks
            .iter()
            .any(|c| c.name == "no joiner registered"
                && !c.passed
                && c.detail.contains("server-2 joined server-1")),
        "{:?}",
        negative.checks
    );
    // agent-1 stays on its own VLAN and is still isolated.
    assert!(
        negative
            .checks
            .iter()
            .any(|c| c.name == "agent-1 cannot reach server-1" && c.passed),
        "{:?}",
        negative.checks
    );

    // A wrong server URL: the profile makes agent-2 — a node the test does not boot — the
    // init server, so every booted node joins https://192.168.1.4:6443, where nothing is.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("profiles");
    common::copy_tree(&repo().join("profiles"), &root);
    let cluster = root.join("cluster.yaml");
    let text = std::fs::read_to_string(&cluster).unwrap();
    let moved = text
        .replace(
            "  - name: server-1\n    role: server\n    init: true\n",
            "  - name: server-1\n    role: server\n",
        )
        .replace(
            "  - name: agent-2\n    role: agent\n",
            "  - name: agent-2\n    role: server\n    init: true\n",
        );
    assert_ne!(moved, text);
    std::fs::write(&cluster, moved).unwrap();
    let run = n3x_test(
        Some(&root),
        &["--timeout", "k3s-service=60", "--timeout", "registered=60"],
        &["cluster-simple"],
    );
    assert_eq!(run.code, 1, "{}", run.out);
    let results = run.results();
    let f = results[0].failure.as_ref().unwrap();
    assert!(
        ["server-1", "server-2", "agent-1"].contains(&f.node.as_str())
            && ["k3s-service", "registered"].contains(&f.stage.as_str()),
        "{f:?}"
    );
    assert!(
        f.signatures.iter().any(|s| s.id == "server-unreachable"),
        "{f:?}"
    );
    assert!(
        run.junit.contains("(server-unreachable)") && run.junit.contains("192.168.1.4"),
        "{}",
        run.junit
    );
}

//! Readiness on real clusters with the k3s stand-in (`tests/fixtures/k3s-standin`, a test
//! fixture, not k3s): the quick image gets it as `/usr/local/bin/k3s` through `--k3s-binary`,
//! and the probes are the ones real k3s gets.
//!
//! `simple` where the servers want an agent token agent-1 lacks: agent-1 fails at
//! `k3s-service` with the wrong-token signature and its fix, server-1 passes and shows that it
//! refused a token, and the cluster stage fails naming agent-1; the same events go out on the
//! update channel. (Every stage passing on a good cluster: `tests/it/vm/cluster.rs`, the detached
//! cluster; the same through `n3x test`: `tests/it/vm/scenario.rs`.)
//!
//! They need root, QEMU, vde2 and mmdebstrap (CI: `N3X_REQUIRE_TOOLS`); run them under the
//! machine's VM lock: `flock /work/.heavy.lock cargo test --test it vm::readiness`.

use crate::common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::repo;
use n3x::cluster::engine::{self, Options};
use n3x::readiness::{Outcome, ReadinessUpdate, Stage};
use n3x::session::{Owner, SessionUpdate};

/// One cluster at a time: the machine has two cores.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    common::vm_serial()
}

fn state_dir() -> PathBuf {
    common::vm_state_dir()
}

fn can_run() -> bool {
    common::can_boot_vms("readiness tests")
}

/// The shipped profiles where the servers require a separate agent token
/// (`agent-token-file`, here the init server's `/etc/machine-id`), which agent-1 does not
/// have: it presents the cluster token, as an agent does that was given the wrong one. Real
/// k3s refuses it the same way (user `node` with another password).
fn profiles_where_agent_1_has_the_wrong_token() -> (tempfile::TempDir, n3x::profile::Profiles) {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles");
    common::copy_tree(&repo().join("profiles"), &profiles);
    let cluster = profiles.join("cluster.yaml");
    let text = std::fs::read_to_string(&cluster).unwrap();
    let server_extra = "      etcd-arg: [heartbeat-interval=500, election-timeout=5000]\n";
    assert!(text.contains(server_extra));
    let text = text.replace(
        server_extra,
        &format!("{server_extra}      agent-token-file: /etc/machine-id\n"),
    );
    std::fs::write(&cluster, text).unwrap();
    let p = n3x::profile::Profiles::load(&profiles).unwrap();
    (dir, p)
}

#[test]
fn a_wrong_token_on_one_agent_fails_it_at_k3s_service_with_the_signature() {
    if !can_run() {
        return;
    }
    let _one = serial();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(wrong_token_on_agent_1());
}

async fn wrong_token_on_agent_1() {
    let (_dir, p) = profiles_where_agent_1_has_the_wrong_token();
    let p = Arc::new(p);
    let supervisor = n3x::supervise::Supervisor::new()
        .unwrap()
        .with_wrapper(env!("CARGO_BIN_EXE_n3x"));
    let (tx, mut rx) = n3x::stream::channel(n3x::stream::CAPACITY);
    let collected = tokio::spawn(async move {
        let mut hits = Vec::new();
        let mut stages = Vec::new();
        while let Some(u) = rx.recv().await {
            match u {
                SessionUpdate::Readiness(ReadinessUpdate::Signature(hit)) => hits.push(hit),
                SessionUpdate::Readiness(ReadinessUpdate::Stage(event)) => stages.push(event),
                SessionUpdate::Stopped => break,
                _ => {}
            }
        }
        (hits, stages)
    });
    let options = Options {
        profile: "simple".into(),
        nodes: Some(vec!["server-1".into(), "agent-1".into()]),
        accel: Some("tcg".parse().unwrap()),
        k3s_binary: Some(common::k3s_standin()),
        repo: repo(),
        state: state_dir(),
        backend: engine::ImageBackend::Quick,
    };
    let owner = Owner::boot(Arc::clone(&p), options, supervisor, tx)
        .await
        .expect("the cluster starts");
    let expect = owner.expectations();
    assert_eq!(expect.ready_count, 2);
    let report = tokio::time::timeout(Duration::from_secs(1500), owner.readiness(expect)).await;
    owner.down().await;
    let report = report.expect("readiness ends on its own stage timeouts");
    let (hits, stages) = collected.await.unwrap();

    let summary = report.summary();
    let agent = report.node("agent-1").unwrap();
    let failed = agent.first_problem().unwrap_or_else(|| panic!("{summary}"));
    assert_eq!(failed.stage, Stage::K3sService, "{summary}");
    let Outcome::Failed { hint } = &failed.outcome else {
        unreachable!()
    };
    assert!(hint.contains("token"), "{hint}");
    assert!(
        hint.contains("fix: Give every node the same token"),
        "{hint}"
    );
    assert!(agent.standin);
    let wrong = agent
        .signatures
        .iter()
        .find(|h| h.id == "wrong-token-agent")
        .unwrap_or_else(|| panic!("{summary}\n{:?}", agent.signatures));
    assert_eq!(wrong.source, "k3s journal");
    assert!(
        wrong.line.contains("v1-k3s/config: 401 Unauthorized"),
        "{}",
        wrong.line
    );
    // The stages before it passed; the ones after it never started.
    for s in [
        Stage::QemuStarted,
        Stage::KernelBooting,
        Stage::Userspace,
        Stage::Network,
    ] {
        assert_eq!(
            agent.stages[s as usize].outcome,
            Outcome::Passed,
            "{summary}"
        );
    }
    assert_eq!(
        agent.stages[Stage::NodeReady as usize].outcome,
        Outcome::Waiting
    );

    // server-1 is fine, and says it refused a token from agent-1's address.
    let server = report.node("server-1").unwrap();
    assert!(server.first_problem().is_none(), "{summary}");
    assert_eq!(
        server.stages[Stage::NodeReady as usize].outcome,
        Outcome::Passed
    );
    let refused = server
        .signatures
        .iter()
        .find(|h| h.id == "token-rejected-here")
        .unwrap_or_else(|| panic!("{:?}", server.signatures));
    assert!(refused.line.contains("192.168.1.3"), "{}", refused.line);

    // The cluster stage fails naming the node; the same events went out on the stream.
    let Outcome::Failed { hint } = &report.cluster.outcome else {
        panic!("{summary}")
    };
    assert!(hint.contains("agent-1 (stopped at k3s-service)"), "{hint}");
    assert!(summary.starts_with("readiness: FAILED"), "{summary}");
    assert!(
        hits.iter()
            .any(|h| h.node == "agent-1" && h.id == "wrong-token-agent")
    );
    assert!(stages.iter().any(|e| e.node == "agent-1"
        && e.stage == Stage::K3sService
        && matches!(e.outcome, Outcome::Failed { .. })));
}

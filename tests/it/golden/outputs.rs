//! Golden files: every profile × node output, and each profile's QEMU plan, compared byte for
//! byte with `tests/golden/<profile>/`. Regenerate after an intended change with
//! `N3X_UPDATE_GOLDEN=1 cargo test --test it golden::outputs` and review the diff.

use crate::common;

use n3x::render::{output, render_all, render_profile};

use common::{repo, shipped};

#[test]
fn every_profile_and_node_matches_its_golden_files() {
    let p = shipped();
    let golden = repo().join("tests/golden");
    let update = std::env::var_os("N3X_UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for name in p.networks.keys() {
        let files = render_profile(&p, name).unwrap();
        let dir = golden.join(name);
        if update {
            output::write(&dir, &files, &["."]).unwrap();
            continue;
        }
        for d in output::compare(&dir, &files, &["."]).unwrap() {
            failures.push(match d {
                output::Drift::Changed { diff, .. } => format!("{name}: {diff}"),
                other => format!("{name}: {other:?}"),
            });
        }
    }
    assert!(
        failures.is_empty(),
        "rendered output differs from tests/golden (N3X_UPDATE_GOLDEN=1 to accept):\n{}",
        failures.join("\n")
    );
    let profiles_on_disk = std::fs::read_dir(&golden).unwrap().count();
    assert_eq!(
        profiles_on_disk,
        p.networks.len(),
        "a golden directory has no profile"
    );
}

#[test]
fn rendering_is_deterministic() {
    let a = render_all(&shipped());
    let b = render_all(&shipped());
    assert_eq!(a, b);
    for name in shipped().networks.keys() {
        assert_eq!(
            render_profile(&shipped(), name),
            render_profile(&shipped(), name)
        );
    }
}

#[test]
fn committed_rendered_tree_is_current() {
    let files = render_all(&shipped());
    let drift = output::compare(&repo(), &files, n3x::render::OWNED_DIRS).unwrap();
    assert!(
        drift.is_empty(),
        "kas/ and nixos/ are stale; run `n3x render --all`: {:?}",
        drift.iter().map(|d| d.path()).collect::<Vec<_>>()
    );
}

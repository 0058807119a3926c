//! The pipeline n3x plans, as a user and a CI runner meet it: `n3x ci generate` and
//! `n3x ci --check`, the committed workflows against actionlint and the GitHub-workflow and
//! GitLab-CI schemas, `n3x test --shard` and `n3x test merge-junit` (the merged JUnit against
//! the JUnit schema), and a release dry run: a small sparse disk image with a real partition
//! table and ext4 file systems, released to `.wic.zst` + `.wic.bmap`, written back by
//! `bmaptool copy` and compared in every mapped range.
//!
//! The external tools (actionlint and check-jsonschema from PyPI, installed by
//! scripts/test.sh into `$N3X_CI_LINT_DIR`; xmllint, zstd, bmaptool, sfdisk, mkfs.ext4 from
//! Debian) must be there under CI (`CI` or `N3X_REQUIRE_TOOLS`); elsewhere a test without them
//! is skipped with a notice.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

use common::{copy_tree, repo, shipped};
use n3x::scenario::catalog::run_order;
use n3x::scenario::result::{Failure, TestResult, Verdict};
use n3x::scenario::{catalog, junit, shard};

const WORKFLOWS: [&str; 3] = [
    ".github/workflows/ci.yml",
    ".github/workflows/release.yml",
    ".gitlab-ci.yml",
];

fn n3x_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("n3x").unwrap();
    cmd.current_dir(dir)
        .env_remove("N3X_PROFILES")
        .env_remove("N3X_RELEASE_TAG")
        .env_remove("GITHUB_ACTIONS");
    cmd
}

/// A scratch repository: the shipped profiles and the committed workflows.
fn scratch_repo() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("profiles"), &dir.path().join("profiles"));
    for f in WORKFLOWS {
        let to = dir.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(f), to).unwrap();
    }
    dir
}

fn required() -> bool {
    std::env::var_os("N3X_REQUIRE_TOOLS").is_some() || std::env::var_os("CI").is_some()
}

#[test]
fn ci_check_passes_on_the_committed_workflows_and_shows_a_diff_when_one_is_stale() {
    n3x_in(&repo())
        .args(["ci", "--check"])
        .assert()
        .success()
        .stdout("all 3 workflow files are up to date\n");
    let dir = scratch_repo();
    let ci = dir.path().join(WORKFLOWS[0]);
    let text = std::fs::read_to_string(&ci).unwrap();
    std::fs::write(
        &ci,
        text.replace("timeout-minutes: 90", "timeout-minutes: 5"),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join(WORKFLOWS[2])).unwrap();
    n3x_in(dir.path())
        .args(["ci", "--check", "--batch"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "-    timeout-minutes: 5\n+    timeout-minutes: 90",
        ))
        .stdout(predicate::str::contains("missing: .gitlab-ci.yml"))
        .stdout(predicate::str::contains(
            "2 workflow files are out of date\n  fix: run `n3x ci generate` and commit the result",
        ));
    n3x_in(dir.path())
        .args(["ci", "generate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 written, 1 unchanged"));
    for f in WORKFLOWS {
        assert_eq!(
            std::fs::read(dir.path().join(f)).unwrap(),
            std::fs::read(repo().join(f)).unwrap(),
            "{f} is not the committed bytes"
        );
    }
    // A profile change reaches the workflows: a new release version renames the assets.
    let matrix = dir.path().join("profiles/matrix.yaml");
    let m = std::fs::read_to_string(&matrix).unwrap();
    std::fs::write(&matrix, m.replace("version: 0.0.2", "version: 0.0.3")).unwrap();
    n3x_in(dir.path())
        .args(["ci", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "+        - name: n3x-base-qemuamd64-0.0.3.wic.zst",
        ));
    n3x_in(dir.path())
        .arg("ci")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`n3x ci generate`"));
}

/// A validator installed by scripts/test.sh (`$N3X_CI_LINT_DIR/bin`) or on PATH, with the
/// environment its Python needs; `None` (a skip) only where the tools are not required.
fn validator(program: &str) -> Option<Process> {
    let dir = std::env::var_os("N3X_CI_LINT_DIR").map(PathBuf::from);
    let local = dir.as_ref().map(|d| d.join("bin").join(program));
    let mut cmd = match &local {
        Some(p) if p.is_file() => Process::new(p),
        _ if n3x::build::tools::installed(program) => Process::new(program),
        _ => {
            assert!(
                !required(),
                "{program} is missing: scripts/test.sh installs it (PyPI) into $N3X_CI_LINT_DIR"
            );
            eprintln!("skipping: {program} not installed (run scripts/test.sh once)");
            return None;
        }
    };
    if let Some(d) = &dir {
        cmd.env("PYTHONPATH", d);
    }
    cmd.current_dir(repo());
    Some(cmd)
}

fn passes(mut cmd: Process, what: &str) -> Result<(), String> {
    let out = cmd.output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn the_workflows_pass_actionlint_and_the_github_and_gitlab_schemas_and_broken_ones_do_not() {
    let (Some(mut lint), Some(mut gh), Some(mut gl)) = (
        validator("actionlint"),
        validator("check-jsonschema"),
        validator("check-jsonschema"),
    ) else {
        return;
    };
    lint.args(&WORKFLOWS[..2]);
    gh.args(["--builtin-schema", "vendor.github-workflows"])
        .args(&WORKFLOWS[..2]);
    gl.args(["--builtin-schema", "vendor.gitlab-ci", WORKFLOWS[2]]);
    passes(lint, "actionlint").unwrap();
    passes(gh, "check-jsonschema (GitHub workflows)").unwrap();
    passes(gl, "check-jsonschema (GitLab CI)").unwrap();

    // The validators notice what a hand edit could break.
    let dir = tempfile::tempdir().unwrap();
    let ci = std::fs::read_to_string(repo().join(WORKFLOWS[0])).unwrap();
    let broken_gh = dir.path().join("ci.yml");
    std::fs::write(
        &broken_gh,
        ci.replace("needs: [n3x, vm-tests]", "needs: [n3x, vm-test]"),
    )
    .unwrap();
    let mut lint = validator("actionlint").unwrap();
    lint.arg(&broken_gh);
    let e = passes(lint, "actionlint").unwrap_err();
    assert!(e.contains("vm-test"), "{e}");
    let gitlab = std::fs::read_to_string(repo().join(WORKFLOWS[2])).unwrap();
    let broken_gl = dir.path().join("gitlab-ci.yml");
    std::fs::write(
        &broken_gl,
        gitlab.replace("when: always", "when: sometimes"),
    )
    .unwrap();
    let mut gl = validator("check-jsonschema").unwrap();
    gl.args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(&broken_gl);
    let e = passes(gl, "check-jsonschema").unwrap_err();
    assert!(e.contains("'sometimes' is not one of"), "{e}");
}

fn xmllint() -> bool {
    common::tool_available("xmllint", "libxml2-utils")
}

fn validate_junit(file: &Path) {
    if let Err(e) = common::validate_junit(file) {
        panic!("{}: {e}", file.display());
    }
}

fn result(name: &str, profile: &str, failed: bool) -> TestResult {
    TestResult {
        name: name.into(),
        backend: "quick".into(),
        profile: profile.into(),
        verdict: if failed {
            Verdict::Failed
        } else {
            Verdict::Passed
        },
        failure: failed.then(|| Failure {
            node: "agent-1".into(),
            stage: "ready".into(),
            hint: "the node never became \"Ready\" <check the flannel interface> & more".into(),
            signatures: vec![],
            console_tail: vec!["\u{1b}[31mk3s-agent: failed\u{1b}[0m ]]> end".into()],
            console_log: None,
        }),
        duration: Duration::from_millis(42_500),
        setup: Duration::ZERO,
        timeline: vec![],
        checks: vec![],
        started: "2026-12-03T10:00:00Z".into(),
    }
}

#[test]
fn shards_of_the_catalog_merge_into_one_valid_junit_with_every_test_exactly_once() {
    if !xmllint() {
        return;
    }
    let p = shipped();
    let tests = run_order(catalog::catalog(&p));
    let units = shard::units(&tests, &shard::timed(&tests, |_| None));
    let plan = shard::plan(&units, 3);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 1..=3 {
        let spec = shard::ShardSpec { index: i, count: 3 };
        let results: Vec<TestResult> = plan
            .shard(spec)
            .tests
            .iter()
            .map(|n| {
                let t = catalog::find(&tests, n).unwrap();
                result(n, &t.profile, n == "cluster-vlans")
            })
            .collect();
        let xml = junit::document_with(
            &results,
            Some("quick"),
            &format!("runner-{i}"),
            "2026-12-03T10:00:00",
            &shard::properties(&plan, spec),
        );
        let file = dir.path().join(format!("shard-{i}.xml"));
        std::fs::write(&file, xml).unwrap();
        validate_junit(&file);
        files.push(file);
    }
    let merged = dir.path().join("out/junit.xml");
    let summary = dir.path().join("summary.md");
    // One test failed, so the merge exits 1 — after writing the merged report.
    n3x_in(dir.path())
        .args(["test", "merge-junit", "out/junit.xml"])
        .args(&files)
        .arg("--summary")
        .arg(&summary)
        .arg("--batch")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "{} tests from 3 files (all 3 shards of plan {}, every test exactly once): {} passed, 1 failed",
            tests.len(),
            plan.fingerprint,
            tests.len() - 1
        )));
    validate_junit(&merged);
    let text = std::fs::read_to_string(&merged).unwrap();
    let names: Vec<&str> = text
        .match_indices("<testcase name=\"")
        .map(|(i, m)| {
            let rest = &text[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let want: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, want, "every test once, in the catalog's run order");
    // The failed case is carried as its shard wrote it, escapes and all.
    let shard_text: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let failure = text
        .lines()
        .find(|l| l.contains("<failure "))
        .expect("the failure is in the merged report");
    assert!(shard_text.contains(failure), "{failure}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("| cluster-vlans | FAILED | 42.5s |")
    );

    // Without shard 2 the run is incomplete, and nothing is written.
    let partial = dir.path().join("partial.xml");
    let missing: Vec<String> = plan
        .shard(shard::ShardSpec { index: 2, count: 3 })
        .tests
        .clone();
    n3x_in(dir.path())
        .args(["test", "merge-junit"])
        .arg(&partial)
        .args([&files[0], &files[2]])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no JUnit file for shard 2/3"))
        .stderr(predicate::str::contains(format!(
            "{} did not run",
            missing.join(", ")
        )));
    assert!(!partial.exists());
}

#[test]
fn an_empty_shard_writes_a_junit_with_its_plan_and_boots_nothing() {
    if !xmllint() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = n3x_in(&repo())
        .env("N3X_STATE_DIR", dir.path().join("state"))
        .args([
            "test",
            "--batch",
            "--shard",
            "2/2",
            "cluster-simple",
            "--junit",
        ])
        .arg(dir.path().join("shard-2.xml"))
        .arg("--artifacts")
        .arg(dir.path().join("artifacts"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("shard 2/2: 0 of 1 tests"), "{stdout}");
    let junit = dir.path().join("shard-2.xml");
    validate_junit(&junit);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<property name=\"n3x.shard\" value=\"2/2\"/>"),
        "{xml}"
    );
    // Alone it cannot make a complete run: shard 1 had cluster-simple.
    n3x_in(dir.path())
        .args(["test", "merge-junit", "merged.xml"])
        .arg(&junit)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no JUnit file for shard 1/2; cluster-simple did not run",
        ));
    n3x_in(&repo())
        .args(["test", "--shard", "3/2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs I between 1 and 2"));
}

fn tools(programs: &[(&str, &str)]) -> bool {
    programs.iter().all(|(p, pkg)| {
        let found = n3x::build::tools::installed(p)
            || Path::new("/usr/sbin").join(p).is_file()
            || Path::new("/sbin").join(p).is_file();
        if !found {
            assert!(
                !required(),
                "{p} is missing; install the Debian package {pkg}"
            );
            eprintln!("skipping: {p} not installed (apt-get install {pkg})");
        }
        found
    })
}

fn sbin(program: &str) -> Process {
    let path = ["/usr/sbin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(program));
    Process::new(path)
}

fn ok(cmd: &mut Process) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A 64 MiB sparse disk image: a GPT with an EFI-typed and a Linux partition, each an ext4
/// file system with a few files, the rest never written.
fn disk_image(path: &Path, scratch: &Path) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    let mut sfdisk = sbin("sfdisk");
    sfdisk
        .arg("--quiet")
        .arg(path)
        .stdin(std::process::Stdio::piped());
    let mut child = sfdisk.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"label: gpt\nstart=2048, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot\nstart=20480, size=81920, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\n",
        )
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed");
    for (i, (start, sectors)) in [(2048u64, 16384u64), (20480, 81920)].iter().enumerate() {
        let content = scratch.join(format!("fs{i}"));
        std::fs::create_dir_all(content.join("etc")).unwrap();
        std::fs::write(
            content.join("etc/hostname"),
            format!("n3x-release-test-{i}\n"),
        )
        .unwrap();
        std::fs::write(
            content.join("payload"),
            vec![0xA5u8 ^ i as u8; 300_000 + i * 77_777],
        )
        .unwrap();
        ok(sbin("mkfs.ext4")
            .args(["-q", "-F", "-b", "4096", "-E"])
            .arg(format!("offset={}", start * 512))
            .arg("-d")
            .arg(&content)
            .arg(path)
            .arg(format!("{}k", sectors / 2)));
    }
}

/// The mapped ranges of a bmap file as (first block, last block), and the block size.
fn mapped_ranges(bmap: &str) -> (u64, Vec<(u64, u64)>) {
    let tag = |name: &str| -> u64 {
        let open = format!("<{name}>");
        let at = bmap.find(&open).unwrap() + open.len();
        bmap[at..bmap[at..].find('<').unwrap() + at]
            .trim()
            .parse()
            .unwrap()
    };
    let block = tag("BlockSize");
    let ranges = bmap
        .match_indices("<Range")
        .map(|(i, _)| {
            let body = &bmap[i..];
            let text = &body[body.find('>').unwrap() + 1..body.find("</Range>").unwrap()];
            let text = text.trim();
            match text.split_once('-') {
                Some((a, b)) => (a.trim().parse().unwrap(), b.trim().parse().unwrap()),
                None => {
                    let a: u64 = text.parse().unwrap();
                    (a, a)
                }
            }
        })
        .collect();
    (block, ranges)
}

#[test]
fn a_release_dry_run_makes_assets_that_decompress_and_bmaptool_copy_writes_back() {
    if !tools(&[
        ("zstd", "zstd"),
        ("bmaptool", "bmap-tools"),
        ("sfdisk", "fdisk"),
        ("mkfs.ext4", "e2fsprogs"),
        ("sha256sum", "coreutils"),
    ]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let artifacts = state.join("artifacts/isar");
    std::fs::create_dir_all(&artifacts).unwrap();
    let image = artifacts.join("isar-base-qemuamd64.wic");
    disk_image(&image, dir.path());
    let original = std::fs::read(&image).unwrap();
    let dist = dir.path().join("dist");
    let release = |extra: &[&str]| {
        let mut cmd = n3x_in(&repo());
        cmd.env("N3X_STATE_DIR", &state)
            .args(["release", "--batch", "--machine", "qemuamd64", "--out"])
            .arg(&dist)
            .args(extra);
        cmd
    };

    // Not built yet: the other release variant of the machine names its build command.
    release(&[])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "base-swupdate@qemuamd64: isar-base-swupdate-qemuamd64.wic is not in",
        ))
        .stderr(predicate::str::contains(
            "fix: n3x build --backend isar --machine qemuamd64 --variant base-swupdate",
        ));
    release(&["--variant", "base", "--tag", "v0.0.3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the tag `v0.0.3` does not release version 0.0.2 (profiles/matrix.yaml: version)",
        ));
    release(&["--variant", "base", "--tag", "v0.0.2", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "base@qemuamd64: n3x-base-qemuamd64-0.0.2.wic.bmap <- bmaptool create of artifacts/isar/isar-base-qemuamd64.wic",
        ));
    assert!(!dist.exists(), "a refused or dry release makes nothing");

    release(&["--variant", "base"])
        .env("N3X_RELEASE_TAG", "v0.0.2")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "n3x-base-qemuamd64-0.0.2.wic.zst (zstd)",
        ));
    let zst = dist.join("n3x-base-qemuamd64-0.0.2.wic.zst");
    let bmap_file = dist.join("n3x-base-qemuamd64-0.0.2.wic.bmap");
    let names: BTreeSet<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "SHA256SUMS".to_string(),
            "n3x-base-qemuamd64-0.0.2.wic.bmap".into(),
            "n3x-base-qemuamd64-0.0.2.wic.zst".into()
        ]),
        "only the assets, no temporary files"
    );
    ok(Process::new("sha256sum")
        .current_dir(&dist)
        .args(["--check", "--strict", "SHA256SUMS"]));

    // The compressed image is the image.
    let out = Process::new("zstd").arg("-dc").arg(&zst).output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout == original,
        "the .wic.zst does not decompress to the image"
    );

    // The image is sparse and the bmap says which blocks matter.
    let bmap = std::fs::read_to_string(&bmap_file).unwrap();
    let (block, ranges) = mapped_ranges(&bmap);
    let mapped: u64 = ranges.iter().map(|(a, b)| b - a + 1).sum();
    let total = original.len() as u64 / block;
    assert!(
        mapped > 0 && mapped * 4 < total,
        "{mapped} of {total} blocks mapped"
    );

    // bmaptool finds the .bmap beside the .wic.zst, writes the mapped blocks and checks them.
    let written = dir.path().join("written.img");
    ok(Process::new("bmaptool").arg("copy").arg(&zst).arg(&written));
    let back = std::fs::read(&written).unwrap();
    assert_eq!(back.len(), original.len());
    for (a, b) in ranges {
        let (from, to) = ((a * block) as usize, ((b + 1) * block) as usize);
        assert!(
            back[from..to] == original[from..to],
            "blocks {a}-{b} differ after bmaptool copy"
        );
    }

    // --checksums: every asset of the selection must be there.
    std::fs::remove_file(&bmap_file).unwrap();
    release(&["--variant", "base", "--checksums"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "lacks n3x-base-qemuamd64-0.0.2.wic.bmap",
        ));
}

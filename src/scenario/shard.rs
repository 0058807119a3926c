//! Splitting the selected tests over N CI runners (`n3x test --shard I/N`).
//!
//! Tests that run on one cluster one after another (see [`runner::reusable`]:
//! `bond-failover` right after `cluster-bonding-vlans`) form one unit and stay on one shard.
//! The units are dealt out longest first, each to the shard with the least expected time so
//! far (ties: the lower shard), and each shard runs its tests in the selection's order. A
//! test's expected time is its last passed run on the backend from the test history, else
//! the catalog's estimate ([`estimate`], measured figures).
//!
//! Pure and deterministic: the same selection and durations give the same split on every
//! runner, and the union of the N shards is the selection, each test exactly once. Runners
//! that saw different histories would split differently, so each shard records the plan's
//! [`Plan::fingerprint`] in its JUnit and `n3x test merge-junit` refuses shards that disagree.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::catalog::{Kind, TestDef};
use super::runner;

/// The most shards a run can be split into.
pub const MAX_SHARDS: usize = 64;

/// `--shard I/N`: run shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// Which shard, from 1.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl ShardSpec {
    /// Parses `I/N` with 1 ≤ I ≤ N ≤ [`MAX_SHARDS`]; the error says what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad =
            |why: &str| format!("`{s}` {why}; write I/N, e.g. --shard 2/4 for the second of 4");
        let (i, n) = s.split_once('/').ok_or_else(|| bad("is not I/N"))?;
        let num = |v: &str| v.trim().parse::<usize>().ok();
        let (Some(index), Some(count)) = (num(i), num(n)) else {
            return Err(bad("needs two whole numbers"));
        };
        if count == 0 || count > MAX_SHARDS {
            return Err(bad(&format!("needs N between 1 and {MAX_SHARDS}")));
        }
        if index == 0 || index > count {
            return Err(bad(&format!("needs I between 1 and {count}")));
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Where a test's expected time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Its last passed run on the backend.
    History,
    /// The catalog's estimate.
    Estimate,
}

/// Measured times of the catalog's tests on the quick backend (2-core machine, TCG, the k3s
/// stand-in; docs/pipeline.md): boot, readiness, checks and teardown, image from the cache. The
/// parity tests are `cargo bench --bench tests` on the idle machine; the others were measured
/// in one sharded run beside the parity tests on a busier machine and scaled by the parity
/// tests' ratio (1.585) to the same footing. `bond-failover` is its own part: it runs on the
/// cluster `cluster-bonding-vlans` brought up.
const MEASURED: [(&str, u64); 11] = [
    ("cluster-simple", 41_900),
    ("cluster-vlans", 43_600),
    ("cluster-bonding-vlans", 47_500),
    ("cluster-dhcp-simple", 59_300),
    ("bond-failover", 13_400),
    ("vlan-negative", 70_900),
    ("network-bonding-vlans", 37_900),
    ("network-dhcp-simple", 53_000),
    ("network-simple", 33_200),
    ("network-vlans", 34_600),
    ("network-vlans-broken", 49_000),
];

/// The catalog's estimate of a test's time: the measured figure for the shipped tests, else
/// one for its kind.
pub fn estimate(t: &TestDef) -> Duration {
    if let Some((_, ms)) = MEASURED.iter().find(|(n, _)| *n == t.name) {
        return Duration::from_millis(*ms);
    }
    let secs = match t.kind {
        Kind::Cluster => 50,
        Kind::BondFailover => 15,
        Kind::VlanNegative => 70,
        Kind::Network => 40,
    };
    Duration::from_secs(secs)
}

/// One test with its expected time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// The test's name.
    pub name: String,
    /// Its expected time.
    pub expected: Duration,
    /// Where that came from.
    pub source: Source,
}

/// Each test of `tests` with its expected time: `history(name)` (its last passed run) when
/// that knows one, else [`estimate`].
pub fn timed(tests: &[TestDef], history: impl Fn(&str) -> Option<Duration>) -> Vec<Timed> {
    tests
        .iter()
        .map(|t| match history(&t.name) {
            Some(d) => Timed {
                name: t.name.clone(),
                expected: d,
                source: Source::History,
            },
            None => Timed {
                name: t.name.clone(),
                expected: estimate(t),
                source: Source::Estimate,
            },
        })
        .collect()
}

/// Tests that must run on one shard, one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The tests, in run order.
    pub tests: Vec<String>,
    /// Their expected time together.
    pub expected: Duration,
}

/// The units of `tests` (in run order, as [`super::catalog::run_order`] gives them): a test
/// joins the one before it when it runs on that test's cluster.
pub fn units(tests: &[TestDef], times: &[Timed]) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    for (i, (t, time)) in tests.iter().zip(times).enumerate() {
        match out.last_mut() {
            Some(unit) if i > 0 && runner::reusable(&tests[i - 1], t) => {
                unit.tests.push(t.name.clone());
                unit.expected += time.expected;
            }
            _ => out.push(Unit {
                tests: vec![t.name.clone()],
                expected: time.expected,
            }),
        }
    }
    out
}

/// One shard of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shard {
    /// Its tests, in the selection's order.
    pub tests: Vec<String>,
    /// Their expected time together.
    pub expected: Duration,
}

/// The split of a selection into shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The shards, shard 1 first.
    pub shards: Vec<Shard>,
    /// Every test of the selection, in order.
    pub selection: Vec<String>,
    /// A short hash of the selection, the shard count and every expected time: equal on
    /// every runner exactly when the splits are equal.
    pub fingerprint: String,
}

impl Plan {
    /// The expected time of the longest shard: the plan's wall time.
    pub fn wall(&self) -> Duration {
        self.shards
            .iter()
            .map(|s| s.expected)
            .max()
            .unwrap_or_default()
    }

    /// Shard `spec.index` (the spec's count must be the plan's).
    pub fn shard(&self, spec: ShardSpec) -> &Shard {
        &self.shards[spec.index - 1]
    }
}

/// Deals `units` out to `count` shards: longest unit first (ties by the first test's place
/// in the selection), each to the shard with the least expected time (ties: the lowest).
pub fn plan(units: &[Unit], count: usize) -> Plan {
    let count = count.clamp(1, MAX_SHARDS);
    let selection: Vec<String> = units.iter().flat_map(|u| u.tests.clone()).collect();
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| units[b].expected.cmp(&units[a].expected).then(a.cmp(&b)));
    let mut assigned: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut load = vec![Duration::ZERO; count];
    for u in order {
        let (least, _) = load
            .iter()
            .enumerate()
            .min_by(|(i, a), (j, b)| a.cmp(b).then(i.cmp(j)))
            .expect("at least one shard");
        load[least] += units[u].expected;
        assigned[least].push(u);
    }
    let shards = assigned
        .into_iter()
        .zip(load)
        .map(|(mut us, expected)| {
            us.sort_unstable();
            Shard {
                tests: us.iter().flat_map(|&u| units[u].tests.clone()).collect(),
                expected,
            }
        })
        .collect();
    let mut hash = Sha256::new();
    hash.update(format!("shards {count}\n"));
    for u in units {
        hash.update(format!(
            "{} {}\n",
            u.tests.join(","),
            u.expected.as_millis()
        ));
    }
    let fingerprint = hash
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    Plan {
        shards,
        selection,
        fingerprint,
    }
}

/// The JUnit properties a shard's report carries, read back by `n3x test merge-junit`.
pub mod property {
    /// `I/N`.
    pub const SHARD: &str = "n3x.shard";
    /// [`super::Plan::fingerprint`].
    pub const PLAN: &str = "n3x.shard.plan";
    /// The whole selection, comma-separated.
    pub const SELECTION: &str = "n3x.shard.selection";
}

/// The properties of shard `spec` of `plan` for its JUnit.
pub fn properties(plan: &Plan, spec: ShardSpec) -> Vec<(String, String)> {
    vec![
        (property::SHARD.into(), spec.to_string()),
        (property::PLAN.into(), plan.fingerprint.clone()),
        (property::SELECTION.into(), plan.selection.join(",")),
    ]
}

/// A shard's part of a run: its tests, its JUnit properties and a line saying what it runs.
#[derive(Debug, Clone)]
pub struct Split {
    /// The shard's tests, in run order.
    pub tests: Vec<TestDef>,
    /// Its JUnit properties ([`properties`]).
    pub properties: Vec<(String, String)>,
    /// What it runs and why, for the run's first lines.
    pub line: String,
}

/// Shard `spec` of `tests` (in run order), timed from the test history under `state` (the
/// last passed run on `backend`) or the estimates.
pub fn split(
    state: &std::path::Path,
    backend: &str,
    tests: Vec<TestDef>,
    spec: ShardSpec,
) -> Split {
    let times = timed(&tests, |name| {
        super::history::load(state, name)
            .iter()
            .rev()
            .find(|r| r.backend == backend && r.verdict == super::result::Verdict::Passed)
            .map(|r| r.duration)
    });
    let from_history = times.iter().filter(|t| t.source == Source::History).count();
    let p = plan(&units(&tests, &times), spec.count);
    let mine = p.shard(spec);
    let secs = |d: Duration| format!("{:.0}s", d.as_secs_f64());
    let line = format!(
        "shard {spec}: {} of {} tests, expected {} (the longest shard {}); times from the history for {from_history}, estimates for {}; plan {}",
        mine.tests.len(),
        tests.len(),
        secs(mine.expected),
        secs(p.wall()),
        tests.len() - from_history,
        p.fingerprint
    );
    let properties = properties(&p, spec);
    let tests = tests
        .into_iter()
        .filter(|t| mine.tests.contains(&t.name))
        .collect();
    Split {
        tests,
        properties,
        line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::catalog::{self, run_order};

    fn shipped() -> Vec<TestDef> {
        run_order(catalog::catalog(&crate::profile::shipped()))
    }

    fn estimated(tests: &[TestDef]) -> Vec<Unit> {
        units(tests, &timed(tests, |_| None))
    }

    #[test]
    fn shard_specs_are_one_based_and_bad_ones_say_how_to_write_them() {
        assert_eq!(
            ShardSpec::parse("2/4").unwrap(),
            ShardSpec { index: 2, count: 4 }
        );
        assert_eq!(ShardSpec::parse("1/1").unwrap().to_string(), "1/1");
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "1/65", "-1/4", ""] {
            let e = ShardSpec::parse(bad).unwrap_err();
            assert!(e.contains("I/N") && e.contains(&format!("`{bad}`")), "{e}");
        }
    }

    #[test]
    fn every_test_lands_on_exactly_one_shard_for_any_count() {
        let tests = shipped();
        let names: Vec<String> = tests.iter().map(|t| t.name.clone()).collect();
        let us = estimated(&tests);
        for n in 1..=16 {
            let p = plan(&us, n);
            assert_eq!(p.shards.len(), n);
            let mut seen: Vec<String> = p.shards.iter().flat_map(|s| s.tests.clone()).collect();
            assert_eq!(seen.len(), names.len(), "{n} shards: {seen:?}");
            seen.sort();
            let mut want = names.clone();
            want.sort();
            assert_eq!(seen, want, "{n} shards");
            assert_eq!(p.selection, names);
            // Each shard keeps the selection's order.
            for s in &p.shards {
                let at: Vec<usize> = s
                    .tests
                    .iter()
                    .map(|t| names.iter().position(|n| n == t).unwrap())
                    .collect();
                assert!(at.windows(2).all(|w| w[0] < w[1]), "{s:?}");
            }
        }
    }

    #[test]
    fn bond_failover_stays_with_the_cluster_it_runs_on() {
        let tests = shipped();
        let us = estimated(&tests);
        let unit = us
            .iter()
            .find(|u| u.tests.contains(&"bond-failover".to_string()))
            .unwrap();
        assert_eq!(unit.tests, ["cluster-bonding-vlans", "bond-failover"]);
        for n in 1..=8 {
            let p = plan(&us, n);
            assert!(
                p.shards.iter().any(|s| {
                    let at = |t: &str| s.tests.iter().position(|x| x == t);
                    at("bond-failover").is_some()
                        && at("bond-failover") == at("cluster-bonding-vlans").map(|i| i + 1)
                }),
                "{n} shards: {:?}",
                p.shards
            );
        }
    }

    #[test]
    fn the_split_is_balanced_and_stops_scaling_at_the_longest_unit() {
        let tests = shipped();
        let us = estimated(&tests);
        let total: Duration = us.iter().map(|u| u.expected).sum();
        let longest = us.iter().map(|u| u.expected).max().unwrap();
        let mut last = Duration::MAX;
        for n in 1..=12 {
            let p = plan(&us, n);
            let wall = p.wall();
            // Never worse than one more shard allows, never better than the ideal, and
            // greedy's bound: at most the ideal plus the longest unit.
            assert!(wall <= last, "{n} shards: {wall:?} after {last:?}");
            assert!(wall >= longest.max(total / n as u32), "{n}: {wall:?}");
            assert!(wall <= total / n as u32 + longest, "{n}: {wall:?}");
            assert_eq!(p.shards.iter().map(|s| s.expected).sum::<Duration>(), total);
            last = wall;
        }
        assert_eq!(plan(&us, us.len()).wall(), longest);
        assert_eq!(plan(&us, 1).wall(), total);
    }

    #[test]
    fn the_same_input_gives_the_same_plan_and_other_durations_another_fingerprint() {
        let tests = shipped();
        let us = estimated(&tests);
        assert_eq!(plan(&us, 4), plan(&us, 4));
        assert_ne!(plan(&us, 4).fingerprint, plan(&us, 3).fingerprint);
        let from_history = units(
            &tests,
            &timed(&tests, |n| {
                (n == "cluster-simple").then(|| Duration::from_secs(90))
            }),
        );
        assert_ne!(plan(&us, 4).fingerprint, plan(&from_history, 4).fingerprint);
        let t = timed(&tests, |n| {
            (n == "cluster-simple").then(|| Duration::from_secs(90))
        });
        assert_eq!(t[0].source, Source::History);
        assert_eq!(t[1].source, Source::Estimate);
        assert_eq!(t[1].expected, Duration::from_millis(43_600));
    }

    /// The parity matrix's rows of docs/pipeline.md's time model come from this split.
    #[test]
    fn the_parity_matrix_time_model_of_docs_pipeline_md() {
        let tests: Vec<TestDef> = shipped()
            .into_iter()
            .filter(|t| {
                catalog::PARITY
                    .iter()
                    .any(|p| t.name == format!("cluster-{p}"))
            })
            .collect();
        let us = estimated(&tests);
        let walls: Vec<u128> = [1, 2, 4, 8]
            .iter()
            .map(|&n| plan(&us, n).wall().as_millis())
            .collect();
        assert_eq!(walls, [192_300, 101_200, 59_300, 59_300]);
        assert_eq!(
            plan(&us, 2).shards[0].tests,
            ["cluster-simple", "cluster-dhcp-simple"]
        );
    }

    /// … and the whole catalog's rows: it stops scaling at 9 runners (10 units; the two
    /// shortest share one), where vlan-negative alone is the wall.
    #[test]
    fn the_catalog_time_model_of_docs_pipeline_md() {
        let us = estimated(&shipped());
        let walls: Vec<u128> = [1, 2, 4, 8, 10, 16]
            .iter()
            .map(|&n| plan(&us, n).wall().as_millis())
            .collect();
        assert_eq!(walls, [484_300, 242_600, 136_600, 75_100, 70_900, 70_900]);
        assert_eq!(us.len(), 10);
        assert_eq!(plan(&us, 9).wall().as_millis(), 70_900);
    }

    #[test]
    fn more_shards_than_units_leave_some_empty_and_lose_nothing() {
        let tests: Vec<TestDef> = shipped().into_iter().take(2).collect();
        let p = plan(&estimated(&tests), 4);
        assert_eq!(p.shards.iter().filter(|s| s.tests.is_empty()).count(), 2);
        assert_eq!(p.shards.iter().map(|s| s.tests.len()).sum::<usize>(), 2);
        assert!(plan(&[], 3).shards.iter().all(|s| s.tests.is_empty()));
    }
}

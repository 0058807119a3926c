//! Whether a cluster fits the host before it starts: the plan's memory (each node's `-m` plus
//! what QEMU needs beyond it) against `MemAvailable`, and its vCPUs against the host's cores.
//! Too many vCPUs (the original's FM-1/FM-5: starved guests lose etcd quorum and time out)
//! is a warning, and more than [`STAGGER_FACTOR`] per core staggers the starts; memory that
//! clearly cannot fit refuses, with a fix.

use crate::render::qemu::Plan;

/// What QEMU under TCG takes beyond the guest's memory: the translation-block cache
/// (`tb-size=128`), the kernel blob and QEMU itself. Measured: an idle node with `-m 256`
/// has about 390 MiB RSS, of which the guest uses about 90 (research/qemu-feasibility.md).
pub const QEMU_OVERHEAD_MIB: u64 = 300;

/// What a node needs at the least, however little of its `-m` the guest touches: the
/// measured RSS of an idle node.
pub const IDLE_NODE_MIB: u64 = 390;

/// How many vCPUs per core make the starts staggered. Up to this, the boots overlap at a
/// cost of seconds (measured: 3 nodes on 2 cores boot 24 % slower one after another than all
/// at once); beyond it, guests starved during boot time out.
pub const STAGGER_FACTOR: u64 = 2;

/// The host's free resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// `MemAvailable` in MiB (`None` when `/proc/meminfo` cannot be read).
    pub available_mib: Option<u64>,
    /// Online CPUs.
    pub cpus: u64,
}

impl Host {
    /// The host this runs on.
    pub fn read() -> Host {
        let available_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| mem_available_mib(&m));
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        Host {
            available_mib,
            cpus,
        }
    }
}

/// `MemAvailable` from the text of `/proc/meminfo`, in MiB.
pub fn mem_available_mib(meminfo: &str) -> Option<u64> {
    let kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024)
}

/// The outcome of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// Nodes in the plan.
    pub nodes: usize,
    /// The sum of the nodes' `-m` plus QEMU's overhead, in MiB.
    pub memory_mib: u64,
    /// The least the nodes need (idle RSS), in MiB.
    pub floor_mib: u64,
    /// The sum of the nodes' vCPUs.
    pub vcpus: u64,
    /// The host.
    pub host: Host,
    /// More vCPUs than cores: start the nodes one after another.
    pub stagger: bool,
}

/// Checks `plan` against `host`.
pub fn check(plan: &Plan, host: &Host) -> Capacity {
    let memory_mib = plan
        .nodes
        .iter()
        .map(|n| u64::from(n.memory_mib) + QEMU_OVERHEAD_MIB)
        .sum();
    let vcpus: u64 = plan.nodes.iter().map(|n| u64::from(n.cpus)).sum();
    Capacity {
        nodes: plan.nodes.len(),
        memory_mib,
        floor_mib: plan.nodes.len() as u64 * IDLE_NODE_MIB,
        vcpus,
        host: *host,
        stagger: vcpus > STAGGER_FACTOR * host.cpus && plan.nodes.len() > 1,
    }
}

impl Capacity {
    /// Memory is oversubscribed: the guests may use more than the host has free.
    pub fn memory_oversubscribed(&self) -> bool {
        self.host.available_mib.is_some_and(|a| self.memory_mib > a)
    }

    /// The lines `cluster up` and the TUI's notes show.
    pub fn lines(&self) -> Vec<String> {
        let available = self
            .host
            .available_mib
            .map_or("unknown".to_string(), |a| format!("{a} MiB"));
        let mut out = vec![format!(
            "capacity: {} nodes need {} MiB (guest memory + ~{QEMU_OVERHEAD_MIB} MiB QEMU each), {available} available; {} vCPUs on {} cores",
            self.nodes, self.memory_mib, self.vcpus, self.host.cpus
        )];
        if self.memory_oversubscribed() && self.refusal().is_none() {
            out.push(format!(
                "warning: memory is oversubscribed ({} MiB > {available}); guests that use their memory will swap or be killed",
                self.memory_mib
            ));
        }
        if self.vcpus > self.host.cpus {
            out.push(format!(
                "warning: CPU is oversubscribed ({} vCPUs > {} cores): guests starve, timeouts and quorum losses follow (FM-1/FM-5){}",
                self.vcpus,
                self.host.cpus,
                if self.stagger {
                    "; starting the nodes one after another"
                } else {
                    ""
                }
            ));
        }
        out
    }

    /// Why the cluster cannot start, with the fix: even idle, the nodes would not fit.
    pub fn refusal(&self) -> Option<String> {
        let available = self.host.available_mib?;
        (self.floor_mib > available).then(|| {
            format!(
                "the cluster cannot fit: {} nodes need at least {} MiB even idle (~{IDLE_NODE_MIB} MiB each), the host has {available} MiB available\n  fix: fewer nodes (`--nodes a,b`), or smaller `memory_mib:` in profiles/machines.yaml, or free memory",
                self.nodes, self.floor_mib
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profiles;
    use std::path::Path;

    fn plan(nodes: &[&str]) -> Plan {
        let p = Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap();
        let prof = crate::render::profile(&p, "simple").unwrap();
        let names: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        crate::render::qemu::plan(&p, prof, "qemuamd64", Some(&names)).unwrap()
    }

    #[test]
    fn meminfo_gives_mem_available() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2097152 kB\n";
        assert_eq!(mem_available_mib(text), Some(2048));
        assert_eq!(mem_available_mib("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn a_roomy_host_neither_warns_nor_staggers() {
        let plan = plan(&["server-1", "agent-1"]);
        let c = check(
            &plan,
            &Host {
                available_mib: Some(20_000),
                cpus: 8,
            },
        );
        let per_node: u64 = plan.nodes.iter().map(|n| u64::from(n.memory_mib)).sum();
        assert_eq!(c.memory_mib, per_node + 2 * QEMU_OVERHEAD_MIB);
        assert!(!c.stagger);
        assert_eq!(c.refusal(), None);
        assert_eq!(c.lines().len(), 1, "{:?}", c.lines());
        assert!(
            c.lines()[0].contains("20000 MiB available"),
            "{:?}",
            c.lines()
        );
    }

    #[test]
    fn more_vcpus_than_cores_warns_and_more_than_twice_as_many_staggers() {
        let nodes = ["server-1", "server-2", "agent-1"];
        let host = |cpus| Host {
            available_mib: Some(20_000),
            cpus,
        };
        let c = check(&plan(&nodes), &host(2));
        assert!(!c.stagger);
        let text = c.lines().join("\n");
        assert!(
            text.contains("CPU is oversubscribed (3 vCPUs > 2 cores)"),
            "{text}"
        );
        assert!(!text.contains("one after another"), "{text}");
        assert_eq!(c.refusal(), None);

        let c = check(&plan(&nodes), &host(1));
        assert!(c.stagger);
        let text = c.lines().join("\n");
        assert!(
            text.contains("(3 vCPUs > 1 cores)") && text.contains("one after another"),
            "{text}"
        );
    }

    #[test]
    fn memory_oversubscribed_warns_and_memory_that_cannot_fit_refuses_with_a_fix() {
        let plan = plan(&["server-1", "agent-1"]);
        // Above the idle floor, below guest memory + overhead: a warning.
        let tight = check(
            &plan,
            &Host {
                available_mib: Some(2 * IDLE_NODE_MIB + 100),
                cpus: 4,
            },
        );
        assert!(tight.memory_oversubscribed());
        assert_eq!(tight.refusal(), None);
        assert!(
            tight
                .lines()
                .join("\n")
                .contains("memory is oversubscribed")
        );
        // Below the idle floor: refused.
        let full = check(
            &plan,
            &Host {
                available_mib: Some(500),
                cpus: 4,
            },
        );
        let why = full.refusal().unwrap();
        assert!(why.contains("need at least 780 MiB"), "{why}");
        assert!(
            why.contains("--nodes") && why.contains("profiles/machines.yaml"),
            "{why}"
        );
        // Unknown memory is never a reason to refuse.
        let unknown = check(
            &plan,
            &Host {
                available_mib: None,
                cpus: 4,
            },
        );
        assert_eq!(unknown.refusal(), None);
    }
}

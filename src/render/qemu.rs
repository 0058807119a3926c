//! The QEMU plan of a test cluster: which L2 segments (switches) exist and which VLANs they
//! carry, and for each node its NICs in order with deterministic MACs, its size and its kernel
//! command line. The cluster engine starts exactly what the plan says.

use serde::Serialize;

use super::networkd::vlan_of;
use crate::profile::ident::{machine_id, nic_mac, node_nics};
use crate::profile::{NetworkProfile, Profiles};

/// A test cluster's topology, ready to be started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The network profile.
    pub profile: String,
    /// The machine.
    pub machine: String,
    /// The QEMU program.
    pub qemu_binary: String,
    /// QEMU's `-M` machine type.
    pub qemu_machine: String,
    /// The switches, one per network segment.
    pub segments: Vec<Segment>,
    /// The cables between switches.
    pub cables: Vec<Cable>,
    /// The nodes.
    pub nodes: Vec<PlanNode>,
}

impl Plan {
    /// The plan as pretty-printed JSON, ending in a newline (`plan.json`, `render --plan`).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plans serialize");
        text.push('\n');
        text
    }
}

/// One L2 segment: a switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The segment's name (`sw-eth1`).
    pub name: String,
    /// Every VLAN some port of the switch carries (empty: untagged traffic only).
    pub vlans: Vec<u32>,
}

/// A cable joining two switches (the two halves of a bonded network).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cable {
    /// One switch.
    pub a: String,
    /// The other switch.
    pub b: String,
    /// The VLANs the cable carries.
    pub vlans: Vec<u32>,
}

/// One VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanNode {
    /// The node's name.
    pub name: String,
    /// `server`, `agent`, or `dhcp-server` for the infrastructure node of a DHCP profile.
    pub role: String,
    /// Its memory, in MiB.
    pub memory_mib: u32,
    /// Its virtual CPUs.
    pub cpus: u32,
    /// Its machine ID (derived from its name).
    pub machine_id: String,
    /// Its kernel command line.
    pub kernel_cmdline: String,
    /// Its NICs, in order.
    pub nics: Vec<PlanNic>,
}

/// One NIC of a node, in QEMU (and so kernel-name) order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanNic {
    /// The NIC's name (`eth1`).
    pub name: String,
    /// Its MAC address (derived from the names).
    pub mac: String,
    /// The switch it is plugged into; `None` for an unconnected placeholder (keeps names stable).
    pub segment: Option<String>,
    /// VLANs the switch port carries tagged for this NIC (empty: untagged).
    pub vlans: Vec<u32>,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// The machine has no QEMU settings.
    #[error(
        "machine `{machine}` cannot be emulated (it has no qemu settings in profiles/machines.yaml)\n  fix: use an emulated machine: {emulated}"
    )]
    NotEmulated {
        /// The machine.
        machine: String,
        /// The machines that can be.
        emulated: String,
    },
    /// No machine has this name.
    #[error("unknown machine `{machine}`\n  fix: use one of: {known}")]
    UnknownMachine {
        /// The name asked for.
        machine: String,
        /// The machines there are.
        known: String,
    },
    /// The profile has no such node.
    #[error("node `{node}` has no place in profile `{profile}`\n  fix: use one of: {known}")]
    UnknownNode {
        /// The node asked for.
        node: String,
        /// The profile.
        profile: String,
        /// Its nodes.
        known: String,
    },
}

fn segment_name(nic: &str) -> String {
    format!("sw-{nic}")
}

/// The physical NICs that carry traffic and the VLANs each carries tagged, for `node`.
fn connected_nics(profile: &NetworkProfile, node: &str) -> Vec<(String, Vec<u32>)> {
    let tagged: Vec<u32> = profile
        .networks
        .keys()
        .filter_map(|n| vlan_of(profile, node, n))
        .collect();
    let mut out: Vec<(String, Vec<u32>)> = Vec::new();
    let mut add = |nic: &str, vlans: Vec<u32>| {
        if let Some(e) = out.iter_mut().find(|(n, _)| n == nic) {
            for v in vlans {
                if !e.1.contains(&v) {
                    e.1.push(v);
                }
            }
        } else {
            out.push((nic.to_string(), vlans));
        }
    };
    let bond = profile.bond.as_ref();
    let links_of = |link: &str| -> Vec<String> {
        match bond {
            Some(b) if b.name == link => b.members.clone(),
            _ => vec![link.to_string()],
        }
    };
    if let Some(trunk) = &profile.trunk {
        for nic in links_of(trunk) {
            add(&nic, tagged.clone());
        }
    }
    for net in profile.networks.values() {
        if let Some(iface) = &net.interface {
            for nic in links_of(iface) {
                add(&nic, Vec::new());
            }
        }
    }
    out
}

/// The plan for `profile` on `machine`, for the given nodes (all cluster nodes when `None`).
/// A DHCP profile always adds its DHCP server node first.
pub fn plan(
    p: &Profiles,
    profile: &NetworkProfile,
    machine: &str,
    nodes: Option<&[String]>,
) -> Result<Plan, PlanError> {
    let m = p
        .machines
        .get(machine)
        .ok_or_else(|| PlanError::UnknownMachine {
            machine: machine.to_string(),
            known: p.machines.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
    let q = m.qemu.as_ref().ok_or_else(|| PlanError::NotEmulated {
        machine: machine.to_string(),
        emulated: p
            .machines
            .iter()
            .filter(|(_, m)| m.qemu.is_some())
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })?;

    let mut members: Vec<(String, String)> = Vec::new(); // (name, role)
    if let Some(d) = &profile.dhcp {
        members.push((d.server.name.clone(), "dhcp-server".into()));
    }
    let chosen: Vec<String> = match nodes {
        Some(list) => list.to_vec(),
        None => p.cluster.nodes.iter().map(|n| n.name.clone()).collect(),
    };
    for name in chosen {
        let Some(cn) = p.node(&name).filter(|_| profile.nodes.contains_key(&name)) else {
            return Err(PlanError::UnknownNode {
                node: name,
                profile: profile.name.clone(),
                known: profile.nodes.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        members.push((name, cn.role.as_str().into()));
    }

    let all_nics = node_nics(profile);
    let mut segments: Vec<Segment> = Vec::new();
    let mut plan_nodes = Vec::new();
    for (name, role) in members {
        let connected = connected_nics(profile, &name);
        let nics = all_nics
            .iter()
            .map(|nic| {
                let link = connected.iter().find(|(n, _)| n == nic);
                let segment = link.map(|_| segment_name(nic));
                let vlans = link.map(|(_, v)| v.clone()).unwrap_or_default();
                if let Some(seg) = &segment {
                    let entry = match segments.iter_mut().position(|s| &s.name == seg) {
                        Some(i) => &mut segments[i],
                        None => {
                            segments.push(Segment {
                                name: seg.clone(),
                                vlans: Vec::new(),
                            });
                            segments.last_mut().expect("just pushed")
                        }
                    };
                    for v in &vlans {
                        if !entry.vlans.contains(v) {
                            entry.vlans.push(*v);
                        }
                    }
                }
                PlanNic {
                    name: nic.clone(),
                    mac: nic_mac(profile, &name, nic),
                    segment,
                    vlans,
                }
            })
            .collect();
        let kernel_cmdline = format!(
            "console={serial},115200 net.ifnames=0 biosdevname=0 systemd.hostname={name} systemd.machine_id={id}",
            serial = m.serial,
            id = machine_id(&name),
        );
        plan_nodes.push(PlanNode {
            machine_id: machine_id(&name),
            name,
            role,
            memory_mib: q.memory_mib,
            cpus: q.cpus,
            kernel_cmdline,
            nics,
        });
    }
    segments.sort_by(|a, b| a.name.cmp(&b.name));
    for s in &mut segments {
        s.vlans.sort_unstable();
    }
    let mut cables = Vec::new();
    if let Some(bond) = &profile.bond {
        // The members of a bond are one L2 network split over switches for redundancy.
        for pair in bond.members.windows(2) {
            let (a, b) = (segment_name(&pair[0]), segment_name(&pair[1]));
            let mut vlans: Vec<u32> = segments
                .iter()
                .filter(|s| s.name == a || s.name == b)
                .flat_map(|s| s.vlans.iter().copied())
                .collect();
            vlans.sort_unstable();
            vlans.dedup();
            cables.push(Cable { a, b, vlans });
        }
    }
    Ok(Plan {
        profile: profile.name.clone(),
        machine: machine.to_string(),
        qemu_binary: q.binary.clone(),
        qemu_machine: q.machine.clone(),
        segments,
        cables,
        nodes: plan_nodes,
    })
}

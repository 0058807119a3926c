//! The cluster's L2 fabric: one `vde_switch` per plan segment, its ports made tagged members
//! of exactly the VLANs their NIC carries (vde_switch drops tagged frames on other ports and
//! enforces the membership, which lets a VLAN-isolation test fail), and cables between the
//! bond switches (`dpipe vde_plug = vde_plug`). Unix sockets only.

use std::collections::BTreeMap;
use std::path::Path;

use crate::render::qemu::{Cable, Plan, Segment};

/// Port numbers on the switches: one per NIC on a segment, one per cable end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ports {
    /// (node, NIC) → (segment, port).
    nics: BTreeMap<(String, String), (String, u32)>,
    /// (segment a, segment b) → (port on a, port on b).
    cables: BTreeMap<(String, String), (u32, u32)>,
    /// segment → (port, VLANs) for every port in use.
    members: BTreeMap<String, Vec<(u32, Vec<u32>)>>,
}

impl Ports {
    /// The port of a node's NIC: its segment and port number.
    pub fn nic(&self, node: &str, nic: &str) -> Option<(&str, u32)> {
        self.nics
            .get(&(node.to_string(), nic.to_string()))
            .map(|(s, p)| (s.as_str(), *p))
    }

    /// Every port of `segment` in use: its number, what is plugged in (`server-1 eth1`,
    /// `cable to sw-eth2`) and its VLANs, by port number.
    pub fn owners(&self, segment: &str) -> Vec<(u32, String, Vec<u32>)> {
        let mut out: Vec<(u32, String, Vec<u32>)> = self
            .members
            .get(segment)
            .into_iter()
            .flatten()
            .map(|(port, vlans)| {
                let owner = self
                    .nics
                    .iter()
                    .find(|(_, (s, p))| s == segment && p == port)
                    .map(|((node, nic), _)| format!("{node} {nic}"))
                    .or_else(|| {
                        self.cables.iter().find_map(|((a, b), (pa, pb))| {
                            if a == segment && pa == port {
                                Some(format!("cable to {b}"))
                            } else if b == segment && pb == port {
                                Some(format!("cable to {a}"))
                            } else {
                                None
                            }
                        })
                    })
                    .unwrap_or_default();
                (*port, owner, vlans.clone())
            })
            .collect();
        out.sort_by_key(|(port, _, _)| *port);
        out
    }

    /// The ports of a cable's two ends.
    pub fn cable(&self, cable: &Cable) -> (u32, u32) {
        self.cables
            .get(&(cable.a.clone(), cable.b.clone()))
            .copied()
            .unwrap_or((0, 0))
    }
}

/// Numbers the ports deterministically: per segment from 1, NICs in node and NIC order, then
/// cable ends.
pub fn assign_ports(plan: &Plan) -> Ports {
    let mut ports = Ports::default();
    let mut next: BTreeMap<String, u32> = BTreeMap::new();
    let mut take = |segment: &str| {
        let n = next.entry(segment.to_string()).or_insert(0);
        *n += 1;
        *n
    };
    for node in &plan.nodes {
        for nic in &node.nics {
            if let Some(segment) = &nic.segment {
                let port = take(segment);
                ports.nics.insert(
                    (node.name.clone(), nic.name.clone()),
                    (segment.clone(), port),
                );
                ports
                    .members
                    .entry(segment.clone())
                    .or_default()
                    .push((port, nic.vlans.clone()));
            }
        }
    }
    for cable in &plan.cables {
        let a = take(&cable.a);
        let b = take(&cable.b);
        ports
            .cables
            .insert((cable.a.clone(), cable.b.clone()), (a, b));
        for (segment, port) in [(&cable.a, a), (&cable.b, b)] {
            ports
                .members
                .entry(segment.clone())
                .or_default()
                .push((port, cable.vlans.clone()));
        }
    }
    ports
}

/// The command file a segment's switch runs at start: its VLANs, its ports, each port a
/// tagged member of exactly its VLANs (the untagged VLAN stays 0 on every port).
pub fn switch_rc(segment: &Segment, ports: &Ports) -> String {
    let mut rc = format!(
        "# n3x switch {} (VLANs {:?})\n",
        segment.name, segment.vlans
    );
    for vlan in &segment.vlans {
        rc.push_str(&format!("vlan/create {vlan}\n"));
    }
    for (port, vlans) in ports.members.get(&segment.name).into_iter().flatten() {
        rc.push_str(&format!("port/create {port}\n"));
        for vlan in vlans {
            rc.push_str(&format!("vlan/addport {vlan} {port}\n"));
        }
    }
    rc
}

/// The argv of a switch in the foreground (the supervisor owns it), its socket directory
/// private to the user.
pub fn switch_argv(dir: &Path, mgmt: &Path, rc: &Path) -> Vec<String> {
    vec![
        "vde_switch".into(),
        "--sock".into(),
        dir.display().to_string(),
        "--dirmode".into(),
        "0700".into(),
        "--mode".into(),
        "0600".into(),
        "--mgmt".into(),
        mgmt.display().to_string(),
        "--mgmtmode".into(),
        "0600".into(),
        "--rcfile".into(),
        rc.display().to_string(),
        // Ports are created by the command file; a high limit leaves room for them.
        "--numports".into(),
        "64".into(),
    ]
}

/// The argv of a cable between two switch ports (vdeplug4 URLs of plain unix paths).
pub fn cable_argv(a_dir: &Path, a_port: u32, b_dir: &Path, b_port: u32) -> Vec<String> {
    vec![
        "vde_plug".into(),
        format!("vde://{}[{a_port}]", a_dir.display()),
        format!("vde://{}[{b_port}]", b_dir.display()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profiles;
    use crate::render::qemu::plan;

    fn shipped_plan(profile: &str) -> Plan {
        let p = Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap();
        let prof = crate::render::profile(&p, profile).unwrap();
        plan(&p, prof, "qemuamd64", None).unwrap()
    }

    #[test]
    fn every_connected_nic_and_cable_end_gets_its_own_port_with_its_vlans() {
        let plan = shipped_plan("bonding-vlans");
        let ports = assign_ports(&plan);
        assert_eq!(ports.nic("server-1", "eth1"), Some(("sw-eth1", 1)));
        assert_eq!(ports.nic("server-1", "eth2"), Some(("sw-eth2", 1)));
        assert_eq!(ports.nic("agent-2", "eth1"), Some(("sw-eth1", 4)));
        assert_eq!(ports.nic("server-1", "eth0"), None, "eth0 is unconnected");
        assert_eq!(ports.cable(&plan.cables[0]), (5, 5));
        let rc = switch_rc(&plan.segments[0], &ports);
        assert!(rc.contains("vlan/create 100\nvlan/create 200\n"), "{rc}");
        assert!(
            rc.contains("port/create 1\nvlan/addport 200 1\nvlan/addport 100 1\n"),
            "{rc}"
        );
        assert!(rc.contains("port/create 5\n"), "the cable's port: {rc}");
        let owners = ports.owners("sw-eth2");
        assert_eq!(owners[0], (1, "server-1 eth2".to_string(), vec![200, 100]));
        assert_eq!(owners[4].1, "cable to sw-eth1");
    }

    #[test]
    fn a_flat_segment_has_no_vlans() {
        let plan = shipped_plan("simple");
        let ports = assign_ports(&plan);
        let rc = switch_rc(&plan.segments[0], &ports);
        assert!(!rc.contains("vlan/"), "{rc}");
        assert_eq!(rc.matches("port/create").count(), 4);
    }
}

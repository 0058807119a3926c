//! The network stage: what the renderer promised a node (its networkd units: addresses, VLAN
//! devices, the bond and its members) against what the node has (`ip -j addr` and
//! `ip -d -j link` through the control channel). Exactly: a missing or an extra address, a
//! VLAN on the wrong parent or with the wrong ID, a bond in another mode or with other
//! members each fail, naming what differs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::ProbeError;
use crate::profile::{AddressMode, NetworkProfile};
use crate::render::networkd::{self, UnitKind};

/// A VLAN device the renderer promised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanExpect {
    /// Its name (`eth1.200`).
    pub name: String,
    /// Its VLAN ID.
    pub id: u32,
    /// The trunk it sits on (`eth1`, `bond0`).
    pub parent: Option<String>,
}

/// The bond the renderer promised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondExpect {
    /// Its name (`bond0`).
    pub name: String,
    /// Its mode as the kernel names it (`active-backup`, `802.3ad`).
    pub mode: String,
    /// Its members.
    pub members: BTreeSet<String>,
}

/// Everything the network stage checks on one node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expected {
    /// Interface → its IPv4 addresses with prefix (`192.168.1.1/24`), exactly.
    pub addresses: BTreeMap<String, BTreeSet<String>>,
    /// VLAN devices.
    pub vlans: Vec<VlanExpect>,
    /// The bond, if any.
    pub bond: Option<BondExpect>,
    /// Whether the addresses come from DHCP reservations.
    pub dhcp: bool,
}

impl Expected {
    /// What the renderer's networkd units for `node` promise under `profile`.
    pub fn of(profile: &NetworkProfile, node: &str) -> Expected {
        let units = networkd::units(profile, node);
        let key = |sections: &[networkd::Section], section: &str, k: &str| -> Option<String> {
            sections
                .iter()
                .filter(|s| s.name == section)
                .flat_map(|s| s.keys.iter().chain(s.repeated.iter()))
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
        };
        let repeated = |sections: &[networkd::Section], section: &str, k: &str| -> Vec<String> {
            sections
                .iter()
                .filter(|s| s.name == section)
                .flat_map(|s| s.repeated.iter().chain(s.keys.iter()))
                .filter(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let mut out = Expected {
            dhcp: profile.mode == AddressMode::Dhcp
                && profile.dhcp.as_ref().is_none_or(|d| d.server.name != node),
            ..Expected::default()
        };
        // VLAN device → its trunk, from the trunk's `VLAN=` list.
        let mut parents: BTreeMap<String, String> = BTreeMap::new();
        for u in units.iter().filter(|u| u.kind == UnitKind::Network) {
            if let Some(trunk) = key(&u.sections, "Match", "Name") {
                for vlan in repeated(&u.sections, "Network", "VLAN") {
                    parents.insert(vlan, trunk.clone());
                }
            }
        }
        let mut members = BTreeSet::new();
        for u in &units {
            let name = key(&u.sections, "Match", "Name")
                .or_else(|| key(&u.sections, "NetDev", "Name"))
                .unwrap_or_default();
            match u.kind {
                UnitKind::Netdev => match key(&u.sections, "NetDev", "Kind").as_deref() {
                    Some("vlan") => out.vlans.push(VlanExpect {
                        id: key(&u.sections, "VLAN", "Id")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0),
                        parent: parents.get(&name).cloned(),
                        name,
                    }),
                    Some("bond") => {
                        out.bond = Some(BondExpect {
                            name,
                            mode: key(&u.sections, "Bond", "Mode").unwrap_or_default(),
                            members: BTreeSet::new(),
                        })
                    }
                    _ => {}
                },
                UnitKind::Network => {
                    if key(&u.sections, "Network", "Bond").is_some() {
                        members.insert(name.clone());
                    }
                    let addrs = repeated(&u.sections, "Network", "Address");
                    if !addrs.is_empty() {
                        out.addresses.entry(name).or_default().extend(addrs);
                    }
                }
            }
        }
        if let Some(bond) = &mut out.bond {
            bond.members = members;
        }
        out.vlans.sort_by(|a, b| a.name.cmp(&b.name));
        if out.dhcp {
            // Each network's address comes from the node's reservation.
            for (net_name, net) in &profile.networks {
                if let Some(a) = profile
                    .nodes
                    .get(node)
                    .and_then(|n| n.addresses.get(net_name))
                {
                    out.addresses
                        .entry(networkd::interface_of(profile, node, net_name))
                        .or_default()
                        .insert(format!("{a}/{}", net.subnet.prefix_len()));
                }
            }
        }
        out
    }
}

/// One link as the node reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Link {
    /// Its name.
    pub name: String,
    /// `vlan`, `bond`, `veth` … (`None` for a plain NIC).
    pub kind: Option<String>,
    /// A VLAN device's ID.
    pub vlan_id: Option<u32>,
    /// A VLAN device's parent.
    pub parent: Option<String>,
    /// The bond it is enslaved to.
    pub master: Option<String>,
    /// A bond's mode.
    pub bond_mode: Option<String>,
    /// Its global IPv4 addresses with prefix.
    pub addresses: BTreeSet<String>,
}

/// Reads `ip -j addr` and `ip -d -j link` output.
pub fn observed(addr_json: &str, link_json: &str) -> Result<BTreeMap<String, Link>, ProbeError> {
    let parse = |what: &'static str, text: &str| -> Result<Vec<Value>, ProbeError> {
        serde_json::from_str::<Vec<Value>>(text).map_err(|source| ProbeError::Json { what, source })
    };
    let mut links: BTreeMap<String, Link> = BTreeMap::new();
    for l in parse("ip -d -j link", link_json)? {
        let Some(name) = l["ifname"].as_str() else {
            continue;
        };
        let info = &l["linkinfo"];
        let kind = info["info_kind"].as_str().map(str::to_string);
        links.insert(
            name.to_string(),
            Link {
                name: name.to_string(),
                vlan_id: (kind.as_deref() == Some("vlan"))
                    .then(|| info["info_data"]["id"].as_u64().map(|id| id as u32))
                    .flatten(),
                bond_mode: (kind.as_deref() == Some("bond"))
                    .then(|| info["info_data"]["mode"].as_str().map(str::to_string))
                    .flatten(),
                kind,
                parent: l["link"].as_str().map(str::to_string),
                master: l["master"].as_str().map(str::to_string),
                addresses: BTreeSet::new(),
            },
        );
    }
    for a in parse("ip -j addr", addr_json)? {
        let Some(name) = a["ifname"].as_str() else {
            continue;
        };
        let link = links.entry(name.to_string()).or_insert_with(|| Link {
            name: name.to_string(),
            ..Link::default()
        });
        for info in a["addr_info"].as_array().into_iter().flatten() {
            if info["family"] == "inet"
                && info["scope"] == "global"
                && let (Some(local), Some(prefix)) =
                    (info["local"].as_str(), info["prefixlen"].as_u64())
            {
                link.addresses.insert(format!("{local}/{prefix}"));
            }
        }
    }
    Ok(links)
}

/// Compares: `Ok(detail)` when the node has exactly what was rendered, else every difference.
pub fn compare(expected: &Expected, links: &BTreeMap<String, Link>) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    let mut detail = Vec::new();
    let how = if expected.dhcp {
        "DHCP reservation"
    } else {
        "as rendered"
    };
    for (iface, want) in &expected.addresses {
        let Some(link) = links.get(iface) else {
            problems.push(format!(
                "{iface} does not exist (it should have {})",
                join(want)
            ));
            continue;
        };
        for a in want.difference(&link.addresses) {
            problems.push(format!("{iface} lacks {a}"));
        }
        for a in link.addresses.difference(want) {
            problems.push(format!("{iface} has {a}, which was not rendered"));
        }
        if link.addresses == *want {
            detail.push(format!("{iface}={}", join(want)));
        }
    }
    for link in links.values() {
        if !expected.addresses.contains_key(&link.name) && !link.addresses.is_empty() {
            problems.push(format!(
                "{} has {}, which was not rendered",
                link.name,
                join(&link.addresses)
            ));
        }
    }
    for v in &expected.vlans {
        match links.get(&v.name) {
            None => problems.push(format!("the VLAN device {} does not exist", v.name)),
            Some(l) if l.kind.as_deref() != Some("vlan") => problems.push(format!(
                "{} is not a VLAN device (kind {})",
                v.name,
                l.kind.as_deref().unwrap_or("none")
            )),
            Some(l) => {
                if l.vlan_id != Some(v.id) {
                    problems.push(format!(
                        "{} has VLAN ID {}, rendered {}",
                        v.name,
                        l.vlan_id.map(|i| i.to_string()).unwrap_or("none".into()),
                        v.id
                    ));
                }
                if v.parent.is_some() && l.parent != v.parent {
                    problems.push(format!(
                        "{} sits on {}, rendered on {}",
                        v.name,
                        l.parent.as_deref().unwrap_or("nothing"),
                        v.parent.as_deref().unwrap_or("")
                    ));
                }
                if l.vlan_id == Some(v.id) && (v.parent.is_none() || l.parent == v.parent) {
                    detail.push(format!(
                        "VLAN {} on {}",
                        v.id,
                        v.parent.as_deref().unwrap_or("?")
                    ));
                }
            }
        }
    }
    if let Some(b) = &expected.bond {
        match links.get(&b.name) {
            None => problems.push(format!("the bond {} does not exist", b.name)),
            Some(l) if l.kind.as_deref() != Some("bond") => {
                problems.push(format!("{} is not a bond", b.name))
            }
            Some(l) => {
                let members: BTreeSet<String> = links
                    .values()
                    .filter(|m| m.master.as_deref() == Some(b.name.as_str()))
                    .map(|m| m.name.clone())
                    .collect();
                let mut ok = true;
                if l.bond_mode.as_deref() != Some(b.mode.as_str()) {
                    ok = false;
                    problems.push(format!(
                        "{} is in mode {}, rendered {}",
                        b.name,
                        l.bond_mode.as_deref().unwrap_or("unknown"),
                        b.mode
                    ));
                }
                for m in b.members.difference(&members) {
                    ok = false;
                    problems.push(format!("{m} is not a member of {}", b.name));
                }
                for m in members.difference(&b.members) {
                    ok = false;
                    problems.push(format!(
                        "{m} is a member of {}, which was not rendered",
                        b.name
                    ));
                }
                if ok {
                    detail.push(format!("{} {} [{}]", b.name, b.mode, join(&members)));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(format!("{} ({how})", detail.join(", ")))
    } else {
        Err(problems)
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profiles;

    /// Captured from the quick image with `n3x exec NODE -- ip -j addr` / `ip -d -j link`.
    const SIMPLE_ADDR: &str =
        include_str!("../../tests/fixtures/ip-json/simple-server-1.addr.json");
    const SIMPLE_LINK: &str =
        include_str!("../../tests/fixtures/ip-json/simple-server-1.link.json");
    const BOND_ADDR: &str =
        include_str!("../../tests/fixtures/ip-json/bonding-vlans-server-1.addr.json");
    const BOND_LINK: &str =
        include_str!("../../tests/fixtures/ip-json/bonding-vlans-server-1.link.json");

    fn profiles() -> Profiles {
        Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap()
    }

    fn expected(profile: &str, node: &str) -> Expected {
        let p = profiles();
        Expected::of(&p.networks[profile], node)
    }

    #[test]
    fn the_rendered_promise_is_read_from_the_networkd_units() {
        let e = expected("bonding-vlans", "server-1");
        assert_eq!(
            e.addresses.keys().collect::<Vec<_>>(),
            ["bond0.100", "bond0.200"]
        );
        assert!(e.addresses["bond0.200"].contains("192.168.200.1/24"));
        assert_eq!(
            e.vlans,
            [
                VlanExpect {
                    name: "bond0.100".into(),
                    id: 100,
                    parent: Some("bond0".into())
                },
                VlanExpect {
                    name: "bond0.200".into(),
                    id: 200,
                    parent: Some("bond0".into())
                },
            ]
        );
        let bond = e.bond.unwrap();
        assert_eq!(
            (bond.name.as_str(), bond.mode.as_str()),
            ("bond0", "active-backup")
        );
        assert_eq!(bond.members.iter().collect::<Vec<_>>(), ["eth1", "eth2"]);
        assert!(!e.dhcp);
        let dhcp = expected("dhcp-simple", "agent-1");
        assert!(dhcp.dhcp);
        assert!(dhcp.addresses["eth1"].contains("192.168.1.3/24"));
    }

    #[test]
    fn a_node_with_what_was_rendered_passes_with_its_details() {
        let links = observed(SIMPLE_ADDR, SIMPLE_LINK).unwrap();
        assert_eq!(
            compare(&expected("simple", "server-1"), &links).unwrap(),
            "eth1=192.168.1.1/24 (as rendered)"
        );
        let links = observed(BOND_ADDR, BOND_LINK).unwrap();
        assert_eq!(
            compare(&expected("bonding-vlans", "server-1"), &links).unwrap(),
            "bond0.100=192.168.100.1/24, bond0.200=192.168.200.1/24, VLAN 100 on bond0, \
             VLAN 200 on bond0, bond0 active-backup [eth1 eth2] (as rendered)"
        );
    }

    #[test]
    fn another_nodes_expectation_fails_naming_the_missing_and_the_extra_address() {
        let links = observed(SIMPLE_ADDR, SIMPLE_LINK).unwrap();
        let problems = compare(&expected("simple", "server-2"), &links).unwrap_err();
        assert_eq!(
            problems,
            [
                "eth1 lacks 192.168.1.2/24",
                "eth1 has 192.168.1.1/24, which was not rendered"
            ]
        );
    }

    #[test]
    fn an_extra_address_elsewhere_a_wrong_vlan_and_a_missing_member_fail() {
        let mut links = observed(BOND_ADDR, BOND_LINK).unwrap();
        links
            .get_mut("eth0")
            .unwrap()
            .addresses
            .insert("10.0.2.15/24".into());
        links.get_mut("bond0.100").unwrap().vlan_id = Some(101);
        links.get_mut("eth2").unwrap().master = None;
        let problems = compare(&expected("bonding-vlans", "server-1"), &links).unwrap_err();
        assert_eq!(
            problems,
            [
                "eth0 has 10.0.2.15/24, which was not rendered",
                "bond0.100 has VLAN ID 101, rendered 100",
                "eth2 is not a member of bond0",
            ]
        );
        // The same node before its VLAN devices exist (`vlans` has no VLAN on a bond).
        let links = observed(SIMPLE_ADDR, SIMPLE_LINK).unwrap();
        let problems = compare(&expected("bonding-vlans", "server-1"), &links).unwrap_err();
        assert!(
            problems.contains(
                &"bond0.200 does not exist (it should have 192.168.200.1/24)".to_string()
            ),
            "{problems:?}"
        );
        assert!(problems.contains(&"the bond bond0 does not exist".to_string()));
    }

    #[test]
    fn output_that_is_not_json_is_an_error_that_names_the_command() {
        let e = observed("Command \"-j\" is unknown", "[]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`ip -j addr`"), "{e}");
    }
}

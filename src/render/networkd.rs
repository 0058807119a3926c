//! systemd-networkd `.network`/`.netdev` files, in the original's names, sections and order.
//!
//! File names: `10-` bond device and its members, `15-` the VLAN trunk (a carrier without an
//! address), `20-` addressed interfaces and VLAN devices. Inside a section the keys are sorted;
//! repeatable keys (`Address=`, `VLAN=`) follow the sorted ones in profile order. The text
//! layout reproduces the original generator byte for byte (apart from the header comment).

use serde_json::{Map, Value, json};

use crate::profile::{AddressMode, BondMode, NetworkProfile};

/// A `.network` or `.netdev` unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// File name without the extension, e.g. `20-vlan-cluster`.
    pub stem: String,
    /// `.network` or `.netdev`.
    pub kind: UnitKind,
    /// Its sections, in order.
    pub sections: Vec<Section>,
}

/// The two kinds of networkd unit files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// A `.network` unit.
    Network,
    /// A `.netdev` unit.
    Netdev,
}

/// One `[Section]` of a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section's name (`[Match]` without brackets).
    pub name: &'static str,
    /// Single-valued keys; rendered sorted by name.
    pub keys: Vec<(&'static str, String)>,
    /// Repeatable keys (`Address`, `VLAN`); rendered after the sorted keys, in this order.
    pub repeated: Vec<(&'static str, String)>,
}

impl Section {
    fn new(name: &'static str) -> Self {
        Section {
            name,
            keys: Vec::new(),
            repeated: Vec::new(),
        }
    }

    fn key(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.keys.push((k, v.into()));
        self
    }

    fn repeat(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.repeated.push((k, v.into()));
        self
    }

    fn sorted_keys(&self) -> Vec<&(&'static str, String)> {
        let mut keys: Vec<_> = self.keys.iter().collect();
        keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        keys
    }
}

impl Unit {
    /// The file name, e.g. `20-eth1.network`.
    pub fn file_name(&self) -> String {
        match self.kind {
            UnitKind::Network => format!("{}.network", self.stem),
            UnitKind::Netdev => format!("{}.netdev", self.stem),
        }
    }

    /// The file's text, starting with `header` (comment lines, each ending in a newline).
    pub fn to_text(&self, header: &str) -> String {
        let mut out = String::with_capacity(256);
        out.push_str(header);
        for section in &self.sections {
            out.push('\n');
            out.push('[');
            out.push_str(section.name);
            out.push_str("]\n");
            for (k, v) in section
                .sorted_keys()
                .into_iter()
                .chain(section.repeated.iter())
            {
                out.push_str(k);
                out.push('=');
                out.push_str(v);
                out.push('\n');
            }
        }
        // The original generator ends a .network file with two empty lines, a .netdev with one.
        out.push('\n');
        if self.kind == UnitKind::Network {
            out.push('\n');
        }
        out
    }

    /// The unit as NixOS `systemd.network.{networks,netdevs}.<stem>` attributes.
    pub fn to_nixos(&self) -> Value {
        let mut attrs = Map::new();
        for section in &self.sections {
            let name = match section.name {
                "Match" => "matchConfig",
                "Network" => "networkConfig",
                "Link" => "linkConfig",
                "NetDev" => "netdevConfig",
                "VLAN" => "vlanConfig",
                "Bond" => "bondConfig",
                other => unreachable!("no NixOS mapping for section [{other}]"),
            };
            let mut keys = Map::new();
            for (k, v) in section.sorted_keys() {
                keys.insert((*k).to_string(), nixos_value(section.name, k, v));
            }
            attrs.insert(name.to_string(), Value::Object(keys));
            for (k, v) in &section.repeated {
                let list = match *k {
                    "Address" => "address",
                    "VLAN" => "vlan",
                    other => unreachable!("no NixOS mapping for {other}="),
                };
                attrs
                    .entry(list)
                    .or_insert_with(|| Value::Array(Vec::new()))
                    .as_array_mut()
                    .expect("list attribute")
                    .push(json!(v));
            }
        }
        Value::Object(attrs)
    }
}

/// Keys NixOS's networkd module checks as integers (`assertInt`); every other value is a string.
const NIXOS_INTEGER_KEYS: &[(&str, &str)] = &[("VLAN", "Id")];

/// A unit value as NixOS expects it: a number for the keys it checks as integers.
fn nixos_value(section: &str, key: &str, value: &str) -> Value {
    if NIXOS_INTEGER_KEYS.contains(&(section, key))
        && let Ok(n) = value.parse::<u64>()
    {
        return json!(n);
    }
    json!(value)
}

fn network_section(dhcp: bool) -> Section {
    Section::new("Network")
        .key("DHCP", if dhcp { "yes" } else { "no" })
        .key("IPv6AcceptRA", "no")
        .key("LinkLocalAddressing", "no")
}

fn match_name(name: &str) -> Section {
    Section::new("Match").key("Name", name)
}

/// The interface name a network has on `node` (`eth1`, `eth1.200`, `bond0.201`).
pub fn interface_of(profile: &NetworkProfile, node: &str, network: &str) -> String {
    let net = &profile.networks[network];
    match (&net.interface, net.vlan) {
        (Some(iface), _) => iface.clone(),
        (None, Some(default_vid)) => {
            let vid = profile
                .nodes
                .get(node)
                .and_then(|n| n.vlans.get(network))
                .copied()
                .unwrap_or(default_vid);
            format!("{}.{vid}", profile.trunk.as_deref().unwrap_or("eth1"))
        }
        (None, None) => unreachable!("validated networks have an interface or a VLAN"),
    }
}

/// The VLAN ID a network uses on `node` (its override, or the profile's).
pub fn vlan_of(profile: &NetworkProfile, node: &str, network: &str) -> Option<u32> {
    let default = profile.networks[network].vlan?;
    Some(
        profile
            .nodes
            .get(node)
            .and_then(|n| n.vlans.get(network))
            .copied()
            .unwrap_or(default),
    )
}

/// The networkd units of `node` under `profile`, in file-name order.
///
/// `node` may also be the profile's DHCP server, which gets its static address only (it
/// serves DHCP with dnsmasq, see [`super::dhcp`]).
pub fn units(profile: &NetworkProfile, node: &str) -> Vec<Unit> {
    let mut units = Vec::new();
    let dhcp_server = profile.dhcp.as_ref().filter(|d| d.server.name == node);
    let uses_dhcp = profile.mode == AddressMode::Dhcp && dhcp_server.is_none();

    if let Some(bond) = &profile.bond {
        let mut b = Section::new("Bond")
            .key("Mode", bond.mode.as_str())
            .key("MIIMonitorSec", format!("{}ms", bond.miimon_ms));
        if bond.mode == BondMode::ActiveBackup && bond.primary.is_some() {
            b = b.key("PrimaryReselectPolicy", "always");
        }
        if bond.mode == BondMode::Lacp {
            b = b.key("LACPTransmitRate", "fast");
        }
        if let Some(ms) = bond.updelay_ms {
            b = b.key("UpDelaySec", format!("{ms}ms"));
        }
        if let Some(ms) = bond.downdelay_ms {
            b = b.key("DownDelaySec", format!("{ms}ms"));
        }
        units.push(Unit {
            stem: format!("10-{}", bond.name),
            kind: UnitKind::Netdev,
            sections: vec![
                Section::new("NetDev")
                    .key("Kind", "bond")
                    .key("Name", &bond.name),
                b,
            ],
        });
        for member in &bond.members {
            let mut net = Section::new("Network").key("Bond", &bond.name);
            if bond.primary.as_ref() == Some(member) {
                net = net.key("PrimarySlave", "yes");
            }
            units.push(Unit {
                stem: format!("10-{member}"),
                kind: UnitKind::Network,
                sections: vec![
                    match_name(member),
                    net,
                    Section::new("Link").key("RequiredForOnline", "no"),
                ],
            });
        }
    }

    let vlan_nets: Vec<&String> = profile
        .networks
        .iter()
        .filter(|(_, n)| n.vlan.is_some())
        .map(|(name, _)| name)
        .collect();
    if let Some(trunk) = &profile.trunk
        && !vlan_nets.is_empty()
    {
        let mut net = network_section(false);
        for name in &vlan_nets {
            net = net.repeat("VLAN", interface_of(profile, node, name));
        }
        units.push(Unit {
            stem: format!("15-{trunk}"),
            kind: UnitKind::Network,
            sections: vec![match_name(trunk), net],
        });
    }

    for (name, net) in &profile.networks {
        let iface = interface_of(profile, node, name);
        let address = dhcp_server.map(|d| d.server.address).or_else(|| {
            profile
                .nodes
                .get(node)
                .and_then(|n| n.addresses.get(name).copied())
        });
        let mut section = network_section(uses_dhcp);
        if !uses_dhcp && let Some(a) = address {
            section = section.repeat("Address", format!("{a}/{}", net.subnet.prefix_len()));
        }
        let stem = if net.vlan.is_some() {
            format!("20-vlan-{name}")
        } else {
            format!("20-{iface}")
        };
        if let Some(vid) = vlan_of(profile, node, name) {
            units.push(Unit {
                stem: stem.clone(),
                kind: UnitKind::Netdev,
                sections: vec![
                    Section::new("NetDev")
                        .key("Kind", "vlan")
                        .key("Name", &iface),
                    Section::new("VLAN").key("Id", vid.to_string()),
                ],
            });
        }
        units.push(Unit {
            stem,
            kind: UnitKind::Network,
            sections: vec![match_name(&iface), section],
        });
    }
    units.sort_by_key(Unit::file_name);
    units
}

/// Kernel modules the profile's devices need (`bonding`, `8021q`).
pub fn kernel_modules(profile: &NetworkProfile) -> Vec<&'static str> {
    let mut mods = Vec::new();
    if profile.bond.is_some() {
        mods.push("bonding");
    }
    if profile.networks.values().any(|n| n.vlan.is_some()) {
        mods.push("8021q");
    }
    mods
}

//! The per-node data the `nixos/` modules read: the same networkd units as the Debian files
//! (as `systemd.network` attributes), the k3s role settings, and the DHCP server's settings.

use serde_json::{Map, Value, json};

use indexmap::IndexMap;

use super::dhcp::DnsmasqSettings;
use super::k3s;
use super::networkd::{Unit, UnitKind, interface_of, kernel_modules};
use crate::matrix;
use crate::profile::{ClusterNode, FlagValue, NetworkProfile, Profiles};

/// Flags the NixOS k3s module expresses as options of its own (`clusterInit`, `serverAddr`,
/// `tokenFile`); they are left out of `extraFlags`.
const MODULE_OPTIONS: &[&str] = &["cluster-init", "server", "token-file"];

/// The JSON document for one node.
pub fn node_json(
    p: &Profiles,
    profile: &NetworkProfile,
    node: &str,
    k3s_node: Option<(&ClusterNode, &IndexMap<String, FlagValue>)>,
    dnsmasq: Option<&DnsmasqSettings>,
    units: &[Unit],
    note: &str,
) -> Value {
    let mut networks = Map::new();
    let mut netdevs = Map::new();
    for unit in units {
        let target = match unit.kind {
            UnitKind::Network => &mut networks,
            UnitKind::Netdev => &mut netdevs,
        };
        target.insert(unit.stem.clone(), unit.to_nixos());
    }
    let wait_for = interface_of(profile, node, &profile.k3s_network);
    let mut doc = Map::new();
    doc.insert("_generated".into(), json!(note));
    doc.insert("profile".into(), json!(profile.name));
    doc.insert("node".into(), json!(node));
    doc.insert("hostName".into(), json!(node));
    doc.insert("kernelModules".into(), json!(kernel_modules(profile)));
    doc.insert(
        "network".into(),
        json!({
            "networks": networks,
            "netdevs": netdevs,
            "waitOnlineInterfaces": [wait_for],
        }),
    );
    if let Some((cn, settings)) = k3s_node {
        let server_addr = match settings.get("server") {
            Some(FlagValue::Text(url)) => url.clone(),
            _ => String::new(),
        };
        let mut rest = settings.clone();
        rest.retain(|k, _| !MODULE_OPTIONS.contains(&k.as_str()));
        doc.insert(
            "k3s".into(),
            json!({
                "role": cn.role.as_str(),
                "clusterInit": cn.init,
                "serverAddr": server_addr,
                "tokenFile": p.cluster.k3s.token.node_path,
                "extraFlags": k3s::flags(&rest),
            }),
        );
    }
    if let Some(dns) = dnsmasq {
        doc.insert(
            "dnsmasq".into(),
            json!({
                "settings": {
                    "interface": dns.interface,
                    "bind-interfaces": true,
                    "dhcp-range": [dns.range],
                    "dhcp-host": dns.hosts,
                    "address": dns.addresses,
                }
            }),
        );
    }
    Value::Object(doc)
}

/// Where the flake reads the matrix: `nixos/rendered/variants.json`.
pub const VARIANTS_PATH: &str = "nixos/rendered/variants.json";

/// The name of a variant's NixOS system in the flake: `nixosConfigurations."<machine>-<id>"`.
pub fn system_name(v: &matrix::Variant) -> String {
    format!("{}-{}", v.machine, v.id)
}

/// Whether the flake has a NixOS system for `v`. A variant with a feature has none: the only
/// feature, A/B updates with SWUpdate, exists only for the Debian images.
pub fn has_system(v: &matrix::Variant) -> bool {
    v.feature.is_none()
}

/// The matrix as the flake reads it: every variant with a NixOS system ([`has_system`]), with
/// the system's name, its Nix system (`x86_64-linux`), its machine's serial console and the node
/// file it reads (if it has a profile and node), plus the k3s version the cluster asks for.
pub fn variants_json(p: &Profiles, note: &str) -> Value {
    let variants: Vec<Value> = matrix::variants(p)
        .iter()
        .filter(|v| has_system(v))
        .map(|v| {
            let machine = p.machines.get(&v.machine);
            let node_file = match (&v.profile, &v.node) {
                (Some(profile), Some(node)) => json!(format!("{profile}/{node}.json")),
                _ => Value::Null,
            };
            json!({
                "name": system_name(v),
                "id": v.id,
                "machine": v.machine,
                "system": machine.map(|m| format!("{}-linux", m.arch.as_str())),
                "serial": machine.map(|m| m.serial.clone()),
                "role": v.role,
                "testOverlay": v.test_overlay,
                "profile": v.profile,
                "node": v.node,
                "nodeFile": node_file,
            })
        })
        .collect();
    json!({
        "_generated": note,
        "k3sVersion": p.cluster.k3s.version,
        "k3sSha256": p.cluster.k3s.sha256,
        "variants": variants,
    })
}

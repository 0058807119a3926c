//! The per-node data the `nixos/` modules read: the same networkd units as the Debian files
//! (as `systemd.network` attributes), the k3s role settings, and the DHCP server's settings.

use serde_json::{Map, Value, json};

use indexmap::IndexMap;

use super::dhcp::DnsmasqSettings;
use super::k3s;
use super::networkd::{Unit, UnitKind, interface_of, kernel_modules};
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

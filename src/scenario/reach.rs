//! The reachability check of the cluster and network tests: every booted node pings every
//! other booted node on each network both are on, and must reach it exactly when the profile
//! puts both on the same VLAN (or both untagged); and each node's NICs carry the plan's MACs in
//! the plan's order. One probe script per node, through its control channel.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cluster::engine::Cluster;
use crate::profile::NetworkProfile;
use crate::render::networkd::vlan_of;
use crate::render::qemu::PlanNode;

use super::result::Check;

/// How long one node's probe script may take (a lost ping costs about 2 s under TCG).
const PROBE: Duration = Duration::from_secs(120);

/// One address a node pings, and whether the profile says it must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The node that owns the address.
    pub node: String,
    /// The network the address is on.
    pub network: String,
    /// The address.
    pub address: String,
    /// Whether both ends are on the same VLAN of that network.
    pub reachable: bool,
}

/// `node`'s address on `network`: its own, or the DHCP server's on the network it serves.
fn address_of(net: &NetworkProfile, node: &str, network: &str) -> Option<String> {
    if let Some(a) = net.nodes.get(node).and_then(|n| n.addresses.get(network)) {
        return Some(a.to_string());
    }
    let server = &net.dhcp.as_ref()?.server;
    (server.name == node && net.networks.get(network)?.subnet.contains(&server.address))
        .then(|| server.address.to_string())
}

/// What `from` pings: the address of every other node in `nodes` on every network both have
/// an address on, in profile order.
pub fn targets(net: &NetworkProfile, from: &str, nodes: &[String]) -> Vec<Target> {
    let mut out = Vec::new();
    for (network, _) in &net.networks {
        if address_of(net, from, network).is_none() {
            continue;
        }
        for to in nodes.iter().filter(|n| n.as_str() != from) {
            if let Some(address) = address_of(net, to, network) {
                out.push(Target {
                    node: to.clone(),
                    network: network.clone(),
                    address,
                    reachable: vlan_of(net, from, network) == vlan_of(net, to, network),
                });
            }
        }
    }
    out
}

/// The shell script that pings each target and prints each NIC's MAC, one result per line
/// (`ping ADDRESS ok|lost`, `mac NIC MAC`).
pub fn script(targets: &[Target], node: &PlanNode) -> String {
    let mut s = String::new();
    for t in targets {
        s.push_str(&format!(
            "if ping -c2 -i0.3 -W2 {a} >/dev/null 2>&1; then echo 'ping {a} ok'; else echo 'ping {a} lost'; fi\n",
            a = t.address
        ));
    }
    // A bond member carries the bond's MAC; its own is its permanent address.
    for nic in &node.nics {
        s.push_str(&format!(
            "echo \"mac {n} $(cat /sys/class/net/{n}/bonding_slave/perm_hwaddr 2>/dev/null || cat /sys/class/net/{n}/address 2>/dev/null || echo missing)\"\n",
            n = nic.name
        ));
    }
    s
}

/// The checks of one node from its script's output: one for reachability, one for NIC order.
pub fn judge(from: &str, targets: &[Target], node: &PlanNode, output: &str) -> Vec<Check> {
    let mut seen: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [kind @ ("ping" | "mac"), key, value] = words.as_slice() {
            seen.insert((kind, key), value);
        }
    }
    let mut wrong = Vec::new();
    let mut right = Vec::new();
    for t in targets {
        let answered = seen.get(&("ping", t.address.as_str())) == Some(&"ok");
        let what = format!("{} {} ({})", t.network, t.node, t.address);
        match (answered, t.reachable) {
            (true, true) => right.push(format!("{what} answers")),
            (false, false) => right.push(format!("{what} is isolated (other VLAN)")),
            (false, true) => wrong.push(format!(
                "{what} does not answer although both are on the same VLAN"
            )),
            (true, false) => wrong.push(format!(
                "{what} answers although it is on another VLAN: traffic crosses VLANs"
            )),
        }
    }
    let reach = Check {
        name: format!("{from} reaches the nodes it shares a network with"),
        passed: wrong.is_empty(),
        detail: if targets.is_empty() {
            "no other booted node has an address on its networks".into()
        } else if wrong.is_empty() {
            right.join("; ")
        } else {
            wrong.join("; ")
        },
    };
    let mut misplaced = Vec::new();
    for nic in &node.nics {
        let got = seen
            .get(&("mac", nic.name.as_str()))
            .copied()
            .unwrap_or("missing");
        if !got.eq_ignore_ascii_case(&nic.mac) {
            misplaced.push(format!("{} has {got}, the plan says {}", nic.name, nic.mac));
        }
    }
    let order = Check {
        name: format!("{from} has its NICs in plan order"),
        passed: misplaced.is_empty(),
        detail: if misplaced.is_empty() {
            node.nics
                .iter()
                .map(|n| format!("{}={}", n.name, n.mac))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            misplaced.join("; ")
        },
    };
    vec![reach, order]
}

/// Runs the check on every node of `cluster` (in plan order) under `net`.
pub async fn reachability(cluster: &Cluster, net: &NetworkProfile) -> Vec<Check> {
    let nodes: Vec<String> = cluster.plan.nodes.iter().map(|n| n.name.clone()).collect();
    let mut out = Vec::new();
    for node in &cluster.plan.nodes {
        let targets = targets(net, &node.name, &nodes);
        let result = match cluster.control(&node.name) {
            Some(channel) => channel
                .shell(&script(&targets, node), PROBE)
                .await
                .map_err(|e| e.to_string()),
            None => Err(format!("{} has no control channel", node.name)),
        };
        match result {
            Ok(o) => out.extend(judge(&node.name, &targets, node, &o.stdout)),
            Err(e) => out.push(Check {
                name: format!("{} reaches the nodes it shares a network with", node.name),
                passed: false,
                detail: e,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> crate::profile::Profiles {
        crate::profile::Profiles::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"),
        )
        .unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_other_node_on_every_shared_network_same_vlan_must_answer() {
        let p = shipped();
        let t = targets(
            &p.networks["vlans"],
            "agent-1",
            &names(&["server-1", "server-2", "agent-1"]),
        );
        let listed: Vec<(&str, &str, bool)> = t
            .iter()
            .map(|t| (t.node.as_str(), t.address.as_str(), t.reachable))
            .collect();
        assert_eq!(
            listed,
            [
                ("server-1", "192.168.200.1", true),
                ("server-2", "192.168.200.2", true),
                ("server-1", "192.168.100.1", true),
                ("server-2", "192.168.100.2", true),
            ]
        );
    }

    #[test]
    fn the_dhcp_server_is_pinged_and_pings_on_the_network_it_serves() {
        let p = shipped();
        let net = &p.networks["dhcp-simple"];
        let nodes = names(&["dhcp-server", "server-1"]);
        let from_server = targets(net, "dhcp-server", &nodes);
        assert_eq!(from_server.len(), 1, "{from_server:?}");
        assert_eq!(from_server[0].address, "192.168.1.1");
        let to_server = targets(net, "server-1", &nodes);
        assert_eq!(to_server[0].address, "192.168.1.254");
        assert!(to_server[0].reachable);
    }

    #[test]
    fn nodes_on_other_vlans_must_not_answer() {
        let p = shipped();
        let net = &p.networks["vlans-broken"];
        let t = targets(net, "server-1", &names(&["server-1", "server-2"]));
        assert!(!t.is_empty());
        assert!(t.iter().all(|t| !t.reachable), "{t:?}");
    }

    #[test]
    fn a_lost_ping_a_crossed_vlan_and_a_swapped_nic_fail_with_the_reason() {
        let p = shipped();
        let net = &p.networks["simple"];
        let prof = crate::render::profile(&p, "simple").unwrap();
        let plan = crate::render::qemu::plan(&p, prof, "qemuamd64", None).unwrap();
        let node = plan.nodes.iter().find(|n| n.name == "agent-1").unwrap();
        let nodes = names(&["server-1", "agent-1"]);
        let t = targets(net, "agent-1", &nodes);
        let script = script(&t, node);
        assert!(
            script.contains("ping -c2 -i0.3 -W2 192.168.1.1"),
            "{script}"
        );
        let macs: String = node
            .nics
            .iter()
            .map(|n| format!("mac {} {}\n", n.name, n.mac))
            .collect();
        let ok = judge("agent-1", &t, node, &format!("ping 192.168.1.1 ok\n{macs}"));
        assert!(ok.iter().all(|c| c.passed), "{ok:?}");
        let lost = judge(
            "agent-1",
            &t,
            node,
            &format!("ping 192.168.1.1 lost\n{macs}"),
        );
        assert!(!lost[0].passed && lost[0].detail.contains("does not answer"));
        let mut crossed = t.clone();
        crossed[0].reachable = false;
        let c = judge(
            "agent-1",
            &crossed,
            node,
            &format!("ping 192.168.1.1 ok\n{macs}"),
        );
        assert!(!c[0].passed && c[0].detail.contains("traffic crosses VLANs"));
        let swapped = judge(
            "agent-1",
            &t,
            node,
            &format!("ping 192.168.1.1 ok\nmac eth0 {}\n", node.nics[1].mac),
        );
        assert!(!swapped[1].passed, "{swapped:?}");
        assert!(
            swapped[1].detail.contains("eth1 has missing"),
            "{swapped:?}"
        );
    }
}

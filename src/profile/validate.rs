//! Rules that span fields and files: names, addresses, VLANs, references, the matrix.
//!
//! Each broken rule becomes one [`Problem`] naming the file, the field (and its line when it can
//! be found) and the fix. Every rule is checked, so one run lists every problem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::ident::{is_mac, is_unicast_mac, nic_index, nic_mac, node_nics};
use super::locate::FieldPath;
use super::model::*;
use super::{CLUSTER_FILE, MACHINES_FILE, MATRIX_FILE, Problem, Profiles, Sources, display_path};
use crate::path;

/// k3s settings the renderer writes itself; a profile may not set them in `extra`.
const OWNED_K3S_KEYS: &[&str] = &[
    "node-name",
    "node-ip",
    "advertise-address",
    "tls-san",
    "flannel-iface",
    "cluster-init",
    "server",
    "token",
    "token-file",
    "agent-token",
    "cluster-cidr",
    "service-cidr",
];

/// Placeholders an `overlay_order` template may use.
const PLACEHOLDERS: &[&str] = &[
    "kas_machine",
    "kas_image",
    "feature",
    "test_overlay",
    "profile",
    "node",
];

struct Checker<'a> {
    sources: &'a Sources,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn report(
        &mut self,
        file: &Path,
        path: FieldPath,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let text = self.sources.text(file);
        self.problems
            .push(Problem::at_field(file, text, &path, message, fix));
    }
}

/// True if `name` can be a host name and a file name: `[a-z0-9-]`, no leading or trailing '-'.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Checks every cross-field rule; returns the problems found (empty when all is well).
pub fn check(p: &Profiles, sources: &Sources) -> Vec<Problem> {
    let mut c = Checker {
        sources,
        problems: Vec::new(),
    };
    let machines_file = display_path(&p.root.join(MACHINES_FILE));
    let cluster_file = display_path(&p.root.join(CLUSTER_FILE));
    let matrix_file = display_path(&p.root.join(MATRIX_FILE));
    check_machines(&mut c, p, &machines_file);
    check_cluster(&mut c, p, &cluster_file);
    for profile in p.networks.values() {
        let file = display_path(&p.network_file(&profile.name));
        check_network(&mut c, p, profile, &file);
    }
    check_matrix(&mut c, p, &matrix_file);
    c.problems
}

fn check_machines(c: &mut Checker, p: &Profiles, file: &Path) {
    if p.machines.is_empty() {
        c.report(
            file,
            path!["machines"],
            "no machines are defined",
            "define at least one machine",
        );
    }
    for (name, m) in &p.machines {
        let at = path!["machines", name];
        if !is_valid_name(name) {
            c.report(
                file,
                at.clone(),
                format!("machine name `{name}` may only use a-z, 0-9 and '-'"),
                "rename the machine (it becomes part of artifact file names)",
            );
        }
        if m.artifacts.is_empty() {
            c.report(
                file,
                at.key("artifacts"),
                "a machine must produce at least one artifact",
                "list the files its build produces, e.g. { type: wic, suffix: .wic }",
            );
        }
        if m.serial.is_empty() || m.serial.starts_with("/dev/") {
            c.report(
                file,
                at.key("serial"),
                format!("`{}` is not a console device name", m.serial),
                "give the device without /dev/, e.g. ttyS0",
            );
        }
        if let Some(q) = &m.qemu {
            if q.memory_mib < 128 {
                c.report(
                    file,
                    at.key("qemu").key("memory_mib"),
                    format!("{} MiB is too little memory to boot a node", q.memory_mib),
                    "give at least 128 (k3s servers want 1024 or more)",
                );
            }
            if q.cpus == 0 {
                c.report(
                    file,
                    at.key("qemu").key("cpus"),
                    "a node needs at least one vCPU",
                    "set cpus: 1 or more",
                );
            }
        }
    }
}

fn check_cluster(c: &mut Checker, p: &Profiles, file: &Path) {
    let cl = &p.cluster;
    let mut seen = HashSet::new();
    for (i, node) in cl.nodes.iter().enumerate() {
        let at = path!["nodes"].index(i);
        if !is_valid_name(&node.name) {
            c.report(
                file,
                at.key("name"),
                format!(
                    "node name `{}` may only use a-z, 0-9 and '-' (it becomes a host and file name)",
                    node.name
                ),
                "rename the node, e.g. server-1",
            );
        }
        if !seen.insert(node.name.as_str()) {
            c.report(
                file,
                at.key("name"),
                format!("node `{}` is defined twice", node.name),
                "give every node a unique name",
            );
        }
        if node.init && node.role != Role::Server {
            c.report(
                file,
                at.key("init"),
                format!(
                    "`{}` is an agent; only a server can initialise the cluster",
                    node.name
                ),
                "move `init: true` to a server",
            );
        }
        check_extra(c, file, at.key("extra"), &node.extra);
    }
    let inits: Vec<&ClusterNode> = cl.nodes.iter().filter(|n| n.init).collect();
    if inits.is_empty() {
        c.report(
            file,
            path!["nodes"],
            "no server initialises the cluster",
            "add `init: true` to exactly one server (it runs --cluster-init)",
        );
    } else if inits.len() > 1 {
        let names: Vec<&str> = inits.iter().map(|n| n.name.as_str()).collect();
        let i = cl
            .nodes
            .iter()
            .position(|n| n.name == inits[1].name)
            .unwrap_or(0);
        c.report(
            file,
            path!["nodes"].index(i).key("init"),
            format!(
                "{} servers initialise the cluster ({}); two would form two clusters",
                inits.len(),
                names.join(", ")
            ),
            "keep `init: true` on one server only",
        );
    }
    let k = &cl.k3s;
    for (arch, sum) in [("amd64", &k.sha256.amd64), ("arm64", &k.sha256.arm64)] {
        if let Some(sum) = sum
            && !(sum.len() == 64
                && sum
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        {
            c.report(
                file,
                path!["k3s", "sha256", arch],
                format!("`{sum}` is not a sha256 (64 lowercase hex digits)"),
                format!("copy the line for the k3s asset from the release's sha256sum-{arch}.txt"),
            );
        }
    }
    if k.cluster_cidr.trunc() != k.cluster_cidr {
        c.report(
            file,
            path!["k3s", "cluster_cidr"],
            format!("{} has host bits set", k.cluster_cidr),
            format!("write the network address, {}", k.cluster_cidr.trunc()),
        );
    }
    if k.service_cidr.trunc() != k.service_cidr {
        c.report(
            file,
            path!["k3s", "service_cidr"],
            format!("{} has host bits set", k.service_cidr),
            format!("write the network address, {}", k.service_cidr.trunc()),
        );
    }
    if overlaps(k.cluster_cidr, k.service_cidr) {
        c.report(
            file,
            path!["k3s", "service_cidr"],
            format!(
                "the service CIDR {} overlaps the pod CIDR {}",
                k.service_cidr, k.cluster_cidr
            ),
            "use disjoint ranges, e.g. 10.42.0.0/16 for pods and 10.43.0.0/16 for services",
        );
    }
    if !k.token.node_path.starts_with('/') {
        c.report(
            file,
            path!["k3s", "token", "node_path"],
            format!("`{}` is not an absolute path", k.token.node_path),
            "give the absolute path of the token file on the node, e.g. /var/lib/rancher/k3s/server/token",
        );
    }
    match k.token.source {
        TokenSource::File if k.token.file.is_none() => c.report(
            file,
            path!["k3s", "token", "source"],
            "`source: file` needs the host file that holds the token",
            "add `file: /path/to/token` under k3s.token",
        ),
        TokenSource::Env if k.token.env.is_none() => c.report(
            file,
            path!["k3s", "token", "source"],
            "`source: env` needs the name of the environment variable that holds the token",
            "add `env: K3S_TOKEN` under k3s.token",
        ),
        _ => {}
    }
    for (role, extra) in [("server", &k.extra.server), ("agent", &k.extra.agent)] {
        check_extra(c, file, path!["k3s", "extra", role], extra);
    }
    if let Some(mode) = &k.write_kubeconfig_mode {
        let ok = mode.len() == 4 && mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
        if !ok {
            c.report(
                file,
                path!["k3s", "write_kubeconfig_mode"],
                format!("`{mode}` is not an octal file mode"),
                "write four octal digits in quotes, e.g. \"0644\"",
            );
        }
    }
}

fn check_extra(
    c: &mut Checker,
    file: &Path,
    at: FieldPath,
    extra: &indexmap::IndexMap<String, FlagValue>,
) {
    for key in extra.keys() {
        let here = at.key(key);
        if key == "token" || key == "agent-token" {
            c.report(
                file,
                here,
                "a k3s token must never be written into a profile",
                "remove it; set k3s.token.source (generate, file or env) instead",
            );
        } else if OWNED_K3S_KEYS.contains(&key.as_str()) {
            c.report(
                file,
                here,
                format!("`{key}` is set by n3x from the profiles"),
                "remove it; change the network profile or cluster.yaml instead",
            );
        } else if !is_valid_name(key) {
            c.report(
                file,
                here,
                format!("`{key}` is not a k3s flag name"),
                "write the flag without leading dashes, e.g. etcd-arg",
            );
        }
    }
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// A usable host address of `net`: inside it, not its network or broadcast address.
fn is_host_of(net: &Ipv4Net, addr: Ipv4Addr) -> bool {
    net.contains(&addr)
        && (net.prefix_len() >= 31 || (addr != net.network() && addr != net.broadcast()))
}

fn check_network(c: &mut Checker, p: &Profiles, prof: &NetworkProfile, file: &Path) {
    if !is_valid_name(&prof.name) {
        c.report(
            file,
            FieldPath::root(),
            format!(
                "profile name `{}` (the file name) may only use a-z, 0-9 and '-'",
                prof.name
            ),
            "rename the file",
        );
    }
    let bond_name = prof.bond.as_ref().map(|b| b.name.as_str());
    let is_link = |n: &str| nic_index(n).is_some() || Some(n) == bond_name;

    // Bond
    if let Some(bond) = &prof.bond {
        let at = path!["bond"];
        if nic_index(&bond.name).is_some() || !is_valid_name(&bond.name) {
            c.report(
                file,
                at.key("name"),
                format!("`{}` cannot name a bond", bond.name),
                "use a name like bond0",
            );
        }
        if bond.members.is_empty() {
            c.report(
                file,
                at.key("members"),
                "a bond needs at least one member",
                "list its NICs, e.g. [eth1, eth2]",
            );
        }
        let mut seen = HashSet::new();
        for (i, m) in bond.members.iter().enumerate() {
            if nic_index(m).is_none() {
                c.report(
                    file,
                    at.key("members").index(i),
                    format!("bond member `{m}` is not a NIC name"),
                    "use kernel NIC names eth1, eth2, … (images boot with net.ifnames=0)",
                );
            } else if !seen.insert(m) {
                c.report(
                    file,
                    at.key("members").index(i),
                    format!("`{m}` is listed twice"),
                    "list each member once",
                );
            }
        }
        if let Some(primary) = &bond.primary
            && !bond.members.contains(primary)
        {
            c.report(
                file,
                at.key("primary"),
                format!(
                    "primary `{primary}` is not a member of {} ({})",
                    bond.name,
                    bond.members.join(", ")
                ),
                "name one of the bond's members",
            );
        }
        if bond.primary.is_some() && bond.mode != BondMode::ActiveBackup {
            c.report(
                file,
                at.key("primary"),
                format!(
                    "a primary member only applies to active-backup, not {}",
                    bond.mode.as_str()
                ),
                "remove `primary` or use mode: active-backup",
            );
        }
        if bond.miimon_ms == 0 {
            c.report(
                file,
                at.key("miimon_ms"),
                "miimon 0 disables link monitoring, so the bond would never fail over",
                "set miimon_ms: 100",
            );
        }
        let used = prof.trunk.as_deref() == Some(bond.name.as_str())
            || prof
                .networks
                .values()
                .any(|n| n.interface.as_deref() == Some(bond.name.as_str()));
        if !used {
            c.report(
                file,
                at.key("name"),
                format!("bond `{}` carries no network", bond.name),
                format!(
                    "set `trunk: {}` or a network's `interface: {}`",
                    bond.name, bond.name
                ),
            );
        }
    }

    // Trunk
    if let Some(trunk) = &prof.trunk {
        if !is_link(trunk) {
            c.report(
                file,
                path!["trunk"],
                format!("trunk `{trunk}` is neither a NIC nor the profile's bond"),
                match bond_name {
                    Some(b) => format!("use a NIC name like eth1 or the bond `{b}`"),
                    None => "use a NIC name like eth1, or define a bond".to_string(),
                },
            );
        }
        if let Some(bond) = &prof.bond
            && bond.members.contains(trunk)
        {
            c.report(
                file,
                path!["trunk"],
                format!(
                    "`{trunk}` is a member of {}; it cannot carry VLANs itself",
                    bond.name
                ),
                format!("set trunk: {}", bond.name),
            );
        }
        if !prof.networks.values().any(|n| n.vlan.is_some()) {
            c.report(
                file,
                path!["trunk"],
                "a trunk is set but no network has a VLAN",
                "remove `trunk` or give a network a `vlan`",
            );
        }
    }

    // Networks
    if prof.networks.is_empty() {
        c.report(
            file,
            path!["networks"],
            "no networks are defined",
            "define at least the network k3s uses",
        );
    }
    let mut vlan_ids = HashMap::new();
    for (name, net) in &prof.networks {
        let at = path!["networks", name];
        if !is_valid_name(name) {
            c.report(
                file,
                at.clone(),
                format!("network name `{name}` may only use a-z, 0-9 and '-'"),
                "rename the network, e.g. cluster",
            );
        }
        if net.subnet.trunc() != net.subnet {
            c.report(
                file,
                at.key("subnet"),
                format!("{} has host bits set", net.subnet),
                format!("write the network address, {}", net.subnet.trunc()),
            );
        }
        match (&net.interface, net.vlan) {
            (Some(_), Some(_)) => c.report(
                file,
                at.clone(),
                "a network has either `interface` (untagged) or `vlan` (tagged on the trunk), not both",
                "remove one of them",
            ),
            (None, None) => c.report(
                file,
                at.clone(),
                "the network is attached to nothing",
                "add `interface: eth1` (untagged) or `vlan: <id>` (tagged on the trunk)",
            ),
            (Some(iface), None) => {
                if !is_link(iface) {
                    c.report(
                        file,
                        at.key("interface"),
                        format!("interface `{iface}` is neither a NIC nor the profile's bond"),
                        "use a NIC name like eth1 (images boot with net.ifnames=0) or the bond's name",
                    );
                }
            }
            (None, Some(vid)) => {
                check_vlan_id(c, file, at.key("vlan"), vid);
                if prof.trunk.is_none() {
                    c.report(
                        file,
                        at.key("vlan"),
                        "a VLAN needs a trunk to ride on",
                        "add `trunk: eth1` (or the bond's name) at the top of the profile",
                    );
                }
                if let Some(other) = vlan_ids.insert(vid, name) {
                    c.report(
                        file,
                        at.key("vlan"),
                        format!("VLAN {vid} is used by both `{other}` and `{name}`"),
                        "give each network its own VLAN ID",
                    );
                }
            }
        }
    }
    let nets: Vec<(&String, &Network)> = prof.networks.iter().collect();
    for (i, (a, na)) in nets.iter().enumerate() {
        for (b, nb) in &nets[i + 1..] {
            if overlaps(na.subnet, nb.subnet) {
                c.report(
                    file,
                    path!["networks", *b, "subnet"],
                    format!("{} overlaps the subnet of `{a}` ({})", nb.subnet, na.subnet),
                    "give each network its own subnet",
                );
            }
        }
    }
    if !prof.networks.contains_key(&prof.k3s_network) {
        c.report(
            file,
            path!["k3s_network"],
            format!("network `{}` does not exist", prof.k3s_network),
            format!(
                "name one of the profile's networks: {}",
                prof.networks.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        );
    }

    // DHCP
    match (prof.mode, &prof.dhcp) {
        (AddressMode::Static, Some(_)) => c.report(
            file,
            path!["dhcp"],
            "a DHCP server is configured but the profile uses static addresses",
            "set `mode: dhcp`, or remove the `dhcp` section",
        ),
        (AddressMode::Dhcp, None) => c.report(
            file,
            path!["mode"],
            "`mode: dhcp` needs a DHCP server",
            "add a `dhcp` section with server, range and lease",
        ),
        (AddressMode::Dhcp, Some(dhcp)) => check_dhcp(c, p, prof, dhcp, file),
        (AddressMode::Static, None) => {}
    }

    // Nodes
    for (name, pn) in &prof.nodes {
        let at = path!["nodes", name];
        if p.node(name).is_none() {
            c.report(
                file,
                at.clone(),
                format!("node `{name}` does not exist in profiles/cluster.yaml"),
                format!(
                    "use one of the cluster's nodes ({}) or add it to cluster.yaml",
                    node_names(p)
                ),
            );
        }
        for (net_name, addr) in &pn.addresses {
            let here = at.key("addresses").key(net_name);
            match prof.networks.get(net_name) {
                None => c.report(
                    file,
                    here,
                    format!("network `{net_name}` does not exist in this profile"),
                    format!(
                        "use one of: {}",
                        prof.networks.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ),
                Some(net) if !is_host_of(&net.subnet, *addr) => c.report(
                    file,
                    here,
                    format!(
                        "{addr} is not a host address of network `{net_name}` ({})",
                        net.subnet
                    ),
                    format!(
                        "pick an address inside {} (not its network or broadcast address)",
                        net.subnet
                    ),
                ),
                Some(_) => {}
            }
        }
        for net_name in prof.networks.keys() {
            if !pn.addresses.contains_key(net_name) {
                c.report(
                    file,
                    at.key("addresses"),
                    format!("node `{name}` has no address on network `{net_name}`"),
                    format!("add `{net_name}: <address>` under its addresses"),
                );
            }
        }
        for (net_name, vid) in &pn.vlans {
            let here = at.key("vlans").key(net_name);
            match prof.networks.get(net_name) {
                Some(net) if net.vlan.is_some() => check_vlan_id(c, file, here, *vid),
                Some(_) => c.report(
                    file,
                    here,
                    format!("network `{net_name}` is untagged; it has no VLAN to override"),
                    "remove the override",
                ),
                None => c.report(
                    file,
                    here,
                    format!("network `{net_name}` does not exist in this profile"),
                    "override only VLAN networks of this profile",
                ),
            }
        }
        let nics = node_nics(prof);
        for (nic, mac) in &pn.macs {
            let here = at.key("macs").key(nic);
            if !nics.contains(nic) {
                c.report(
                    file,
                    here.clone(),
                    format!("node `{name}` has no NIC `{nic}` in this profile"),
                    format!("pin MACs only for its NICs: {}", nics.join(", ")),
                );
            }
            if !is_mac(mac) {
                c.report(
                    file,
                    here,
                    format!("`{mac}` is not a MAC address"),
                    "write six hex pairs, e.g. \"52:54:00:01:01:01\" (quoted)",
                );
            } else if !is_unicast_mac(mac) {
                c.report(
                    file,
                    here,
                    format!("`{mac}` is a multicast MAC address"),
                    "use a unicast address; 52:54:00:xx:xx:xx is QEMU's range",
                );
            }
        }
    }
    for node in &p.cluster.nodes {
        // An invalid name is reported in cluster.yaml; copying it here would not help.
        if !prof.nodes.contains_key(&node.name) && is_valid_name(&node.name) {
            c.report(
                file,
                path!["nodes"],
                format!("cluster node `{}` has no place in this profile", node.name),
                format!("add `{}:` with its addresses under nodes", node.name),
            );
        }
    }
    check_duplicate_addresses(c, prof, file);
    check_duplicate_macs(c, prof, file);
}

fn node_names(p: &Profiles) -> String {
    p.cluster
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_vlan_id(c: &mut Checker, file: &Path, at: FieldPath, vid: u32) {
    if !(1..=4094).contains(&vid) {
        c.report(
            file,
            at,
            format!("VLAN ID {vid} is outside 1-4094"),
            "use a VLAN ID between 1 and 4094",
        );
    }
}

fn check_dhcp(c: &mut Checker, p: &Profiles, prof: &NetworkProfile, dhcp: &Dhcp, file: &Path) {
    let at = path!["dhcp"];
    if prof.networks.len() != 1 || prof.networks.values().any(|n| n.vlan.is_some()) {
        c.report(
            file,
            path!["mode"],
            "DHCP profiles support exactly one untagged network",
            "use one network with `interface:`, or static addresses for VLANs",
        );
        return;
    }
    let Some(net) = prof.networks.values().next() else {
        return;
    };
    let subnet = net.subnet;
    if !is_valid_name(&dhcp.server.name) {
        c.report(
            file,
            at.key("server").key("name"),
            format!("`{}` may only use a-z, 0-9 and '-'", dhcp.server.name),
            "rename it, e.g. dhcp-server",
        );
    }
    if p.node(&dhcp.server.name).is_some() {
        c.report(
            file,
            at.key("server").key("name"),
            format!("`{}` is already a cluster node", dhcp.server.name),
            "give the DHCP server its own name, e.g. dhcp-server",
        );
    }
    if !is_host_of(&subnet, dhcp.server.address) {
        c.report(
            file,
            at.key("server").key("address"),
            format!("{} is not a host address of {subnet}", dhcp.server.address),
            format!("pick an address inside {subnet}"),
        );
    }
    if !is_mac(&dhcp.server.mac) {
        c.report(
            file,
            at.key("server").key("mac"),
            format!("`{}` is not a MAC address", dhcp.server.mac),
            "write six hex pairs, e.g. \"52:54:00:01:01:00\" (quoted)",
        );
    }
    let (start, end) = (dhcp.range.start, dhcp.range.end);
    for (key, a) in [("start", start), ("end", end)] {
        if !is_host_of(&subnet, a) {
            c.report(
                file,
                at.key("range").key(key),
                format!("{a} is not a host address of {subnet}"),
                format!("keep the dynamic range inside {subnet}"),
            );
        }
    }
    if u32::from(start) > u32::from(end) {
        c.report(
            file,
            at.key("range"),
            format!("the range starts ({start}) after it ends ({end})"),
            "swap start and end",
        );
    }
    let in_range = |a: Ipv4Addr| (u32::from(start)..=u32::from(end)).contains(&u32::from(a));
    if in_range(dhcp.server.address) {
        c.report(
            file,
            at.key("server").key("address"),
            format!(
                "the server's own address {} lies in the dynamic range",
                dhcp.server.address
            ),
            "move it outside range.start-range.end",
        );
    }
    for (name, pn) in &prof.nodes {
        if let Some(a) = pn.addresses.values().next()
            && in_range(*a)
        {
            c.report(
                file,
                path!["nodes", name, "addresses"],
                format!("reserved address {a} lies in the dynamic range {start}-{end}"),
                "reserve addresses outside the dynamic range, or shrink the range",
            );
        }
    }
    if !is_valid_lease(&dhcp.lease) {
        c.report(
            file,
            at.key("lease"),
            format!("`{}` is not a lease time", dhcp.lease),
            "write a number with a unit: 30m, 12h, 1d",
        );
    }
}

fn is_valid_lease(s: &str) -> bool {
    let Some(unit) = s.chars().last() else {
        return false;
    };
    let digits = &s[..s.len() - unit.len_utf8()];
    matches!(unit, 's' | 'm' | 'h' | 'd')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

fn check_duplicate_addresses(c: &mut Checker, prof: &NetworkProfile, file: &Path) {
    for net_name in prof.networks.keys() {
        let mut owners: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
        if let Some(d) = &prof.dhcp {
            owners.insert(d.server.address, &d.server.name);
        }
        for (node, pn) in &prof.nodes {
            if let Some(a) = pn.addresses.get(net_name)
                && let Some(other) = owners.insert(*a, node)
            {
                c.report(
                    file,
                    path!["nodes", node, "addresses", net_name],
                    format!("{a} on `{net_name}` is also the address of `{other}`"),
                    "give every node its own address",
                );
            }
        }
    }
}

fn check_duplicate_macs(c: &mut Checker, prof: &NetworkProfile, file: &Path) {
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    if let Some(d) = &prof.dhcp {
        owners.insert(d.server.mac.to_ascii_lowercase(), d.server.name.clone());
    }
    let nics = node_nics(prof);
    for node in prof.nodes.keys() {
        for nic in &nics {
            let mac = nic_mac(prof, node, nic);
            if let Some(other) = owners.insert(mac.clone(), format!("{node} {nic}")) {
                let pinned = prof.nodes[node].macs.contains_key(nic);
                let at = if pinned {
                    path!["nodes", node, "macs", nic]
                } else {
                    path!["nodes", node]
                };
                c.report(
                    file,
                    at,
                    format!("MAC {mac} of {node} {nic} is also used by {other}"),
                    "give every NIC its own MAC (or remove the pinned one to get a derived MAC)",
                );
            }
        }
    }
}

fn check_matrix(c: &mut Checker, p: &Profiles, file: &Path) {
    let m = &p.matrix;
    for (name, _) in &m.roles {
        if name != "base" && name != "server" && name != "agent" {
            c.report(
                file,
                path!["roles", name],
                format!("unknown image role `{name}`"),
                "use base, server or agent",
            );
        }
    }
    for (i, rule) in m.overlay_order.iter().enumerate() {
        let at = path!["overlay_order"].index(i);
        match rule {
            OverlayRule::Template(t) => {
                for ph in placeholders(t) {
                    if !PLACEHOLDERS.contains(&ph.as_str()) {
                        c.report(
                            file,
                            at.clone(),
                            format!("unknown placeholder {{{ph}}}"),
                            format!("use one of: {}", PLACEHOLDERS.join(", ")),
                        );
                    }
                }
            }
            OverlayRule::ForRoles { roles, .. } => {
                for (j, r) in roles.iter().enumerate() {
                    if !m.roles.contains_key(r) {
                        c.report(
                            file,
                            at.key("roles").index(j),
                            format!("role `{r}` does not exist"),
                            "use a role defined under roles:",
                        );
                    }
                }
            }
        }
    }
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (i, v) in m.variants.iter().enumerate() {
        let at = path!["variants"].index(i);
        if !p.machines.contains_key(&v.machine) {
            c.report(
                file,
                at.key("machine"),
                format!("machine `{}` does not exist", v.machine),
                format!(
                    "use one of profiles/machines.yaml: {}",
                    p.machines.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        }
        if !m.roles.contains_key(&v.role) {
            c.report(
                file,
                at.key("role"),
                format!("role `{}` does not exist", v.role),
                format!(
                    "use a role defined under roles: {}",
                    m.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        }
        for (j, prof) in v.profiles.iter().enumerate() {
            // A profile whose file is broken is already reported; it is not missing.
            if !p.networks.contains_key(prof) && !c.sources.is_broken_network(prof) {
                c.report(
                    file,
                    at.key("profiles").index(j),
                    format!("network profile `{prof}` does not exist"),
                    format!(
                        "use one of profiles/network/: {}",
                        p.networks.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
        for (j, node) in v.nodes.iter().enumerate() {
            match p.node(node) {
                None => c.report(
                    file,
                    at.key("nodes").index(j),
                    format!("node `{node}` does not exist in profiles/cluster.yaml"),
                    format!("use one of: {}", node_names(p)),
                ),
                Some(n) if n.role.as_str() != v.role => c.report(
                    file,
                    at.key("nodes").index(j),
                    format!(
                        "node `{node}` is a k3s {}, but the variant builds a {} image",
                        n.role.as_str(),
                        v.role
                    ),
                    "list nodes whose role matches the variant's role",
                ),
                Some(_) => {}
            }
        }
        if v.profiles.is_empty() != v.nodes.is_empty() {
            c.report(
                file,
                at.clone(),
                "`profiles` and `nodes` go together: each profile is built once per node",
                "give both lists, or neither",
            );
        }
        if !v.profiles.is_empty() && v.role == "base" {
            c.report(
                file,
                at.key("profiles"),
                "base images carry no network profile",
                "remove profiles/nodes, or use role server or agent",
            );
        }
        let profiles: Vec<Option<&str>> = if v.profiles.is_empty() {
            vec![None]
        } else {
            v.profiles.iter().map(|s| Some(s.as_str())).collect()
        };
        let nodes: Vec<Option<&str>> = if v.nodes.is_empty() {
            vec![None]
        } else {
            v.nodes.iter().map(|s| Some(s.as_str())).collect()
        };
        for prof in &profiles {
            for node in &nodes {
                let id = crate::matrix::variant_id(&v.role, v.feature.as_deref(), *prof, *node);
                if let Some(first) = seen.insert((id.clone(), v.machine.clone()), i) {
                    c.report(
                        file,
                        at.clone(),
                        format!(
                            "variant `{id}` on `{}` is already defined by variants[{first}]",
                            v.machine
                        ),
                        "remove the duplicate; (ID, machine) must be unique",
                    );
                }
            }
        }
    }
}

/// The `{name}` placeholders in a template.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(rest[open + 1..open + close].to_string());
        rest = &rest[open + close + 1..];
    }
    out
}

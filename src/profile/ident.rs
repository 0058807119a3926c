//! Deterministic identities derived from names: NIC lists, MAC addresses and machine IDs.
//!
//! A node keeps the same MAC and machine ID in every run and on every host, so DHCP
//! reservations, leases and logs stay comparable. Nothing here is random.

use sha2::{Digest, Sha256};

use super::model::NetworkProfile;

/// Number of the NIC `name` if it is a kernel name `ethN`.
pub fn nic_index(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("eth")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// Every physical NIC a profile names (bond members, trunk, untagged interfaces).
pub fn used_nics(profile: &NetworkProfile) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        if nic_index(n).is_some() && !names.iter().any(|x| x == n) {
            names.push(n.to_string());
        }
    };
    if let Some(bond) = &profile.bond {
        bond.members.iter().for_each(|m| add(m));
    }
    if let Some(trunk) = &profile.trunk {
        add(trunk);
    }
    for net in profile.networks.values() {
        if let Some(iface) = &net.interface {
            add(iface);
        }
    }
    names
}

/// The NICs every node of the profile gets, in QEMU order: `eth0` up to the highest NIC the
/// profile uses. NICs the profile does not use stay unconnected, so that kernel names
/// (`eth1`, `eth2`) match the files rendered for them.
pub fn node_nics(profile: &NetworkProfile) -> Vec<String> {
    let highest = used_nics(profile)
        .iter()
        .filter_map(|n| nic_index(n))
        .max()
        .unwrap_or(0);
    (0..=highest).map(|i| format!("eth{i}")).collect()
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// The MAC a node's NIC gets when the profile pins none: `52:54:00` (QEMU's locally
/// administered prefix) followed by three bytes of a hash of the node and NIC names.
pub fn derived_mac(node: &str, nic: &str) -> String {
    let d = digest(&["n3x-mac", node, nic]);
    format!("52:54:00:{:02x}:{:02x}:{:02x}", d[0], d[1], d[2])
}

/// The MAC of `nic` on `node` under `profile`: pinned in the profile, or derived.
/// The DHCP server's MAC is pinned on the NIC of the profile's (single) network.
pub fn nic_mac(profile: &NetworkProfile, node: &str, nic: &str) -> String {
    let dhcp_server_mac = profile.dhcp.as_ref().and_then(|d| {
        let on_nic = profile
            .networks
            .values()
            .next()
            .and_then(|n| n.interface.as_deref())
            == Some(nic);
        (d.server.name == node && on_nic).then(|| d.server.mac.clone())
    });
    profile
        .nodes
        .get(node)
        .and_then(|n| n.macs.get(nic).cloned())
        .or(dhcp_server_mac)
        .map(|m| m.to_ascii_lowercase())
        .unwrap_or_else(|| derived_mac(node, nic))
}

/// A stable systemd machine ID (32 hex digits) for a node name.
pub fn machine_id(node: &str) -> String {
    let d = digest(&["n3x-machine-id", node]);
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// True if `mac` is six colon-separated hex pairs.
pub fn is_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// True if `mac` is a unicast address (the lowest bit of the first octet is clear).
pub fn is_unicast_mac(mac: &str) -> bool {
    u8::from_str_radix(&mac[..2], 16).is_ok_and(|b| b & 1 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nic_names() {
        assert_eq!(nic_index("eth0"), Some(0));
        assert_eq!(nic_index("eth12"), Some(12));
        assert_eq!(nic_index("eth"), None);
        assert_eq!(nic_index("eth01"), None);
        assert_eq!(nic_index("bond0"), None);
    }

    #[test]
    fn macs_are_stable_distinct_and_local() {
        let a = derived_mac("server-1", "eth1");
        assert_eq!(a, derived_mac("server-1", "eth1"));
        assert_ne!(a, derived_mac("server-2", "eth1"));
        assert_ne!(a, derived_mac("server-1", "eth2"));
        assert!(a.starts_with("52:54:00:"));
        assert!(is_mac(&a) && is_unicast_mac(&a));
    }

    #[test]
    fn machine_ids_are_32_hex_digits() {
        let id = machine_id("agent-1");
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, machine_id("agent-2"));
    }

    #[test]
    fn mac_syntax() {
        assert!(is_mac("52:54:00:01:01:0a"));
        assert!(!is_mac("52:54:00:01:01"));
        assert!(!is_mac("52:54:00:01:01:zz"));
        assert!(!is_unicast_mac("01:00:5e:00:00:01"));
    }
}

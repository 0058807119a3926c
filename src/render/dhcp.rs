//! The DHCP server of a `mode: dhcp` profile: a dnsmasq configuration with one reservation per
//! node, keyed by the MAC the QEMU plan gives that node's NIC.

use std::fmt::Write;

use super::networkd::interface_of;
use crate::profile::ident::nic_mac;
use crate::profile::{Dhcp, NetworkProfile};

/// One fixed address handed out by MAC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reservation {
    /// The node.
    pub node: String,
    /// Its MAC address.
    pub mac: String,
    /// Its reserved address.
    pub address: String,
}

/// The reservations of every node on the profile's (single) network.
pub fn reservations(profile: &NetworkProfile) -> Vec<Reservation> {
    let Some((net, _)) = profile.networks.first() else {
        return Vec::new();
    };
    profile
        .nodes
        .iter()
        .filter_map(|(node, pn)| {
            let address = pn.addresses.get(net)?;
            let nic = interface_of(profile, node, net);
            Some(Reservation {
                node: node.clone(),
                mac: nic_mac(profile, node, &nic),
                address: address.to_string(),
            })
        })
        .collect()
}

/// The DHCP server's dnsmasq settings, rendered both as a conf file and as NixOS
/// `services.dnsmasq.settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsmasqSettings {
    /// The interface the server listens on.
    pub interface: String,
    /// `start,end,netmask,lease`.
    pub range: String,
    /// `mac,name,address` per reservation.
    pub hosts: Vec<String>,
    /// `/name.local/address` per reservation.
    pub addresses: Vec<String>,
}

/// The settings of `dhcp`'s server under `profile`.
pub fn dnsmasq_settings(profile: &NetworkProfile, dhcp: &Dhcp) -> DnsmasqSettings {
    let (net_name, net) = profile
        .networks
        .first()
        .expect("DHCP profiles have one network");
    let res = reservations(profile);
    DnsmasqSettings {
        interface: interface_of(profile, &dhcp.server.name, net_name),
        range: format!(
            "{},{},{},{}",
            dhcp.range.start,
            dhcp.range.end,
            net.subnet.netmask(),
            dhcp.lease
        ),
        hosts: res
            .iter()
            .map(|r| format!("{},{},{}", r.mac, r.node, r.address))
            .collect(),
        addresses: res
            .iter()
            .map(|r| format!("/{}.local/{}", r.node, r.address))
            .collect(),
    }
}

/// `/etc/dnsmasq.d/n3x-dhcp.conf` for the DHCP server node.
pub fn dnsmasq_conf(header: &str, settings: &DnsmasqSettings) -> String {
    let mut out = String::from(header);
    let _ = writeln!(out, "interface={}", settings.interface);
    out.push_str("bind-interfaces\n");
    let _ = writeln!(out, "dhcp-range={}", settings.range);
    for h in &settings.hosts {
        let _ = writeln!(out, "dhcp-host={h}");
    }
    for a in &settings.addresses {
        let _ = writeln!(out, "address={a}");
    }
    out
}

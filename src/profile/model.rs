//! The profile data model: what the YAML files under `profiles/` deserialize into.
//!
//! These types mirror the files one to one (`deny_unknown_fields` everywhere, so a typo is an
//! error and not a silently ignored key). Cross-field rules live in [`super::validate`].

use std::net::Ipv4Addr;

use indexmap::IndexMap;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// `profiles/machines.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachinesFile {
    pub machines: IndexMap<String, Machine>,
}

/// One target machine of the build matrix.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// CPU architecture, `x86_64` or `aarch64`.
    pub arch: Arch,
    /// Name of the kas machine overlay, `kas/machine/<kas_machine>.yml`.
    pub kas_machine: String,
    /// Serial console device of the board, without `/dev/` (e.g. `ttyS0`).
    pub serial: String,
    /// Files a build produces, in order.
    pub artifacts: Vec<ArtifactType>,
    /// File-name suffixes published in a release.
    #[serde(default)]
    pub release: Vec<String>,
    /// QEMU defaults; absent when the machine cannot be emulated.
    #[serde(default)]
    pub qemu: Option<QemuDefaults>,
}

/// CPU architecture of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture name as `uname -m` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

/// One kind of file a machine's build produces.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactType {
    /// Attribute name (`wic`, `vmlinuz`, `initrd`, `rootfs`).
    #[serde(rename = "type")]
    pub kind: String,
    /// File-name suffix appended to the image name (`.wic`, `-vmlinuz`).
    pub suffix: String,
}

/// How to boot a machine under QEMU.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QemuDefaults {
    pub binary: String,
    pub machine: String,
    pub memory_mib: u32,
    pub cpus: u32,
}

/// `profiles/cluster.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    pub name: String,
    pub k3s: K3sSettings,
    pub nodes: Vec<ClusterNode>,
}

/// Settings shared by every k3s node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K3sSettings {
    pub version: String,
    /// sha256 of the release's binaries, by Debian architecture (`amd64`, `arm64`).
    #[serde(default)]
    pub sha256: K3sChecksums,
    pub cluster_cidr: Ipv4Net,
    pub service_cidr: Ipv4Net,
    pub token: TokenSettings,
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub write_kubeconfig_mode: Option<String>,
    #[serde(default)]
    pub extra: ExtraByRole,
}

/// The sha256 of a k3s release's binaries (its `sha256sum-<arch>.txt`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct K3sChecksums {
    /// Of the `k3s` asset.
    #[serde(default)]
    pub amd64: Option<String>,
    /// Of the `k3s-arm64` asset.
    #[serde(default)]
    pub arm64: Option<String>,
}

/// Where the join token lives on a node and where it comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Absolute path of the token file on every node (mode 0600).
    pub node_path: String,
    pub source: TokenSource,
    /// Host file holding the token, for `source: file`.
    #[serde(default)]
    pub file: Option<String>,
    /// Host environment variable holding the token, for `source: env`.
    #[serde(default)]
    pub env: Option<String>,
}

/// The origin of the join token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    Generate,
    File,
    Env,
}

/// Extra k3s settings per role, as `flag-name: value`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraByRole {
    #[serde(default)]
    pub server: IndexMap<String, FlagValue>,
    #[serde(default)]
    pub agent: IndexMap<String, FlagValue>,
}

/// The value of one k3s setting: a switch, a single value, or a repeated flag.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FlagValue {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

/// One node of the cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterNode {
    pub name: String,
    pub role: Role,
    /// The server that initialises the cluster (embedded etcd).
    #[serde(default)]
    pub init: bool,
    /// Extra k3s settings for this node only.
    #[serde(default)]
    pub extra: IndexMap<String, FlagValue>,
}

/// k3s role of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Server,
    Agent,
}

impl Role {
    /// `server` or `agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Agent => "agent",
        }
    }
}

/// `profiles/network/<name>.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkProfile {
    /// Filled from the file name, not from the file.
    #[serde(skip)]
    pub name: String,
    pub description: String,
    pub mode: AddressMode,
    /// The link the VLANs ride on: a NIC (`eth1`) or the bond's name.
    #[serde(default)]
    pub trunk: Option<String>,
    #[serde(default)]
    pub bond: Option<Bond>,
    pub networks: IndexMap<String, Network>,
    /// The network whose address and interface k3s uses (node-ip, flannel-iface).
    pub k3s_network: String,
    #[serde(default)]
    pub dhcp: Option<Dhcp>,
    pub nodes: IndexMap<String, ProfileNode>,
}

/// Whether nodes get static addresses or ask a DHCP server for their reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressMode {
    Static,
    Dhcp,
}

/// A bond device and its settings (rendered identically for Debian and NixOS).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bond {
    pub name: String,
    pub members: Vec<String>,
    pub mode: BondMode,
    #[serde(default)]
    pub primary: Option<String>,
    pub miimon_ms: u32,
    #[serde(default)]
    pub updelay_ms: Option<u32>,
    #[serde(default)]
    pub downdelay_ms: Option<u32>,
}

/// Linux bonding modes that systemd-networkd accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum BondMode {
    #[serde(rename = "balance-rr")]
    BalanceRr,
    #[serde(rename = "active-backup")]
    ActiveBackup,
    #[serde(rename = "balance-xor")]
    BalanceXor,
    #[serde(rename = "broadcast")]
    Broadcast,
    #[serde(rename = "802.3ad")]
    Lacp,
    #[serde(rename = "balance-tlb")]
    BalanceTlb,
    #[serde(rename = "balance-alb")]
    BalanceAlb,
}

impl BondMode {
    /// The mode as systemd-networkd spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            BondMode::BalanceRr => "balance-rr",
            BondMode::ActiveBackup => "active-backup",
            BondMode::BalanceXor => "balance-xor",
            BondMode::Broadcast => "broadcast",
            BondMode::Lacp => "802.3ad",
            BondMode::BalanceTlb => "balance-tlb",
            BondMode::BalanceAlb => "balance-alb",
        }
    }
}

/// One IP network of a profile: untagged on an interface, or a VLAN on the trunk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub subnet: Ipv4Net,
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default)]
    pub vlan: Option<u32>,
}

/// DHCP server of a `mode: dhcp` profile; reservations come from the nodes' addresses and MACs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dhcp {
    pub server: DhcpServer,
    pub range: DhcpRange,
    pub lease: String,
}

/// The infrastructure node that serves DHCP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpServer {
    pub name: String,
    pub address: Ipv4Addr,
    pub mac: String,
}

/// Dynamic pool of the DHCP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpRange {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

/// A node's place in one network profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileNode {
    /// Address per network name.
    pub addresses: IndexMap<String, Ipv4Addr>,
    /// Per-node VLAN ID overrides (the negative profile only).
    #[serde(default)]
    pub vlans: IndexMap<String, u32>,
    /// Pinned MAC addresses per NIC (DHCP reservations); other NICs get derived ones.
    #[serde(default)]
    pub macs: IndexMap<String, String>,
}

/// `profiles/matrix.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    pub version: String,
    pub distro: String,
    pub roles: IndexMap<String, ImageRole>,
    pub overlay_order: Vec<OverlayRule>,
    pub variants: Vec<VariantSpec>,
}

/// An image role: which kas image overlay and which ISAR recipe it builds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRole {
    pub kas_image: String,
    pub recipe: String,
}

/// One entry of the overlay order.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OverlayRule {
    /// A kas file template; used when every `{placeholder}` in it has a value.
    Template(String),
    /// A kas file used only for the listed roles.
    ForRoles { overlay: String, roles: Vec<String> },
}

/// One line of the variant list; `profiles` × `nodes` expand to one variant each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    pub machine: String,
    pub role: String,
    #[serde(default)]
    pub feature: Option<String>,
    #[serde(default)]
    pub test_overlay: Option<String>,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub release: bool,
}

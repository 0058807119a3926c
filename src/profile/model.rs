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
    /// Every machine by name.
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
    /// 64-bit x86.
    X86_64,
    /// 64-bit Arm.
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
    /// Made only by variants with this feature (`.ext4`, the payload of an OTA bundle, by
    /// `swupdate` variants); absent: by every variant of the machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
}

/// How to boot a machine under QEMU.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QemuDefaults {
    /// The QEMU program (`qemu-system-x86_64`).
    pub binary: String,
    /// QEMU's `-M` machine type.
    pub machine: String,
    /// Memory per node, in MiB.
    pub memory_mib: u32,
    /// Virtual CPUs per node.
    pub cpus: u32,
}

/// `profiles/cluster.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// The cluster's name.
    pub name: String,
    /// Settings every k3s node shares.
    pub k3s: K3sSettings,
    /// The nodes, servers and agents.
    pub nodes: Vec<ClusterNode>,
}

/// Settings shared by every k3s node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K3sSettings {
    /// The k3s release (`v1.35.0+k3s1`).
    pub version: String,
    /// sha256 of the release's binaries, by Debian architecture (`amd64`, `arm64`).
    #[serde(default)]
    pub sha256: K3sChecksums,
    /// The pods' network.
    pub cluster_cidr: Ipv4Net,
    /// The services' network.
    pub service_cidr: Ipv4Net,
    /// The join token.
    pub token: TokenSettings,
    #[serde(default)]
    /// Packaged components k3s does not start (`traefik`, …).
    pub disable: Vec<String>,
    #[serde(default)]
    /// The mode of the kubeconfig k3s writes (`0644`).
    pub write_kubeconfig_mode: Option<String>,
    #[serde(default)]
    /// Extra k3s settings per role.
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
    /// Where the token comes from.
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
    /// n3x generates it (once, kept in the state directory).
    Generate,
    /// A host file holds it (`file:`).
    File,
    /// A host environment variable holds it (`env:`).
    Env,
}

/// Extra k3s settings per role, as `flag-name: value`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraByRole {
    #[serde(default)]
    /// For every server.
    pub server: IndexMap<String, FlagValue>,
    #[serde(default)]
    /// For every agent.
    pub agent: IndexMap<String, FlagValue>,
}

/// The value of one k3s setting: a switch, a single value, or a repeated flag.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FlagValue {
    /// A switch: `--flag` when true.
    Bool(bool),
    /// One value: `--flag=value`.
    Text(String),
    /// A repeated flag: `--flag=a --flag=b`.
    List(Vec<String>),
}

/// One node of the cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterNode {
    /// The node's name (its hostname).
    pub name: String,
    /// Server or agent.
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
    /// Runs the control plane.
    Server,
    /// Runs workloads only.
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
    /// What the profile is for, in a line.
    pub description: String,
    /// Static addresses or DHCP reservations.
    pub mode: AddressMode,
    /// The link the VLANs ride on: a NIC (`eth1`) or the bond's name.
    #[serde(default)]
    pub trunk: Option<String>,
    #[serde(default)]
    /// The bond, when the profile has one.
    pub bond: Option<Bond>,
    /// The IP networks by name.
    pub networks: IndexMap<String, Network>,
    /// The network whose address and interface k3s uses (node-ip, flannel-iface).
    pub k3s_network: String,
    #[serde(default)]
    /// The DHCP server, for `mode: dhcp`.
    pub dhcp: Option<Dhcp>,
    /// Every node's place in the profile, by node name.
    pub nodes: IndexMap<String, ProfileNode>,
}

/// Whether nodes get static addresses or ask a DHCP server for their reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressMode {
    /// Addresses are written into each node's files.
    Static,
    /// A DHCP server hands out each node's reserved address.
    Dhcp,
}

/// A bond device and its settings (rendered identically for Debian and NixOS).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bond {
    /// The bond device's name (`bond0`).
    pub name: String,
    /// Its member NICs, in order.
    pub members: Vec<String>,
    /// Its bonding mode.
    pub mode: BondMode,
    #[serde(default)]
    /// The member that carries traffic while it is up (active-backup).
    pub primary: Option<String>,
    /// How often the links are checked, in ms.
    pub miimon_ms: u32,
    #[serde(default)]
    /// How long a link must be up before it is used, in ms.
    pub updelay_ms: Option<u32>,
    #[serde(default)]
    /// How long a link must be down before it is given up, in ms.
    pub downdelay_ms: Option<u32>,
}

/// Linux bonding modes that systemd-networkd accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum BondMode {
    #[serde(rename = "balance-rr")]
    /// Round robin.
    BalanceRr,
    #[serde(rename = "active-backup")]
    /// One member at a time, the others stand by.
    ActiveBackup,
    #[serde(rename = "balance-xor")]
    /// By a hash of the addresses.
    BalanceXor,
    #[serde(rename = "broadcast")]
    /// Everything on every member.
    Broadcast,
    #[serde(rename = "802.3ad")]
    /// IEEE 802.3ad link aggregation (LACP).
    Lacp,
    #[serde(rename = "balance-tlb")]
    /// Adaptive transmit load balancing.
    BalanceTlb,
    #[serde(rename = "balance-alb")]
    /// Adaptive load balancing.
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
    /// Its subnet.
    pub subnet: Ipv4Net,
    #[serde(default)]
    /// The interface it is untagged on (none: a VLAN on the trunk).
    pub interface: Option<String>,
    #[serde(default)]
    /// Its VLAN ID on the trunk.
    pub vlan: Option<u32>,
}

/// DHCP server of a `mode: dhcp` profile; reservations come from the nodes' addresses and MACs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dhcp {
    /// The node that serves DHCP.
    pub server: DhcpServer,
    /// The dynamic pool.
    pub range: DhcpRange,
    /// The lease time (`12h`).
    pub lease: String,
}

/// The infrastructure node that serves DHCP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpServer {
    /// Its name.
    pub name: String,
    /// Its address.
    pub address: Ipv4Addr,
    /// Its MAC address.
    pub mac: String,
}

/// Dynamic pool of the DHCP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpRange {
    /// The first address of the pool.
    pub start: Ipv4Addr,
    /// The last address of the pool.
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
    /// The matrix format's version.
    pub version: String,
    /// The Debian release the images build on.
    pub distro: String,
    /// Image roles by name.
    pub roles: IndexMap<String, ImageRole>,
    /// The order kas overlays are applied in.
    pub overlay_order: Vec<OverlayRule>,
    /// The variants, one line each.
    pub variants: Vec<VariantSpec>,
    /// The hardware revision of the A/B (`swupdate`) images: the second field of their
    /// `/etc/hwrevision` (`SWUPDATE_HW_COMPAT` in kas/feature/swupdate.yml) and the
    /// `hardware-compatibility` of the update bundles `n3x ota bundle` makes for them.
    #[serde(default)]
    pub swupdate_hw_compat: Option<String>,
}

/// An image role: which kas image overlay and which ISAR recipe it builds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRole {
    /// The kas image overlay (`kas/image/<kas_image>.yml`).
    pub kas_image: String,
    /// The ISAR recipe it builds.
    pub recipe: String,
}

/// One entry of the overlay order.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OverlayRule {
    /// A kas file template; used when every `{placeholder}` in it has a value.
    Template(String),
    /// A kas file used only for the listed roles.
    ForRoles {
        /// The kas file.
        overlay: String,
        /// The roles it applies to.
        roles: Vec<String>,
    },
}

/// One line of the variant list; `profiles` × `nodes` expand to one variant each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// The machine.
    pub machine: String,
    /// The image role.
    pub role: String,
    #[serde(default)]
    /// A feature overlay (`swupdate`, …).
    pub feature: Option<String>,
    #[serde(default)]
    /// A test overlay.
    pub test_overlay: Option<String>,
    #[serde(default)]
    /// Network profiles it is built for (one variant each).
    pub profiles: Vec<String>,
    #[serde(default)]
    /// Cluster nodes it is built for (one variant each).
    pub nodes: Vec<String>,
    #[serde(default)]
    /// Whether its artifacts are published in a release.
    pub release: bool,
}

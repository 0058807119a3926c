//! Parity with the original n3x: networkd files, k3s flags, the matrix and its names.
//! Expected values are the original's (research notes, n3x-original.md §1–3).

use crate::common;

use n3x::matrix;
use n3x::render::render_node;

use common::{body, shipped};

fn networkd(profile: &str, node: &str) -> Vec<(String, String)> {
    render_node(&shipped(), profile, node)
        .unwrap()
        .into_iter()
        .filter_map(|f| {
            f.path
                .strip_prefix("rootfs/etc/systemd/network/")
                .map(|name| (name.to_string(), f.contents.clone()))
        })
        .collect()
}

/// The original generator's `.network` body: sorted keys, then Address=/VLAN=, two blank lines.
fn original_network(name: &str, dhcp: &str, addresses: &[&str], vlans: &[&str]) -> String {
    let mut s = format!(
        "\n[Match]\nName={name}\n\n[Network]\nDHCP={dhcp}\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n"
    );
    for a in addresses {
        s.push_str(&format!("Address={a}\n"));
    }
    for v in vlans {
        s.push_str(&format!("VLAN={v}\n"));
    }
    s.push_str("\n\n");
    s
}

fn original_vlan_netdev(name: &str, id: u32) -> String {
    format!("\n[NetDev]\nKind=vlan\nName={name}\n\n[VLAN]\nId={id}\n\n")
}

const NODES: [(&str, u8); 4] = [
    ("server-1", 1),
    ("server-2", 2),
    ("agent-1", 3),
    ("agent-2", 4),
];

#[test]
fn simple_files_equal_the_original_byte_for_byte() {
    // The original's committed files/simple/agent-2/20-eth1.network, header excepted.
    let files = networkd("simple", "agent-2");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "20-eth1.network");
    assert_eq!(
        body(&files[0].1),
        "\n[Match]\nName=eth1\n\n[Network]\nDHCP=no\nIPv6AcceptRA=no\nLinkLocalAddressing=no\nAddress=192.168.1.4/24\n\n\n"
    );
    for (node, n) in NODES {
        let files = networkd("simple", node);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["20-eth1.network"], "{node}");
        let addr = format!("192.168.1.{n}/24");
        assert_eq!(
            body(&files[0].1),
            original_network("eth1", "no", &[&addr], &[]),
            "{node}"
        );
    }
}

#[test]
fn dhcp_simple_files_equal_the_original() {
    for (node, _) in NODES {
        let files = networkd("dhcp-simple", node);
        assert_eq!(files.len(), 1, "{node}");
        assert_eq!(files[0].0, "20-eth1.network");
        assert_eq!(
            body(&files[0].1),
            original_network("eth1", "yes", &[], &[]),
            "{node}"
        );
    }
}

#[test]
fn vlans_files_equal_the_original() {
    // files/vlans/agent-2/20-vlan-cluster.netdev, verbatim body.
    let agent2 = networkd("vlans", "agent-2");
    let netdev = &agent2
        .iter()
        .find(|(n, _)| n == "20-vlan-cluster.netdev")
        .unwrap()
        .1;
    assert_eq!(
        body(netdev),
        "\n[NetDev]\nKind=vlan\nName=eth1.200\n\n[VLAN]\nId=200\n\n"
    );
    for (node, n) in NODES {
        let files = networkd("vlans", node);
        let expected = [
            (
                "15-eth1.network",
                original_network("eth1", "no", &[], &["eth1.200", "eth1.100"]),
            ),
            (
                "20-vlan-cluster.netdev",
                original_vlan_netdev("eth1.200", 200),
            ),
            (
                "20-vlan-cluster.network",
                original_network("eth1.200", "no", &[&format!("192.168.200.{n}/24")], &[]),
            ),
            (
                "20-vlan-storage.netdev",
                original_vlan_netdev("eth1.100", 100),
            ),
            (
                "20-vlan-storage.network",
                original_network("eth1.100", "no", &[&format!("192.168.100.{n}/24")], &[]),
            ),
        ];
        assert_eq!(files.len(), expected.len(), "{node}");
        for ((name, text), (want_name, want_body)) in files.iter().zip(expected.iter()) {
            assert_eq!(name, want_name, "{node}");
            assert_eq!(body(text), want_body, "{node} {name}");
        }
    }
}

#[test]
fn bonding_uses_the_profile_bond_settings_not_lacp() {
    let files = networkd("bonding-vlans", "server-1");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "10-bond0.netdev",
            "10-eth1.network",
            "10-eth2.network",
            "15-bond0.network",
            "20-vlan-cluster.netdev",
            "20-vlan-cluster.network",
            "20-vlan-storage.netdev",
            "20-vlan-storage.network"
        ]
    );
    let bond = body(&files[0].1);
    assert!(bond.contains("Mode=active-backup\n"), "{bond}");
    assert!(bond.contains("MIIMonitorSec=100ms\n"), "{bond}");
    assert!(bond.contains("PrimaryReselectPolicy=always\n"), "{bond}");
    assert!(
        !bond.contains("802.3ad") && !bond.contains("LACP"),
        "{bond}"
    );
    assert!(body(&files[1].1).contains("PrimarySlave=yes"));
    assert!(!body(&files[2].1).contains("PrimarySlave"));
    // VLANs ride on the bond exactly as on eth1 in `vlans`.
    assert_eq!(
        body(&files[3].1),
        original_network("bond0", "no", &[], &["bond0.200", "bond0.100"])
    );
}

#[test]
fn nixos_units_carry_the_same_bond_configuration() {
    let p = shipped();
    let files = render_node(&p, "bonding-vlans", "agent-1").unwrap();
    let json = &files
        .iter()
        .find(|f| f.path == "nixos.json")
        .unwrap()
        .contents;
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let bond = &doc["network"]["netdevs"]["10-bond0"]["bondConfig"];
    assert_eq!(bond["Mode"], "active-backup");
    assert_eq!(bond["MIIMonitorSec"], "100ms");
    assert_eq!(bond["PrimaryReselectPolicy"], "always");
    assert_eq!(
        doc["network"]["networks"]["10-eth1"]["networkConfig"]["PrimarySlave"],
        "yes"
    );
    assert_eq!(
        doc["network"]["networks"]["15-bond0"]["vlan"],
        serde_json::json!(["bond0.200", "bond0.100"])
    );
    assert_eq!(
        doc["kernelModules"],
        serde_json::json!(["bonding", "8021q"])
    );
}

fn flags(profile: &str, node: &str) -> Vec<String> {
    let files = render_node(&shipped(), profile, node).unwrap();
    files
        .iter()
        .find(|f| f.path == "k3s-flags.txt")
        .unwrap()
        .contents
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn k3s_flags_start_with_the_original_per_node_flags() {
    // mk-k3s-flags.nix: --node-ip, --flannel-iface, and on servers --advertise-address, --tls-san.
    let cases = [
        (
            "simple",
            "server-1",
            "192.168.1.1",
            "eth1",
            Some("192.168.1.1"),
        ),
        (
            "simple",
            "server-2",
            "192.168.1.2",
            "eth1",
            Some("192.168.1.1"),
        ),
        ("simple", "agent-1", "192.168.1.3", "eth1", None),
        (
            "dhcp-simple",
            "server-2",
            "192.168.1.2",
            "eth1",
            Some("192.168.1.1"),
        ),
        (
            "vlans",
            "server-1",
            "192.168.200.1",
            "eth1.200",
            Some("192.168.200.1"),
        ),
        (
            "vlans",
            "server-2",
            "192.168.200.2",
            "eth1.200",
            Some("192.168.200.1"),
        ),
        ("vlans", "agent-1", "192.168.200.3", "eth1.200", None),
        (
            "bonding-vlans",
            "server-2",
            "192.168.200.2",
            "bond0.200",
            Some("192.168.200.1"),
        ),
        (
            "bonding-vlans",
            "agent-1",
            "192.168.200.3",
            "bond0.200",
            None,
        ),
        (
            "vlans-broken",
            "server-1",
            "192.168.200.1",
            "eth1.200",
            Some("192.168.200.1"),
        ),
        (
            "vlans-broken",
            "server-2",
            "192.168.200.2",
            "eth1.201",
            Some("192.168.200.1"),
        ),
        ("vlans-broken", "agent-1", "192.168.200.3", "eth1.202", None),
    ];
    for (profile, node, ip, iface, tls_san) in cases {
        let got = flags(profile, node);
        let mut want = vec![
            format!("--node-ip={ip}"),
            format!("--flannel-iface={iface}"),
        ];
        if let Some(san) = tls_san {
            want.push(format!("--advertise-address={ip}"));
            want.push(format!("--tls-san={san}"));
        }
        assert_eq!(&got[..want.len()], &want[..], "{profile} {node}");
    }
}

#[test]
fn k3s_topology_init_join_and_cluster_settings() {
    let s1 = flags("vlans", "server-1");
    assert!(s1.contains(&"--cluster-init".to_string()));
    assert!(!s1.iter().any(|f| f.starts_with("--server=")));
    for node in ["server-2", "agent-1", "agent-2"] {
        let f = flags("vlans", node);
        assert!(
            f.contains(&"--server=https://192.168.200.1:6443".to_string()),
            "{node}"
        );
        assert!(!f.contains(&"--cluster-init".to_string()), "{node}");
        assert!(f.contains(&format!("--node-name={node}")), "{node}");
        assert!(f.contains(&"--token-file=/var/lib/rancher/k3s/server/token".to_string()));
    }
    for flag in [
        "--cluster-cidr=10.42.0.0/16",
        "--service-cidr=10.43.0.0/16",
        "--disable=traefik",
        "--disable=servicelb",
    ] {
        assert!(s1.contains(&flag.to_string()), "{flag}");
        assert!(
            !flags("vlans", "agent-1").contains(&flag.to_string()),
            "agents take no {flag}"
        );
    }
}

#[test]
fn the_token_is_referenced_never_rendered() {
    let p = shipped();
    for profile in p.networks.keys() {
        for node in n3x::render::profile_nodes(&p, &p.networks[profile]) {
            for f in render_node(&p, profile, &node).unwrap() {
                assert!(
                    !f.contents.contains("K3S_TOKEN="),
                    "{profile}/{node}/{}",
                    f.path
                );
                assert!(
                    !f.contents.lines().any(|l| l.starts_with("token:")),
                    "{profile}/{node}/{}",
                    f.path
                );
            }
        }
    }
}

#[test]
fn the_matrix_has_the_original_16_variants_in_order() {
    let p = shipped();
    let got: Vec<(String, String)> = matrix::variants(&p)
        .into_iter()
        .map(|v| (v.id, v.machine))
        .collect();
    let want = [
        ("base", "qemuamd64"),
        ("base-swupdate", "qemuamd64"),
        ("agent", "qemuamd64"),
        ("server-simple-server-1", "qemuamd64"),
        ("server-simple-server-2", "qemuamd64"),
        ("server-vlans-server-1", "qemuamd64"),
        ("server-vlans-server-2", "qemuamd64"),
        ("server-bonding-vlans-server-1", "qemuamd64"),
        ("server-bonding-vlans-server-2", "qemuamd64"),
        ("server-dhcp-simple-server-1", "qemuamd64"),
        ("server-dhcp-simple-server-2", "qemuamd64"),
        ("base", "qemuarm64"),
        ("server", "qemuarm64"),
        ("base", "jetson-orin-nano"),
        ("server", "jetson-orin-nano"),
        ("agent", "amd-v3c18i"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn overlay_chains_follow_the_original_ordering_rule() {
    let p = shipped();
    let all = matrix::variants(&p);
    let chain = |id: &str, machine: &str| {
        let v = all
            .iter()
            .find(|v| v.id == id && v.machine == machine)
            .unwrap();
        matrix::overlay_chain(&p, v)
            .iter()
            .map(|f| {
                f.strip_prefix("kas/")
                    .unwrap()
                    .strip_suffix(".yml")
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join(":")
    };
    let k3s = "base:machine/qemu-amd64:packages/k3s-core:packages/debug";
    assert_eq!(
        chain("base", "qemuamd64"),
        "base:machine/qemu-amd64:image/base:test-overlay"
    );
    assert_eq!(
        chain("base-swupdate", "qemuamd64"),
        "base:machine/qemu-amd64:image/base:feature/swupdate:test-overlay"
    );
    assert_eq!(
        chain("agent", "qemuamd64"),
        format!("{k3s}:image/k3s-agent:boot/systemd-boot:test-k3s-overlay")
    );
    assert_eq!(
        chain("server-bonding-vlans-server-2", "qemuamd64"),
        format!(
            "{k3s}:image/k3s-server:boot/systemd-boot:test-k3s-overlay:network/bonding-vlans:node/server-2"
        )
    );
    assert_eq!(
        chain("base", "qemuarm64"),
        "base:machine/qemu-arm64-orin:image/base"
    );
    assert_eq!(
        chain("server", "jetson-orin-nano"),
        "base:machine/jetson-orin-nano:packages/k3s-core:packages/debug:image/k3s-server:boot/systemd-boot"
    );
    assert_eq!(
        chain("agent", "amd-v3c18i"),
        "base:machine/amd-v3c18i:packages/k3s-core:packages/debug:image/k3s-agent:boot/systemd-boot"
    );
    let v = all
        .iter()
        .find(|v| v.id == "agent" && v.machine == "amd-v3c18i")
        .unwrap();
    let argv = matrix::kas_container_argv(&p, v);
    assert_eq!(&argv[..3], ["kas-container", "--isar", "build"]);
    assert_eq!(argv[3], matrix::overlay_chain(&p, v).join(":"));
}

#[test]
fn artifacts_count_42_plus_the_ab_payload_with_unique_names() {
    let p = shipped();
    let all = matrix::variants(&p);
    let names: Vec<String> = all
        .iter()
        .flat_map(|v| matrix::artifacts(&p, v))
        .map(|a| a.unique_name)
        .collect();
    // The original's 42, and the .ext4 payload of the A/B variant (`feature: swupdate` only).
    assert_eq!(names.len(), 43);
    let unique: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), 43, "artifact names must not collide");
    let ext4: Vec<&String> = names.iter().filter(|n| n.ends_with(".ext4")).collect();
    assert_eq!(ext4, ["isar-base-swupdate-qemuamd64.ext4"]);
    assert!(names.contains(&"isar-server-vlans-server-2-qemuamd64-vmlinuz".to_string()));
    let v = all
        .iter()
        .find(|v| v.id == "server-simple-server-1")
        .unwrap();
    assert_eq!(
        matrix::artifacts(&p, v)[0].isar_name,
        "n3x-image-server-debian-trixie-qemuamd64.wic"
    );
    assert_eq!(
        matrix::nix_attr_path(v),
        "qemuamd64.server.simple.\"server-1\""
    );
    let swu = all.iter().find(|v| v.id == "base-swupdate").unwrap();
    assert_eq!(matrix::nix_attr_path(swu), "qemuamd64.swupdate");
    assert_eq!(
        matrix::release_assets(&p, swu),
        [
            "n3x-base-swupdate-qemuamd64-0.0.2.wic.zst",
            "n3x-base-swupdate-qemuamd64-0.0.2.wic.bmap"
        ]
    );
    let released: Vec<String> = all.iter().filter(|v| v.release).map(|v| v.key()).collect();
    assert_eq!(
        released,
        [
            "base@qemuamd64",
            "base-swupdate@qemuamd64",
            "base@qemuarm64",
            "base@jetson-orin-nano",
            "agent@amd-v3c18i"
        ]
    );
}

//! The test catalog: the original's parity matrix (`cluster-<profile>` for the four L4
//! profiles), a network-only test per network profile, `bond-failover` and `vlan-negative`,
//! each for every backend with what it needs to run there. Pure: built from the profiles.

use crate::build::plan::Backend;
use crate::profile::Profiles;

/// The profiles of the original's parity matrix, in its order.
pub const PARITY: [&str; 4] = ["simple", "vlans", "bonding-vlans", "dhcp-simple"];

/// The nodes a cluster test boots: two servers (etcd with a joiner) and an agent, as in the
/// original's L4 tests; a DHCP profile adds its server by itself.
pub const CLUSTER_NODES: [&str; 3] = ["server-1", "server-2", "agent-1"];

/// What a test checks after its cluster is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Every node from power-on to k3s `Ready`, and the cluster's Ready count; then every
    /// node reaches the others on each network they share (and not across VLANs), its NICs in
    /// plan order.
    Cluster,
    /// Every node's network exactly as rendered, the same reachability and NIC checks; no
    /// k3s stages.
    Network,
    /// The cluster forms, then the bond's active member loses its link: traffic keeps
    /// flowing over the other member, and the bond returns to its primary.
    BondFailover,
    /// Joiners on VLANs that do not reach server-1 must neither reach it nor join it.
    VlanNegative,
}

/// One test of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestDef {
    /// Its name on the command line (`cluster-vlans`).
    pub name: String,
    /// What it checks.
    pub kind: Kind,
    /// The network profile it boots.
    pub profile: String,
    /// The nodes it boots.
    pub nodes: Vec<String>,
    /// One line for `--list`.
    pub summary: String,
}

/// Whether a test can run on a backend here, and if not why and what would make it possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// It runs (images are built on demand when missing).
    Available,
    /// It cannot run on this backend: why, and the command that makes its images.
    Unavailable {
        /// Why not.
        why: String,
        /// What would build the images.
        command: String,
    },
}

/// Every test, in catalog order: the parity matrix, then bond-failover and vlan-negative,
/// then the network-only tests. Profiles missing from `p` are left out.
pub fn catalog(p: &Profiles) -> Vec<TestDef> {
    let nodes = |want: &[&str], profile: &str| -> Vec<String> {
        let net = &p.networks[profile];
        want.iter()
            .filter(|n| net.nodes.contains_key(**n))
            .map(|n| n.to_string())
            .collect()
    };
    let mut out = Vec::new();
    for profile in PARITY {
        if p.networks.contains_key(profile) {
            out.push(TestDef {
                name: format!("cluster-{profile}"),
                kind: Kind::Cluster,
                profile: profile.into(),
                nodes: nodes(&CLUSTER_NODES, profile),
                summary: format!(
                    "{} nodes of {profile} from power-on to k3s Ready",
                    nodes(&CLUSTER_NODES, profile).len()
                ),
            });
        }
    }
    if p.networks.contains_key("bonding-vlans") {
        out.push(TestDef {
            name: "bond-failover".into(),
            kind: Kind::BondFailover,
            profile: "bonding-vlans".into(),
            nodes: nodes(&CLUSTER_NODES, "bonding-vlans"),
            summary: "the bond's active member goes down: traffic keeps flowing, the bond \
                      returns to its primary, every node stays Ready"
                .into(),
        });
    }
    if p.networks.contains_key("vlans-broken") {
        out.push(TestDef {
            name: "vlan-negative".into(),
            kind: Kind::VlanNegative,
            profile: "vlans-broken".into(),
            nodes: nodes(&CLUSTER_NODES, "vlans-broken"),
            summary: "joiners on the wrong VLANs must neither reach server-1 nor join it".into(),
        });
    }
    for (name, _) in &p.networks {
        out.push(TestDef {
            name: format!("network-{name}"),
            kind: Kind::Network,
            profile: name.clone(),
            nodes: nodes(&CLUSTER_NODES, name),
            summary: format!("the {name} network on every node exactly as rendered (no k3s)"),
        });
    }
    out
}

/// Whether `test` runs on `backend` here; for the image backends n3x does not boot, the
/// command that builds the profile's images (from the matrix), or where to add them.
pub fn availability(p: &Profiles, test: &TestDef, backend: Backend) -> Availability {
    match backend {
        Backend::Quick => Availability::Available,
        Backend::Isar | Backend::Nixos => {
            let variants: Vec<String> = crate::matrix::variants(p)
                .into_iter()
                .filter(|v| v.profile.as_deref() == Some(test.profile.as_str()))
                .map(|v| v.id)
                .collect();
            Availability::Unavailable {
                why: format!(
                    "the cluster engine boots only quick images; {backend} images are not booted \
                     by n3x yet"
                ),
                command: match variants.as_slice() {
                    [] => format!(
                        "no variant of the matrix builds {}: add it to `profiles:` in \
                         profiles/matrix.yaml, then n3x build --backend {backend}",
                        test.profile
                    ),
                    ids => ids
                        .iter()
                        .map(|id| format!("n3x build --backend {backend} --variant {id}"))
                        .collect::<Vec<_>>()
                        .join(" && "),
                },
            }
        }
    }
}

/// The test called `name`.
pub fn find<'a>(catalog: &'a [TestDef], name: &str) -> Option<&'a TestDef> {
    catalog.iter().find(|t| t.name == name)
}

/// The `--list` table: every test per backend, available or why not and what would make its
/// images.
pub fn list_table(p: &Profiles, catalog: &[TestDef]) -> String {
    let width = catalog
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<width$}  {:<7}  {:<13}  {:<11}  WHAT\n",
        "TEST", "BACKEND", "PROFILE", "STATE"
    );
    let mut reasons = Vec::new();
    for backend in [Backend::Quick, Backend::Isar, Backend::Nixos] {
        for t in catalog {
            let (state, what) = match availability(p, t, backend) {
                Availability::Available => ("available", t.summary.clone()),
                Availability::Unavailable { why, command } => {
                    if !reasons.contains(&why) {
                        reasons.push(why);
                    }
                    ("unavailable", format!("images: {command}"))
                }
            };
            out.push_str(&format!(
                "{:<width$}  {:<7}  {:<13}  {state:<11}  {what}\n",
                t.name,
                backend.name(),
                t.profile,
            ));
        }
    }
    for why in reasons {
        out.push_str(&format!("unavailable: {why}\n"));
    }
    out
}

/// The order tests run in: as given, except that a test that can run on an earlier test's
/// cluster ([`super::runner::reusable`]) moves right behind it.
pub fn run_order(tests: Vec<TestDef>) -> Vec<TestDef> {
    let mut out = tests;
    for i in 0..out.len() {
        if let Some(d) = out[..i]
            .iter()
            .position(|d| super::runner::reusable(d, &out[i]))
            && !(d + 1 < i && super::runner::reusable(&out[d], &out[d + 1]))
        {
            let t = out.remove(i);
            out.insert(d + 1, t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Profiles {
        Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap()
    }

    #[test]
    fn the_catalog_has_the_parity_matrix_the_special_tests_and_one_network_test_per_profile() {
        let p = shipped();
        let c = catalog(&p);
        let names: Vec<&str> = c.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names[..6],
            [
                "cluster-simple",
                "cluster-vlans",
                "cluster-bonding-vlans",
                "cluster-dhcp-simple",
                "bond-failover",
                "vlan-negative"
            ]
        );
        assert_eq!(c.len(), 6 + p.networks.len());
        let vn = find(&c, "vlan-negative").unwrap();
        assert_eq!(vn.profile, "vlans-broken");
        assert_eq!(vn.nodes, ["server-1", "server-2", "agent-1"]);
        assert_eq!(find(&c, "network-dhcp-simple").unwrap().kind, Kind::Network);
    }

    #[test]
    fn only_quick_runs_and_the_others_say_how_to_make_images() {
        let p = shipped();
        let c = catalog(&p);
        let t = find(&c, "cluster-vlans").unwrap();
        assert_eq!(availability(&p, t, Backend::Quick), Availability::Available);
        let Availability::Unavailable { why, command } = availability(&p, t, Backend::Isar) else {
            panic!("isar is not bootable");
        };
        assert!(why.contains("only quick images"), "{why}");
        assert_eq!(
            command,
            "n3x build --backend isar --variant server-vlans-server-1 && \
             n3x build --backend isar --variant server-vlans-server-2"
        );
        let vn = find(&c, "vlan-negative").unwrap();
        let Availability::Unavailable { command, .. } = availability(&p, vn, Backend::Nixos) else {
            panic!("nixos is not bootable");
        };
        assert!(command.contains("add it to `profiles:`"), "{command}");
        let table = list_table(&p, &c);
        assert!(table.lines().any(|l| l.starts_with("cluster-vlans")
            && l.contains(" nixos ")
            && l.contains("unavailable")));
    }
}

//! k3s settings of a node: `/etc/rancher/k3s/config.yaml`, the env file the systemd unit reads,
//! and the same settings as command-line flags.
//!
//! The first four settings are the original's per-node flags in its order (`--node-ip`,
//! `--flannel-iface`, and on servers `--advertise-address`, `--tls-san`). The join token is only
//! ever referenced by path (`token-file`); its value is never rendered.

use indexmap::IndexMap;

use super::networkd::interface_of;
use crate::profile::{ClusterNode, FlagValue, NetworkProfile, Profiles, Role};

/// Where k3s reads its configuration on a node.
pub const CONFIG_PATH: &str = "/etc/rancher/k3s/config.yaml";

/// The ordered k3s settings of `node` under `profile`.
pub fn settings(
    p: &Profiles,
    profile: &NetworkProfile,
    node: &ClusterNode,
) -> IndexMap<String, FlagValue> {
    let k = &p.cluster.k3s;
    let net = &profile.k3s_network;
    let ip = profile.nodes[&node.name].addresses[net].to_string();
    let init = p.init_server();
    let init_ip = profile.nodes[&init.name].addresses[net].to_string();
    let text = |s: &str| FlagValue::Text(s.to_string());

    let mut s = IndexMap::new();
    s.insert("node-ip".into(), text(&ip));
    s.insert(
        "flannel-iface".into(),
        text(&interface_of(profile, &node.name, net)),
    );
    if node.role == Role::Server {
        s.insert("advertise-address".into(), text(&ip));
        s.insert("tls-san".into(), FlagValue::List(vec![init_ip.clone()]));
    }
    if node.init {
        s.insert("cluster-init".into(), FlagValue::Bool(true));
    } else {
        s.insert("server".into(), text(&format!("https://{init_ip}:6443")));
    }
    s.insert("node-name".into(), text(&node.name));
    s.insert("token-file".into(), text(&k.token.node_path));
    let extra = match node.role {
        Role::Server => {
            s.insert("cluster-cidr".into(), text(&k.cluster_cidr.to_string()));
            s.insert("service-cidr".into(), text(&k.service_cidr.to_string()));
            if !k.disable.is_empty() {
                s.insert("disable".into(), FlagValue::List(k.disable.clone()));
            }
            if let Some(mode) = &k.write_kubeconfig_mode {
                s.insert("write-kubeconfig-mode".into(), text(mode));
            }
            &k.extra.server
        }
        Role::Agent => &k.extra.agent,
    };
    for (key, value) in extra.iter().chain(node.extra.iter()) {
        s.insert(key.clone(), value.clone());
    }
    s
}

/// The settings as k3s command-line flags, one argument each.
pub fn flags(settings: &IndexMap<String, FlagValue>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in settings {
        match value {
            FlagValue::Bool(true) => out.push(format!("--{key}")),
            FlagValue::Bool(false) => out.push(format!("--{key}=false")),
            FlagValue::Text(v) => out.push(format!("--{key}={v}")),
            FlagValue::List(vs) => out.extend(vs.iter().map(|v| format!("--{key}={v}"))),
        }
    }
    out
}

/// `/etc/rancher/k3s/config.yaml`.
pub fn config_yaml(header: &str, settings: &IndexMap<String, FlagValue>) -> String {
    let body = serde_yaml::to_string(settings).expect("k3s settings serialize to YAML");
    format!("{header}{body}")
}

/// The env file `k3s-<role>.service` reads (`/etc/default/k3s-server` or `-agent`).
pub fn env_file(header: &str, p: &Profiles, role: Role) -> String {
    let var = match role {
        Role::Server => "K3S_SERVER_OPTS",
        Role::Agent => "K3S_AGENT_OPTS",
    };
    format!(
        "{header}# Read by k3s-{role}.service. Every setting is in {CONFIG_PATH};\n\
         # the join token is read from {token} (mode 0600), never from this file.\n\
         {var}=\"--config={CONFIG_PATH}\"\n",
        role = role.as_str(),
        token = p.cluster.k3s.token.node_path,
    )
}

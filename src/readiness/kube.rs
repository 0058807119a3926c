//! `k3s kubectl get nodes -o json`, read with serde: the nodes, their addresses, roles and
//! `Ready` condition.

use super::ProbeError;
use serde::Deserialize;

/// A `v1 List` (or `NodeList`) of nodes.
#[derive(Debug, Deserialize)]
struct List {
    kind: String,
    #[serde(default)]
    items: Vec<Node>,
}

#[derive(Debug, Deserialize)]
struct Node {
    kind: Option<String>,
    metadata: Metadata,
    #[serde(default)]
    status: Status,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    name: String,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct Status {
    #[serde(default)]
    addresses: Vec<Address>,
    #[serde(default)]
    conditions: Vec<RawCondition>,
    #[serde(default, rename = "nodeInfo")]
    node_info: NodeInfo,
}

#[derive(Debug, Deserialize)]
struct Address {
    address: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct RawCondition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "lastHeartbeatTime")]
    last_heartbeat: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct NodeInfo {
    #[serde(default, rename = "kubeletVersion")]
    kubelet_version: String,
}

/// A node's `Ready` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// `KubeletReady`, `KubeletNotReady`, `NodeStatusUnknown` …
    pub reason: String,
    /// The kubelet's message.
    pub message: String,
    /// When the node last reported.
    pub last_heartbeat: String,
}

/// One node as the API server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeNode {
    /// `metadata.name`.
    pub name: String,
    /// `status.addresses` of type InternalIP.
    pub internal_ip: Option<String>,
    /// The roles from `node-role.kubernetes.io/*` labels, sorted.
    pub roles: Vec<String>,
    /// The `Ready` condition, if the node has one yet.
    pub ready: Option<Ready>,
    /// `status.nodeInfo.kubeletVersion`.
    pub kubelet_version: String,
}

impl KubeNode {
    /// Whether its `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.ready.as_ref().is_some_and(|r| r.status == "True")
    }
}

/// Reads `kubectl get nodes -o json`.
pub fn nodes(json: &str) -> Result<Vec<KubeNode>, ProbeError> {
    let list: List = serde_json::from_str(json).map_err(ProbeError::NodeList)?;
    if list.kind != "List" && list.kind != "NodeList" {
        return Err(ProbeError::NotAList(list.kind));
    }
    Ok(list
        .items
        .into_iter()
        .filter(|n| n.kind.as_deref().is_none_or(|k| k == "Node"))
        .map(|n| {
            let mut roles: Vec<String> = n
                .metadata
                .labels
                .keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .map(str::to_string)
                .collect();
            roles.sort();
            KubeNode {
                internal_ip: n
                    .status
                    .addresses
                    .iter()
                    .find(|a| a.kind == "InternalIP")
                    .map(|a| a.address.clone()),
                ready: n
                    .status
                    .conditions
                    .iter()
                    .find(|c| c.kind == "Ready")
                    .map(|c| Ready {
                        status: c.status.clone(),
                        reason: c.reason.clone(),
                        message: c.message.clone(),
                        last_heartbeat: c.last_heartbeat.clone().unwrap_or_default(),
                    }),
                kubelet_version: n.status.node_info.kubelet_version,
                roles,
                name: n.metadata.name,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `k3s kubectl get nodes -o json` on server-2 of a `simple` cluster with the stand-in.
    const THREE_READY: &str =
        include_str!("../../tests/fixtures/kubectl/standin-simple-3-ready.json");

    #[test]
    fn a_list_of_nodes_is_read_with_roles_addresses_and_conditions() {
        let nodes = nodes(THREE_READY).unwrap();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["agent-1", "server-1", "server-2"]);
        let agent = &nodes[0];
        assert_eq!(agent.internal_ip.as_deref(), Some("192.168.1.3"));
        assert!(agent.roles.is_empty());
        let server = &nodes[1];
        assert_eq!(server.roles, ["control-plane", "etcd", "master"]);
        assert!(nodes.iter().all(KubeNode::is_ready));
        let ready = server.ready.as_ref().unwrap();
        assert_eq!(ready.reason, "KubeletReady");
        assert!(ready.last_heartbeat.starts_with("2026-"));
        assert!(server.kubelet_version.starts_with("v1.35.0+k3s3"));
    }

    #[test]
    fn a_not_ready_node_and_other_outputs_are_told_apart() {
        let not_ready = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Node",
            "metadata":{"name":"agent-1","labels":{}},
            "status":{"conditions":[{"type":"MemoryPressure","status":"False"},
              {"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown","message":"Kubelet stopped posting node status."}]}}]}"#;
        let n = &nodes(not_ready).unwrap()[0];
        assert!(!n.is_ready());
        assert_eq!(n.ready.as_ref().unwrap().reason, "NodeStatusUnknown");
        assert_eq!(n.internal_ip, None);
        let refused = "The connection to the server localhost:8080 was refused - did you specify the right host or port?";
        assert!(
            nodes(refused)
                .unwrap_err()
                .to_string()
                .contains("no node list")
        );
        let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#;
        assert!(nodes(pod).unwrap_err().to_string().contains("Pod"));
    }
}

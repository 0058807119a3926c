//! The checks some tests make once their cluster is up, through the nodes' control channels
//! and QMP: the bond's failover and return, the VLAN isolation of the negative profile, and
//! the Ready conditions read from `k3s kubectl get nodes -o json`.

use std::time::{Duration, Instant};

use crate::cluster::control::ControlChannel;
use crate::cluster::engine::Cluster;
use crate::cluster::qemu::nic_device_id;

use super::ScenarioError;
use super::result::Check;

/// How long a probe command may take in a guest under TCG.
const PROBE: Duration = Duration::from_secs(60);

/// How long joiners that must not join get to try, once server-1 is Ready.
pub const JOIN_WINDOW: Duration = Duration::from_secs(45);

fn control(cluster: &Cluster, node: &str) -> Result<ControlChannel, ScenarioError> {
    cluster.control(node).ok_or_else(|| ScenarioError::NoNode {
        node: node.to_string(),
    })
}

async fn sh(cluster: &Cluster, node: &str, script: &str) -> Result<(i32, String), ScenarioError> {
    let out = control(cluster, node)?.shell(script, PROBE).await?;
    Ok((out.code, format!("{}{}", out.stdout, out.stderr)))
}

/// Whether any of three pings from `from` to `to` is answered.
async fn ping(cluster: &Cluster, from: &str, to: &str) -> Result<bool, ScenarioError> {
    Ok(sh(cluster, from, &format!("ping -c3 -i0.5 -W3 {to}"))
        .await?
        .0
        == 0)
}

/// Whether a TCP connection from `from` to `to:port` opens within 5 s.
async fn connects(
    cluster: &Cluster,
    from: &str,
    to: &str,
    port: u16,
) -> Result<bool, ScenarioError> {
    let script = format!("timeout 5 bash -c 'exec 3<>/dev/tcp/{to}/{port}'");
    Ok(sh(cluster, from, &script).await?.0 == 0)
}

/// Each node's name and whether its `Ready` condition is `True`, from the JSON of
/// `kubectl get nodes -o json`.
pub fn ready_nodes(json: &str) -> Result<Vec<(String, bool)>, ScenarioError> {
    let doc: serde_json::Value = serde_json::from_str(json).map_err(ScenarioError::Json)?;
    let items = doc["items"].as_array().ok_or(ScenarioError::NoItems)?;
    Ok(items
        .iter()
        .map(|n| {
            let name = n["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let ready = n["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            (name, ready)
        })
        .collect())
}

/// The nodes `server` knows, with their Ready condition.
pub async fn nodes_seen_by(
    cluster: &Cluster,
    server: &str,
) -> Result<Vec<(String, bool)>, ScenarioError> {
    let out = control(cluster, server)?
        .exec(
            &["k3s", "kubectl", "get", "nodes", "-o", "json"].map(String::from),
            PROBE,
        )
        .await?;
    if out.code != 0 {
        return Err(ScenarioError::Kubectl {
            server: server.to_string(),
            code: out.code,
            stderr: out.stderr.trim().to_string(),
        });
    }
    ready_nodes(&out.stdout)
}

fn check(name: &str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        passed,
        detail: detail.into(),
    }
}

async fn active_member(cluster: &Cluster, node: &str, bond: &str) -> Result<String, ScenarioError> {
    let (_, text) = sh(cluster, node, &format!("cat /proc/net/bonding/{bond}")).await?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("Currently Active Slave: "))
        .unwrap_or("none")
        .trim()
        .to_string())
}

/// Polls `probe` every half second until it holds or `deadline` passes.
async fn until<F, Fut>(deadline: Duration, mut probe: F) -> Result<bool, ScenarioError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, ScenarioError>>,
{
    let start = Instant::now();
    loop {
        if probe().await? {
            return Ok(true);
        }
        if start.elapsed() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The failover of `node`'s bond: its primary member's link goes down (QMP), the bond
/// switches to the other member and traffic to `target` keeps flowing; the link comes back
/// and the bond returns to its primary; `server` still sees every node Ready. Stops at the
/// first check that fails (the rest would only repeat it).
pub async fn bond_failover(
    cluster: &Cluster,
    node: &str,
    bond: &str,
    members: (&str, &str),
    target: &str,
    server: &str,
) -> Vec<Check> {
    let mut out = Vec::new();
    let (primary, backup) = members;
    macro_rules! step {
        ($name:expr, $result:expr, $ok:expr) => {
            match $result {
                Ok(true) => out.push(check($name, true, $ok)),
                Ok(false) => {
                    out.push(check($name, false, format!("{} — it did not", $ok)));
                    return out;
                }
                Err(e) => {
                    out.push(check($name, false, e.to_string()));
                    return out;
                }
            }
        };
    }
    let active = active_member(cluster, node, bond).await;
    step!(
        "bond starts on its primary",
        active
            .as_ref()
            .map(|a| a == primary)
            .map_err(|e| e.to_string()),
        format!(
            "{node} {bond}: active member {primary} (seen: {})",
            active.as_deref().unwrap_or_default()
        )
    );
    step!(
        "traffic before the failover",
        ping(cluster, node, target).await,
        format!("{node} reaches {target}")
    );
    let Some(qmp) = cluster.qmp(node) else {
        out.push(check(
            "link down",
            false,
            format!("{node} has no QMP socket"),
        ));
        return out;
    };
    step!(
        "link down",
        qmp.set_link(&nic_device_id(primary), false)
            .await
            .map(|_| true)
            .map_err(|e| e.to_string()),
        format!("QMP set_link {primary} down on {node}")
    );
    step!(
        "the bond fails over",
        until(Duration::from_secs(60), || async {
            Ok(active_member(cluster, node, bond).await? == backup)
        })
        .await,
        format!("/proc/net/bonding/{bond} on {node} shows {backup} active")
    );
    // The switches learn where the MAC went within a few pings under TCG.
    step!(
        "traffic keeps flowing",
        until(Duration::from_secs(30), || ping(cluster, node, target)).await,
        format!("{node} reaches {target} over {backup}")
    );
    step!(
        "link up",
        qmp.set_link(&nic_device_id(primary), true)
            .await
            .map(|_| true)
            .map_err(|e| e.to_string()),
        format!("QMP set_link {primary} up on {node}")
    );
    step!(
        "the bond returns to its primary",
        until(Duration::from_secs(60), || async {
            Ok(active_member(cluster, node, bond).await? == primary)
        })
        .await,
        format!("/proc/net/bonding/{bond} on {node} shows {primary} active again")
    );
    step!(
        "traffic after the return",
        until(Duration::from_secs(30), || ping(cluster, node, target)).await,
        format!("{node} reaches {target} over {primary}")
    );
    let nodes = nodes_seen_by(cluster, server).await;
    let expected: Vec<String> = cluster
        .plan
        .nodes
        .iter()
        .filter(|n| crate::readiness::runs_k3s(&n.role))
        .map(|n| n.name.clone())
        .collect();
    let not_ready: Vec<String> = match &nodes {
        Ok(seen) => expected
            .iter()
            .filter(|e| !seen.iter().any(|(n, r)| n == *e && *r))
            .cloned()
            .collect(),
        Err(_) => expected.clone(),
    };
    out.push(check(
        "every node still Ready",
        nodes.is_ok() && not_ready.is_empty(),
        match nodes {
            Ok(_) if not_ready.is_empty() => {
                format!("{server} sees {} Ready", expected.join(", "))
            }
            Ok(seen) => format!(
                "{server} does not see {} Ready (it sees {:?})",
                not_ready.join(", "),
                seen
            ),
            Err(e) => e.to_string(),
        },
    ));
    out
}

/// The isolation of `joiners` from `server` (whose k3s address is `address`): none of them
/// may reach it (ping, TCP 6443), and none may appear in its node list during
/// [`JOIN_WINDOW`]. `vlans` describes each joiner's VLANs for the messages.
pub async fn vlan_isolation(
    cluster: &Cluster,
    server: &str,
    address: &str,
    joiners: &[(String, String)],
) -> Vec<Check> {
    let mut out = Vec::new();
    for (joiner, vlans) in joiners {
        let reached = match ping(cluster, joiner, address).await {
            Ok(true) => Ok(true),
            Ok(false) => connects(cluster, joiner, address, 6443).await,
            Err(e) => Err(e),
        };
        out.push(match reached {
            Ok(false) => check(
                &format!("{joiner} cannot reach {server}"),
                true,
                format!("no answer from {address} (ping, TCP 6443) on {vlans}"),
            ),
            Ok(true) => check(
                &format!("{joiner} cannot reach {server}"),
                false,
                format!(
                    "{joiner} reached {server} at {address} although it is on {vlans}: \
                     traffic crosses VLANs — check the switch ports' VLAN membership \
                     (`n3x cluster status`) and the node's VLAN IDs in the profile"
                ),
            ),
            Err(e) => check(
                &format!("{joiner} cannot reach {server}"),
                false,
                e.to_string(),
            ),
        });
    }
    let start = Instant::now();
    let mut joined: Vec<String> = Vec::new();
    let mut last: Result<Vec<(String, bool)>, ScenarioError> = Ok(Vec::new());
    let mut asked = false;
    while start.elapsed() < JOIN_WINDOW && joined.is_empty() {
        last = nodes_seen_by(cluster, server).await;
        asked = true;
        if let Ok(seen) = &last {
            joined = joiners
                .iter()
                .filter(|(j, _)| seen.iter().any(|(n, _)| n == j))
                .map(|(j, _)| j.clone())
                .collect();
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    out.push(match (&last, joined.is_empty()) {
        (Ok(_), true) if !asked => check("no joiner registered", false, "never asked"),
        (Ok(seen), true) => check(
            "no joiner registered",
            true,
            format!(
                "{server} knows only {} after {}s",
                seen.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                JOIN_WINDOW.as_secs()
            ),
        ),
        (Ok(_), false) => check(
            "no joiner registered",
            false,
            format!(
                "{} joined {server} across VLANs it should not reach",
                joined.join(", ")
            ),
        ),
        (Err(e), _) => check("no joiner registered", false, e.to_string()),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::ready_nodes;

    #[test]
    fn ready_comes_from_the_conditions_not_from_a_word_in_the_text() {
        let json = r#"{"apiVersion":"v1","kind":"List","items":[
          {"metadata":{"name":"server-1"},"status":{"conditions":[
            {"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True"}]}},
          {"metadata":{"name":"agent-1","labels":{"note":"Ready"}},"status":{"conditions":[
            {"type":"Ready","status":"Unknown"}]}}]}"#;
        assert_eq!(
            ready_nodes(json).unwrap(),
            [
                ("server-1".to_string(), true),
                ("agent-1".to_string(), false)
            ]
        );
        assert!(ready_nodes("NAME STATUS\nserver-1 Ready").is_err());
        assert!(ready_nodes("{}").unwrap_err().to_string().contains("items"));
    }
}

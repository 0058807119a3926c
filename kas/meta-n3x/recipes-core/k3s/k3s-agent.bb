# k3s as an agent (worker node).

DESCRIPTION = "Lightweight Kubernetes: agent"
K3S_ROLE = "agent"

require k3s.inc

DEBIAN_CONFLICTS = "k3s-server"

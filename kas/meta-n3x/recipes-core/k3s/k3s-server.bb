# k3s as a server (control plane with embedded etcd).

DESCRIPTION = "Lightweight Kubernetes: server"
K3S_ROLE = "server"

require k3s.inc

DEBIAN_DEPENDS:append = ", ca-certificates"
DEBIAN_CONFLICTS = "k3s-agent"

# What every k3s node needs from its kernel, the same on NixOS and on the Debian images (the ISAR
# recipe k3s-system-config installs these as /etc/modules-load.d/k3s.conf and
# /etc/sysctl.d/99-k3s.conf; CI checks the two agree). Pure: builtins only.
{
  kernelModules = [
    "overlay"
    "nf_conntrack"
    "br_netfilter"
    "iptable_nat"
    "iptable_filter"
    "ip6table_nat"
    "ip6table_filter"
  ];
  sysctl = {
    "net.ipv4.ip_forward" = 1;
    "net.ipv6.conf.all.forwarding" = 1;
    "net.bridge.bridge-nf-call-iptables" = 1;
    "net.bridge.bridge-nf-call-ip6tables" = 1;
    "net.netfilter.nf_conntrack_max" = 131072;
    "fs.inotify.max_user_watches" = 524288;
    "fs.inotify.max_user_instances" = 512;
    "fs.file-max" = 2097152;
    "vm.overcommit_memory" = 1;
    "vm.panic_on_oom" = 0;
  };
  # The ports k3s listens on, per role (servers: API, etcd, kubelet; flannel VXLAN on UDP).
  firewall = {
    server = {
      tcp = [
        6443
        2379
        2380
        10250
      ];
      udp = [ 8472 ];
    };
    agent = {
      tcp = [ 10250 ];
      udp = [ 8472 ];
    };
  };
}

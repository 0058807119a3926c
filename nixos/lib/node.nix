# What one rendered node file (nixos/rendered/<profile>/<node>.json) means for NixOS, as plain
# option values: the host name, kernel modules, systemd-networkd units, the wait-online
# interfaces, the k3s role settings and the DHCP server. The modules under nixos/modules apply
# these values; nothing here repeats a topology value, everything comes from the rendered file.
#
# Pure: builtins only, so CI evaluates it on every rendered node and compares the result with
# the Debian files the renderer wrote for the same node.
node:
let
  k3s = node.k3s or null;
in
{
  hostName = node.hostName;
  kernelModules = node.kernelModules;
  networks = node.network.networks;
  netdevs = node.network.netdevs;
  # systemd.network.wait-online.extraArgs: network-online.target means the k3s interface is up.
  waitOnlineArgs = map (i: "--interface=${i}") node.network.waitOnlineInterfaces;
  # services.k3s option values (null on nodes without k3s, e.g. the DHCP server).
  k3s =
    if k3s == null then
      null
    else
      {
        inherit (k3s)
          role
          clusterInit
          serverAddr
          tokenFile
          extraFlags
          ;
      };
  # The k3s command-line flags services.k3s passes for these values, in the renderer's
  # `--flag=value` form: the same set as the Debian image's /etc/rancher/k3s/config.yaml.
  k3sFlags =
    if k3s == null then
      [ ]
    else
      (if k3s.clusterInit then [ "--cluster-init" ] else [ ])
      ++ (if k3s.serverAddr != "" then [ "--server=${k3s.serverAddr}" ] else [ ])
      ++ [ "--token-file=${k3s.tokenFile}" ]
      ++ k3s.extraFlags;
  # services.dnsmasq.settings of the profile's DHCP server (null elsewhere).
  dnsmasq = if node ? dnsmasq then node.dnsmasq.settings else null;
}

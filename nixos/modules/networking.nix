# A node's network, exactly as rendered for it: host name, systemd-networkd networks and
# netdevs, the interface network-online.target waits for, kernel modules (bonding, 8021q) and,
# on a profile's DHCP server, dnsmasq. Variants without a node keep NixOS's defaults.
{
  lib,
  n3xVariant,
  ...
}:
let
  node = if n3xVariant.nodeData == null then null else import ../lib/node.nix n3xVariant.nodeData;
in
{
  config = lib.optionalAttrs (node != null) {
    networking.hostName = node.hostName;
    networking.useNetworkd = true;
    networking.useDHCP = false;
    systemd.network = {
      enable = true;
      networks = node.networks;
      netdevs = node.netdevs;
      wait-online.extraArgs = node.waitOnlineArgs;
    };
    boot.kernelModules = node.kernelModules;
    services.dnsmasq = lib.optionalAttrs (node.dnsmasq != null) {
      enable = true;
      resolveLocalQueries = false;
      settings = node.dnsmasq;
    };
  };
}

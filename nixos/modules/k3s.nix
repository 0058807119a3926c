# The k3s server and agent roles. A node with a rendered file gets its settings from it (role,
# cluster init or join address, token file, flags); a role variant without a node gets k3s
# installed and reads /etc/rancher/k3s/config.yaml at deploy time, like the Debian images.
# The token is only ever a path: it is never part of the system closure. k3s itself is the
# release binary pinned in profiles/cluster.yaml (../lib/k3s-release.nix).
{
  config,
  lib,
  pkgs,
  n3xVariant,
  ...
}:
let
  v = n3xVariant;
  node = if v.nodeData == null then null else import ../lib/node.nix v.nodeData;
  system = import ../lib/k3s-system.nix;
  k3sRole = builtins.elem v.role [
    "server"
    "agent"
  ];
  configPath = "/etc/rancher/k3s/config.yaml";
in
{
  config = lib.optionalAttrs k3sRole {
    services.k3s = {
      enable = true;
      role = v.role;
      # The release binary profiles/cluster.yaml pins, as on the Debian images.
      package = lib.mkDefault (
        pkgs.callPackage ../lib/k3s-release.nix {
          version = v.k3sVersion;
          sha256 = v.k3sSha256;
        }
      );
    }
    // (
      if node != null then
        {
          inherit (node.k3s)
            clusterInit
            serverAddr
            tokenFile
            extraFlags
            ;
        }
      else
        { inherit configPath; }
    );

    # Start only once the node has what it needs: its token (filled by the cluster engine or the
    # operator, mode 0600) or, without a node file, its deploy-time configuration.
    systemd.services.k3s = {
      unitConfig = {
        ConditionPathExists = if node != null then node.k3s.tokenFile else configPath;
        StartLimitIntervalSec = 0;
      };
      # Back off from 5 s to 30 s between restarts, and never give up (the original's FM-1).
      serviceConfig = {
        Restart = lib.mkForce "always";
        RestartSec = lib.mkForce "5s";
        RestartMaxDelaySec = "30s";
        RestartSteps = 5;
      };
    };

    boot.kernelModules = system.kernelModules;
    boot.kernel.sysctl = system.sysctl;
    swapDevices = lib.mkForce [ ];
    networking.firewall.allowedTCPPorts = system.firewall.${v.role}.tcp;
    networking.firewall.allowedUDPPorts = system.firewall.${v.role}.udp;

    warnings = lib.optional ("v${config.services.k3s.package.version}" != v.k3sVersion) "n3x variant ${v.name}: nixpkgs ships k3s ${config.services.k3s.package.version}, profiles/cluster.yaml asks for ${v.k3sVersion}; set services.k3s.package to match.";
  };
}

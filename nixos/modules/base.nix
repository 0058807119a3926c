# What every n3x system has: its platform, a host name for variants without a node, the
# tools of the debug package set on k3s roles, and the variant's features.
{
  lib,
  pkgs,
  n3xVariant,
  ...
}:
let
  v = n3xVariant;
  k3sRole = builtins.elem v.role [
    "server"
    "agent"
  ];
in
{
  nixpkgs.hostPlatform = lib.mkDefault v.system;
  system.stateVersion = "25.11";

  # A node's own name comes from its rendered file (networking.nix); others are named by role.
  networking.hostName = lib.mkDefault "n3x-${v.role}";

  # kas/packages/debug.yml on the Debian images.
  services.openssh.enable = k3sRole;
  environment.systemPackages = lib.optionals k3sRole (
    with pkgs;
    [
      vim
      less
      iputils
    ]
  );

  assertions = [
    {
      assertion = v.feature == null;
      message = "n3x variant ${v.name}: the feature `${toString v.feature}` (an A/B update image with SWUpdate) exists only for the Debian images; build it with `n3x build --backend isar --variant ${v.id} --machine ${v.machine}`.";
    }
  ];
}

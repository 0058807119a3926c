# What every n3x system has: its platform, a host name for variants without a node, the
# tools of the debug package set on k3s roles. (Variants with a feature, the Debian-only
# SWUpdate A/B image, have no NixOS system: see has_system in src/render/nixos.rs.)
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
}

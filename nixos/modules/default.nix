# The n3x NixOS modules. The flake passes one variant of the matrix (an attribute of
# nixos/lib/variants.nix) as the module argument `n3xVariant`; every topology value the modules
# use comes from it, that is from the files `n3x render --all` writes.
{
  imports = [
    ./base.nix
    ./machines.nix
    ./networking.nix
    ./k3s.nix
    ./test-control.nix
  ];
}

# The variant matrix as NixOS systems, read from what `n3x render --all` writes
# (nixos/rendered/variants.json and one nixos/rendered/<profile>/<node>.json per node).
#
# One attribute per variant, named exactly as the workbench builds it:
#   nix build .#nixosConfigurations."<machine>-<id>".config.system.build.toplevel
#
# Pure: builtins only, no nixpkgs, so CI evaluates it with a plain `nix-instantiate --eval`.
{
  rendered ? ../rendered,
}:
let
  doc = builtins.fromJSON (builtins.readFile (rendered + "/variants.json"));
  withNode =
    v:
    v
    // {
      inherit (doc) k3sVersion k3sSha256;
      nodeData =
        if v.nodeFile == null then
          null
        else
          builtins.fromJSON (builtins.readFile (rendered + "/${v.nodeFile}"));
    };
in
{
  # The k3s release the cluster asks for, and its sha256 by architecture (profiles/cluster.yaml).
  k3sVersion = doc.k3sVersion;
  k3sSha256 = doc.k3sSha256;
  # name -> { name id machine system serial role testOverlay profile node nodeFile
  #           nodeData k3sVersion k3sSha256 }
  systems = builtins.listToAttrs (
    map (v: {
      name = v.name;
      value = withNode v;
    }) doc.variants
  );
}

# The k3s release pinned in profiles/cluster.yaml (`k3s.version`, `k3s.sha256`; read from
# nixos/rendered/variants.json): the same upstream binary the ISAR recipe installs, checked
# against the release's sha256. `n3x validate` checks the pins agree. Its tools come from the
# system, as on the Debian images (the recipe's Depends).
{
  lib,
  stdenvNoCC,
  fetchurl,
  makeWrapper,
  iptables,
  iproute2,
  ipset,
  conntrack-tools,
  kmod,
  util-linux,
  socat,
  ethtool,
  # "v1.35.0+k3s1"
  version,
  # { amd64 = "<sha256 of k3s>"; arm64 = "<sha256 of k3s-arm64>"; }
  sha256,
}:
let
  assets = {
    x86_64-linux = {
      file = "k3s";
      arch = "amd64";
    };
    aarch64-linux = {
      file = "k3s-arm64";
      arch = "arm64";
    };
  };
  asset =
    assets.${stdenvNoCC.hostPlatform.system}
      or (throw "k3s has no release binary for ${stdenvNoCC.hostPlatform.system}");
in
stdenvNoCC.mkDerivation {
  pname = "k3s";
  version = lib.removePrefix "v" version;
  src = fetchurl {
    url = "https://github.com/k3s-io/k3s/releases/download/${
      lib.replaceStrings [ "+" ] [ "%2B" ] version
    }/${asset.file}";
    sha256 =
      sha256.${asset.arch}
        or (throw "profiles/cluster.yaml has no k3s.sha256.${asset.arch} for k3s ${version}");
  };
  dontUnpack = true;
  nativeBuildInputs = [ makeWrapper ];
  # The binary carries its data appended to the executable: install it as it is.
  installPhase = ''
    runHook preInstall
    install -Dm755 $src $out/bin/k3s
    wrapProgram $out/bin/k3s --prefix PATH : ${
      lib.makeBinPath [
        iptables
        iproute2
        ipset
        conntrack-tools
        kmod
        util-linux
        socat
        ethtool
      ]
    }
    for tool in kubectl crictl ctr; do ln -s k3s $out/bin/$tool; done
    runHook postInstall
  '';
  dontStrip = true;
  dontPatchELF = true;
  meta = {
    description = "k3s ${version}, the release binary pinned by n3x";
    license = lib.licenses.asl20;
    mainProgram = "k3s";
  };
}

# The n3x workbench as a Nix package, built from the Cargo lock file.
{
  lib,
  rustPlatform,
  makeWrapper,
  qemu,
  vde2,
  src,
  version,
  description,
}:
rustPlatform.buildRustPackage {
  pname = "n3x";
  inherit version;
  src = lib.cleanSourceWith {
    inherit src;
    # Build outputs of a checkout never enter the source.
    filter = path: _type: !(lib.hasSuffix "/target" path || lib.hasSuffix "/build" path);
  };
  cargoLock.lockFile = ../Cargo.lock;
  # The test suite boots QEMU, builds images as root and drives PTYs; it runs with
  # scripts/test.sh (and, where KVM exists, in the flake's checks), not in the sandbox.
  doCheck = false;
  nativeBuildInputs = [ makeWrapper ];
  # QEMU and vde_switch for `n3x cluster`, unless the user's PATH has them first.
  postInstall = ''
    wrapProgram $out/bin/n3x --suffix PATH : ${
      lib.makeBinPath [
        qemu
        vde2
      ]
    }
  '';
  meta = {
    inherit description;
    license = lib.licenses.mit;
    mainProgram = "n3x";
  };
}

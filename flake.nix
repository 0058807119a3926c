{
  description = "n3x: a terminal workbench for K3s edge clusters, and the NixOS systems of its variant matrix";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      # The workbench's [package] metadata. Not named `cargo`: a binding of that name would hide
      # pkgs.cargo inside the dev shell's `with pkgs;`.
      crate = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package;
      # Every variant of profiles/matrix.yaml, from nixos/rendered/ (n3x render --all).
      matrix = import ./nixos/lib/variants.nix { };
      hostSystems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) hostSystems
        );
      pkgsFor = system: nixpkgs.legacyPackages.${system};
    in
    {
      packages = forSystems (system: {
        default = (pkgsFor system).callPackage ./nixos/package.nix {
          src = self;
          inherit (crate) version description;
        };
      });

      apps = forSystems (system: {
        default = {
          type = "app";
          program = "${self.packages.${system}.default}/bin/n3x";
        };
      });

      # The tools the workbench drives: QEMU and vde_switch (clusters), kas (ISAR builds),
      # mmdebstrap (quick images), and the Rust toolchain and validators of its tests.
      devShells = forSystems (
        system:
        let
          pkgs = pkgsFor system;
        in
        {
          default = pkgs.mkShell {
            packages = with pkgs; [
              cargo
              rustc
              clippy
              rustfmt
              qemu
              vde2
              kas
              mmdebstrap
              e2fsprogs
              cpio
              tmux
              (python3.withPackages (ps: [
                ps.jsonschema
                ps.pyyaml
              ]))
            ];
          };
        }
      );

      nixosModules.default = ./nixos/modules;

      # One system per variant, named as the workbench builds it:
      #   nix build .#nixosConfigurations."<machine>-<id>".config.system.build.toplevel
      nixosConfigurations = builtins.mapAttrs (
        _name: variant:
        nixpkgs.lib.nixosSystem {
          specialArgs.n3xVariant = variant;
          modules = [ ./nixos/modules ];
        }
      ) matrix.systems;

      checks = forSystems (
        system:
        let
          pkgs = pkgsFor system;
          n3x = self.packages.${system}.default;
          inRepo =
            name: attrs: script:
            pkgs.runCommand name attrs ''
              cp -r ${self} repo
              chmod -R u+w repo
              cd repo
              export HOME=$TMPDIR N3X_STATE_DIR=$TMPDIR/state
              mkdir -p $out
              ${script}
            '';
        in
        {
          # The committed kas/ and nixos/ files are what the profiles render to.
          rendered-files-current = inRepo "n3x-render-check" { nativeBuildInputs = [ n3x ]; } ''
            n3x render --check | tee $out/render-check.txt
          '';
        }
        // nixpkgs.lib.optionalAttrs (system == "x86_64-linux") {
          # The scenario catalog against real QEMU clusters; only on builders with KVM. The
          # quick images those clusters boot are built as root from Debian's mirrors, which a
          # sandboxed Nix build does not have: this check passes only on a builder that grants
          # both (a trusted, unsandboxed builder).
          vm-tests =
            inRepo "n3x-test-batch"
              {
                nativeBuildInputs = [
                  n3x
                  pkgs.qemu
                  pkgs.vde2
                  pkgs.mmdebstrap
                  pkgs.e2fsprogs
                  pkgs.cpio
                ];
                requiredSystemFeatures = [ "kvm" ];
              }
              ''
                n3x test --batch --junit $out/junit.xml
              '';
        }
      );
    };
}

//! The hand-written backend trees, checked with the real tools and against the renderer:
//!
//! - every `.nix` file parses with Debian's nix-bin, the flake's NixOS systems are exactly the
//!   attributes the workbench builds, and the pure `nixos/lib` functions and the modules give
//!   for every node what the Debian files rendered for the same node say;
//! - every kas file validates against the schema of the kas that builds it (kas 5's venv), every variant's
//!   overlay chain resolves to files that exist, and every recipe, WKS file and machine the
//!   kas files and recipes name exists in the layer (or, for the few named, in ISAR itself);
//! - the test control channel, the k3s units and the k3s system settings agree between the
//!   quick image, the NixOS modules and the ISAR recipes.
//!
//! When nix-instantiate or kas is missing, the tests that need it fail under CI (`CI` or
//! `N3X_REQUIRE_TOOLS` set) and are skipped with a notice elsewhere.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{files_under, repo, shipped, tool_available};
use n3x::build::quick::guest::{BACKDOOR_READY, NET_UP_MARKER};
use n3x::matrix;
use serde_json::Value;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Evaluates a Nix expression (in the repository root) strictly and returns it as JSON.
fn nix_eval(expr: &str) -> Value {
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expr])
        .current_dir(repo())
        .env("NIX_CONFIG", "build-users-group =")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nix-instantiate --eval failed:\n{expr}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Nix

#[test]
fn nix_parses_every_nix_file_of_the_repository() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let files = files_under(&repo(), ".nix");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    for expected in [
        "flake.nix",
        "nixos/package.nix",
        "nixos/lib/variants.nix",
        "nixos/lib/node.nix",
        "nixos/modules/default.nix",
        "nixos/modules/k3s.nix",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    for file in &files {
        let out = Command::new("nix-instantiate")
            .arg("--parse")
            .arg(file)
            .env("NIX_CONFIG", "build-users-group =")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The check can fail: a missing semicolon is reported with its file and line.
    let dir = tempfile::TempDir::new().unwrap();
    let bad = dir.path().join("bad.nix");
    std::fs::write(&bad, "{ a = 1\n  b = 2; }\n").unwrap();
    let out = Command::new("nix-instantiate")
        .arg("--parse")
        .arg(&bad)
        .env("NIX_CONFIG", "build-users-group =")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.nix:2"));
}

/// The flake's outputs with a stand-in for the nixpkgs input (no nixpkgs exists here):
/// `lib.nixosSystem` returns its arguments, so the systems' names and arguments can be read.
const FLAKE_WITH_STUB_NIXPKGS: &str = r#"
  let
    stub = {
      lib.nixosSystem = args: args;
      lib.optionalAttrs = c: a: if c then a else { };
      legacyPackages = { };
    };
    # As in a real flake, `self` is the outputs themselves with the source as outPath.
    outputs = (import ./flake.nix).outputs {
      self = outputs // { outPath = ./.; };
      nixpkgs = stub;
    };
  in outputs
"#;

#[test]
fn the_flakes_nixos_systems_are_exactly_what_the_workbench_builds() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_n3x"))
        .args(["list", "--json"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 16);
    // What `n3x build --backend nixos` runs: .#nixosConfigurations."<name>".config.system.build.toplevel
    let wanted: BTreeSet<String> = listed
        .iter()
        .filter_map(|v| v["nixos_attr"].as_str())
        .map(|attr| {
            let name = attr
                .strip_prefix("nixosConfigurations.")
                .and_then(|a| a.strip_suffix(".config.system.build.toplevel"))
                .unwrap_or_else(|| panic!("unexpected nixos_attr {attr}"));
            name.trim_matches('"').to_string()
        })
        .collect();
    // Every variant but the SWUpdate A/B image (Debian only), each under its own name.
    assert_eq!(wanted.len(), 15);
    let without: Vec<&Value> = listed
        .iter()
        .filter(|v| v["nixos_attr"].is_null())
        .collect();
    assert_eq!(without.len(), 1);
    assert_eq!(without[0]["id"], "base-swupdate");

    let expr = format!(
        "let o = {FLAKE_WITH_STUB_NIXPKGS}; in {{ \
           outputs = builtins.attrNames o; \
           systems = builtins.mapAttrs (n: c: {{ \
             inherit (c.specialArgs.n3xVariant) system machine id role profile node; \
             modules = map toString c.modules; \
             host = if c.specialArgs.n3xVariant.nodeData == null then null \
                    else c.specialArgs.n3xVariant.nodeData.hostName; \
           }}) o.nixosConfigurations; \
         }}"
    );
    let flake = nix_eval(&expr);
    let outputs: Vec<&str> = flake["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in [
        "apps",
        "checks",
        "devShells",
        "nixosConfigurations",
        "packages",
    ] {
        assert!(outputs.contains(&name), "flake outputs: {outputs:?}");
    }
    let systems = flake["systems"].as_object().unwrap();
    let names: BTreeSet<String> = systems.keys().cloned().collect();
    assert_eq!(names, wanted);

    let p = shipped();
    for v in matrix::variants(&p).iter().filter(|v| v.feature.is_none()) {
        let s = &systems[&format!("{}-{}", v.machine, v.id)];
        let arch = p.machines[&v.machine].arch.as_str();
        assert_eq!(s["system"], format!("{arch}-linux"), "{}", v.key());
        assert_eq!(s["machine"], v.machine.as_str());
        assert_eq!(s["role"], v.role.as_str());
        assert_eq!(s["profile"], serde_json::json!(v.profile));
        // A node's system reads that node's rendered file.
        assert_eq!(s["host"], serde_json::json!(v.node), "{}", v.key());
        assert!(
            s["modules"][0]
                .as_str()
                .unwrap()
                .ends_with("/nixos/modules"),
            "{s}"
        );
    }
}

/// The flake's outputs with a stand-in nixpkgs that also has packages: each package is its
/// name, `callPackage` and the builders return their arguments, so what the flake asks of
/// nixpkgs can be read.
const FLAKE_WITH_STUB_PACKAGES: &str = r#"
  let
    names = [ "cargo" "rustc" "clippy" "rustfmt" "qemu" "vde2" "kas" "mmdebstrap" "e2fsprogs"
              "cpio" "tmux" ];
    pkgs = builtins.listToAttrs (map (n: { name = n; value = n; }) names) // {
      callPackage = file: args: args // { file = toString file; outPath = "/nix/store/n3x"; };
      runCommand = name: attrs: script: { inherit name attrs script; };
      mkShell = args: args;
      python3.withPackages = f: "python3-with-" + builtins.concatStringsSep "-"
        (f { jsonschema = "jsonschema"; pyyaml = "pyyaml"; });
    };
    stub = {
      lib.nixosSystem = args: args;
      lib.optionalAttrs = c: a: if c then a else { };
      legacyPackages = { x86_64-linux = pkgs; aarch64-linux = pkgs; };
    };
    # As in a real flake, `self` is the outputs themselves with the source as outPath.
    outputs = (import ./flake.nix).outputs {
      self = outputs // { outPath = ./.; };
      nixpkgs = stub;
    };
  in outputs
"#;

#[test]
fn the_flake_packages_the_workbench_its_tools_and_its_checks() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let o = nix_eval(&format!(
        "let o = {FLAKE_WITH_STUB_PACKAGES}; in {{ \
           package = {{ inherit (o.packages.x86_64-linux.default) version description file; }}; \
           app = o.apps.x86_64-linux.default; \
           shell = o.devShells.aarch64-linux.default.packages; \
           checks = builtins.mapAttrs (s: c: builtins.attrNames c) o.checks; \
           vm = {{ inherit (o.checks.x86_64-linux.vm-tests) attrs script; }}; \
           render = o.checks.x86_64-linux.rendered-files-current.script; \
         }}"
    ));
    let cargo: toml_like::Package = toml_like::package(&read(&repo().join("Cargo.toml")));
    assert_eq!(o["package"]["version"], cargo.version);
    assert_eq!(o["package"]["description"], cargo.description);
    assert!(
        o["package"]["file"]
            .as_str()
            .unwrap()
            .ends_with("/nixos/package.nix")
    );
    assert_eq!(o["app"]["type"], "app");
    assert_eq!(o["app"]["program"], "/nix/store/n3x/bin/n3x");
    let shell: Vec<&str> = o["shell"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap_or_else(|| panic!("dev shell package {p}"))
        })
        .collect();
    for tool in ["qemu", "vde2", "kas", "mmdebstrap", "cargo"] {
        assert!(shell.contains(&tool), "dev shell: {shell:?}");
    }
    assert!(shell.contains(&"python3-with-jsonschema-pyyaml"));
    assert_eq!(
        o["checks"],
        serde_json::json!({
            "aarch64-linux": ["rendered-files-current"],
            "x86_64-linux": ["rendered-files-current", "vm-tests"],
        })
    );
    assert_eq!(
        o["vm"]["attrs"]["requiredSystemFeatures"],
        serde_json::json!(["kvm"])
    );
    let vm = o["vm"]["script"].as_str().unwrap();
    assert!(
        vm.contains("n3x test --batch --junit $out/junit.xml"),
        "{vm}"
    );
    assert!(o["render"].as_str().unwrap().contains("n3x render --check"));
}

/// The two `[package]` fields of Cargo.toml the flake reads (with `builtins.fromTOML`).
mod toml_like {
    pub struct Package {
        pub version: String,
        pub description: String,
    }

    pub fn package(text: &str) -> Package {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} = \"")))
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or_else(|| panic!("Cargo.toml has no {name}"))
                .to_string()
        };
        Package {
            version: field("version"),
            description: field("description"),
        }
    }
}

/// The rendered Debian files of a node, by path under the node's rootfs.
fn debian_files(profile: &str, node: &str) -> BTreeMap<String, String> {
    n3x::render::render_node(&shipped(), profile, node)
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.contents))
        .collect()
}

fn config_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn node_data_means_for_nixos_what_the_debian_files_say() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let p = shipped();
    let mut nodes = Vec::new();
    for profile in p.networks.values() {
        for node in n3x::render::profile_nodes(&p, profile) {
            nodes.push((profile.name.clone(), node));
        }
    }
    assert_eq!(nodes.len(), 21);
    let list = nodes
        .iter()
        .map(|(profile, node)| format!("./nixos/rendered/{profile}/{node}.json"))
        .collect::<Vec<_>>()
        .join(" ");
    let evaluated = nix_eval(&format!(
        "map (f: import ./nixos/lib/node.nix (builtins.fromJSON (builtins.readFile f))) [ {list} ]"
    ));
    let evaluated = evaluated.as_array().unwrap();
    let mut with_k3s = 0;
    for ((profile, node), nix) in nodes.iter().zip(evaluated) {
        let at = format!("{profile}/{node}");
        let deb = debian_files(profile, node);
        assert_eq!(
            format!("{}\n", nix["hostName"].as_str().unwrap()),
            deb["rootfs/etc/hostname"],
            "{at}"
        );
        let modules: Vec<String> = nix["kernelModules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_string())
            .collect();
        let deb_modules = deb
            .get("rootfs/etc/modules-load.d/n3x-network.conf")
            .map(|t| config_lines(t))
            .unwrap_or_default();
        assert_eq!(modules, deb_modules, "{at}");
        // network-online.target waits for the same interface.
        let drop_in =
            &deb["rootfs/etc/systemd/system/systemd-networkd-wait-online.service.d/n3x.conf"];
        for arg in nix["waitOnlineArgs"].as_array().unwrap() {
            assert!(drop_in.contains(arg.as_str().unwrap()), "{at}: {arg}");
        }
        // One NixOS network or netdev per Debian unit file, by the same name.
        let nix_units: BTreeSet<String> = ["networks", "netdevs"]
            .iter()
            .flat_map(|kind| {
                let ext = if *kind == "networks" {
                    "network"
                } else {
                    "netdev"
                };
                nix[kind]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(move |stem| format!("{stem}.{ext}"))
            })
            .collect();
        let deb_units: BTreeSet<String> = deb
            .keys()
            .filter_map(|k| k.strip_prefix("rootfs/etc/systemd/network/"))
            .map(String::from)
            .collect();
        assert_eq!(nix_units, deb_units, "{at}");
        // NixOS's networkd module checks VLAN ids as integers in 0..=4094 (assertInt, assertRange).
        for (stem, netdev) in nix["netdevs"].as_object().unwrap() {
            if let Some(id) = netdev.get("vlanConfig").map(|c| &c["Id"]) {
                assert!(
                    id.as_u64().is_some_and(|n| n <= 4094),
                    "{at}: {stem}: vlanConfig.Id {id} is not an integer NixOS accepts"
                );
            }
        }
        // services.k3s with these values runs k3s with the Debian image's settings.
        match deb.get("k3s-flags.txt") {
            Some(flags) => {
                with_k3s += 1;
                let mut nix_flags: Vec<String> = nix["k3sFlags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_string())
                    .collect();
                let mut deb_flags = config_lines(flags);
                nix_flags.sort();
                deb_flags.sort();
                assert_eq!(nix_flags, deb_flags, "{at}");
                assert_eq!(
                    nix["k3s"]["role"],
                    p.node(node).unwrap().role.as_str(),
                    "{at}"
                );
            }
            None => assert!(nix["k3s"].is_null(), "{at}"),
        }
        assert_eq!(
            nix["dnsmasq"].is_null(),
            !deb.contains_key("rootfs/etc/dnsmasq.d/n3x-dhcp.conf"),
            "{at}"
        );
    }
    assert_eq!(with_k3s, 20);
}

/// A stand-in for the module arguments that need nixpkgs: just enough of `lib` and `pkgs` for
/// the modules' own code, so what they set can be read without nixpkgs.
const MODULE_ARGS: &str = r#"
  let
    lib = {
      optionalAttrs = c: a: if c then a else { };
      optional = c: x: if c then [ x ] else [ ];
      optionals = c: l: if c then l else [ ];
      mkForce = x: x;
      mkDefault = x: x;
      mkMerge = l: l;
    };
    pkgs = builtins.listToAttrs (map (n: { name = n; value = n; }) [
      "cpio" "e2fsprogs" "openssl" "netcat-openbsd" "socat" "curl" "wget" "iputils" "vim" "less"
    ]) // {
      writeScript = name: text: { inherit name text; };
      callPackage = file: args: { n3xCallPackage = { inherit file args; }; };
    };
    systems = (import ./nixos/lib/variants.nix { }).systems;
    module = file: name: (import file {
      inherit lib pkgs;
      modulesPath = "/nixpkgs/nixos/modules";
      n3xVariant = systems.${name};
      config.services.k3s.package.version = "1.35.0+k3s1";
    }).config;
  in
"#;

#[test]
fn the_nixos_modules_set_the_rendered_values() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let v = nix_eval(&format!(
        "{MODULE_ARGS} {{ \
           net = module ./nixos/modules/networking.nix \"qemuamd64-server-vlans-server-2\"; \
           k3s = module ./nixos/modules/k3s.nix \"qemuamd64-server-vlans-server-2\"; \
           agent = module ./nixos/modules/k3s.nix \"qemuamd64-agent\"; \
           base = module ./nixos/modules/k3s.nix \"qemuamd64-base\"; \
           baseNet = module ./nixos/modules/networking.nix \"qemuamd64-base\"; \
           control = module ./nixos/modules/test-control.nix \"qemuamd64-base\"; \
           noControl = module ./nixos/modules/test-control.nix \"qemuarm64-server\"; \
         }}"
    ));
    let rendered: Value =
        serde_json::from_str(&read(&repo().join("nixos/rendered/vlans/server-2.json"))).unwrap();

    let net = &v["net"];
    assert_eq!(net["networking"]["hostName"], "server-2");
    assert_eq!(net["networking"]["useNetworkd"], true);
    assert_eq!(
        net["systemd"]["network"]["networks"],
        rendered["network"]["networks"]
    );
    assert_eq!(
        net["systemd"]["network"]["netdevs"],
        rendered["network"]["netdevs"]
    );
    assert_eq!(
        net["systemd"]["network"]["wait-online"]["extraArgs"],
        serde_json::json!(["--interface=eth1.200"])
    );
    assert_eq!(
        net["systemd"]["network"]["netdevs"]["20-vlan-cluster"]["vlanConfig"]["Id"],
        200
    );
    assert_eq!(net["boot"]["kernelModules"], serde_json::json!(["8021q"]));
    assert_eq!(net["services"]["dnsmasq"], serde_json::json!({}));
    assert_eq!(v["baseNet"], serde_json::json!({}), "no node, no network");

    let k3s = &v["k3s"]["services"]["k3s"];
    assert_eq!(k3s["enable"], true);
    assert_eq!(k3s["role"], "server");
    assert_eq!(k3s["clusterInit"], false);
    assert_eq!(k3s["serverAddr"], "https://192.168.200.1:6443");
    assert_eq!(k3s["tokenFile"], rendered["k3s"]["tokenFile"]);
    assert_eq!(k3s["extraFlags"], rendered["k3s"]["extraFlags"]);
    assert_eq!(
        v["k3s"]["systemd"]["services"]["k3s"]["unitConfig"]["ConditionPathExists"],
        rendered["k3s"]["tokenFile"],
        "k3s waits for its token, which is never in the system"
    );
    assert_eq!(v["k3s"]["warnings"], serde_json::json!([]));
    // k3s is the release binary profiles/cluster.yaml pins, with its checksums.
    let package = &k3s["package"]["n3xCallPackage"]["args"];
    let pin = &shipped().cluster.k3s;
    assert_eq!(package["version"], pin.version.as_str());
    assert_eq!(
        package["sha256"]["amd64"],
        pin.sha256.amd64.as_deref().unwrap()
    );
    assert_eq!(
        package["sha256"]["arm64"],
        pin.sha256.arm64.as_deref().unwrap()
    );
    assert_eq!(
        v["k3s"]["networking"]["firewall"]["allowedTCPPorts"],
        serde_json::json!([6443, 2379, 2380, 10250])
    );

    // A role variant without a node reads its settings at deploy time, like the Debian image.
    let agent = &v["agent"]["services"]["k3s"];
    assert_eq!(agent["role"], "agent");
    assert_eq!(agent["configPath"], "/etc/rancher/k3s/config.yaml");
    assert!(agent.get("serverAddr").is_none());
    assert_eq!(v["base"], serde_json::json!({}), "no k3s on the base role");

    let control = &v["control"]["systemd"]["services"];
    let backdoor = control["n3x-backdoor"]["serviceConfig"]["ExecStart"]["text"]
        .as_str()
        .unwrap();
    assert!(backdoor.contains(&format!("echo \"{BACKDOOR_READY}\"")));
    assert!(backdoor.contains("/dev/hvc0"));
    let ready = control["n3x-ready"]["serviceConfig"]["ExecStart"]["text"]
        .as_str()
        .unwrap();
    assert!(ready.contains(NET_UP_MARKER));
    assert!(ready.contains("> /dev/ttyS0"), "{ready}");
    assert_eq!(control["serial-getty@hvc0"]["enable"], false);
    assert_eq!(
        v["noControl"],
        serde_json::json!({}),
        "images without a test overlay have no control channel"
    );
}

#[test]
fn every_system_has_its_machine_settings_and_serial_console() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let v = nix_eval(&format!(
        "{MODULE_ARGS} builtins.mapAttrs (name: s: {{ \
           machine = (import ./nixos/modules/machines.nix {{ \
             inherit lib; modulesPath = \"/nixpkgs/nixos/modules\"; n3xVariant = s; }}); \
           base = import ./nixos/modules/base.nix {{ inherit lib pkgs; n3xVariant = s; }}; \
         }}) systems"
    ));
    let p = shipped();
    let systems = v.as_object().unwrap();
    assert_eq!(systems.len(), 15);
    for (name, s) in systems {
        let machine_name = p
            .machines
            .keys()
            .find(|m| name.starts_with(&format!("{m}-")))
            .unwrap();
        let machine = &p.machines[machine_name];
        let config = s["machine"]["config"].as_array().unwrap();
        assert_eq!(
            config[0]["boot"]["kernelParams"],
            serde_json::json!([format!("console={},115200", machine.serial)]),
            "{name}"
        );
        assert_eq!(
            config[0]["networking"]["usePredictableInterfaceNames"],
            false
        );
        let imports = s["machine"]["imports"].as_array().unwrap();
        assert_eq!(
            !imports.is_empty(),
            machine.qemu.is_some(),
            "{name}: the QEMU guest profile exactly on emulated machines"
        );
        assert_eq!(
            s["base"]["nixpkgs"]["hostPlatform"],
            format!("{}-linux", machine.arch.as_str())
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The same behaviour in every image

fn layer() -> PathBuf {
    repo().join("kas/meta-n3x")
}

#[test]
fn the_control_channel_is_the_same_in_the_quick_nixos_and_isar_images() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let nix = nix_eval("import ./nixos/lib/control-channel.nix { serial = \"ttyAMA0\"; }");
    assert_eq!(nix["backdoorReady"], BACKDOOR_READY);
    assert_eq!(nix["netUpMarker"], NET_UP_MARKER);
    let isar_dir = layer().join("recipes-support/n3x-test-control/files");
    let isar_backdoor = read(&isar_dir.join("n3x-backdoor"));
    for script in [nix["backdoorScript"].as_str().unwrap(), &isar_backdoor] {
        assert!(
            script.contains("exec < /dev/hvc0 > /dev/hvc0 2>&1"),
            "{script}"
        );
        assert!(script.contains("stty raw -echo"), "{script}");
        assert!(
            script.contains(&format!("echo \"{BACKDOOR_READY}\"")),
            "{script}"
        );
    }
    let isar_ready = read(&isar_dir.join("n3x-ready.tmpl"));
    assert!(isar_ready.contains(&format!("echo \"{NET_UP_MARKER} uptime=")));
    assert!(isar_ready.contains("/dev/${MACHINE_SERIAL}"));
    assert!(
        nix["readyScript"]
            .as_str()
            .unwrap()
            .contains("> /dev/ttyAMA0")
    );
    let recipe = read(&layer().join("recipes-support/n3x-test-control/n3x-test-control.bb"));
    assert!(recipe.contains("TEMPLATE_VARS = \"MACHINE_SERIAL\""));
    assert!(recipe.contains("sysinit.target.wants/n3x-backdoor.service"));
    assert!(recipe.contains("ln -s /dev/null ${D}/etc/systemd/system/serial-getty@hvc0.service"));
}

#[test]
fn k3s_system_settings_agree_between_nixos_and_isar() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let nix = nix_eval("import ./nixos/lib/k3s-system.nix");
    let files = layer().join("recipes-core/k3s-system-config/files");
    let modules: Vec<Value> = config_lines(&read(&files.join("k3s.conf")))
        .into_iter()
        .map(Value::from)
        .collect();
    assert_eq!(nix["kernelModules"], Value::Array(modules));
    let sysctl: serde_json::Map<String, Value> = config_lines(&read(&files.join("99-k3s.conf")))
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (
                k.trim().to_string(),
                v.trim().parse::<i64>().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(nix["sysctl"], Value::Object(sysctl));
}

#[test]
fn the_k3s_packages_run_the_rendered_settings_and_bake_no_token() {
    let p = shipped();
    let inc = read(&layer().join("recipes-core/k3s/k3s.inc"));
    assert_eq!(
        n3x::build::pins::check(&p, &repo()),
        Vec::<String>::new(),
        "the recipe and the NixOS side pin the k3s of profiles/cluster.yaml"
    );
    assert!(
        inc.contains("K3S_DOWNLOAD ?= \"k3s-${PV}-${DISTRO_ARCH}\""),
        "per-architecture download names"
    );
    // The unit is dh_installsystemd's to install (ISAR's debianize): a second copy under
    // /lib made dpkg refuse the package on merged-usr Debian.
    assert!(!inc.contains("install -m 0644 ${N3X_SRC}/k3s-${K3S_ROLE}.service"));
    assert!(inc.contains("addtask check_k3s_checksum before do_fetch"));
    assert!(!inc.contains("BB_STRICT_CHECKSUM"));
    let deb = debian_files("simple", "server-2");
    for (role, node) in [("server", "server-2"), ("agent", "agent-1")] {
        let deb = if role == "server" {
            deb.clone()
        } else {
            debian_files("simple", node)
        };
        let env = &deb[&format!("rootfs/etc/default/k3s-{role}")];
        let var = env
            .lines()
            .find_map(|l| l.split_once("=\"").map(|(k, _)| k.to_string()))
            .unwrap();
        let unit = read(&layer().join(format!("recipes-core/k3s/files/k3s-{role}.service")));
        assert!(
            unit.contains(&format!("ExecStart=/usr/bin/k3s {role} ${var}\n")),
            "{unit}"
        );
        assert!(unit.contains(&format!("EnvironmentFile=-/etc/default/k3s-{role}\n")));
        assert!(unit.contains(&format!("ConditionPathExists=/etc/default/k3s-{role}\n")));
        assert!(!unit.to_lowercase().contains("token="), "{unit}");
    }
    // Nothing in the layer writes a token value.
    for f in files_under(&layer(), "") {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(
            !text.contains("K3S_TOKEN=") && !text.contains("fixed-token"),
            "{}",
            f.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// kas

fn kas_check(python: &Path, files: &[PathBuf]) -> std::process::Output {
    Command::new(python)
        .arg(repo().join("tests/tools/kas_schema_check.py"))
        .args(files)
        .output()
        .unwrap()
}

/// Every kas file: the `.yml` files under kas/ outside the layer.
fn kas_files() -> Vec<PathBuf> {
    files_under(&repo().join("kas"), ".yml")
        .into_iter()
        .filter(|f| !f.starts_with(layer()))
        .collect()
}

#[test]
fn kas_schema_accepts_every_kas_file() {
    let Some(python) = common::kas_python() else {
        return;
    };
    let files = kas_files();
    assert_eq!(files.len(), 28, "18 hand-written and 10 rendered overlays");
    let out = kas_check(&python, &files);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("28 of 28 kas files valid"), "{report}");
}

fn yaml(path: &Path) -> serde_yaml::Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The kas files of a chain that do not exist under `root`, and the includes they name that
/// do not exist either.
fn missing_in_chain(root: &Path, chain: &[String]) -> Vec<String> {
    let mut missing = Vec::new();
    for file in chain {
        let path = root.join(file);
        if !path.is_file() {
            missing.push(file.clone());
            continue;
        }
        let doc = yaml(&path);
        for include in doc["header"]["includes"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            if let Some(inc) = include.as_str()
                && !root.join(inc).is_file()
            {
                missing.push(format!("{inc} (included by {file})"));
            }
        }
    }
    missing
}

#[test]
fn every_variants_overlay_chain_resolves_to_files_that_exist() {
    let p = shipped();
    let variants = matrix::variants(&p);
    assert_eq!(variants.len(), 16);
    let mut used = BTreeSet::new();
    for v in &variants {
        let mut chain = matrix::overlay_chain(&p, v);
        // What `n3x build` appends: natively on a host of the target's architecture, offline
        // (a source mirror), without the .wic.zst, with a k3s binary of its own.
        for opt in ["native-build", "offline", "uncompressed", "k3s-binary"] {
            chain.push(format!("kas/opt/{opt}.yml"));
        }
        let missing = missing_in_chain(&repo(), &chain);
        assert!(missing.is_empty(), "{}: missing {missing:?}", v.key());
        // The chain's last `target` is the role's image recipe, whose output names the
        // workbench collects.
        let target = chain
            .iter()
            .filter_map(|f| yaml(&repo().join(f))["target"].as_str().map(String::from))
            .next_back()
            .unwrap();
        let art = &matrix::artifacts(&p, v)[0];
        assert!(
            art.isar_name.starts_with(&format!("{target}-")),
            "{}: target {target} does not write {}",
            v.key(),
            art.isar_name
        );
        assert!(recipe_exists(&target), "{}: no recipe {target}", v.key());
        used.extend(chain);
    }
    // Every hand-written kas file is used by some chain.
    for f in kas_files() {
        let rel = f.strip_prefix(repo()).unwrap().display().to_string();
        let rendered_only = rel.starts_with("kas/network/") || rel.starts_with("kas/node/");
        assert!(used.contains(&rel) || rendered_only, "{rel} is in no chain");
    }
    // The check can fail.
    let chain = vec!["kas/base.yml".to_string(), "kas/image/nope.yml".to_string()];
    assert_eq!(missing_in_chain(&repo(), &chain), ["kas/image/nope.yml"]);
}

/// Recipes ISAR itself provides that n3x images install (ISAR's meta layer).
const ISAR_RECIPES: &[&str] = &["sshd-regen-keys"];

/// Machines ISAR's meta-isar layer defines.
const ISAR_MACHINES: &[&str] = &["qemuamd64", "qemuarm64"];

fn recipe_exists(name: &str) -> bool {
    files_under(&layer(), ".bb").iter().any(|f| {
        let stem = f.file_stem().unwrap().to_string_lossy();
        stem == name || stem.starts_with(&format!("{name}_"))
    })
}

/// The package names a BitBake text installs with `IMAGE_INSTALL` (`=`, `+=`, `:append`).
fn image_install_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("IMAGE_INSTALL") else {
            continue;
        };
        let Some((_, value)) = rest.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        names.extend(value.split_whitespace().map(String::from));
    }
    names
}

/// Every BitBake text the kas files and the layer hold: local_conf_header blocks and recipes.
fn bitbake_texts() -> Vec<(String, String)> {
    let mut texts = Vec::new();
    for f in kas_files() {
        let doc = yaml(&f);
        if let Some(blocks) = doc["local_conf_header"].as_mapping() {
            for (name, text) in blocks {
                texts.push((
                    format!("{} ({})", f.display(), name.as_str().unwrap()),
                    text.as_str().unwrap().to_string(),
                ));
            }
        }
    }
    for ext in [".bb", ".inc", ".conf"] {
        for f in files_under(&layer(), ext) {
            texts.push((f.display().to_string(), read(&f)));
        }
    }
    texts
}

#[test]
fn every_recipe_wks_file_and_machine_named_exists() {
    let mut installed = BTreeSet::new();
    for (at, text) in bitbake_texts() {
        for name in image_install_names(&text) {
            assert!(
                recipe_exists(&name) || ISAR_RECIPES.contains(&name.as_str()),
                "{at}: IMAGE_INSTALL names `{name}`, which no recipe in kas/meta-n3x provides"
            );
            installed.insert(name);
        }
        for line in text.lines() {
            if let Some((_, value)) = line.trim().strip_prefix("WKS_FILE").and_then(|r| {
                r.split_once('=')
                    .filter(|(op, _)| op.trim().is_empty() || op.trim() == "?")
            }) {
                let wks = value.trim().trim_matches('"');
                assert!(
                    layer()
                        .join("scripts/lib/wic/canned-wks")
                        .join(wks)
                        .is_file(),
                    "{at}: WKS_FILE {wks} is not in kas/meta-n3x/scripts/lib/wic/canned-wks"
                );
            }
        }
    }
    for name in [
        "k3s-system-config",
        "n3x-test-control",
        "swupdate-config",
        "sshd-regen-keys",
        "k3s-server",
        "k3s-agent",
        "n3x-node-config",
    ] {
        assert!(installed.contains(name), "{name} is installed by nothing");
    }
    for f in kas_files() {
        if let Some(machine) = yaml(&f)["machine"].as_str() {
            assert!(
                ISAR_MACHINES.contains(&machine)
                    || layer()
                        .join(format!("conf/machine/{machine}.conf"))
                        .is_file(),
                "{}: machine {machine} has no conf/machine/{machine}.conf",
                f.display()
            );
        }
    }
    // The lint reads what BitBake reads.
    assert_eq!(
        image_install_names("IMAGE_INSTALL:append = \" a b\"\nIMAGE_INSTALL += \"c\"\nX = \"d\""),
        ["a", "b", "c"]
    );
    assert!(!recipe_exists("no-such-recipe"));
}

#[test]
fn every_file_a_recipe_fetches_is_beside_it() {
    let mut checked = 0;
    for recipe in files_under(&layer(), ".bb")
        .into_iter()
        .chain(files_under(&layer(), ".inc"))
    {
        let text = read(&recipe);
        let dir = recipe.parent().unwrap();
        for word in text.split_whitespace() {
            let Some(name) = word.trim_matches('"').strip_prefix("file://") else {
                continue;
            };
            let name = name.split(';').next().unwrap();
            if name.contains("${") || name.contains('%') {
                continue;
            }
            assert!(
                dir.join("files").join(name).is_file(),
                "{}: fetches file://{name}, which is not in {}/files",
                recipe.display(),
                dir.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} files checked");
}

#[test]
fn every_node_variant_finds_its_rendered_files() {
    let p = shipped();
    let recipe = read(&layer().join("recipes-support/n3x-node-config/n3x-node-config.bb"));
    assert!(recipe.contains("d.getVar('N3X_PROFILE')") && recipe.contains("d.getVar('N3X_NODE')"));
    assert!(recipe.contains("bb.fatal("));
    let files = layer().join("recipes-support/n3x-node-config/files");
    let mut node_variants = 0;
    for v in matrix::variants(&p) {
        let (Some(profile), Some(node)) = (&v.profile, &v.node) else {
            continue;
        };
        node_variants += 1;
        let chain = matrix::overlay_chain(&p, &v);
        let set = |file: &str, var: &str| {
            let doc = yaml(&repo().join(file));
            let blocks = doc["local_conf_header"].as_mapping().unwrap().clone();
            blocks.values().any(|t| {
                t.as_str().unwrap().contains(&format!(
                    "{var} = \"{}\"",
                    if var == "N3X_PROFILE" { profile } else { node }
                ))
            })
        };
        assert!(set(&chain[chain.len() - 2], "N3X_PROFILE"), "{}", v.key());
        assert!(set(&chain[chain.len() - 1], "N3X_NODE"), "{}", v.key());
        let dir = files.join(profile).join(node);
        assert!(dir.join("etc/hostname").is_file(), "{}", dir.display());
        assert!(
            dir.join(format!("etc/default/k3s-{}", v.role)).is_file(),
            "{}",
            dir.display()
        );
    }
    assert_eq!(node_variants, 8);
}

// ---------------------------------------------------------------------------------------------
// BitBake

/// Where BitBake's `bb` library is (scripts/test.sh installs PyPI's bitbake-setup there), or
/// `None` (skipped, except where the tools must be there).
fn bitbake_path() -> Option<PathBuf> {
    let dir = std::env::var_os("N3X_BITBAKE_PYTHONPATH")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/n3x/bitbake-2.19.0"))
        })?;
    if dir.join("bb/parse").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("N3X_REQUIRE_TOOLS").is_none() && std::env::var_os("CI").is_none(),
        "BitBake's parser is missing: python3 -m pip install --target {} bitbake-setup==2.19.0",
        dir.display()
    );
    eprintln!("skipping: BitBake's parser not installed (see scripts/test.sh)");
    None
}

/// Parses recipes of the layer with BitBake's parser (tests/tools/bitbake_check.py).
fn bitbake(pythonpath: &Path, scenarios: &Value) -> Vec<Value> {
    bitbake_in(&layer(), pythonpath, scenarios)
}

fn bitbake_in(layer: &Path, pythonpath: &Path, scenarios: &Value) -> Vec<Value> {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("scenarios.json");
    std::fs::write(&file, scenarios.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("tests/tools/bitbake_check.py"))
        .arg(layer)
        .arg(&file)
        .env("PYTHONPATH", pythonpath)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn recipe_path(f: &Path) -> String {
    f.strip_prefix(layer()).unwrap().display().to_string()
}

#[test]
fn bitbake_parses_every_recipe_of_the_layer() {
    let Some(path) = bitbake_path() else {
        return;
    };
    let recipes = files_under(&layer(), ".bb");
    assert_eq!(recipes.len(), 9, "{recipes:?}");
    // As a kas chain sets them for a server variant.
    let vars = serde_json::json!({"N3X_PROFILE": "vlans", "N3X_NODE": "server-1", "K3S_SHA256_AMD64": "0"});
    let scenarios: Vec<Value> = recipes
        .iter()
        .map(|f| serde_json::json!({"recipe": recipe_path(f), "vars": vars, "show": ["SRC_URI", "DESCRIPTION"]}))
        .collect();
    let report = bitbake(&path, &Value::Array(scenarios));
    for (f, r) in recipes.iter().zip(&report) {
        let desc = &r["vars"]["DESCRIPTION"];
        assert!(
            desc.as_str().is_some_and(|d| !d.is_empty()),
            "{}: {r}",
            recipe_path(f)
        );
        // Every file a recipe fetches from its own directory is there.
        for uri in r["vars"]["SRC_URI"]
            .as_str()
            .unwrap_or("")
            .split_whitespace()
        {
            if let Some(name) = uri.strip_prefix("file://") {
                let name = name.split(';').next().unwrap();
                let dir = f.parent().unwrap().join("files").join(name);
                assert!(dir.exists(), "{}: {uri} is missing", recipe_path(f));
            }
        }
    }
    // The check can fail: BitBake rejects a statement it cannot parse.
    let scratch = tempfile::TempDir::new().unwrap();
    std::fs::write(
        scratch.path().join("n3x-broken-for-test.bb"),
        "DESCRIPTION = \"x\"\nthis is not bitbake\n",
    )
    .unwrap();
    let report = bitbake_in(
        scratch.path(),
        &path,
        &serde_json::json!([{"recipe": "n3x-broken-for-test.bb"}]),
    );
    assert!(
        report[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("n3x-broken-for-test.bb")),
        "{report:?}"
    );
}

#[test]
fn the_node_config_recipe_installs_the_chosen_node_or_says_why_not() {
    let Some(path) = bitbake_path() else {
        return;
    };
    let p = shipped();
    let recipe = "recipes-support/n3x-node-config/n3x-node-config.bb";
    let mut scenarios = Vec::new();
    let mut pairs = Vec::new();
    for v in matrix::variants(&p) {
        if let (Some(profile), Some(node)) = (&v.profile, &v.node) {
            pairs.push((profile.clone(), node.clone()));
            scenarios.push(serde_json::json!({"recipe": recipe, "vars": {"N3X_PROFILE": profile, "N3X_NODE": node}, "show": ["SRC_URI"]}));
        }
    }
    assert_eq!(pairs.len(), 8);
    scenarios.push(serde_json::json!({"recipe": recipe, "show": ["SRC_URI"]}));
    scenarios.push(serde_json::json!({"recipe": recipe, "vars": {"N3X_PROFILE": "simple", "N3X_NODE": "dhcp-server"}}));
    let report = bitbake(&path, &Value::Array(scenarios));
    for ((profile, node), r) in pairs.iter().zip(&report) {
        assert_eq!(
            r["vars"]["SRC_URI"].as_str().map(str::trim),
            Some(format!("file://{profile}/{node}/").as_str()),
            "{profile}/{node}: {r}"
        );
    }
    // Without a node overlay the recipe is skipped, and BitBake names the overlays to add.
    let skipped = report[8]["skipped"].as_str().unwrap();
    assert!(
        skipped.contains("kas/network/<profile>.yml and kas/node/<node>.yml"),
        "{skipped}"
    );
    // A node the profile does not have stops the build with the nodes it does have.
    let error = report[9]["error"].as_str().unwrap();
    assert!(
        error.contains("no rendered files for node \"dhcp-server\" of profile \"simple\""),
        "{error}"
    );
    assert!(
        error.contains("agent-1, agent-2, server-1, server-2"),
        "{error}"
    );
}

#[test]
fn the_k3s_recipes_fetch_the_pinned_release_per_architecture_and_only_checked() {
    let Some(path) = bitbake_path() else {
        return;
    };
    let version = shipped().cluster.k3s.version;
    let url_version = version.replace('+', "%2B");
    let pv = version.trim_start_matches('v');
    let report = bitbake(
        &path,
        &serde_json::json!([
            {"recipe": "recipes-core/k3s/k3s-server.bb", "show": ["SRC_URI", "PV", "DEBIAN_CONFLICTS", "DPKG_ARCH", "SRC_URI[amd64.sha256sum]"]},
            {"recipe": "recipes-core/k3s/k3s-agent.bb", "vars": {"DISTRO_ARCH": "arm64"}, "show": ["SRC_URI", "DEBIAN_CONFLICTS", "SRC_URI[arm64.sha256sum]"]},
            {"recipe": "recipes-core/k3s/k3s-agent.bb", "vars": {"K3S_SHA256_AMD64": ""}, "run": ["do_check_k3s_checksum"]},
            {"recipe": "recipes-core/k3s/k3s-server.bb", "vars": {"K3S_SHA256_AMD64": "0123"},
             "run": ["do_check_k3s_checksum"], "show": ["SRC_URI[amd64.sha256sum]"]},
        ]),
    );
    let server = &report[0]["vars"];
    let uri = server["SRC_URI"].as_str().unwrap();
    assert!(
        uri.contains(&format!(
            "https://github.com/k3s-io/k3s/releases/download/{url_version}/k3s;downloadfilename=k3s-{pv}-amd64;name=amd64"
        )),
        "{uri}"
    );
    assert!(uri.contains("file://k3s-server.service"));
    assert_eq!(server["PV"], pv);
    assert_eq!(server["DEBIAN_CONFLICTS"], "k3s-agent");
    assert_eq!(server["DPKG_ARCH"], "any");
    let agent = &report[1]["vars"];
    assert!(
        agent["SRC_URI"].as_str().unwrap().contains(&format!(
            "{url_version}/k3s-arm64;downloadfilename=k3s-{pv}-arm64;name=arm64"
        )),
        "{agent}"
    );
    assert_eq!(agent["DEBIAN_CONFLICTS"], "k3s-server");
    // The pinned release's checksums are the recipe's own; emptied, the build refuses.
    let pin = shipped().cluster.k3s.sha256;
    assert_eq!(
        server["SRC_URI[amd64.sha256sum]"],
        pin.amd64.unwrap().as_str()
    );
    assert_eq!(
        agent["SRC_URI[arm64.sha256sum]"],
        pin.arm64.unwrap().as_str()
    );
    let refused = report[2]["error"].as_str().unwrap();
    assert!(refused.contains("K3S_SHA256_AMD64 is empty"), "{refused}");
    assert_eq!(
        report[3]["vars"]["SRC_URI[amd64.sha256sum]"], "0123",
        "{:?}",
        report[3]
    );
}

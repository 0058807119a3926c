# The test control channel on images of a test overlay: a root shell on hvc0 that the
# workbench drives, the N3X-NET-UP marker on the serial console once the network is online,
# and root logged in on the serial console. The scripts are nixos/lib/control-channel.nix.
{
  lib,
  pkgs,
  n3xVariant,
  ...
}:
let
  v = n3xVariant;
  channel = import ../lib/control-channel.nix { inherit (v) serial; };
  systemPath = [
    "/run/wrappers"
    "/run/current-system/sw"
  ];
in
{
  config = lib.optionalAttrs (v.testOverlay != null) {
    systemd.services.n3x-backdoor = {
      description = "n3x test control channel on hvc0";
      wantedBy = [ "sysinit.target" ];
      requires = [ "dev-hvc0.device" ];
      after = [ "dev-hvc0.device" ];
      unitConfig.DefaultDependencies = false;
      path = systemPath;
      serviceConfig = {
        ExecStart = pkgs.writeScript "n3x-backdoor" channel.backdoorScript;
        Restart = "always";
        RestartSec = 0;
        KillMode = "process";
      };
    };
    # The control channel owns hvc0; a getty there would fight it for the tty.
    systemd.services."serial-getty@hvc0".enable = false;

    systemd.services.n3x-ready = {
      description = "Tell the n3x host the network is online";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      path = systemPath;
      serviceConfig = {
        Type = "oneshot";
        ExecStart = pkgs.writeScript "n3x-ready" channel.readyScript;
      };
    };

    services.getty.autologinUser = "root";
    users.users.root.initialHashedPassword = "";

    # kas/test-overlay.yml's tools on the test image of the base role.
    environment.systemPackages = lib.optionals (v.testOverlay == "test-overlay") (
      with pkgs;
      [
        cpio
        e2fsprogs
        openssl
        netcat-openbsd
        socat
        curl
        wget
        iputils
      ]
    );
  };
}

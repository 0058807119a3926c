# The machines of profiles/machines.yaml as NixOS hardware settings: disk layout, boot loader
# and the serial console (from the rendered variant). Interface names are eth0, eth1, … as in the
# rendered networkd units and the Debian images (net.ifnames=0).
{
  lib,
  modulesPath,
  n3xVariant,
  ...
}:
let
  v = n3xVariant;
  emulated = builtins.elem v.machine [
    "qemuamd64"
    "qemuarm64"
  ];
  efi = {
    boot.loader.systemd-boot.enable = true;
    boot.loader.efi.canTouchEfiVariables = false;
    fileSystems."/boot" = {
      device = "/dev/disk/by-label/ESP";
      fsType = "vfat";
    };
  };
  perMachine = {
    qemuamd64 = efi;
    qemuarm64 = efi;
    amd-v3c18i = efi // {
      hardware.cpu.amd.updateMicrocode = true;
    };
    # The mainline aarch64 kernel with an extlinux boot menu. NVIDIA's L4T user space (GPU,
    # camera, the board's own kernel) is not part of this system.
    jetson-orin-nano = {
      boot.loader.grub.enable = false;
      boot.loader.generic-extlinux-compatible.enable = true;
    };
  };
in
{
  imports = lib.optional emulated (modulesPath + "/profiles/qemu-guest.nix");

  config = lib.mkMerge [
    {
      fileSystems."/" = {
        device = "/dev/disk/by-label/nixos";
        fsType = "ext4";
      };
      networking.usePredictableInterfaceNames = false;
      boot.kernelParams = [ "console=${v.serial},115200" ];
    }
    (
      perMachine.${v.machine}
        or (throw "nixos/modules/machines.nix: no NixOS settings for machine `${v.machine}` of profiles/machines.yaml; add an entry to perMachine")
    )
  ];
}

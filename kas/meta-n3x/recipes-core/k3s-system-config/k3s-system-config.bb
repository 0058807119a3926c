# What every k3s node needs from its kernel: the modules and sysctls k3s expects, and no
# swap. The same values as nixos/lib/k3s-system.nix (CI checks the two agree).

DESCRIPTION = "Kernel modules, sysctls and swap setting for k3s nodes"
MAINTAINER = "n3x <n3x@localhost>"

SRC_URI = "file://k3s.conf file://99-k3s.conf file://disable-swap.service"

inherit dpkg-raw

N3X_SRC = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

do_install() {
    install -d ${D}/etc/modules-load.d ${D}/etc/sysctl.d ${D}/lib/systemd/system \
        ${D}/etc/systemd/system/multi-user.target.wants
    install -m 0644 ${N3X_SRC}/k3s.conf ${D}/etc/modules-load.d/k3s.conf
    install -m 0644 ${N3X_SRC}/99-k3s.conf ${D}/etc/sysctl.d/99-k3s.conf
    install -m 0644 ${N3X_SRC}/disable-swap.service ${D}/lib/systemd/system/
    ln -s /lib/systemd/system/disable-swap.service \
        ${D}/etc/systemd/system/multi-user.target.wants/disable-swap.service
}

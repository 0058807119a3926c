# The n3x test control channel, the same contract as the quick image and the NixOS test
# systems: a root shell on the virtio console hvc0 that prints N3X-BACKDOOR-READY when it takes
# commands, and N3X-NET-UP with the node's addresses on the serial console once the network
# is online. For test images only (kas/test-overlay.yml, kas/test-k3s-overlay.yml).

DESCRIPTION = "n3x test control channel (root shell on hvc0) and readiness marker"
MAINTAINER = "n3x <n3x@localhost>"

SRC_URI = " \
    file://n3x-backdoor \
    file://n3x-backdoor.service \
    file://n3x-ready.tmpl \
    file://n3x-ready.service \
    "

# The marker goes to the machine's serial console (MACHINE_SERIAL of the machine).
TEMPLATE_FILES = "n3x-ready.tmpl"
TEMPLATE_VARS = "MACHINE_SERIAL"

inherit dpkg-raw

DEBIAN_DEPENDS = "bash, coreutils, iproute2, gawk | mawk"

N3X_SRC = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

do_install() {
    install -d ${D}/usr/sbin ${D}/lib/systemd/system \
        ${D}/etc/systemd/system/sysinit.target.wants \
        ${D}/etc/systemd/system/multi-user.target.wants
    install -m 0755 ${N3X_SRC}/n3x-backdoor ${D}/usr/sbin/n3x-backdoor
    install -m 0755 ${N3X_SRC}/n3x-ready ${D}/usr/sbin/n3x-ready
    install -m 0644 ${N3X_SRC}/n3x-backdoor.service ${N3X_SRC}/n3x-ready.service \
        ${D}/lib/systemd/system/
    ln -s /lib/systemd/system/n3x-backdoor.service \
        ${D}/etc/systemd/system/sysinit.target.wants/n3x-backdoor.service
    ln -s /lib/systemd/system/n3x-ready.service \
        ${D}/etc/systemd/system/multi-user.target.wants/n3x-ready.service
    # The control channel owns hvc0; a getty there would fight it for the tty.
    ln -s /dev/null ${D}/etc/systemd/system/serial-getty@hvc0.service
}

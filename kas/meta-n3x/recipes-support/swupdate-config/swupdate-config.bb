# SWUpdate on the A/B image (kas/feature/swupdate.yml): the daemon's settings (GRUB as its
# bootloader, the certificate bundles must be signed with), the hardware compatibility bundles
# must name (/etc/hwrevision: the machine and SWUPDATE_HW_COMPAT), the slot tools n3x-grubenv,
# n3x-ota and n3x-ota-confirm, and the boot-time confirmation of an updated slot.

DESCRIPTION = "SWUpdate configuration and A/B slot tools for n3x images"
MAINTAINER = "n3x <n3x@localhost>"

SWUPDATE_HW_COMPAT ??= "n3x-1"
# The certificate the image trusts: the development certificate unless N3X_OTA_CERT names
# another (an absolute path readable by the build).
N3X_OTA_CERT ??= ""

SRC_URI = " \
    file://swupdate.cfg \
    file://hwrevision.tmpl \
    file://n3x-ota-dev.crt \
    file://n3x-grubenv \
    file://n3x-ota \
    file://n3x-ota-confirm \
    file://n3x-ota-confirm.service \
    "
TEMPLATE_FILES = "hwrevision.tmpl"
TEMPLATE_VARS = "MACHINE SWUPDATE_HW_COMPAT"

inherit dpkg-raw

DEBIAN_DEPENDS = "swupdate, e2fsprogs, util-linux, coreutils, grep, sed"

N3X_SRC = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

do_install() {
    install -d ${D}/etc/swupdate ${D}/usr/sbin ${D}/lib/systemd/system \
        ${D}/etc/systemd/system/multi-user.target.wants
    install -m 0644 ${N3X_SRC}/swupdate.cfg ${D}/etc/swupdate.cfg
    install -m 0644 ${N3X_SRC}/hwrevision ${D}/etc/hwrevision
    if [ -n "${N3X_OTA_CERT}" ]; then
        install -m 0644 "${N3X_OTA_CERT}" ${D}/etc/swupdate/n3x-ota.crt
    else
        install -m 0644 ${N3X_SRC}/n3x-ota-dev.crt ${D}/etc/swupdate/n3x-ota.crt
    fi
    install -m 0755 ${N3X_SRC}/n3x-grubenv ${N3X_SRC}/n3x-ota ${N3X_SRC}/n3x-ota-confirm \
        ${D}/usr/sbin/
    install -m 0644 ${N3X_SRC}/n3x-ota-confirm.service ${D}/lib/systemd/system/
    ln -s /lib/systemd/system/n3x-ota-confirm.service \
        ${D}/etc/systemd/system/multi-user.target.wants/n3x-ota-confirm.service
    # swupdate-progress.service reboots the machine after any update it sees: n3x reboots
    # when asked (`n3x ota apply --reboot`), never behind the user's back.
    ln -s /dev/null ${D}/etc/systemd/system/swupdate-progress.service
}

# SWUpdate's configuration for the A/B image (kas/feature/swupdate.yml): the hardware
# compatibility string update bundles must name, and the daemon's settings.

DESCRIPTION = "SWUpdate configuration for n3x A/B images"
MAINTAINER = "n3x <n3x@localhost>"

SWUPDATE_HW_COMPAT ??= "n3x"

SRC_URI = "file://swupdate.cfg file://hwrevision.tmpl"
TEMPLATE_FILES = "hwrevision.tmpl"
TEMPLATE_VARS = "SWUPDATE_HW_COMPAT"

inherit dpkg-raw

DEBIAN_DEPENDS = "swupdate"

N3X_SRC = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

do_install() {
    install -d ${D}/etc
    install -m 0644 ${N3X_SRC}/swupdate.cfg ${D}/etc/swupdate.cfg
    install -m 0644 ${N3X_SRC}/hwrevision ${D}/etc/hwrevision
}

# The files `n3x render --all` wrote for one node of one network profile, installed as they
# are: systemd-networkd units, the wait-online drop-in, kernel modules, the host name, the
# k3s config.yaml and env file (and on a DHCP server its dnsmasq configuration). kas picks the
# pair: kas/network/<profile>.yml sets N3X_PROFILE, kas/node/<node>.yml sets N3X_NODE; the
# files are files/<profile>/<node>/ beside this recipe. No join token is among them.

DESCRIPTION = "n3x node configuration rendered from the profiles"
MAINTAINER = "n3x <n3x@localhost>"

N3X_PROFILE ??= ""
N3X_NODE ??= ""

inherit dpkg-raw

python __anonymous() {
    import os
    profile = d.getVar('N3X_PROFILE')
    node = d.getVar('N3X_NODE')
    if not profile or not node:
        raise bb.parse.SkipRecipe(
            'n3x-node-config needs N3X_PROFILE and N3X_NODE: add kas/network/<profile>.yml '
            'and kas/node/<node>.yml to the kas chain')
    rendered = os.path.join(d.getVar('THISDIR'), 'files', profile, node)
    if not os.path.isdir(rendered):
        known = sorted(os.listdir(os.path.join(d.getVar('THISDIR'), 'files', profile))) \
            if os.path.isdir(os.path.join(d.getVar('THISDIR'), 'files', profile)) else []
        bb.fatal('n3x-node-config: no rendered files for node "%s" of profile "%s" (%s). '
                 'Nodes of that profile: %s. Run `n3x render --all`, or pick one of them.'
                 % (node, profile, rendered, ', '.join(known) or 'none'))
    d.appendVar('SRC_URI', ' file://%s/%s/' % (profile, node))
}

N3X_SRC = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

do_install() {
    if [ ! -d "${N3X_SRC}/${N3X_PROFILE}/${N3X_NODE}/etc" ]; then
        bbfatal "n3x-node-config: ${N3X_PROFILE}/${N3X_NODE} was not unpacked; run n3x render --all"
    fi
    cp -R --no-preserve=ownership ${N3X_SRC}/${N3X_PROFILE}/${N3X_NODE}/. ${D}/
    # The rendered units are read by systemd-networkd: start it, and wait for the k3s interface.
    install -d ${D}/etc/systemd/system/multi-user.target.wants \
        ${D}/etc/systemd/system/sockets.target.wants \
        ${D}/etc/systemd/system/network-online.target.wants
    ln -s /lib/systemd/system/systemd-networkd.service \
        ${D}/etc/systemd/system/multi-user.target.wants/systemd-networkd.service
    ln -s /lib/systemd/system/systemd-networkd.socket \
        ${D}/etc/systemd/system/sockets.target.wants/systemd-networkd.socket
    ln -s /lib/systemd/system/systemd-networkd-wait-online.service \
        ${D}/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service
}

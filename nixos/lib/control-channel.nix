# The test control channel of n3x test images, the same contract as the quick image
# (src/build/quick/guest.rs) and the ISAR recipe n3x-test-control:
#
# - a root shell on the virtio console hvc0 that prints N3X-BACKDOOR-READY when it takes
#   commands (the host side is src/cluster/control.rs);
# - a one-shot unit that prints `N3X-NET-UP uptime=<s> <iface>=<addr>…` on the serial console
#   once network-online.target is reached.
#
# Pure: builtins only, so CI evaluates the scripts and checks their markers against the
# workbench's.
{
  # Where the readiness marker goes: the machine's serial console (profiles/machines.yaml).
  serial,
}:
{
  backdoorReady = "N3X-BACKDOOR-READY";
  netUpMarker = "N3X-NET-UP";
  backdoorScript = ''
    #!/bin/sh
    # n3x test control channel: a root shell on the virtio console hvc0.
    exec < /dev/hvc0 > /dev/hvc0 2>&1
    # After opening: hvc resets its termios on the last close.
    stty raw -echo
    echo "N3X-BACKDOOR-READY"
    export HOME=/root
    cd /
    # A script on the tty, not an interactive shell: no prompt, no echo.
    exec bash --noprofile --norc /dev/hvc0
  '';
  readyScript = ''
    #!/bin/sh
    # Tells the host on the serial console that the network is online.
    addrs=$(ip -o -4 addr show | awk '$2 != "lo" {printf " %s=%s", $2, $4}')
    echo "N3X-NET-UP uptime=$(cut -d' ' -f1 /proc/uptime)$addrs" > /dev/${serial}
  '';
}

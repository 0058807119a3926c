//! The Cluster view's keys (while a console is attached, every key but Ctrl-] goes to it).

use crate::tui::keymap::{
    Binding, CLUSTER, DOWN, ENTER, PAGE_DOWN, PAGE_UP, UP, WHEEL_DOWN, WHEEL_UP, bindings, ch, ctrl,
};

/// The view's part of the keymap, in the order the help lists it.
pub const BINDINGS: &[Binding] = bindings![
    CLUSTER, ClusterUp, [ch('u')], "Boot the cluster", "up";
    CLUSTER, ClusterDown, [ch('D')], "Tear the cluster down", "down";
    CLUSTER, Up, [ch('k'), UP], "Previous node";
    CLUSTER, Down, [ch('j'), DOWN], "Next node";
    CLUSTER, Attach, [ch('a'), ENTER], "Attach, Ctrl-] leaves", "attach";
    CLUSTER, LinkEth1, [ch('l')], "eth1 link down/up", "eth1 link";
    CLUSTER, LinkEth2, [ch('L')], "eth2 link down/up";
    CLUSTER, Topology, [ch('t')], "Topology / console", "topology";
    CLUSTER, DetailUp, [ch('K'), PAGE_UP, WHEEL_UP], "Scroll up, pause";
    CLUSTER, DetailDown, [ch('J'), PAGE_DOWN, WHEEL_DOWN], "Scroll down";
    CLUSTER, Follow, [ch('f')], "Follow/pause console", "follow";
    CLUSTER, Search, [ch('/')], "Search the console", "search";
    CLUSTER, NextMatch, [ch('n')], "Newer match";
    CLUSTER, PrevMatch, [ch('N')], "Older match";
    CLUSTER, RestartNode, [ch('R')], "Restart the node", "restart";
    CLUSTER, RestartAll, [ctrl('r')], "Restart every node";
    CLUSTER, ResetNode, [ch('x')], "Reset the node";
    CLUSTER, KillNode, [ch('X')], "Kill the node's QEMU";
];

//! End to end: the real `n3x` binary in a real pseudo-terminal, keys typed as a user types
//! them, the screen read through vt100. Quitting, SIGTERM and a resize must each leave a
//! working program and, at the end, the terminal as it was.
//!
//! A frame reaches the terminal in several writes, so every check waits for the whole state it
//! expects (up to the status bar, drawn last) instead of looking once.

use crate::common;
use crate::common::pty;

use pty::Tui;

/// The Matrix view's table title with all 16 variants.
const ALL_VARIANTS: &str = "Variants 16/16";

fn start(cols: u16, rows: u16) -> Tui {
    let tui = Tui::spawn(
        env!("CARGO_BIN_EXE_n3x").as_ref(),
        &[],
        &common::repo(),
        cols,
        rows,
    );
    tui.wait_for("the first full frame", |lines| {
        has(lines, ALL_VARIANTS) && status_bar(lines).contains("q quit")
    });
    tui
}

fn has(lines: &[String], text: &str) -> bool {
    lines.iter().any(|l| l.contains(text))
}

/// The bottom line, drawn last.
fn status_bar(lines: &[String]) -> &str {
    lines.last().map(String::as_str).unwrap_or("")
}

/// The selected row of the variant table (the one with the selection mark).
fn selected(lines: &[String]) -> Option<String> {
    lines.iter().find(|l| l.contains('▶')).cloned()
}

/// Checks what n3x wrote last gives the terminal back: mouse capture off, the main screen,
/// the cursor shown; and that the screen model agrees.
fn assert_terminal_restored(tui: &Tui) {
    let out = tui.output();
    let bytes = String::from_utf8_lossy(&out.bytes);
    let entered = bytes
        .rfind("\x1b[?1049h")
        .expect("n3x entered the alternate screen");
    let tail = &bytes[entered..];
    let left = tail
        .rfind("\x1b[?1049l")
        .expect("the alternate screen is left");
    let mouse_off = tail
        .rfind("\x1b[?1000l")
        .expect("mouse capture is turned off");
    assert!(
        mouse_off < left,
        "mouse capture off before leaving: {tail:?}"
    );
    assert!(
        tail.trim_end_matches('\n').ends_with("\x1b[?25h"),
        "the last thing written shows the cursor: {:?}",
        &tail[tail.len().saturating_sub(80)..]
    );
    let screen = out.parser.screen();
    assert!(!screen.alternate_screen(), "back on the main screen");
    assert!(!screen.hide_cursor(), "the cursor is visible");
    assert_eq!(
        screen.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "no mouse reporting"
    );
}

#[test]
fn a_user_moves_filters_reads_help_switches_views_and_quits() {
    let mut tui = start(120, 40);
    tui.wait_for("every variant, the first one selected", |lines| {
        let ids = [
            "server-vlans-server-1",
            "server-dhcp-simple-server-2",
            "amd-v3c18i",
        ];
        ids.iter().all(|id| has(lines, id))
            && selected(lines).is_some_and(|s| s.contains("▶ base "))
    });

    tui.press("j");
    tui.wait_for("the selection on the second row", |l| {
        selected(l).is_some_and(|s| s.contains("▶ base-swupdate"))
    });

    tui.press("/");
    tui.press("arm");
    tui.press("\r");
    tui.wait_for("only the two ARM variants", |lines| {
        let arm: Vec<&String> = lines.iter().filter(|l| l.contains("qemuarm64")).collect();
        let others = ["qemuamd64", "jetson-orin-nano", "amd-v3c18i"];
        has(lines, "Variants 2/16")
            && arm.iter().any(|l| l.contains(" base "))
            && arm.iter().any(|l| l.contains(" server "))
            && others.iter().all(|other| !has(lines, other))
            && status_bar(lines).contains("filter \"arm\"")
    });

    tui.press("?");
    tui.wait_for("the help overlay with the keys", |lines| {
        let entries = ["Quit n3x", "This help", "Command palette", "Builds view"];
        has(lines, "Keys · Matrix view") && entries.iter().all(|e| has(lines, e))
    });
    tui.press("\x1b");
    tui.wait_for("the help overlay to close", |l| {
        !l.iter().any(|l| l.contains("Keys · Matrix view"))
    });

    tui.press("2");
    tui.wait_for_text("No builds yet.");

    tui.press("q");
    let status = tui.wait_exit();
    assert!(status.success(), "q exits with 0: {status:?}");
    assert_terminal_restored(&tui);
}

#[test]
fn sigterm_ends_the_workbench_and_restores_the_terminal() {
    let mut tui = start(120, 40);
    let pid = libc::pid_t::try_from(tui.pid()).unwrap();
    // SAFETY: kill(2) with a pid this test started and still owns (it has not been waited for).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tui.wait_exit();
    assert_eq!(status.exit_code(), 128 + 15, "{status:?}");
    assert_terminal_restored(&tui);
}

#[test]
fn a_resized_terminal_is_redrawn_in_the_new_layout() {
    let mut tui = start(120, 40);
    // 120x40: the details beside the table.
    assert!(
        tui.lines()
            .iter()
            .any(|l| l.starts_with("┌ Variants 16/16") && l.contains("┌ base@qemuamd64")),
        "{}",
        tui.lines().join("\n")
    );
    tui.resize(80, 24);
    // 80x24: the table across the whole width, the details below it.
    tui.wait_for("the 80x24 layout", |lines| {
        lines.len() == 24
            && lines.iter().any(|l| l.starts_with("┌ base@qemuamd64"))
            && lines.iter().any(|l| {
                l.starts_with("┌ Variants 16/16") && l.chars().count() == 80 && l.ends_with('┐')
            })
    });
    // Smaller than the workbench lays out: it says so instead of drawing a broken layout.
    tui.resize(60, 20);
    tui.wait_for_text("at least 80x24");
    tui.resize(100, 30);
    tui.wait_for("the table again", |lines| {
        lines.iter().any(|l| l.contains(ALL_VARIANTS))
    });
    tui.press("q");
    let status = tui.wait_exit();
    assert!(status.success(), "no panic after resizes: {status:?}");
    assert_terminal_restored(&tui);
}

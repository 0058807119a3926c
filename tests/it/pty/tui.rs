//! The workbench drawn on ratatui's TestBackend: snapshots of the views, the file preview and
//! the diff at two sizes, the help overlay against the keymap, every size without a panic,
//! NO_COLOR, and the refusal to start without a terminal.

use crate::common;

use std::sync::Arc;

use assert_cmd::Command;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use n3x::tui::app::{App, Mode};
use n3x::tui::keymap::{self, Context, Pane};
use n3x::tui::msg::Msg;
use n3x::tui::theme::Theme;
use n3x::tui::ui;

/// The workbench on the shipped profiles (read once), without colours.
fn app() -> App {
    static SHIPPED: std::sync::OnceLock<Arc<n3x::profile::Profiles>> = std::sync::OnceLock::new();
    let profiles = SHIPPED.get_or_init(|| Arc::new(common::shipped()));
    App::new(Arc::clone(profiles), Theme::monochrome())
}

fn press(app: &mut App, code: KeyCode) {
    app.handle(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn keys(app: &mut App, keys: &str) {
    for key in n3x::tui::screenshot::parse_keys(keys).unwrap() {
        app.handle(Msg::Key(key));
    }
}

/// The preview of server-vlans-server-1's `15-eth1.network`, the list focused.
fn previewing(a: &mut App) {
    keys(a, "jjjjj<Enter>jjjjjj");
}

/// The diff of server-vlans-server-1 (A) and server-bonding-vlans-server-1 (B).
fn diffing(a: &mut App) {
    keys(a, "jjjjjmjjmd");
}

/// The profile editor on profiles/network/vlans.yaml (the profile of server-vlans-server-1).
fn editing(a: &mut App) {
    keys(a, "jjjjje");
    assert_eq!(a.mode, Mode::Edit);
}

/// The editor with a typo on line 9 (`vlan: 200x`).
fn editing_with_a_typo(a: &mut App) {
    editing(a);
    keys(a, "<Down><Down><Down><Down><Down><Down><Down><Down><End>x");
}

/// The workbench with the keys going to `here`.
fn app_in(here: Context) -> App {
    let mut a = app();
    if here.editing {
        editing(&mut a);
    }
    match here.pane {
        Some(Pane::Files) => previewing(&mut a),
        Some(Pane::Preview) => keys(&mut a, "jjjjj<Enter><Enter>"),
        Some(Pane::Diff) => diffing(&mut a),
        Some(Pane::Table) | None => {}
    }
    a.view = here.view;
    assert_eq!(a.context(), here);
    a
}

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::draw(frame, app)).unwrap();
    terminal
}

/// The screen as lines of text.
fn screen(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect()
        })
        .collect()
}

#[test]
fn matrix_view_80x24() {
    let mut a = app();
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn matrix_view_120x40() {
    let mut a = app();
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn matrix_view_filtered_and_sorted_120x40() {
    let mut a = app();
    press(&mut a, KeyCode::Char('/'));
    for c in "server-1".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char('s'));
    press(&mut a, KeyCode::Char('s'));
    press(&mut a, KeyCode::End);
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn builds_view_80x24() {
    let mut a = app();
    press(&mut a, KeyCode::Char('2'));
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn builds_view_120x40() {
    let mut a = app();
    press(&mut a, KeyCode::Char('2'));
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn help_overlay_80x24() {
    let mut a = app();
    press(&mut a, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn palette_80x24() {
    let mut a = app();
    press(&mut a, KeyCode::Char(':'));
    press(&mut a, KeyCode::Char('v'));
    press(&mut a, KeyCode::Char('i'));
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn preview_80x24() {
    let mut a = app();
    previewing(&mut a);
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn preview_scrolled_120x40() {
    let mut a = app();
    // nixos.json, its content focused and scrolled a page and two lines down.
    keys(&mut a, "jjjjj<Enter>j<Enter><PgDn>jj");
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn diff_80x24() {
    let mut a = app();
    diffing(&mut a);
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn diff_120x40() {
    let mut a = app();
    diffing(&mut a);
    let first = screen(&draw(&mut a, 120, 40)).join("\n");
    assert!(first.contains("only in B"), "{first}");
    // Down to the first file's diff.
    keys(&mut a, "<PgDn>");
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn marked_rows_show_their_mark_120x40() {
    let mut a = app();
    keys(&mut a, "jjjjjmjjm<Up>");
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn the_preview_tints_with_the_theme_and_never_shows_a_token() {
    let mut a = App::new(Arc::new(common::shipped()), Theme::dark());
    // config.yaml: top-level keys in the section style.
    keys(&mut a, "jjjjj<Enter>jjjjj");
    let terminal = draw(&mut a, 120, 40);
    let lines = screen(&terminal);
    let text = lines.join("\n");
    assert!(
        text.contains("rootfs/etc/rancher/k3s/config.yaml"),
        "{text}"
    );
    let y = lines.iter().position(|l| l.contains("node-ip: ")).unwrap();
    let byte = lines[y].find("node-ip: ").unwrap();
    let x = lines[y][..byte].chars().count();
    let cell = &terminal.backend().buffer()[(x as u16, y as u16)];
    assert_eq!(cell.fg, Theme::dark().code_section.fg.unwrap());
    assert!(text.contains("token-file: /var/lib/rancher/k3s/server/token"));
    assert!(!text.contains("token: "), "{text}");
}

#[test]
fn the_help_overlay_lists_every_key_of_the_view_and_pane() {
    for here in Context::all() {
        let view = here.view;
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app_in(here);
            press(
                &mut a,
                if here.editing {
                    KeyCode::F(1)
                } else {
                    KeyCode::Char('?')
                },
            );
            assert_eq!(a.mode, Mode::Help);
            // What does not fit scrolls: gather every line shown on the way down.
            let mut lines = Vec::new();
            for _ in 0..30 {
                lines.extend(screen(&draw(&mut a, w, h)));
                press(&mut a, KeyCode::Down);
            }
            let text = lines.join("\n");
            assert!(text.contains(&here.title()), "{here:?}:\n{text}");
            for b in keymap::bindings_here(here) {
                let keys = b.keys_label();
                assert!(
                    lines
                        .iter()
                        .any(|l| l.contains(&keys) && l.contains(b.description)),
                    "{here:?} at {w}x{h}: help lacks {:?} {:?}:\n{text}",
                    b.keys_label(),
                    b.description
                );
            }
            // And nothing of another view or pane.
            let here_descriptions: Vec<&str> =
                keymap::bindings_here(here).map(|b| b.description).collect();
            for b in keymap::all_bindings()
                .filter(|b| !b.applies_in(view) || !b.applies_here(here))
                .filter(|b| !here_descriptions.iter().any(|d| d.contains(b.description)))
            {
                assert!(
                    !text.contains(b.description),
                    "{here:?}: help shows {:?}",
                    b.description
                );
            }
        }
    }
}

#[test]
fn no_size_panics_or_draws_outside_the_screen() {
    let setups: [fn(&mut App); 16] = [
        |a| {
            with_builds(a);
            press(a, KeyCode::Char('2'));
        },
        |a| {
            with_builds(a);
            keys(a, "2k/error<Enter>?");
        },
        editing,
        editing_with_a_typo,
        |a| {
            editing_with_a_typo(a);
            press(a, KeyCode::Esc);
        },
        |a| press(a, KeyCode::Char('E')),
        |_| {},
        |a| press(a, KeyCode::Char('?')),
        |a| press(a, KeyCode::Char(':')),
        |a| {
            press(a, KeyCode::Char('/'));
            press(a, KeyCode::Char('#'));
        },
        |a| {
            for _ in 0..40 {
                press(a, KeyCode::Char('J'));
            }
            press(a, KeyCode::End);
        },
        |a| press(a, KeyCode::Char('3')),
        previewing,
        |a| keys(a, "jjjjj<Enter>j<Enter>G"),
        diffing,
        |a| {
            diffing(a);
            keys(a, "G?");
        },
    ];
    for setup in setups {
        for width in (1..=200).step_by(9) {
            for height in (1..=60).step_by(7) {
                let mut a = app();
                setup(&mut a);
                draw(&mut a, width, height);
            }
        }
    }
}

/// Three builds: one succeeded, one failed (with its log), one waiting.
fn with_builds(a: &mut App) {
    use n3x::build::engine::BuildUpdate;
    use n3x::build::plan::Backend;
    use n3x::build::state::{ArtifactRecord, Outcome};
    use std::time::Duration;
    let queued = |variant: &str, backend| BuildUpdate::Queued {
        variant: variant.into(),
        backend,
        steps: vec!["run   mmdebstrap …".into()],
        estimate: Some(Duration::from_secs(70)),
    };
    a.handle(Msg::Build(
        1,
        queued("server-vlans-server-1@qemuamd64", Backend::Quick),
    ));
    a.handle(Msg::Build(
        1,
        BuildUpdate::Finished {
            outcome: Outcome::Succeeded,
            duration: Duration::from_secs(68),
            error: None,
            artifacts: vec![ArtifactRecord {
                name: "base.img".into(),
                path: "/state/cache/quick/k/base.img".into(),
                size: 1,
                sha256: "00".into(),
            }],
        },
    ));
    a.handle(Msg::Build(2, queued("server@qemuarm64", Backend::Isar)));
    a.handle(Msg::Build(
        2,
        BuildUpdate::Started {
            dir: "/state/builds/b2".into(),
        },
    ));
    a.handle(Msg::Build(
        2,
        BuildUpdate::Step {
            index: 0,
            total: 4,
            description: "run   kas-container --isar build kas/base.yml:…".into(),
            child: None,
        },
    ));
    for line in [
        "NOTE: Executing Tasks",
        "ERROR: Task do_fetch failed",
        "NOTE: Tasks Summary",
    ] {
        a.handle(Msg::Build(2, BuildUpdate::Line(line.into())));
    }
    a.handle(Msg::Build(
        2,
        BuildUpdate::Finished {
            outcome: Outcome::Failed,
            duration: Duration::from_secs(5),
            error: Some("kas-container exited with code 1".into()),
            artifacts: vec![],
        },
    ));
    a.handle(Msg::Build(3, queued("base@qemuamd64", Backend::Nixos)));
}

#[test]
fn builds_view_with_builds_80x24() {
    let mut a = app();
    with_builds(&mut a);
    press(&mut a, KeyCode::Char('2'));
    press(&mut a, KeyCode::Char('k'));
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn builds_view_with_a_search_120x40() {
    let mut a = app();
    with_builds(&mut a);
    keys(&mut a, "2k/error<Enter>");
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn editor_80x24() {
    let mut a = app();
    editing(&mut a);
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn editor_with_a_problem_120x40() {
    let mut a = app();
    editing_with_a_typo(&mut a);
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn editor_asks_before_closing_unsaved_work_120x40() {
    let mut a = app();
    editing_with_a_typo(&mut a);
    press(&mut a, KeyCode::Esc);
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn file_chooser_80x24() {
    let mut a = app();
    keys(&mut a, "Enet");
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn below_80x24_the_screen_says_so() {
    for (w, h) in [(79, 24), (80, 23), (40, 10)] {
        let text = screen(&draw(&mut app(), w, h)).join("");
        assert!(text.contains("at least 80x24"), "{w}x{h}: {text}");
    }
    let text = screen(&draw(&mut app(), 80, 24)).join("");
    assert!(!text.contains("at least 80x24"));
}

#[test]
fn no_color_draws_without_colours() {
    for view in ['1', '2'] {
        let mut a = app();
        press(&mut a, KeyCode::Char(view));
        let terminal = draw(&mut a, 120, 40);
        for cell in terminal.backend().buffer().content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
        }
    }
    let mut a = App::new(Arc::new(common::shipped()), Theme::dark());
    let terminal = draw(&mut a, 120, 40);
    assert!(
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
}

#[test]
fn without_a_terminal_n3x_names_the_commands_to_use_instead() {
    let out = Command::cargo_bin("n3x")
        .unwrap()
        .current_dir(common::repo())
        .env_remove("N3X_PROFILES")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", out.stdout);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("`n3x list`"), "{err}");
    assert!(err.contains("`n3x list --json`"), "{err}");
}

/// The Cluster view with a node whose "console" is a real program under the supervisor.
#[test]
fn the_cluster_view_shows_each_node_its_console_and_who_gets_the_keys() {
    use n3x::cluster::engine::{ClusterUpdate, NodeState};
    use n3x::readiness::ReadinessUpdate;
    use n3x::session::SessionUpdate;
    use n3x::supervise::{Spec, Supervisor};
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new()
        .unwrap()
        .with_wrapper(env!("CARGO_BIN_EXE_n3x"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let child = supervisor
        .spawn(Spec::new(
            ["sh", "-c", "echo 'Debian GNU/Linux 12 server-1 ttyS0'; cat"],
            dir.path().join("console.log"),
        ))
        .unwrap();
    let mut a = app();
    press(&mut a, KeyCode::Char('3'));
    // u boots the profile of the variant selected in the Matrix view (base: the first one).
    let update = a.handle(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::NONE,
    )));
    assert!(
        format!("{:?}", update.request).contains("Up(\"bonding-vlans\")"),
        "{update:?}"
    );
    let cluster = |u| Msg::Session(SessionUpdate::Cluster(u));
    a.handle(cluster(ClusterUpdate::Console {
        node: "server-1".into(),
        child: child.clone(),
    }));
    a.handle(cluster(ClusterUpdate::State {
        node: "server-1".into(),
        state: NodeState::Ready(vec!["eth1.200=192.168.200.1/24".into()]),
    }));
    // The readiness engine says the node runs the k3s test stand-in: the tile marks it.
    a.handle(Msg::Session(SessionUpdate::Readiness(
        ReadinessUpdate::Stage(n3x::readiness::StageEvent {
            node: "server-1".into(),
            stage: n3x::readiness::Stage::K3sService,
            outcome: n3x::readiness::Outcome::Running,
            at: std::time::Duration::from_secs(90),
            elapsed: std::time::Duration::from_secs(2),
            detail: "k3s version v1.35.0+k3s3-standin (standin) — the n3x test STAND-IN, not k3s"
                .into(),
        }),
    )));
    // The session says the cluster runs (this workbench owns it).
    a.handle(Msg::Session(SessionUpdate::Started(Ok(
        n3x::cluster::info::ClusterInfo {
            profile: "bonding-vlans".into(),
            owner: std::process::id(),
            accel: "tcg".into(),
            nodes: vec![],
            logs: dir.path().into(),
            switches: vec![],
            owner_socket: None,
        },
    ))));
    let start = std::time::Instant::now();
    let text = loop {
        let text = screen(&draw(&mut a, 120, 40)).join("\n");
        if text.contains("Debian GNU/Linux 12 server-1") || start.elapsed().as_secs() > 20 {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(text.contains("Cluster bonding-vlans · 1/1 ready"), "{text}");
    assert!(text.contains("k3s-service running k3s STAND-IN"), "{text}");
    assert!(
        text.contains("server-1") && text.contains("eth1.200=192.168.200.1/24"),
        "{text}"
    );
    assert!(
        text.contains("Debian GNU/Linux 12 server-1 ttyS0"),
        "{text}"
    );
    // a attaches: keys go to the console (q does not quit), the badge names the node.
    press(&mut a, KeyCode::Char('a'));
    assert_eq!(a.mode, Mode::Attached);
    let quit = a.handle(Msg::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )));
    assert_eq!(quit.request, None);
    let text = screen(&draw(&mut a, 120, 40)).join("\n");
    assert!(text.contains("server-1 receives the keys"), "{text}");
    assert!(text.contains("⌨ server-1 · Ctrl-] detaches"), "{text}");
    a.handle(Msg::Key(KeyEvent::new(
        KeyCode::Char(']'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(a.mode, Mode::Normal);
    child.cancel();
}

/// The tiles' bottom border: the last note on the left, the capacity warning on the right in
/// what the note leaves free, never one over the other.
#[test]
fn the_last_note_and_the_capacity_warning_share_the_border_without_overlapping() {
    use n3x::cluster::engine::ClusterUpdate;
    use n3x::session::SessionUpdate;
    let note = |text: &str| Msg::Session(SessionUpdate::Cluster(ClusterUpdate::Note(text.into())));
    let mut a = app();
    press(&mut a, KeyCode::Char('3'));
    // u: the workbench's own cluster is starting; the engine's notes arrive.
    press(&mut a, KeyCode::Char('u'));
    let warning = "warning: CPU is oversubscribed (4 vCPUs > 2 cores): guests starve, timeouts and quorum losses follow (FM-1/FM-5)";
    a.handle(note(warning));
    let border = |a: &mut App| {
        screen(&draw(a, 160, 45))
            .into_iter()
            .find(|l| l.starts_with('└'))
            .unwrap()
    };
    a.handle(note("agent-1 eth1: link down"));
    let line = border(&mut a);
    assert!(line.contains("└ agent-1 eth1: link down ─"), "{line}");
    assert!(line.contains("(FM-1/FM-5) ┘"), "{line}");
    // A note too long for both: it stays whole, the warning is cut or left out.
    let long = format!(
        "[cluster] cluster undecided after 48.3s (at 48.3s): {}",
        "x".repeat(70)
    );
    a.handle(note(&long));
    let line = border(&mut a);
    assert!(line.contains(&long), "{line}");
    assert!(!line.contains("FM-1/FM-5"), "{line}");
    assert!(line.contains('…') || !line.contains("warning"), "{line}");
}

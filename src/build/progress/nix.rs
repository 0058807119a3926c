//! Progress of `nix build --log-format internal-json`, read from its stderr.
//!
//! Every line Nix's JSON logger writes is `@nix ` followed by one JSON object
//! (`src/libutil/logging.cc: JSONLogger`):
//!
//! - `{"action":"start","id":N,"level":L,"type":T,"text":"…","parent":P,"fields":[…]}`
//! - `{"action":"stop","id":N}`
//! - `{"action":"result","id":N,"type":R,"fields":[…]}`
//! - `{"action":"msg","level":L,"msg":"…"}` (errors may add `raw_msg`, `line`, `column`, `file`)
//!
//! Activity types `T` and result types `R` are the `ActivityType` / `ResultType` enums of
//! `logging.hh`. How the counts are aggregated follows Nix's own progress bar
//! (`src/libmain/progress-bar.cc: getStatus`): per activity type, the `done` of stopped
//! activities plus the live ones' `Progress [done, expected, running, failed]`, with the
//! `expected` raised to whatever `SetExpected [type, n]` results announced.
//!
//! Anything that is not an `@nix` line, and `@nix` lines that are not a JSON object with an
//! `action`, is plain log text. Unknown actions, activity and result types are tolerated.
//!
//! Beware Nix 2.8 (Debian's `nix-bin`): there `-L` given *after* `--log-format
//! internal-json` re-installs the plain logger, and no `@nix` line appears at all. Put `-L`
//! first, or leave it out (the JSON logger always includes build output).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::{Fed, LogLevel, LogLine, clean_line, format_bytes, list_some};

/// How many error messages are kept.
const MAX_ERRORS: usize = 100;

/// Nix's `ActivityType` (`logging.hh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActivityType {
    /// 0: untyped (`querying info about missing paths`, evaluation).
    Unknown,
    /// 100: copying one store path (bytes).
    CopyPath,
    /// 101: one download (bytes).
    FileTransfer,
    /// 102: the whole realisation; carries `SetExpected` for downloads and copies.
    Realise,
    /// 103: copying paths, and the substitutions of a build (counts).
    CopyPaths,
    /// 104: all builds of the command (counts).
    Builds,
    /// 105: one derivation being built.
    Build,
    /// 106: store optimisation.
    OptimiseStore,
    /// 107: verifying paths.
    VerifyPaths,
    /// 108: substituting one path from a cache.
    Substitute,
    /// 109: asking a cache about a path.
    QueryPathInfo,
    /// 110: running the post-build hook.
    PostBuildHook,
    /// 111: a build waiting for a lock or slot.
    BuildWaiting,
    /// 112: fetching a flake input or other tree.
    FetchTree,
    /// Any type this parser does not know.
    Other(u64),
}

impl ActivityType {
    /// The type for Nix's numeric code.
    pub fn from_code(code: u64) -> ActivityType {
        match code {
            0 => ActivityType::Unknown,
            100 => ActivityType::CopyPath,
            101 => ActivityType::FileTransfer,
            102 => ActivityType::Realise,
            103 => ActivityType::CopyPaths,
            104 => ActivityType::Builds,
            105 => ActivityType::Build,
            106 => ActivityType::OptimiseStore,
            107 => ActivityType::VerifyPaths,
            108 => ActivityType::Substitute,
            109 => ActivityType::QueryPathInfo,
            110 => ActivityType::PostBuildHook,
            111 => ActivityType::BuildWaiting,
            112 => ActivityType::FetchTree,
            n => ActivityType::Other(n),
        }
    }
}

/// Result types of `{"action":"result"}` (`ResultType` in `logging.hh`).
mod result {
    pub const BUILD_LOG_LINE: u64 = 101;
    pub const SET_PHASE: u64 = 104;
    pub const PROGRESS: u64 = 105;
    pub const SET_EXPECTED: u64 = 106;
    pub const POST_BUILD_LOG_LINE: u64 = 107;
    pub const FETCH_STATUS: u64 = 108;
}

/// Done / total / running / failed of one kind of work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Finished successfully.
    pub done: u64,
    /// All that Nix means to do, failed ones included.
    pub total: u64,
    /// In progress now.
    pub running: u64,
    /// Failed.
    pub failed: u64,
}

/// A byte count and what is expected, when Nix said so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bytes {
    /// Bytes transferred so far.
    pub done: u64,
    /// Bytes expected in all (at least `done`), 0 when unknown.
    pub expected: u64,
}

/// A derivation being built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningBuild {
    /// The derivation's name: `hello-2.12` of `/nix/store/<hash>-hello-2.12.drv`.
    pub name: String,
    /// The full `.drv` path, when Nix gave it.
    pub drv_path: Option<String>,
    /// The remote builder, when not built locally.
    pub machine: Option<String>,
    /// The stdenv phase (`buildPhase`) the builder announced last.
    pub phase: Option<String>,
    /// The builder's latest output line.
    pub last_line: Option<String>,
    /// Start order: larger started later.
    pub seq: u64,
}

/// What the UI draws for a Nix build.
#[derive(Debug, Clone, PartialEq)]
pub struct NixSnapshot {
    /// Derivations to build.
    pub builds: Counts,
    /// Store paths to substitute from caches.
    pub substitutions: Counts,
    /// Downloaded bytes (compressed, as transferred).
    pub downloaded: Bytes,
    /// Copied bytes (unpacked NAR size).
    pub copied: Bytes,
    /// Builds running now, in start order.
    pub running: Vec<RunningBuild>,
    /// Names of the store paths being substituted now, in start order.
    pub substituting: Vec<String>,
    /// Names of derivations whose builder failed.
    pub failed_builds: Vec<String>,
    /// Error messages (level 0), cleaned of escapes; may span several lines.
    pub errors: Vec<String>,
    /// Warning messages seen.
    pub warnings: u32,
    /// Activities started and not yet stopped.
    pub activities: usize,
    /// Work done / total, `0.0..=1.0`, once there is any.
    pub fraction: Option<f64>,
    /// One line: `built 3/10 · 2 running: hello-2.12 (buildPhase), … · downloaded 5/12 (34.1 MiB)`.
    pub line: String,
}

#[derive(Debug, Clone)]
struct Activity {
    kind: ActivityType,
    /// Display name for builds, substitutions, post-build hooks.
    name: Option<String>,
    drv_path: Option<String>,
    machine: Option<String>,
    done: u64,
    expected: u64,
    running: u64,
    failed: u64,
    expected_by_type: BTreeMap<ActivityType, u64>,
    phase: Option<String>,
    last_line: Option<String>,
    seq: u64,
}

/// Per activity type: what stopped activities finished, and the sum of `SetExpected`.
#[derive(Debug, Clone, Copy, Default)]
struct ByType {
    done: u64,
    failed: u64,
    expected: u64,
}

/// Nix build progress, fed line by line. See the module documentation for the format.
#[derive(Debug, Clone, Default)]
pub struct NixProgress {
    activities: HashMap<u64, Activity>,
    by_type: HashMap<ActivityType, ByType>,
    next_seq: u64,
    errors: Vec<String>,
    warnings: u32,
    failed_builds: Vec<String>,
    json_lines: u64,
    plain_lines: u64,
    malformed_lines: u64,
}

impl NixProgress {
    /// A parser that has seen nothing yet.
    pub fn new() -> NixProgress {
        NixProgress::default()
    }

    /// Feeds one line of `nix build`'s stderr.
    pub fn feed(&mut self, raw: &str) -> Fed {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let json = line
            .find("@nix ")
            // Tolerate a terminal's leftovers (`\r\e[K`) before the marker, nothing else.
            .filter(|&i| clean_line(&line[..i]).is_empty())
            .map(|i| &line[i + 5..]);
        let Some(json) = json else {
            return self.plain(line);
        };
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(json) else {
            self.malformed_lines += 1;
            return self.plain(line);
        };
        let Some(action) = obj.get("action").and_then(Value::as_str) else {
            self.malformed_lines += 1;
            return self.plain(line);
        };
        self.json_lines += 1;
        match action {
            "start" => self.start(&obj),
            "stop" => self.stop(&obj),
            "result" => self.result(&obj),
            "msg" => self.msg(&obj),
            // `setPhase` is what builders write; Nix turns it into a result. Anything else
            // is from a newer Nix: ignore it rather than guess.
            _ => Fed::default(),
        }
    }

    /// Work done / total, `0.0..=1.0`, once there is any: builds and substitutions together.
    pub fn fraction(&self) -> Option<f64> {
        let b = self.builds();
        let s = self.substitutions();
        let total = b.total + s.total;
        if total == 0 {
            return None;
        }
        let finished = b.done + b.failed + s.done + s.failed;
        Some((finished as f64 / total as f64).clamp(0.0, 1.0))
    }

    /// Derivations: built, total (failed included), running, failed.
    pub fn builds(&self) -> Counts {
        let c = self.stats(ActivityType::Builds);
        Counts {
            total: c.total + c.failed,
            ..c
        }
    }

    /// Store paths substituted from caches.
    pub fn substitutions(&self) -> Counts {
        let c = self.stats(ActivityType::CopyPaths);
        Counts {
            total: c.total + c.failed,
            ..c
        }
    }

    /// Bytes downloaded (`FileTransfer` activities).
    pub fn downloaded(&self) -> Bytes {
        let c = self.stats(ActivityType::FileTransfer);
        Bytes {
            done: c.done,
            expected: c.total.max(c.done),
        }
    }

    /// Bytes copied into the store (`CopyPath` activities).
    pub fn copied(&self) -> Bytes {
        let c = self.stats(ActivityType::CopyPath);
        Bytes {
            done: c.done,
            expected: c.total.max(c.done),
        }
    }

    /// Builds running now, in start order.
    pub fn running(&self) -> Vec<RunningBuild> {
        let mut v: Vec<RunningBuild> = self
            .activities
            .values()
            .filter(|a| a.kind == ActivityType::Build)
            .map(|a| RunningBuild {
                name: a.name.clone().unwrap_or_else(|| "?".into()),
                drv_path: a.drv_path.clone(),
                machine: a.machine.clone(),
                phase: a.phase.clone(),
                last_line: a.last_line.clone(),
                seq: a.seq,
            })
            .collect();
        v.sort_by_key(|b| b.seq);
        v
    }

    /// Error messages (level 0), in order.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// How many `@nix` lines were not valid JSON objects (and went to the log as text).
    pub fn malformed_lines(&self) -> u64 {
        self.malformed_lines
    }

    /// Whether any structured `@nix` line has been seen. Plain `building '…'` lines without
    /// one mean Nix is not logging JSON (see the module documentation on `-L`).
    pub fn saw_json(&self) -> bool {
        self.json_lines > 0
    }

    /// Everything the UI draws, in one plain struct.
    pub fn snapshot(&self) -> NixSnapshot {
        let mut substituting: Vec<(u64, String)> = self
            .activities
            .values()
            .filter(|a| a.kind == ActivityType::Substitute)
            .map(|a| (a.seq, a.name.clone().unwrap_or_default()))
            .collect();
        substituting.sort();
        NixSnapshot {
            builds: self.builds(),
            substitutions: self.substitutions(),
            downloaded: self.downloaded(),
            copied: self.copied(),
            running: self.running(),
            substituting: substituting.into_iter().map(|(_, n)| n).collect(),
            failed_builds: self.failed_builds.clone(),
            errors: self.errors.clone(),
            warnings: self.warnings,
            activities: self.activities.len(),
            fraction: self.fraction(),
            line: self.line(),
        }
    }

    fn line(&self) -> String {
        let mut parts = Vec::new();
        let b = self.builds();
        if b.total > 0 || b.done > 0 {
            parts.push(format!("built {}/{}", b.done, b.total));
        }
        let running = self.running();
        if !running.is_empty() {
            let names: Vec<String> = running
                .iter()
                .map(|r| match &r.phase {
                    Some(p) => format!("{} ({p})", r.name),
                    None => r.name.clone(),
                })
                .collect();
            parts.push(format!(
                "{} running: {}",
                running.len(),
                list_some(&names, 3)
            ));
        }
        let s = self.substitutions();
        let mut bytes = self.downloaded();
        if bytes.done == 0 {
            bytes = self.copied();
        }
        let size = if bytes.expected > bytes.done {
            format!(
                "{} of {}",
                format_bytes(bytes.done),
                format_bytes(bytes.expected)
            )
        } else {
            format_bytes(bytes.done)
        };
        if s.total > 0 {
            parts.push(format!("downloaded {}/{} ({size})", s.done, s.total));
        } else if bytes.done > 0 {
            parts.push(format!("downloaded {size}"));
        }
        if b.failed > 0 {
            parts.push(format!("{} failed", b.failed));
        }
        if parts.is_empty() {
            parts.push(
                if self.json_lines == 0 {
                    "evaluating"
                } else if self.activities.is_empty() {
                    "nothing to build"
                } else {
                    "querying"
                }
                .to_string(),
            );
        }
        parts.join(" · ")
    }

    /// Aggregated counts of one activity type, the way Nix's progress bar adds them up.
    fn stats(&self, kind: ActivityType) -> Counts {
        let t = self.by_type.get(&kind).copied().unwrap_or_default();
        let mut c = Counts {
            done: t.done,
            total: t.done,
            running: 0,
            failed: t.failed,
        };
        for a in self.activities.values().filter(|a| a.kind == kind) {
            c.done += a.done;
            c.total += a.expected;
            c.running += a.running;
            c.failed += a.failed;
        }
        c.total = c.total.max(t.expected);
        c
    }

    fn plain(&mut self, line: &str) -> Fed {
        self.plain_lines += 1;
        let text = clean_line(line);
        if text.is_empty() {
            return Fed::default();
        }
        let level = if text.starts_with("error:") {
            LogLevel::Error
        } else if text.starts_with("warning:") {
            LogLevel::Warning
        } else {
            LogLevel::Output
        };
        Fed {
            changed: false,
            log: Some(LogLine {
                level,
                origin: None,
                text,
            }),
        }
    }

    fn start(&mut self, obj: &serde_json::Map<String, Value>) -> Fed {
        let Some(id) = obj.get("id").and_then(Value::as_u64) else {
            return Fed::default();
        };
        let kind = ActivityType::from_code(obj.get("type").and_then(Value::as_u64).unwrap_or(0));
        let text = obj.get("text").and_then(Value::as_str).unwrap_or("");
        let level = obj.get("level").and_then(Value::as_u64).unwrap_or(0);
        let fields = obj
            .get("fields")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let (mut name, mut drv_path, mut machine) = (None, None, None);
        match kind {
            ActivityType::Build | ActivityType::PostBuildHook => {
                let path = field_str(fields, 0)
                    .map(str::to_string)
                    .or_else(|| quoted(text).map(str::to_string));
                if let Some(p) = &path {
                    name = Some(store_path_name(p));
                }
                drv_path = path;
                machine = field_str(fields, 1)
                    .filter(|m| !m.is_empty())
                    .map(str::to_string);
            }
            ActivityType::Substitute | ActivityType::CopyPath => {
                name = field_str(fields, 0).map(store_path_name);
            }
            _ => {}
        }
        self.next_seq += 1;
        self.activities.insert(
            id,
            Activity {
                kind,
                name,
                drv_path,
                machine,
                done: 0,
                expected: 0,
                running: 0,
                failed: 0,
                expected_by_type: BTreeMap::new(),
                phase: None,
                last_line: None,
                seq: self.next_seq,
            },
        );
        // What Nix's plain logger would print at its default verbosity (info).
        let log =
            (level <= 3 && !text.is_empty() && kind != ActivityType::BuildWaiting).then(|| {
                LogLine {
                    level: LogLevel::Info,
                    origin: None,
                    text: format!("{}...", clean_line(text)),
                }
            });
        Fed { changed: true, log }
    }

    fn stop(&mut self, obj: &serde_json::Map<String, Value>) -> Fed {
        let Some(a) = obj
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|id| self.activities.remove(&id))
        else {
            return Fed::default();
        };
        let t = self.by_type.entry(a.kind).or_default();
        t.done += a.done;
        t.failed += a.failed;
        for (kind, n) in &a.expected_by_type {
            let t = self.by_type.entry(*kind).or_default();
            t.expected = t.expected.saturating_sub(*n);
        }
        Fed {
            changed: true,
            log: None,
        }
    }

    fn result(&mut self, obj: &serde_json::Map<String, Value>) -> Fed {
        let id = obj.get("id").and_then(Value::as_u64);
        let Some(kind) = obj.get("type").and_then(Value::as_u64) else {
            return Fed::default();
        };
        let fields = obj
            .get("fields")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let act = id.and_then(|id| self.activities.get_mut(&id));
        match kind {
            result::BUILD_LOG_LINE | result::POST_BUILD_LOG_LINE => {
                let Some(text) = field_str(fields, 0) else {
                    return Fed::default();
                };
                let text = clean_line(text);
                let mut origin = None;
                if let Some(a) = act {
                    a.last_line = Some(text.clone());
                    origin = a.name.clone();
                }
                if kind == result::POST_BUILD_LOG_LINE {
                    origin = Some(format!("{} (post)", origin.as_deref().unwrap_or("?")));
                }
                Fed {
                    changed: true,
                    log: Some(LogLine {
                        level: LogLevel::Output,
                        origin,
                        text,
                    }),
                }
            }
            result::SET_PHASE => {
                let (Some(a), Some(phase)) = (act, field_str(fields, 0)) else {
                    return Fed::default();
                };
                a.phase = Some(phase.to_string());
                Fed {
                    changed: true,
                    log: None,
                }
            }
            result::FETCH_STATUS => {
                if let (Some(a), Some(status)) = (act, field_str(fields, 0)) {
                    a.last_line = Some(clean_line(status));
                }
                Fed {
                    changed: true,
                    log: None,
                }
            }
            result::PROGRESS => {
                let (Some(a), Some(done), Some(expected), Some(running), Some(failed)) = (
                    act,
                    field_u64(fields, 0),
                    field_u64(fields, 1),
                    field_u64(fields, 2),
                    field_u64(fields, 3),
                ) else {
                    return Fed::default();
                };
                let changed =
                    (a.done, a.expected, a.running, a.failed) != (done, expected, running, failed);
                (a.done, a.expected, a.running, a.failed) = (done, expected, running, failed);
                Fed { changed, log: None }
            }
            result::SET_EXPECTED => {
                let (Some(a), Some(of), Some(n)) =
                    (act, field_u64(fields, 0), field_u64(fields, 1))
                else {
                    return Fed::default();
                };
                let of = ActivityType::from_code(of);
                let old = a.expected_by_type.insert(of, n).unwrap_or(0);
                let t = self.by_type.entry(of).or_default();
                t.expected = t.expected.saturating_sub(old) + n;
                Fed {
                    changed: old != n,
                    log: None,
                }
            }
            // FileLinked, UntrustedPath, CorruptedPath and anything newer.
            _ => Fed::default(),
        }
    }

    fn msg(&mut self, obj: &serde_json::Map<String, Value>) -> Fed {
        let level = obj.get("level").and_then(Value::as_u64).unwrap_or(3);
        let Some(msg) = obj.get("msg").and_then(Value::as_str) else {
            return Fed::default();
        };
        let text = msg.lines().map(clean_line).collect::<Vec<_>>().join("\n");
        let text = text.trim_end().to_string();
        let level = match level {
            0 => {
                if let Some(name) = failed_builder(&text)
                    && !self.failed_builds.contains(&name)
                {
                    self.failed_builds.push(name);
                }
                if self.errors.len() < MAX_ERRORS {
                    self.errors.push(text.clone());
                }
                LogLevel::Error
            }
            1 => {
                self.warnings += 1;
                LogLevel::Warning
            }
            _ => LogLevel::Info,
        };
        Fed {
            changed: level != LogLevel::Info,
            log: (!text.is_empty()).then_some(LogLine {
                level,
                origin: None,
                text,
            }),
        }
    }
}

fn field_str(fields: &[Value], i: usize) -> Option<&str> {
    fields.get(i)?.as_str()
}

fn field_u64(fields: &[Value], i: usize) -> Option<u64> {
    fields.get(i)?.as_u64()
}

/// The first `'…'`-quoted part of `s`.
fn quoted(s: &str) -> Option<&str> {
    let (_, rest) = s.split_once('\'')?;
    Some(rest.split_once('\'')?.0)
}

/// `/nix/store/<hash>-hello-2.12.drv` → `hello-2.12` (as Nix's progress bar names it).
pub fn store_path_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let name = base.split_once('-').map_or(base, |(_, n)| n);
    name.strip_suffix(".drv").unwrap_or(name).to_string()
}

/// The derivation named by `builder for '/nix/store/….drv' failed …` or
/// `Cannot build '/nix/store/….drv'`.
fn failed_builder(text: &str) -> Option<String> {
    for marker in ["builder for '", "Cannot build '"] {
        if let Some((_, rest)) = text.split_once(marker)
            && let Some((path, _)) = rest.split_once('\'')
            && path.ends_with(".drv")
        {
            return Some(store_path_name(path));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(id: u64, kind: u64, level: u64, text: &str, fields: &str) -> String {
        format!(
            r#"@nix {{"action":"start","id":{id},"level":{level},"parent":0,"text":"{text}","type":{kind},"fields":{fields}}}"#
        )
    }

    fn result(id: u64, kind: u64, fields: &str) -> String {
        format!(r#"@nix {{"action":"result","id":{id},"type":{kind},"fields":{fields}}}"#)
    }

    fn stop(id: u64) -> String {
        format!(r#"@nix {{"action":"stop","id":{id}}}"#)
    }

    fn build(id: u64, name: &str) -> String {
        let drv = format!("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-{name}.drv");
        start(
            id,
            105,
            3,
            &format!("building '{drv}'"),
            &format!(r#"["{drv}","",1,1]"#),
        )
    }

    #[test]
    fn store_paths_are_shortened_to_names() {
        assert_eq!(
            store_path_name("/nix/store/6k0yxvxlxp4cr3s6snia34v4a224vcm8-hello-2.12.drv"),
            "hello-2.12"
        );
        assert_eq!(store_path_name("/nix/store/6k0yxvx-source"), "source");
        assert_eq!(store_path_name("plain"), "plain");
    }

    #[test]
    fn summary_line_shows_builds_running_and_downloads() {
        let mut p = NixProgress::new();
        assert_eq!(p.snapshot().line, "evaluating");
        for l in [
            start(1, 102, 0, "", "[]"),
            start(2, 104, 0, "", "[]"),
            start(3, 103, 0, "", "[]"),
            result(2, 105, "[3,10,2,0]"),
            result(3, 105, "[5,12,1,0]"),
            result(1, 106, "[101,80000000]"),
            build(10, "hello-2.12"),
            result(10, 104, r#"["buildPhase"]"#),
            build(11, "zlib-1.3"),
            start(
                20,
                101,
                4,
                "downloading 'https://cache.nixos.org/nar/x.nar.xz'",
                r#"["https://cache.nixos.org/nar/x.nar.xz"]"#,
            ),
            result(20, 105, "[35756441,40000000,0,0]"),
        ] {
            p.feed(&l);
        }
        let s = p.snapshot();
        assert_eq!(
            s.line,
            "built 3/10 · 2 running: hello-2.12 (buildPhase), zlib-1.3 · downloaded 5/12 (34.1 MiB of 76.3 MiB)"
        );
        assert_eq!(
            s.builds,
            Counts {
                done: 3,
                total: 10,
                running: 2,
                failed: 0
            }
        );
        assert_eq!(
            s.downloaded,
            Bytes {
                done: 35_756_441,
                expected: 80_000_000
            }
        );
        assert_eq!(s.fraction, Some(8.0 / 22.0));
        // When the download finishes, its bytes stay counted and the expectation goes.
        p.feed(&result(20, 105, "[40000000,40000000,0,0]"));
        p.feed(&stop(20));
        p.feed(&stop(1));
        assert_eq!(
            p.downloaded(),
            Bytes {
                done: 40_000_000,
                expected: 40_000_000
            }
        );
    }

    #[test]
    fn set_expected_is_replaced_not_added_and_leaves_with_its_activity() {
        let mut p = NixProgress::new();
        p.feed(&start(1, 102, 0, "", "[]"));
        p.feed(&result(1, 106, "[101,1000]"));
        p.feed(&result(1, 106, "[101,3000]"));
        assert_eq!(p.downloaded().expected, 3000);
        p.feed(&start(2, 102, 0, "", "[]"));
        p.feed(&result(2, 106, "[101,500]"));
        assert_eq!(p.downloaded().expected, 3500);
        p.feed(&stop(1));
        assert_eq!(p.downloaded().expected, 500);
    }

    #[test]
    fn build_logs_and_messages_go_to_the_log_pane() {
        let mut p = NixProgress::new();
        let f = p.feed(&build(5, "hello-2.12"));
        let log = f.log.unwrap();
        assert_eq!(log.level, LogLevel::Info);
        assert!(log.text.starts_with("building '/nix/store/") && log.text.ends_with(".drv'..."));

        let f = p.feed(&result(
            5,
            101,
            r#"["\u001b[32mchecking for gcc... yes\u001b[0m"]"#,
        ));
        assert_eq!(
            f.log.unwrap().display(),
            "hello-2.12> checking for gcc... yes"
        );
        assert_eq!(
            p.running()[0].last_line.as_deref(),
            Some("checking for gcc... yes")
        );
        let f = p.feed(&result(5, 107, r#"["signing"]"#));
        assert_eq!(f.log.unwrap().display(), "hello-2.12 (post)> signing");
        // Quiet activities (level above info) are not logged, like Nix's own logger.
        let f = p.feed(&start(6, 109, 4, "querying info about 'x'", "[]"));
        assert!(f.changed && f.log.is_none());

        let f = p.feed(r#"@nix {"action":"msg","level":1,"msg":"\u001b[35;1mwarning:\u001b[0m Git tree is dirty"}"#);
        assert_eq!(f.log.unwrap().level, LogLevel::Warning);
        let f = p.feed(r#"@nix {"action":"msg","level":0,"msg":"\u001b[31;1merror:\u001b[0m builder for '\u001b[35;1m/nix/store/abc-hello-2.12.drv\u001b[0m' failed with exit code 2;\n       last 1 log lines:\n       > oops"}"#);
        let log = f.log.unwrap();
        assert_eq!(log.level, LogLevel::Error);
        assert_eq!(
            log.text,
            "error: builder for '/nix/store/abc-hello-2.12.drv' failed with exit code 2;\n       last 1 log lines:\n       > oops"
        );
        let s = p.snapshot();
        assert_eq!(s.failed_builds, ["hello-2.12"]);
        assert_eq!(s.errors.len(), 1);
        assert_eq!(s.warnings, 1);
        let f =
            p.feed(r#"@nix {"action":"msg","level":3,"msg":"these 2 derivations will be built:"}"#);
        assert_eq!(f.log.unwrap().level, LogLevel::Info);
    }

    #[test]
    fn plain_lines_are_log_text() {
        let mut p = NixProgress::new();
        // Nix 2.8 with `-L` after `--log-format`: no JSON at all.
        let f = p.feed("building '/nix/store/abc-hello.drv'...");
        assert_eq!(f.log.unwrap().level, LogLevel::Output);
        let f = p.feed("error: builder for '/nix/store/abc-hello.drv' failed with exit code 1");
        assert_eq!(f.log.unwrap().level, LogLevel::Error);
        assert!(!p.saw_json());
        assert_eq!(p.snapshot().line, "evaluating");
        // Terminal leftovers before the marker are fine; text before it is not JSON.
        p.feed(&format!("\r\x1b[K{}", start(1, 104, 0, "", "[]")));
        assert!(p.saw_json());
        let f = p.feed(&format!("prefix {}", stop(1)));
        assert!(f.log.is_some());
        assert_eq!(p.snapshot().activities, 1);
    }

    #[test]
    fn malformed_and_unknown_input_never_panics() {
        let mut p = NixProgress::new();
        let bad = [
            "@nix ",
            "@nix",
            "@nix {",
            r#"@nix {"action":"start","id":1,"#,
            "@nix []",
            "@nix 42",
            "@nix null",
            r#"@nix {"no":"action"}"#,
            r#"@nix {"action":7}"#,
        ];
        for b in bad {
            let f = p.feed(b);
            assert!(!f.changed, "{b}");
        }
        assert_eq!(p.malformed_lines(), 8);
        assert!(!p.saw_json());
        // Well-formed but odd: tolerated, ignored.
        let odd = [
            r#"@nix {"action":"start"}"#,
            r#"@nix {"action":"start","id":"7","type":105}"#,
            r#"@nix {"action":"start","id":-1,"type":105}"#,
            r#"@nix {"action":"stop","id":99}"#,
            r#"@nix {"action":"stop"}"#,
            r#"@nix {"action":"result","id":99,"type":105,"fields":[1,2,3,4]}"#,
            r#"@nix {"action":"result","id":99,"type":104,"fields":["buildPhase"]}"#,
            r#"@nix {"action":"result","type":101}"#,
            r#"@nix {"action":"result","id":1,"type":"x"}"#,
            r#"@nix {"action":"msg"}"#,
            r#"@nix {"action":"setPhase","phase":"buildPhase"}"#,
            r#"@nix {"action":"teleport","id":1}"#,
        ];
        for o in odd {
            p.feed(o);
        }
        // Unknown activity and result types are kept and dropped like any other.
        p.feed(&start(42, 199, 3, "from the future", r#"[1,"x",{"y":2}]"#));
        p.feed(&result(42, 199, "[1]"));
        p.feed(&result(42, 105, r#"["1","2","3","4"]"#));
        p.feed(&result(42, 105, "[1,2]"));
        p.feed(&result(42, 106, r#"[101]"#));
        assert_eq!(p.snapshot().activities, 1);
        p.feed(&stop(42));
        let s = p.snapshot();
        assert_eq!(s.activities, 0);
        assert_eq!(s.builds, Counts::default());
        assert_eq!(s.fraction, None);
        assert_eq!(s.line, "nothing to build");
        assert_eq!(ActivityType::from_code(199), ActivityType::Other(199));
    }
}

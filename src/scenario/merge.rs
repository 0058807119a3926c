//! `n3x test merge-junit OUT IN...`: the JUnit files of a run's shards as one JUnit file and
//! one summary.
//!
//! Each test case is copied as it was written (its failure, console tail and log untouched);
//! the suites' counts and times are added up again. Shards of `n3x test --shard` carry their
//! plan ([`super::shard::properties`]), so the merge also proves the run complete: every shard
//! given once, all from the same plan, every test of the selection exactly once. A missing
//! shard (a runner that died) or a test run twice is an error naming the files and the tests,
//! and nothing is written.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::shard::{ShardSpec, property};

/// Arguments of `n3x test merge-junit`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The merged JUnit file to write.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// The shards' JUnit files.
    #[arg(value_name = "IN", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Also append the summary as a Markdown table to this file (e.g.
    /// "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}

/// Why JUnit files could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not well-formed XML.
    #[error(
        "{file}: not well-formed XML: {why}\n  fix: give the JUnit files `n3x test --junit` wrote"
    )]
    Xml {
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// A file is XML but not JUnit.
    #[error("{file}:{line}: {why}\n  fix: give the JUnit files `n3x test --junit` wrote")]
    NotJunit {
        /// The file.
        file: String,
        /// The line.
        line: u32,
        /// What is wrong.
        why: String,
    },
    /// The same test case is in two files.
    #[error(
        "test {test} ({suite}) is in both {first} and {second}\n  fix: give each shard's JUnit once; a test in two shards means their plans differed"
    )]
    Duplicate {
        /// The test case.
        test: String,
        /// Its suite.
        suite: String,
        /// The first file that has it.
        first: String,
        /// The second.
        second: String,
    },
    /// Shards of different plans.
    #[error(
        "{file} is shard {shard} of another plan ({theirs}) than {first} ({ours})\n  fix: every shard must see the same test history, or none (a fresh state directory); rerun the shards from one pipeline"
    )]
    OtherPlan {
        /// The file.
        file: String,
        /// The file's shard.
        shard: String,
        /// That shard's plan.
        theirs: String,
        /// The first file that has it.
        first: String,
        /// The first file's plan.
        ours: String,
    },
    /// Some shards' JUnit files are missing, or a test did not run.
    #[error(
        "the run is incomplete: {what}; {tests} did not run\n  fix: give every shard's JUnit file (a shard whose runner failed writes none: rerun it)"
    )]
    Incomplete {
        /// What was being read or written.
        what: String,
        /// The tests that did not run.
        tests: String,
    },
    /// The output could not be written.
    #[error("cannot write {file}: {source}")]
    Write {
        /// The file.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// How a test case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No failure, error or skip.
    Passed,
    /// A `<failure>`.
    Failed,
    /// An `<error>`.
    Error,
    /// A `<skipped>`.
    Skipped,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "FAILED",
            Status::Error => "ERROR",
            Status::Skipped => "skipped",
        }
    }
}

/// One test case of an input.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its suite's name.
    pub suite: String,
    /// The test's name.
    pub name: String,
    /// Seconds.
    pub time: f64,
    /// How it ended.
    pub status: Status,
    /// The `<testcase>` element as written.
    pub xml: String,
}

/// One JUnit file, read.
#[derive(Debug, Clone)]
pub struct Input {
    /// Where it came from, for messages.
    pub file: String,
    /// Its test cases in file order.
    pub cases: Vec<Case>,
    /// Its suites' `timestamp` and `hostname` attributes.
    pub stamps: Vec<(String, String)>,
    /// The shard it ran, when `--shard` wrote it.
    pub shard: Option<ShardInfo>,
}

/// What a shard's JUnit says about its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// Which shard of how many.
    pub spec: ShardSpec,
    /// The plan's fingerprint.
    pub plan: String,
    /// Every test of the whole run's selection.
    pub selection: Vec<String>,
}

/// Reads one JUnit document (`<testsuites>` or a single `<testsuite>`).
pub fn read(file: &str, text: &str) -> Result<Input, MergeError> {
    let doc = roxmltree::Document::parse(text).map_err(|e| MergeError::Xml {
        file: file.into(),
        why: e.to_string(),
    })?;
    let line = |n: roxmltree::Node| doc.text_pos_at(n.range().start).row;
    let not_junit = |n: roxmltree::Node, why: String| MergeError::NotJunit {
        file: file.into(),
        line: line(n),
        why,
    };
    let root = doc.root_element();
    let suites: Vec<roxmltree::Node> = match root.tag_name().name() {
        "testsuites" => root
            .children()
            .filter(|c| c.has_tag_name("testsuite"))
            .collect(),
        "testsuite" => vec![root],
        other => {
            return Err(not_junit(
                root,
                format!("the root element is <{other}>, not <testsuites> or <testsuite>"),
            ));
        }
    };
    let mut input = Input {
        file: file.into(),
        cases: Vec::new(),
        stamps: Vec::new(),
        shard: None,
    };
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    for suite in suites {
        let suite_name = suite
            .attribute("name")
            .ok_or_else(|| not_junit(suite, "a <testsuite> has no name".into()))?;
        input.stamps.push((
            suite.attribute("timestamp").unwrap_or_default().into(),
            suite.attribute("hostname").unwrap_or_default().into(),
        ));
        for child in suite.children().filter(roxmltree::Node::is_element) {
            match child.tag_name().name() {
                "properties" => {
                    for p in child.children().filter(|c| c.has_tag_name("property")) {
                        if let (Some(n), Some(v)) = (p.attribute("name"), p.attribute("value")) {
                            props.insert(n.into(), v.into());
                        }
                    }
                }
                "testcase" => {
                    let name = child
                        .attribute("name")
                        .ok_or_else(|| not_junit(child, "a <testcase> has no name".into()))?;
                    let time = match child.attribute("time") {
                        None => 0.0,
                        Some(t) => t.replace(',', "").parse::<f64>().map_err(|_| {
                            not_junit(child, format!("testcase {name}: time `{t}` is not seconds"))
                        })?,
                    };
                    let has = |tag: &str| child.children().any(|c| c.has_tag_name(tag));
                    let status = if has("error") {
                        Status::Error
                    } else if has("failure") {
                        Status::Failed
                    } else if has("skipped") {
                        Status::Skipped
                    } else {
                        Status::Passed
                    };
                    input.cases.push(Case {
                        suite: suite_name.into(),
                        name: name.into(),
                        time,
                        status,
                        xml: text[child.range()].to_string(),
                    });
                }
                _ => {}
            }
        }
    }
    if let Some(spec) = props.get(property::SHARD) {
        let spec = ShardSpec::parse(spec)
            .map_err(|e| not_junit(root, format!("property {}: {e}", property::SHARD)))?;
        let plan = props.get(property::PLAN).cloned().unwrap_or_default();
        let selection = props
            .get(property::SELECTION)
            .map(|s| {
                s.split(',')
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        input.shard = Some(ShardInfo {
            spec,
            plan,
            selection,
        });
    }
    Ok(input)
}

/// The merged run.
#[derive(Debug, Clone)]
pub struct Merged {
    /// Every case with the file it came from, in the selection's order when the inputs are
    /// shards, else in the order given.
    pub cases: Vec<(Case, String)>,
    /// The shard count and plan, when the inputs are shards.
    pub plan: Option<(usize, String)>,
    /// The earliest suite timestamp and every host, comma-separated.
    pub stamp: (String, String),
    /// The files, in the order given.
    pub files: Vec<String>,
}

impl Merged {
    /// The exit code of the run: 1 when a test failed or had an error.
    pub fn exit_code(&self) -> u8 {
        u8::from(
            self.cases
                .iter()
                .any(|(c, _)| matches!(c.status, Status::Failed | Status::Error)),
        )
    }
}

/// Merges `inputs`: refuses a test case that is in two of them, and for shards, shards of
/// different plans, a shard given twice, a missing shard, and a test of the selection that
/// none of them ran.
pub fn merge(inputs: &[Input]) -> Result<Merged, MergeError> {
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut cases = Vec::new();
    for input in inputs {
        for c in &input.cases {
            if let Some(first) = seen.insert((c.suite.clone(), c.name.clone()), input.file.clone())
            {
                return Err(MergeError::Duplicate {
                    test: c.name.clone(),
                    suite: c.suite.clone(),
                    first,
                    second: input.file.clone(),
                });
            }
            cases.push((c.clone(), input.file.clone()));
        }
    }
    let shards: Vec<(&Input, &ShardInfo)> = inputs
        .iter()
        .filter_map(|i| i.shard.as_ref().map(|s| (i, s)))
        .collect();
    let mut plan = None;
    if let Some((first, one)) = shards.first() {
        let (spec0, plan0, selection) = (one.spec, &one.plan, &one.selection);
        for (input, info) in &shards {
            if info.spec.count != spec0.count || &info.plan != plan0 || &info.selection != selection
            {
                return Err(MergeError::OtherPlan {
                    file: input.file.clone(),
                    shard: info.spec.to_string(),
                    theirs: format!("{} shards, plan {}", info.spec.count, info.plan),
                    first: first.file.clone(),
                    ours: format!("{} shards, plan {plan0}", spec0.count),
                });
            }
        }
        let given: Vec<usize> = shards.iter().map(|(_, info)| info.spec.index).collect();
        let missing: Vec<String> = (1..=spec0.count)
            .filter(|i| !given.contains(i))
            .map(|i| format!("{i}/{}", spec0.count))
            .collect();
        let not_run: Vec<&String> = selection
            .iter()
            .filter(|t| !cases.iter().any(|(c, _)| &c.name == *t))
            .collect();
        if !missing.is_empty() || !not_run.is_empty() {
            return Err(MergeError::Incomplete {
                what: if missing.is_empty() {
                    "every shard is there, yet not every test ran".into()
                } else {
                    format!(
                        "no JUnit file for shard{} {}",
                        if missing.len() == 1 { "" } else { "s" },
                        missing.join(", ")
                    )
                },
                tests: if not_run.is_empty() {
                    "no test of the given shards".into()
                } else {
                    not_run
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            });
        }
        let at = |name: &str| {
            selection
                .iter()
                .position(|t| t == name)
                .unwrap_or(usize::MAX)
        };
        cases.sort_by_key(|(c, _)| at(&c.name));
        plan = Some((spec0.count, plan0.clone()));
    }
    let stamps: Vec<&(String, String)> = inputs.iter().flat_map(|i| &i.stamps).collect();
    let earliest = stamps
        .iter()
        .map(|(t, _)| t.as_str())
        .filter(|t| !t.is_empty())
        .min()
        .unwrap_or_default()
        .to_string();
    let mut hosts: Vec<&str> = stamps
        .iter()
        .map(|(_, h)| h.as_str())
        .filter(|h| !h.is_empty())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    Ok(Merged {
        cases,
        plan,
        stamp: (earliest, hosts.join(",")),
        files: inputs.iter().map(|i| i.file.clone()).collect(),
    })
}

fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// The merged JUnit document: one suite per suite name, cases as they were written.
pub fn document(m: &Merged) -> String {
    let count = |cs: &[&Case], s: Status| cs.iter().filter(|c| c.status == s).count();
    let all: Vec<&Case> = m.cases.iter().map(|(c, _)| c).collect();
    let time = |cs: &[&Case]| cs.iter().map(|c| c.time).sum::<f64>();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"n3x test\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        all.len(),
        count(&all, Status::Failed),
        count(&all, Status::Error),
        time(&all)
    );
    let mut suites: Vec<&str> = all.iter().map(|c| c.suite.as_str()).collect();
    suites.sort_unstable();
    suites.dedup();
    for suite in suites {
        let cs: Vec<&Case> = all.iter().copied().filter(|c| c.suite == suite).collect();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\" hostname=\"{}\">",
            attr(suite),
            cs.len(),
            count(&cs, Status::Failed),
            count(&cs, Status::Error),
            count(&cs, Status::Skipped),
            time(&cs),
            attr(&m.stamp.0),
            attr(&m.stamp.1)
        );
        out.push_str("    <properties>\n");
        let _ = writeln!(
            out,
            "      <property name=\"n3x.merged.from\" value=\"{}\"/>",
            attr(&m.files.join(","))
        );
        if let Some((count, plan)) = &m.plan {
            let _ = writeln!(
                out,
                "      <property name=\"n3x.shards\" value=\"{count}\"/>\n      <property name=\"{}\" value=\"{}\"/>",
                property::PLAN,
                attr(plan)
            );
        }
        out.push_str("    </properties>\n");
        for c in cs {
            let _ = writeln!(out, "    {}", c.xml);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The summary: a line per test (result, time, file) and the totals; `markdown` gives a
/// Markdown table (for a CI job summary) instead of aligned columns.
pub fn summary(m: &Merged, markdown: bool) -> String {
    let width = m
        .cases
        .iter()
        .map(|(c, _)| c.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let row = |cells: [&str; 4]| {
        if markdown {
            format!("| {} |\n", cells.join(" | "))
        } else {
            format!(
                "{:<width$}  {:<7}  {:>8}  {}\n",
                cells[0], cells[1], cells[2], cells[3]
            )
        }
    };
    let mut out = row(["TEST", "RESULT", "TIME", "FROM"]);
    if markdown {
        out.push_str("|---|---|---|---|\n");
    }
    for (c, file) in &m.cases {
        out.push_str(&row([
            &c.name,
            c.status.word(),
            &format!("{:.1}s", c.time),
            file,
        ]));
    }
    let n = |s: Status| m.cases.iter().filter(|(c, _)| c.status == s).count();
    let mut per_file: Vec<(String, f64)> = m
        .files
        .iter()
        .map(|f| {
            let t = m
                .cases
                .iter()
                .filter(|(_, g)| g == f)
                .map(|(c, _)| c.time)
                .sum();
            (f.clone(), t)
        })
        .collect();
    per_file.sort_by(|a, b| b.1.total_cmp(&a.1));
    let _ = writeln!(
        out,
        "\n{} tests from {} file{}{}: {} passed, {} failed, {} errors, {} skipped",
        m.cases.len(),
        m.files.len(),
        if m.files.len() == 1 { "" } else { "s" },
        m.plan
            .as_ref()
            .map(|(n, p)| format!(" (all {n} shards of plan {p}, every test exactly once)"))
            .unwrap_or_default(),
        n(Status::Passed),
        n(Status::Failed),
        n(Status::Error),
        n(Status::Skipped)
    );
    if let Some((file, t)) = per_file.first() {
        let _ = writeln!(out, "the longest file's tests took {t:.1}s ({file})");
    }
    out
}

/// Runs `n3x test merge-junit`: exit 0 when every test passed, 1 when one failed; an `Err`
/// (bad, missing or inconsistent input) writes nothing.
pub fn run(args: &MergeArgs) -> Result<ExitCode, MergeError> {
    let mut inputs = Vec::new();
    for file in &args.inputs {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| MergeError::Read {
            file: name.clone(),
            source,
        })?;
        inputs.push(read(&name, &text)?);
    }
    let merged = merge(&inputs)?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| MergeError::Write {
            file: dir.display().to_string(),
            source,
        })?;
    }
    crate::render::output::write_file_atomic(&args.out, document(&merged)).map_err(|source| {
        MergeError::Write {
            file: args.out.display().to_string(),
            source,
        }
    })?;
    if let Some(file) = &args.summary {
        append(file, &summary(&merged, true))?;
    }
    crate::out!("{}", summary(&merged, false));
    crate::outln!("merged JUnit in {}", args.out.display());
    Ok(ExitCode::from(merged.exit_code()))
}

fn append(file: &Path, text: &str) -> Result<(), MergeError> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| MergeError::Write {
            file: file.display().to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(i: usize, n: usize, plan: &str, sel: &str, cases: &[(&str, &str)]) -> String {
        let mut s = String::from("<?xml version=\"1.0\"?>\n<testsuites>\n");
        let _ = writeln!(
            s,
            "  <testsuite name=\"n3x.quick\" tests=\"{}\" failures=\"0\" errors=\"0\" timestamp=\"2026-01-0{i}T00:00:00\" hostname=\"runner-{i}\">",
            cases.len()
        );
        let _ = writeln!(
            s,
            "    <properties><property name=\"n3x.shard\" value=\"{i}/{n}\"/><property name=\"n3x.shard.plan\" value=\"{plan}\"/><property name=\"n3x.shard.selection\" value=\"{sel}\"/></properties>"
        );
        for (name, body) in cases {
            let _ = writeln!(
                s,
                "    <testcase name=\"{name}\" time=\"1.500\">{body}</testcase>"
            );
        }
        s.push_str("  </testsuite>\n</testsuites>\n");
        s
    }

    #[test]
    fn shards_merge_in_selection_order_with_their_cases_as_written() {
        let sel = "a,b,c";
        let one = read(
            "s1.xml",
            &shard(
                1,
                2,
                "p",
                sel,
                &[("c", "<failure message=\"x &amp; y\">tail</failure>")],
            ),
        )
        .unwrap();
        let two = read(
            "s2.xml",
            &shard(2, 2, "p", sel, &[("a", ""), ("b", "<skipped/>")]),
        )
        .unwrap();
        let m = merge(&[one, two]).unwrap();
        let names: Vec<&str> = m.cases.iter().map(|(c, _)| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(m.exit_code(), 1);
        let doc = document(&m);
        assert!(
            doc.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"4.500\""),
            "{doc}"
        );
        assert!(
            doc.contains("<failure message=\"x &amp; y\">tail</failure>"),
            "{doc}"
        );
        assert!(doc.contains("timestamp=\"2026-01-01T00:00:00\" hostname=\"runner-1,runner-2\""));
        // The merged document reads back with the same cases.
        let again = read("merged.xml", &doc).unwrap();
        assert_eq!(again.cases.len(), 3);
        let text = summary(&m, false);
        assert!(text.contains("3 tests from 2 files (all 2 shards of plan p, every test exactly once): 1 passed, 1 failed, 0 errors, 1 skipped"), "{text}");
        assert!(summary(&m, true).starts_with("| TEST | RESULT | TIME | FROM |\n|---|"));
    }

    #[test]
    fn a_missing_shard_a_duplicate_and_another_plan_are_refused_with_names() {
        let sel = "a,b,c";
        let one = read("s1.xml", &shard(1, 3, "p", sel, &[("a", "")])).unwrap();
        let two = read("s2.xml", &shard(2, 3, "p", sel, &[("b", "")])).unwrap();
        let e = merge(&[one.clone(), two.clone()]).unwrap_err().to_string();
        assert!(
            e.contains("no JUnit file for shard 3/3") && e.contains("c did not run"),
            "{e}"
        );
        let e = merge(&[one.clone(), one.clone()]).unwrap_err().to_string();
        assert!(
            e.contains("test a (n3x.quick) is in both s1.xml and s1.xml"),
            "{e}"
        );
        let other = read("s3.xml", &shard(3, 3, "q", sel, &[("c", "")])).unwrap();
        let e = merge(&[one, two, other]).unwrap_err().to_string();
        assert!(e.contains("s3.xml is shard 3/3 of another plan (3 shards, plan q) than s1.xml (3 shards, plan p)"), "{e}");
    }

    #[test]
    fn files_that_are_not_junit_say_where() {
        let e = read("x.xml", "<testsuites><testsuite")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.xml: not well-formed XML"), "{e}");
        let e = read("y.xml", "<?xml version=\"1.0\"?>\n<html/>")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("y.xml:2: the root element is <html>"), "{e}");
        let e = read("z.xml", "<testsuite name=\"s\">\n<testcase/></testsuite>")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("z.xml:2: a <testcase> has no name"), "{e}");
        // A plain JUnit file of another tool merges too (no shard checks).
        let plain = read(
            "p.xml",
            "<testsuite name=\"t\"><testcase name=\"x\" time=\"1,200.5\"/></testsuite>",
        )
        .unwrap();
        assert_eq!(plain.cases[0].time, 1200.5);
        assert_eq!(merge(&[plain]).unwrap().exit_code(), 0);
    }
}

//! Profiles: the single source of truth for machines, networks, the cluster and the matrix.
//!
//! [`Profiles::load`] reads every file under a `profiles/` directory, checks it with
//! [`validate`], and either returns the whole set or every problem found, each with its file,
//! line and fix. It reads files and nothing else: no clock, no environment.

pub mod error;
pub mod ident;
pub mod locate;
pub mod model;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::de::DeserializeOwned;

pub use error::{Problem, ProfileError};
pub use model::*;

/// The file names a profiles directory holds.
pub const MACHINES_FILE: &str = "machines.yaml";
/// The cluster file's name in the profiles directory.
pub const CLUSTER_FILE: &str = "cluster.yaml";
/// The matrix file's name in the profiles directory.
pub const MATRIX_FILE: &str = "matrix.yaml";
/// The network profiles' directory in the profiles directory.
pub const NETWORK_DIR: &str = "network";

/// A loaded and validated set of profiles.
#[derive(Debug, Clone)]
pub struct Profiles {
    /// The `profiles/` directory they were read from.
    pub root: PathBuf,
    /// `machines.yaml`.
    pub machines: IndexMap<String, Machine>,
    /// `cluster.yaml`.
    pub cluster: ClusterFile,
    /// Network profiles by name, sorted by name.
    pub networks: IndexMap<String, NetworkProfile>,
    /// `matrix.yaml`.
    pub matrix: MatrixFile,
}

/// The text of every file read, for locating problems.
#[derive(Debug, Default)]
pub struct Sources {
    texts: BTreeMap<PathBuf, String>,
    /// Network profiles whose file exists but could not be read or parsed (already reported).
    broken_networks: BTreeSet<String>,
}

impl Sources {
    /// The text of `file`, if it was read.
    pub fn text(&self, file: &Path) -> Option<&str> {
        self.texts.get(file).map(String::as_str)
    }

    /// True if the network profile `name` has a file that could not be loaded; references to
    /// it are not reported again as missing.
    pub fn is_broken_network(&self, name: &str) -> bool {
        self.broken_networks.contains(name)
    }
}

/// Finds the profiles directory: `explicit` if given, else `./profiles` or the nearest
/// `profiles/` above the current directory that holds a `cluster.yaml`.
pub fn find_root(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf, ProfileError> {
    if let Some(dir) = explicit {
        if dir.join(CLUSTER_FILE).is_file() {
            return Ok(dir.to_path_buf());
        }
        return Err(ProfileError::NotFound {
            searched: dir.display().to_string(),
        });
    }
    for dir in cwd.ancestors() {
        let candidate = dir.join("profiles");
        if candidate.join(CLUSTER_FILE).is_file() {
            return Ok(candidate);
        }
    }
    Err(ProfileError::NotFound {
        searched: cwd.join("profiles").display().to_string(),
    })
}

/// Every profile file under `root` that [`Profiles::load`] reads, in a stable order: machines,
/// cluster, matrix, then the network profiles by name.
pub fn profile_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [MACHINES_FILE, CLUSTER_FILE, MATRIX_FILE]
        .iter()
        .map(|f| root.join(f))
        .filter(|f| f.is_file())
        .collect();
    let mut networks: Vec<PathBuf> = fs::read_dir(root.join(NETWORK_DIR))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect()
        })
        .unwrap_or_default();
    networks.sort();
    files.extend(networks);
    files
}

/// Shows `path` relative to the current directory when it lies below it.
pub fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .map(|rel| {
            if rel.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                rel
            }
        })
        .unwrap_or_else(|| path.to_path_buf())
}

/// The repository's own profiles, for unit tests.
#[cfg(test)]
pub(crate) fn shipped() -> Profiles {
    Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
        .expect("the shipped profiles are valid")
}

impl Profiles {
    /// Reads and validates every profile under `root`.
    pub fn load(root: &Path) -> Result<Profiles, ProfileError> {
        Profiles::load_edited(root, None)
    }

    /// Like [`Profiles::load`], but the file `edited.0` is taken to hold `edited.1` instead of
    /// what is on disk: how an editor checks a change before it is saved. The edited file must
    /// be one `load` reads (machines, cluster, matrix or a network profile).
    pub fn load_edited(
        root: &Path,
        edited: Option<(&Path, &str)>,
    ) -> Result<Profiles, ProfileError> {
        let read = |file: &Path| match edited {
            Some((path, text)) if path == file => Ok(text.to_string()),
            _ => fs::read_to_string(file),
        };
        let mut sources = Sources::default();
        let mut problems = Vec::new();

        let machines: Option<MachinesFile> = read_yaml(
            &root.join(MACHINES_FILE),
            &read,
            &mut sources,
            &mut problems,
        );
        let cluster: Option<ClusterFile> =
            read_yaml(&root.join(CLUSTER_FILE), &read, &mut sources, &mut problems);
        let matrix: Option<MatrixFile> =
            read_yaml(&root.join(MATRIX_FILE), &read, &mut sources, &mut problems);

        let mut networks = IndexMap::new();
        let net_dir = root.join(NETWORK_DIR);
        match fs::read_dir(&net_dir) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                    .collect();
                files.sort_by_key(|f| f.file_stem().map(|s| s.to_os_string()));
                for file in files {
                    let name = file
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    match read_yaml::<NetworkProfile>(&file, &read, &mut sources, &mut problems) {
                        Some(mut profile) => {
                            profile.name = name.clone();
                            networks.insert(name, profile);
                        }
                        None => {
                            sources.broken_networks.insert(name);
                        }
                    }
                }
            }
            Err(e) => problems.push(Problem {
                file: display_path(&net_dir),
                position: None,
                field: None,
                message: format!("cannot read the network profile directory: {e}"),
                fix: "create profiles/network/ with one <name>.yaml per network profile".into(),
            }),
        }

        let (Some(machines), Some(cluster), Some(matrix)) = (machines, cluster, matrix) else {
            return Err(ProfileError::Invalid(problems));
        };
        let profiles = Profiles {
            root: root.to_path_buf(),
            machines: machines.machines,
            cluster,
            networks,
            matrix,
        };
        problems.extend(validate::check(&profiles, &sources));
        if problems.is_empty() {
            Ok(profiles)
        } else {
            Err(ProfileError::Invalid(problems))
        }
    }

    /// The file a network profile was read from.
    pub fn network_file(&self, name: &str) -> PathBuf {
        self.root.join(NETWORK_DIR).join(format!("{name}.yaml"))
    }

    /// The cluster node called `name`.
    pub fn node(&self, name: &str) -> Option<&ClusterNode> {
        self.cluster.nodes.iter().find(|n| n.name == name)
    }

    /// The server that initialises the cluster.
    pub fn init_server(&self) -> &ClusterNode {
        self.cluster
            .nodes
            .iter()
            .find(|n| n.init)
            .expect("validated profiles have exactly one initialising server")
    }
}

fn read_yaml<T: DeserializeOwned>(
    file: &Path,
    read: &dyn Fn(&Path) -> std::io::Result<String>,
    sources: &mut Sources,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let shown = display_path(file);
    let text = match read(file) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem {
                file: shown,
                position: None,
                field: None,
                message: format!("cannot read the file: {e}"),
                fix: "restore the file (git checkout -- profiles/) or check its permissions".into(),
            });
            return None;
        }
    };
    // The syntax first: a typed parse can stop at a type error before it reaches the
    // unclosed bracket or bad indentation that caused it.
    let parsed = match serde_yaml::from_str::<serde_yaml::Value>(&text) {
        Err(e) => Err(yaml_problem(&shown, &e, None)),
        Ok(doc) => {
            serde_yaml::from_str::<T>(&text).map_err(|e| yaml_problem(&shown, &e, Some(&doc)))
        }
    };
    sources.texts.insert(shown, text);
    match parsed {
        Ok(v) => Some(v),
        Err(problem) => {
            problems.push(problem);
            None
        }
    }
}

/// Turns a YAML/serde error into a problem with a position and a fix. `doc` is the parsed
/// document when the syntax is fine, to quote the offending value.
pub(crate) fn yaml_problem(
    file: &Path,
    err: &serde_yaml::Error,
    doc: Option<&serde_yaml::Value>,
) -> Problem {
    let mut position = err.location().map(|l| (l.line(), l.column()));
    let mut message = err.to_string();
    // "did not find expected ',' or ']' at line 9 column 7, while parsing a flow sequence at
    // line 8 column 12": an unclosed bracket or quote is fixed where it was opened, so point
    // there and say where the parser gave up. Other contexts (a block mapping) start far
    // above the mistake; the parser's own position is the better one there.
    let unclosed = message
        .split_once(", while ")
        .and_then(|(problem, context)| {
            let (what, opened_at) = split_position(context)?;
            let opened = match what {
                "parsing a flow sequence" => "this `[` is never closed",
                "parsing a flow mapping" => "this `{` is never closed",
                "scanning a quoted scalar" => "this quote is never closed",
                _ => return None,
            };
            let gave_up = split_position(problem)
                .map(|(m, (l, c))| format!("{m} (at line {l} column {c})"))
                .unwrap_or_else(|| problem.to_string());
            Some((format!("{opened}: {gave_up}"), opened_at))
        });
    if let Some((text, opened_at)) = unclosed {
        message = text;
        position = Some(opened_at);
    } else if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // serde prefixes the field path as "a.b.c: "; keep it as the field.
    let (field, mut message) = match message.split_once(": ") {
        Some((f, m)) if !f.contains(' ') && !f.is_empty() => (Some(f.to_string()), m.to_string()),
        _ => (None, message),
    };
    // ipnet says "invalid IP address syntax" for a network, std "invalid IPv4 address syntax"
    // for an address.
    let is_ip_error = message.contains("IP address") || message.contains("IPv4");
    let network = !message.contains("IPv4");
    if is_ip_error
        && let Some(value) = field
            .as_deref()
            .and_then(|f| doc.and_then(|d| value_at(d, f)))
    {
        message = describe_bad_ip(&value, network);
    }
    let fix = if message.starts_with("unknown field") {
        "remove the key or correct its spelling; the keys allowed here are listed above"
    } else if message.starts_with("missing field") {
        "add the missing key"
    } else if message.starts_with("unknown variant") {
        "use one of the values listed above"
    } else if message.starts_with("invalid type") {
        "give a value of the expected type"
    } else if is_ip_error && network {
        "write the network as address/prefix length, e.g. 192.168.1.0/24"
    } else if is_ip_error {
        "write the address as four numbers 0-255, e.g. 192.168.1.1"
    } else if message.starts_with("duplicate entry") || message.contains("duplicate") {
        "keep only one entry with that key"
    } else if message.starts_with("this ") {
        "close it on the line where it was opened (flow collections and quotes must be closed)"
    } else {
        "correct the YAML syntax at that position (indentation, a missing ':' or an unclosed bracket or quote)"
    };
    Problem {
        file: file.to_path_buf(),
        position,
        field,
        message,
        fix: fix.to_string(),
    }
}

/// Splits "text at line L column C" into the text and (L, C).
fn split_position(s: &str) -> Option<(&str, (usize, usize))> {
    let (text, at) = s.rsplit_once(" at line ")?;
    let (line, col) = at.split_once(" column ")?;
    Some((text, (line.trim().parse().ok()?, col.trim().parse().ok()?)))
}

/// The scalar at a serde field path such as `nodes.server-1.addresses.cluster` or
/// `variants[3].machine`, as text.
fn value_at(doc: &serde_yaml::Value, field: &str) -> Option<String> {
    let mut v = doc;
    for part in field.split('.') {
        let (key, indexes) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            v = v.get(key)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            v = v.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    match v {
        serde_yaml::Value::Null => Some(String::new()),
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Says what is wrong with a value that should be an IPv4 network (`a.b.c.d/len`) or address.
fn describe_bad_ip(value: &str, network: bool) -> String {
    let want = if network {
        "an IPv4 network"
    } else {
        "an IPv4 address"
    };
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, None),
    };
    let octets: Vec<&str> = addr.split('.').collect();
    let reason = if value.is_empty() {
        return format!("no value is given; expected {want}");
    } else if value.contains(char::is_whitespace) {
        "it spans several words; if a line below is indented too deep, YAML joined it to this value"
            .to_string()
    } else if octets.len() != 4 {
        format!(
            "an IPv4 address has four numbers separated by dots, not {}",
            octets.len()
        )
    } else if let Some(bad) = octets.iter().find(|o| o.parse::<u8>().is_err()) {
        format!("`{bad}` is not a number from 0 to 255")
    } else if let Some(p) = prefix.filter(|p| p.parse::<u8>().map_or(true, |n| n > 32)) {
        format!("the prefix length /{p} is not a number from 0 to 32")
    } else if network && prefix.is_none() {
        format!("a network needs its prefix length, e.g. {value}/24")
    } else if !network && prefix.is_some() {
        format!("an address has no prefix length; write {addr}")
    } else {
        "it is not written as a.b.c.d".to_string()
    };
    format!("`{value}` is not {want}: {reason}")
}

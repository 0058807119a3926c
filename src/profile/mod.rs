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

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::de::DeserializeOwned;

pub use error::{Problem, ProfileError};
pub use model::*;

/// The file names a profiles directory holds.
pub const MACHINES_FILE: &str = "machines.yaml";
pub const CLUSTER_FILE: &str = "cluster.yaml";
pub const MATRIX_FILE: &str = "matrix.yaml";
pub const NETWORK_DIR: &str = "network";

/// A loaded and validated set of profiles.
#[derive(Debug, Clone)]
pub struct Profiles {
    /// The `profiles/` directory they were read from.
    pub root: PathBuf,
    pub machines: IndexMap<String, Machine>,
    pub cluster: ClusterFile,
    /// Network profiles by name, sorted by name.
    pub networks: IndexMap<String, NetworkProfile>,
    pub matrix: MatrixFile,
}

/// The text of every file read, for locating problems.
#[derive(Debug, Default)]
pub struct Sources {
    texts: BTreeMap<PathBuf, String>,
}

impl Sources {
    /// The text of `file`, if it was read.
    pub fn text(&self, file: &Path) -> Option<&str> {
        self.texts.get(file).map(String::as_str)
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

/// Shows `path` relative to the current directory when it lies below it.
pub fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .map(|rel| if rel.as_os_str().is_empty() { PathBuf::from(".") } else { rel })
        .unwrap_or_else(|| path.to_path_buf())
}

impl Profiles {
    /// Reads and validates every profile under `root`.
    pub fn load(root: &Path) -> Result<Profiles, ProfileError> {
        let mut sources = Sources::default();
        let mut problems = Vec::new();

        let machines: Option<MachinesFile> =
            read_yaml(&root.join(MACHINES_FILE), &mut sources, &mut problems);
        let cluster: Option<ClusterFile> =
            read_yaml(&root.join(CLUSTER_FILE), &mut sources, &mut problems);
        let matrix: Option<MatrixFile> =
            read_yaml(&root.join(MATRIX_FILE), &mut sources, &mut problems);

        let mut networks = IndexMap::new();
        let net_dir = root.join(NETWORK_DIR);
        match fs::read_dir(&net_dir) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                    .collect();
                files.sort();
                for file in files {
                    let name = file
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if let Some(mut profile) =
                        read_yaml::<NetworkProfile>(&file, &mut sources, &mut problems)
                    {
                        profile.name = name.clone();
                        networks.insert(name, profile);
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
    sources: &mut Sources,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let shown = display_path(file);
    let text = match fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem {
                file: shown,
                position: None,
                field: None,
                message: format!("cannot read the file: {e}"),
                fix: "restore the file (git checkout -- profiles/) or check its permissions"
                    .into(),
            });
            return None;
        }
    };
    let parsed = serde_yaml::from_str::<T>(&text);
    sources.texts.insert(shown.clone(), text);
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(yaml_problem(&shown, &e));
            None
        }
    }
}

/// Turns a YAML/serde error into a problem with a position and a fix.
fn yaml_problem(file: &Path, err: &serde_yaml::Error) -> Problem {
    let position = err.location().map(|l| (l.line(), l.column()));
    let mut message = err.to_string();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // serde prefixes the field path as "a.b.c: "; keep it as the field.
    let (field, message) = match message.split_once(": ") {
        Some((f, m)) if !f.contains(' ') && !f.is_empty() => (Some(f.to_string()), m.to_string()),
        _ => (None, message),
    };
    let fix = if message.starts_with("unknown field") {
        "remove the key or correct its spelling; the keys allowed here are listed above"
    } else if message.starts_with("missing field") {
        "add the missing key"
    } else if message.starts_with("unknown variant") {
        "use one of the values listed above"
    } else if message.starts_with("invalid type") {
        "give a value of the expected type"
    } else if message.contains("IP address") || message.contains("IPv4") {
        "write an IPv4 address like 192.168.1.1, or a network like 192.168.1.0/24"
    } else if message.starts_with("duplicate entry") || message.contains("duplicate") {
        "keep only one entry with that key"
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

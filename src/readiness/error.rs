//! What can go wrong while probing a node, in words that end up in a stage's detail or hint.

use crate::cluster::control::ControlError;

/// Why a readiness probe got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The node's control channel did not carry the probe.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// A command printed something that is not the JSON it prints.
    #[error("cannot read `{what}` output as JSON: {source}")]
    Json {
        /// The command.
        what: &'static str,
        /// What the parser said.
        source: serde_json::Error,
    },
    /// `kubectl get nodes -o json` printed no node list.
    #[error("`kubectl get nodes -o json` printed no node list: {0}")]
    NodeList(serde_json::Error),
    /// `kubectl get nodes -o json` printed something else than a list.
    #[error("`kubectl get nodes -o json` printed a {0}, not a List")]
    NotAList(String),
    /// The node list, with what it says around it (cut short).
    #[error("{source}: {output}")]
    Listing {
        /// What is wrong with it.
        source: Box<ProbeError>,
        /// The command's output.
        output: String,
    },
}

/// Why the failure signatures (`src/readiness/signatures.yaml`) cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The file is not YAML of the expected shape.
    #[error("src/readiness/signatures.yaml: {0}")]
    Yaml(serde_yaml::Error),
    /// An entry is wrong.
    #[error("src/readiness/signatures.yaml: entry {entry} ({id}): {problem}")]
    Entry {
        /// Its 1-based position.
        entry: usize,
        /// Its id.
        id: String,
        /// What is wrong with it, and what would be right.
        problem: String,
    },
}

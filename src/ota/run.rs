//! Runs the programs of the OTA commands under the supervisor (argv only, own process group,
//! every byte in a log file) and hands back their exit status and output.

use std::path::{Path, PathBuf};

use super::OtaError;
use crate::supervise::{Spec, Supervisor};

/// A supervisor with a runtime to wait on it, and the directory the logs go to.
pub struct Runner {
    runtime: tokio::runtime::Runtime,
    supervisor: Supervisor,
    logs: PathBuf,
    count: usize,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("logs", &self.logs).finish()
    }
}

/// What a program did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// Whether it exited 0.
    pub success: bool,
    /// Its exit status as people read it.
    pub status: String,
    /// Everything it wrote (terminal line ends made `\n`).
    pub output: String,
    /// The log file.
    pub log: PathBuf,
}

impl Ran {
    /// The last `n` non-empty lines, indented, for an error message.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self
            .output
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("\n    {l}"))
            .collect()
    }
}

impl Runner {
    /// A runner whose logs go into `logs`.
    pub fn new(logs: &Path) -> Result<Self, OtaError> {
        std::fs::create_dir_all(logs)
            .map_err(super::io(format!("cannot create {}", logs.display())))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(super::io("cannot start the runtime"))?;
        let supervisor = Supervisor::new()
            .map_err(|e| OtaError::Tool(format!("cannot start the supervisor: {e}")))?;
        Ok(Self {
            runtime,
            supervisor,
            logs: logs.to_path_buf(),
            count: 0,
        })
    }

    /// Runs `argv` with `env` on top of n3x's environment; the log is named after `label`.
    pub fn run(
        &mut self,
        label: &str,
        argv: Vec<String>,
        env: &[(&str, &str)],
    ) -> Result<Ran, OtaError> {
        let program = argv.first().cloned().unwrap_or_default();
        if !crate::build::tools::installed(&program) {
            return Err(OtaError::Tool(crate::build::tools::missing(&program)));
        }
        self.count += 1;
        let log = self.logs.join(format!("{:02}-{label}.log", self.count));
        let mut spec = Spec::new(argv, log.clone());
        spec.size = (50, 250);
        spec.env = env.iter().map(|(k, v)| (k.into(), v.into())).collect();
        let supervisor = &self.supervisor;
        let status = self.runtime.block_on(async {
            let child = supervisor
                .spawn(spec)
                .map_err(|e| OtaError::Tool(format!("cannot start {program}: {e}")))?;
            Ok::<_, OtaError>(child.wait().await)
        })?;
        let output = std::fs::read(&log)
            .map(|b| String::from_utf8_lossy(&b).replace('\r', ""))
            .unwrap_or_default();
        Ok(Ran {
            success: status.success(),
            status: status.to_string(),
            output,
            log,
        })
    }

    /// Like [`Runner::run`], but a failure is an error naming `what` and the output's tail.
    pub fn must(&mut self, label: &str, what: &str, argv: Vec<String>) -> Result<Ran, OtaError> {
        let program = argv.first().cloned().unwrap_or_default();
        let ran = self.run(label, argv, &[])?;
        if !ran.success {
            return Err(OtaError::Tool(format!(
                "{program} failed ({}) while {what}; its log is {}:{}",
                ran.status,
                ran.log.display(),
                ran.tail(8)
            )));
        }
        Ok(ran)
    }
}

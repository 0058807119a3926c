//! Which accelerator the nodes run with. `/dev/kvm` opening is not enough: on a nested
//! hypervisor that cannot run a stock kernel a guest crawls, then dies. So a probe boots the
//! quick image's kernel into its initramfs under KVM (`n3x.probe`: it prints a marker and
//! powers off) with a deadline; without the marker in time, TCG it is. The verdict is cached
//! per host (kernel release and CPU model) in the state directory.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::base::Base;
use crate::build::quick::guest::PROBE_MARKER;
use crate::supervise::{Output, Spec, Supervisor};

/// How long the KVM probe may take to print its marker.
pub const PROBE_DEADLINE: Duration = Duration::from_secs(20);

/// A QEMU accelerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// QEMU's own translator: slower, works everywhere.
    Tcg,
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        })
    }
}

impl FromStr for Accel {
    type Err = super::ClusterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kvm" => Ok(Accel::Kvm),
            "tcg" => Ok(Accel::Tcg),
            other => Err(super::ClusterError::refused(
                format!("unknown accelerator `{other}`"),
                "use --accel kvm, tcg or auto",
            )),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Verdict {
    host: String,
    accel: Accel,
    reason: String,
}

/// What identifies this host for the cached verdict.
fn host_id() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .map(str::to_string)
        .unwrap_or_default();
    format!("{} | {}", release.trim(), cpu.trim())
}

/// The accelerator to use: TCG without `/dev/kvm`, else the cached verdict, else a probe.
pub async fn choose(base: &Base, state: &Path, supervisor: &Supervisor) -> Accel {
    if !Path::new("/dev/kvm").exists() {
        return Accel::Tcg;
    }
    let cache = state.join("cache/accel.json");
    let host = host_id();
    if let Some(v) = std::fs::read_to_string(&cache)
        .ok()
        .and_then(|t| serde_json::from_str::<Verdict>(&t).ok())
        .filter(|v| v.host == host)
    {
        return v.accel;
    }
    let (accel, reason) = probe(base, state, supervisor).await;
    if let Some(parent) = cache.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let verdict = Verdict {
        host,
        accel,
        reason,
    };
    if let Ok(json) = serde_json::to_string_pretty(&verdict) {
        let _ = crate::render::output::write_file_atomic(&cache, json + "\n");
    }
    accel
}

/// The argv of the probe boot.
pub fn probe_argv(base: &Base) -> Vec<String> {
    vec![
        "qemu-system-x86_64".into(),
        "-accel".into(),
        "kvm".into(),
        "-M".into(),
        "microvm,rtc=on".into(),
        "-m".into(),
        "256".into(),
        "-display".into(),
        "none".into(),
        "-nodefaults".into(),
        "-no-user-config".into(),
        "-no-reboot".into(),
        "-kernel".into(),
        base.vmlinux().display().to_string(),
        "-initrd".into(),
        base.initrd().display().to_string(),
        "-append".into(),
        // Without the timing hints a loaded host can keep even this boot in calibration.
        format!(
            "console=ttyS0 panic=-1 n3x.probe {}",
            super::qemu::timing_args(super::qemu::host_tsc_khz())
        ),
        "-chardev".into(),
        "stdio,id=serial0,signal=off".into(),
        "-serial".into(),
        "chardev:serial0".into(),
    ]
}

async fn probe(base: &Base, state: &Path, supervisor: &Supervisor) -> (Accel, String) {
    let log = state.join("cache/accel-probe.log");
    let child = match supervisor.spawn(Spec::new(probe_argv(base), log.clone())) {
        Ok(c) => c,
        Err(e) => return (Accel::Tcg, format!("the KVM probe could not start: {e}")),
    };
    let Some(mut lines) = child.take_lines() else {
        return (Accel::Tcg, "no probe output".into());
    };
    let found = tokio::time::timeout(PROBE_DEADLINE, async {
        while let Some(out) = lines.recv().await {
            if let Output::Line { text, .. } = out
                && text.contains(PROBE_MARKER)
            {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    child.cancel();
    child.wait().await;
    if found {
        (Accel::Kvm, "a KVM guest booted its kernel".into())
    } else {
        (
            Accel::Tcg,
            format!(
                "a KVM guest did not reach its initramfs within {}s (see {})",
                PROBE_DEADLINE.as_secs(),
                log.display()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accelerators_parse_and_print() {
        assert_eq!("tcg".parse::<Accel>().unwrap(), Accel::Tcg);
        assert_eq!(Accel::Kvm.to_string(), "kvm");
        assert!(
            "xen"
                .parse::<Accel>()
                .unwrap_err()
                .to_string()
                .contains("--accel kvm, tcg or auto")
        );
    }
}

//! A QEMU's resident memory and CPU use, read from `/proc/<pid>/status` and `/proc/<pid>/stat`.

use std::cell::Cell;
use std::time::Instant;

/// The resident memory of a process in MiB, from `/proc/<pid>/status`.
pub fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024)
}

/// The CPU time (user + system, in clock ticks) in the text of `/proc/<pid>/stat`.
pub fn cpu_ticks_of(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses: fields are counted after the last `)`.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `)`: state is field 3 of the whole line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The CPU time of a process in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    cpu_ticks_of(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// A process's CPU use between two readings, in percent of one core (a guest with two busy
/// vCPUs shows 200 %). Reading it through a shared reference (a view reads it as it draws)
/// keeps the reading inside.
#[derive(Debug, Clone, Default)]
pub struct CpuMeter {
    last: Cell<Option<(u32, u64, Instant)>>,
    percent: Cell<Option<f64>>,
}

impl CpuMeter {
    /// Reads the process's CPU time now; the use since the previous reading (of the same
    /// process) becomes [`CpuMeter::percent`]. Readings closer than half a second apart
    /// keep the previous figure.
    pub fn sample(&self, pid: u32) -> Option<f64> {
        let now = Instant::now();
        let Some(ticks) = cpu_ticks(pid) else {
            self.last.set(None);
            self.percent.set(None);
            return None;
        };
        match self.last.get() {
            Some((p, before, at)) if p == pid => {
                let secs = now.duration_since(at).as_secs_f64();
                if secs < 0.5 {
                    return self.percent.get();
                }
                self.percent
                    .set(Some(percent(ticks.saturating_sub(before), secs)));
                self.last.set(Some((pid, ticks, now)));
            }
            _ => self.last.set(Some((pid, ticks, now))),
        }
        self.percent.get()
    }

    /// The last figure.
    pub fn percent(&self) -> Option<f64> {
        self.percent.get()
    }
}

/// `ticks` of CPU time over `secs` seconds, in percent of one core.
pub fn percent(ticks: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    ticks as f64 / ticks_per_second() / secs * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "4242 (qemu (x86) sys) S 1 4242 4242 0 -1 4194560 2000 0 0 0 731 269 0 0 20 0 3 0 100 0 0";
        assert_eq!(cpu_ticks_of(stat), Some(1000));
        assert_eq!(cpu_ticks_of("garbage"), None);
    }

    #[test]
    fn a_busy_process_shows_its_cpu_use() {
        let pid = std::process::id();
        let meter = CpuMeter::default();
        assert_eq!(meter.sample(pid), None, "one reading is no rate");
        let start = Instant::now();
        let mut x: u64 = 0;
        while start.elapsed().as_millis() < 700 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let busy = meter.sample(pid).unwrap();
        assert!(busy > 0.0, "a spinning thread used {busy} %");
        assert!(rss_mib(pid).is_some());
        assert_eq!(percent(100, 0.0), 0.0);
    }
}

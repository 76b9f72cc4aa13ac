//! The processes a benchmark measures: pinning them to cores and reading the
//! CPU time they used (Linux `/proc`).

// Each bench uses part of this module.
#![allow(dead_code)]

use std::time::Duration;

/// Pins every thread of process `pid` to `cpus` (a `taskset` list); false
/// when `taskset` is missing or refuses.
pub fn pin(pid: u32, cpus: &str) -> bool {
    std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// User plus system CPU time process `pid` has used so far (all its
/// threads), in the kernel's clock ticks of 10 ms.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) in `(...)`:
    // utime and stime are the 14th and 15th of the whole line.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

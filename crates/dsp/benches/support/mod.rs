//! Helpers shared by the DSP benchmarks.

/// CPU time this thread has run, in seconds, where Linux tells (`/proc/thread-self/schedstat`):
/// unlike wall time, it does not count the time other processes held the CPU.
pub fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 * 1e-9)
}

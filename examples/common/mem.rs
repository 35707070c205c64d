//! Peak resident memory of this process.

/// The process's peak resident set size in bytes (`VmHWM` from
/// `/proc/self/status`), or `None` where that file does not exist.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

//! Resident memory of this process (Linux `/proc/self/status`; `None`
//! elsewhere).

/// A `/proc/self/status` field in bytes (`VmHWM`, `RssAnon`, `RssFile`).
pub fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The process's peak resident set size in bytes (`VmHWM`).
pub fn peak_rss() -> Option<u64> {
    status_bytes("VmHWM")
}

/// Resets the peak resident set size to the current one (Linux >= 4.0:
/// `echo 5 > /proc/self/clear_refs`), so that [`peak_rss`] measures what
/// follows. Returns whether it worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

//! The worker threads of a command.
//!
//! `--threads N` asks for `N` workers, `1 <= N <=` [`MAX_THREADS`] (checked
//! when the command line is parsed); the default is one per CPU. A command
//! never starts more workers than it has work items when it knows their
//! number up front (files and folders; a shard's segments are counted only as
//! they are read), and each worker holds at most one segment at a time.

use anyhow::{Context, Result};

/// Most worker threads `--threads` accepts. Far above the CPUs of any machine
/// this runs on, far below what would exhaust memory or the scheduler.
pub const MAX_THREADS: u16 = 256;

/// How many workers were asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Workers {
    requested: Option<usize>,
}

impl Workers {
    /// `requested` from `--threads` (already checked to be in
    /// `1..=MAX_THREADS`), or `None` for one per CPU.
    pub fn new(requested: Option<u16>) -> Workers {
        Workers { requested: requested.map(usize::from) }
    }

    /// Workers for `items` work items (`None`: not known up front).
    pub fn count(&self, items: Option<usize>) -> usize {
        let wanted =
            self.requested.unwrap_or_else(|| std::thread::available_parallelism().map(usize::from).unwrap_or(1));
        match items {
            Some(n) => wanted.min(n.max(1)),
            None => wanted,
        }
    }

    /// Runs `work` on a pool of [`Workers::count`]`(items)` threads (rayon's
    /// parallel iterators inside it use that pool).
    pub fn run<T: Send>(&self, items: Option<usize>, work: impl FnOnce() -> T + Send) -> Result<T> {
        let threads = self.count(items);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("worker-{i}"))
            .build()
            .with_context(|| format!("cannot start {threads} worker threads"))?;
        Ok(pool.install(work))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_workers_than_items() {
        let w = Workers::new(Some(200));
        assert_eq!(w.count(Some(2)), 2);
        assert_eq!(w.count(Some(0)), 1);
        assert_eq!(w.count(None), 200);
        assert_eq!(Workers::new(Some(3)).count(Some(10)), 3);
        assert!(Workers::new(None).count(None) >= 1);
        assert_eq!(w.run(Some(2), rayon::current_num_threads).unwrap(), 2);
    }
}

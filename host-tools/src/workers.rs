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
        Ok(self.pool(items)?.install(work))
    }

    /// A pool of [`Workers::count`]`(items)` threads.
    pub fn pool(&self, items: Option<usize>) -> Result<rayon::ThreadPool> {
        let threads = self.count(items);
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("worker-{i}"))
            .build()
            .with_context(|| format!("cannot start {threads} worker threads"))
    }
}

/// Runs `work` on every item of `items` on `pool`'s threads and hands the
/// results to `sink` on the calling thread, in the order of `items`.
///
/// The items are taken from `items` on the calling thread as room frees up: at
/// most `window` items are in flight (taken but whose result has not been handed
/// to `sink`), so memory is at most `window` items and results whatever the
/// number of items, and the results that finish early wait in a reorder buffer
/// of at most `window`. The first error of `sink` stops taking items; work in
/// flight is finished and its results dropped. A panic in `work` is resumed on
/// the calling thread.
pub fn for_each_ordered<T, R, E>(
    pool: &rayon::ThreadPool,
    items: impl Iterator<Item = T>,
    window: usize,
    work: impl Fn(T) -> R + Sync,
    mut sink: impl FnMut(R) -> std::result::Result<(), E>,
) -> std::result::Result<(), E>
where
    T: Send,
    R: Send,
{
    use std::collections::BTreeMap;
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
    let window = window.max(1);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, std::thread::Result<R>)>();
    let work = &work;
    pool.in_place_scope(|scope| {
        let mut ready: BTreeMap<usize, R> = BTreeMap::new();
        let (mut taken, mut done) = (0usize, 0usize);
        // Waits for one result, then hands over every result that is next in order.
        let mut settle = |ready: &mut BTreeMap<usize, R>, done: &mut usize| -> std::result::Result<(), E> {
            let (index, result) = rx.recv().expect("every task sends its result");
            ready.insert(index, result.unwrap_or_else(|panic| resume_unwind(panic)));
            while let Some(result) = ready.remove(done) {
                *done += 1;
                sink(result)?;
            }
            Ok(())
        };
        for item in items {
            while taken - done >= window {
                settle(&mut ready, &mut done)?;
            }
            let tx = tx.clone();
            let index = taken;
            scope.spawn(move |_| {
                let _ = tx.send((index, catch_unwind(AssertUnwindSafe(|| work(item)))));
            });
            taken += 1;
        }
        while done < taken {
            settle(&mut ready, &mut done)?;
        }
        Ok(())
    })
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

    #[test]
    fn ordered_results_keep_the_input_order() {
        let pool = Workers::new(Some(3)).pool(None).unwrap();
        let mut seen = Vec::new();
        let work = |i: u64| {
            std::thread::sleep(std::time::Duration::from_micros((i * 7919) % 500));
            i * i
        };
        for_each_ordered(&pool, 0..200u64, 4, work, |r| -> Result<(), ()> {
            seen.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, (0..200u64).map(|i| i * i).collect::<Vec<_>>());
        // The first sink error stops it.
        let mut count = 0;
        let stopped = for_each_ordered(
            &pool,
            0..200u64,
            4,
            |i| i,
            |i| {
                count += 1;
                if i == 10 {
                    Err(i)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!((stopped, count), (Err(10), 11));
    }
}

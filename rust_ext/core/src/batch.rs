//! Batch execution: map a per-row function over many rows on a rayon pool, keeping row order,
//! turning any panic into that row's error so that no panic escapes the core.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rayon::prelude::*;

use crate::error::{CoreError, Result};

/// Run `f` over `items` on `threads` threads (0 = all cores, and never more than the cores), in order.
pub fn par_map<T, R, F>(items: &[T], threads: usize, f: F) -> Result<Vec<Result<R>>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R> + Sync,
{
    let guarded = |item: &T| {
        catch_unwind(AssertUnwindSafe(|| f(item))).unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(CoreError::InvalidInstruction(format!("internal error while processing this row: {msg}")))
        })
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if threads == 0 { cores } else { threads.min(cores) };
    if threads == 1 || items.len() < 2 {
        return Ok(items.iter().map(guarded).collect());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| CoreError::InvalidConfig(format!("cannot start {threads} threads: {e}")))?;
    Ok(pool.install(|| items.par_iter().with_min_len(64).map(guarded).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_contains_panics() {
        let items: Vec<u32> = (0..1000).collect();
        let out = par_map(&items, 2, |&x| if x == 500 { panic!("boom") } else { Ok(x * 2) }).unwrap();
        assert_eq!(out.len(), 1000);
        assert_eq!(out[10], Ok(20));
        assert!(out[500].as_ref().unwrap_err().to_string().contains("boom"));
    }
}

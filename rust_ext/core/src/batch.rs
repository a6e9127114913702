//! Batch execution: map a per-row function over many rows on a rayon pool, keeping row order,
//! turning any panic into that row's internal error so that no panic escapes the core.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rayon::prelude::*;

use crate::error::{CoreError, Result};

/// Run `f`, a panic in it becoming [`CoreError::Internal`] with the panic's message: a bug of
/// the core, reported as such rather than as the caller's mistake.
pub fn guard<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(CoreError::Internal(msg))
    })
}

/// Run `f` over `items` on `threads` threads (0 = all cores, and never more than the cores), in order.
pub fn par_map<T, R, F>(items: &[T], threads: usize, f: F) -> Result<Vec<Result<R>>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R> + Sync,
{
    let guarded = |item: &T| guard(|| f(item));
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
mod tests;

//! The one parallel scheduler: every `par_*` method, the linear algebra and
//! the parallel fold run their work through [`par_tasks`].
//!
//! A call is `n` numbered tasks and a per-worker state. At most one worker
//! per rayon thread (and never more workers than tasks) is started; each
//! makes its state once, then pulls task numbers from a shared counter
//! until none is left, so a worker that is slowed down (a core busy
//! elsewhere) simply takes fewer tasks. The states are merged once at the
//! end, in no particular order: rayon's fold/reduce idiom, with exactly one
//! state per worker (a per-thread buffer or accumulator is allocated once
//! per worker, never per task).
//!
//! A task that fails (or asks to stop) ends the call: the other workers
//! stop before their next task, and the first error is returned. So does
//! a [`StopToken`](crate::StopToken) that the caller watches.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::error::PatchError;
use crate::stop::watched;

/// Runs `task(&mut state, t)` for every `t` in `0..n` on up to
/// `rayon::current_num_threads()` workers, each with a state made by
/// `init` once, and merges the workers' states with `merge`.
///
/// Task numbers are handed out in increasing order, but tasks run in no
/// particular order. With `n == 0` no task runs and the result is one
/// `init()`.
///
/// The [`StopToken`](crate::StopToken) watched by the caller (if any) is
/// checked before every task, and watched on every worker (so that the
/// crate's calls inside a task check it too).
///
/// # Errors
///
/// The first error of `init` or `task`, or [`PatchError::Interrupted`] if
/// the watched token is stopped; the other workers then stop before their
/// next task (a task already running finishes).
///
/// # Panics
///
/// A panic in `init`, `task` or `merge` propagates (rayon's rule).
pub(crate) fn par_tasks<T, E, I, G, M>(n: usize, init: I, task: G, merge: M) -> Result<T, E>
where
    T: Send,
    E: Send + From<PatchError>,
    I: Fn() -> Result<T, E> + Sync + Send,
    G: Fn(&mut T, usize) -> Result<(), E> + Sync + Send,
    M: Fn(T, T) -> T + Sync + Send,
{
    let workers = rayon::current_num_threads().min(n).max(1);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let token = watched();
    let work = |state: &mut T| -> Result<(), E> {
        while !stop.load(Ordering::Relaxed) {
            let t = next.fetch_add(1, Ordering::Relaxed);
            if t >= n {
                break;
            }
            token.check()?;
            task(state, t)?;
        }
        Ok(())
    };
    let worker = |_| -> Result<T, E> {
        token
            .watch(|| {
                let mut state = init()?;
                work(&mut state)?;
                Ok(state)
            })
            .inspect_err(|_| stop.store(true, Ordering::Relaxed))
    };
    if workers == 1 {
        return worker(0);
    }
    (0..workers)
        .into_par_iter()
        .with_max_len(1)
        .map(worker)
        .reduce_with(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => Ok(merge(a, b)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        })
        .expect("at least one worker")
}

#[cfg(test)]
mod tests {
    use super::par_tasks;
    use crate::error::PatchError;
    use crate::stop::StopToken;

    #[test]
    fn every_task_once_and_states_merged() {
        let seen = par_tasks(
            1000,
            || Ok::<_, PatchError>(Vec::new()),
            |v, t| {
                v.push(t);
                Ok(())
            },
            |mut a, b| {
                a.extend(b);
                a
            },
        )
        .unwrap();
        let mut seen = seen;
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_stops_the_call() {
        let r = par_tasks(
            1 << 20,
            || Ok(0usize),
            |n, t| {
                *n += 1;
                if t == 10 {
                    Err(PatchError::Overflow { quantity: "ten" })
                } else {
                    Ok(())
                }
            },
            |a, b| a + b,
        );
        assert_eq!(r, Err(PatchError::Overflow { quantity: "ten" }));
    }

    #[test]
    fn no_tasks_gives_one_initial_state() {
        let r = par_tasks(0, || Ok::<_, PatchError>(7), |_, _| Ok(()), |a, b| a + b);
        assert_eq!(r, Ok(7));
    }

    #[test]
    fn a_stopped_token_stops_the_workers() {
        let token = StopToken::new();
        let stopper = token.clone();
        let r = token.watch(|| {
            par_tasks(
                1 << 30,
                || Ok(0usize),
                |n, _| {
                    *n += 1;
                    // The crate's own checks, on a worker, see the token.
                    crate::stop::check()?;
                    if *n == 1000 {
                        stopper.stop();
                    }
                    Ok(())
                },
                |a, b| a + b,
            )
        });
        assert_eq!(r, Err(PatchError::Interrupted));
    }
}

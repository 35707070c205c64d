//! Stopping a long call from another thread: [`StopToken`].
//!
//! A call that runs for minutes (the linear algebra of every window of a
//! large image, a `to_matrix` of gigabytes, a parallel fold) can be stopped
//! short: run it under [`StopToken::watch`], and call [`StopToken::stop`]
//! from any thread. The crate checks the token between its units of work
//! (a chunk of rows, a block of a copy, a tile of the displacement sums or
//! of the FFT, a band of a fold: at most tens of milliseconds each) on
//! every worker, and the call returns [`PatchError::Interrupted`]. Nothing
//! is left half-built: a result being allocated is dropped, the sources are
//! only read. A destination you passed to `write_rows` holds part of the
//! rows. Adding to a [`Fold`] is never stopped half-way (a fold with some
//! of its bands added would be wrong): it completes, and the next watched
//! call stops.
//!
//! This is what the Python package does with Ctrl-C: the call runs under a
//! token on the pool while the calling thread checks for signals.
//!
//! [`Fold`]: crate::Fold

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::PatchError;

/// A flag that stops the calls of this crate running under
/// [`watch`](Self::watch); clones share the flag.
///
/// `try_` methods stopped this way return [`PatchError::Interrupted`]; the
/// methods without `try_` panic with its message, as for any other error.
/// Your own callbacks (of `for_each_chunk` and friends) can read
/// [`is_stopped`](Self::is_stopped) and return a `ControlFlow` to stop
/// themselves.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ndarray::Array2;
/// use ndarray_patches::prelude::*;
/// use ndarray_patches::{PatchError, StopToken};
///
/// let img = Array2::from_shape_fn((300, 300), |(i, j)| (i * j % 251) as f32);
/// let token = StopToken::new();
/// let stopper = token.clone();
/// let t = std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(1));
///     stopper.stop();
/// });
/// // Runs to the end, or stops: never half a result.
/// match token.watch(|| img.patches(9).try_to_matrix()) {
///     Ok(m) => assert_eq!(m.dim(), (292 * 292, 81)),
///     Err(e) => assert_eq!(e, PatchError::Interrupted),
/// }
/// t.join().unwrap();
///
/// // A stopped token stops every call at its first check.
/// assert!(token.is_stopped());
/// let r = token.watch(|| img.patches(9).try_gram());
/// assert_eq!(r.unwrap_err(), PatchError::Interrupted);
/// // Outside `watch` the token has no effect.
/// assert_eq!(img.patches(9).try_gram().unwrap().dim(), (81, 81));
/// ```
#[derive(Clone, Debug, Default)]
pub struct StopToken(Arc<AtomicBool>);

thread_local! {
    /// The token watched by the calls made on this thread, if any.
    static WATCHED: RefCell<Option<StopToken>> = const { RefCell::new(None) };
}

/// Restores the token watched before a [`StopToken::watch`], even if the
/// call panics.
struct Restore(Option<StopToken>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        WATCHED.with(|w| *w.borrow_mut() = previous);
    }
}

impl StopToken {
    /// A token that is not stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!ndarray_patches::StopToken::new().is_stopped());
    /// ```
    pub fn new() -> Self {
        StopToken::default()
    }

    /// Stops every call watching this token (or a clone of it), now and
    /// from now on: each returns [`PatchError::Interrupted`] at its next
    /// check. A token cannot be restarted; make a new one.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = ndarray_patches::StopToken::new();
    /// let u = t.clone();
    /// u.stop();
    /// assert!(t.is_stopped());
    /// ```
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`stop`](Self::stop) was called on this token or a clone.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!ndarray_patches::StopToken::new().is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Runs `f` on this thread with this token watched: every call of this
    /// crate that `f` makes (on this thread, and on the workers those calls
    /// start) checks the token between its units of work and ends with
    /// [`PatchError::Interrupted`] once it is stopped. Watches nest: the
    /// innermost token is the one checked, and the previous one is watched
    /// again when `f` returns or panics.
    ///
    /// A call that `f` hands to another thread itself (`std::thread::spawn`,
    /// `rayon::spawn`) is not watched; wrap that thread's work in `watch`
    /// too.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::Array1;
    /// use ndarray_patches::prelude::*;
    /// use ndarray_patches::StopToken;
    ///
    /// let a = Array1::from_iter(0..100i64);
    /// let n = StopToken::new().watch(|| a.patches(4).try_to_matrix().map(|m| m.nrows()));
    /// assert_eq!(n, Ok(97));
    /// ```
    pub fn watch<R>(&self, f: impl FnOnce() -> R) -> R {
        let previous = WATCHED.with(|w| w.borrow_mut().replace(self.clone()));
        let _restore = Restore(previous);
        f()
    }

    /// `Err(Interrupted)` if this token is stopped.
    pub(crate) fn check(&self) -> Result<(), PatchError> {
        if self.is_stopped() {
            Err(PatchError::Interrupted)
        } else {
            Ok(())
        }
    }
}

/// The token watched on this thread: captured when a call starts, then
/// checked by its workers (which run on other threads) with
/// [`Watched::check`].
pub(crate) fn watched() -> Watched {
    Watched(WATCHED.with(|w| w.borrow().clone()))
}

/// The token a call watches, if any (see [`watched`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Watched(Option<StopToken>);

impl Watched {
    /// `Err(Interrupted)` if the watched token is stopped.
    pub(crate) fn check(&self) -> Result<(), PatchError> {
        self.0.as_ref().map_or(Ok(()), StopToken::check)
    }

    /// Runs `f` with the same token watched on this thread (a worker of a
    /// call started elsewhere), so that the calls `f` makes check it too.
    pub(crate) fn watch<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(t) => t.watch(f),
            None => f(),
        }
    }
}

/// Runs `f` with no token watched on this thread (nor on the workers of
/// the calls it makes): for work that must not stop half-way, such as
/// adding rows to a fold (a fold with some of its bands added would be
/// wrong, and usable).
pub(crate) fn unwatched<R>(f: impl FnOnce() -> R) -> R {
    let previous = WATCHED.with(|w| w.borrow_mut().take());
    let _restore = Restore(previous);
    f()
}

/// `Err(Interrupted)` if the token watched on this thread is stopped: for
/// the loops that run on the calling thread.
pub(crate) fn check() -> Result<(), PatchError> {
    WATCHED.with(|w| w.borrow().as_ref().map_or(Ok(()), StopToken::check))
}

#[cfg(test)]
mod tests {
    use super::{check, unwatched, watched, StopToken};
    use crate::error::PatchError;

    #[test]
    fn watches_nest_and_restore() {
        let outer = StopToken::new();
        let inner = StopToken::new();
        inner.stop();
        assert_eq!(check(), Ok(()));
        outer.watch(|| {
            assert_eq!(check(), Ok(()));
            inner.watch(|| {
                assert_eq!(check(), Err(PatchError::Interrupted));
                unwatched(|| assert_eq!(check(), Ok(())));
                assert_eq!(check(), Err(PatchError::Interrupted));
            });
            assert_eq!(check(), Ok(()));
            assert_eq!(watched().check(), Ok(()));
        });
        let r = std::panic::catch_unwind(|| inner.watch(|| panic!("in f")));
        assert!(r.is_err());
        assert_eq!(check(), Ok(()));
    }
}

//! [`RawLock`], a lock without data for allocators shared by threads, and [`SpinLock`], the
//! one every crate of the workspace uses (`SyncFreeList`'s list, alloc-global's `Locked`).

use core::fmt;
use core::hint::spin_loop;
use core::sync::atomic::{AtomicBool, Ordering};

/// A mutual-exclusion lock without data: `lock` returns a guard, dropping the guard unlocks.
///
/// The lock of an allocator shared by threads (alloc-global's `Locked<A, L: RawLock>`
/// takes any). Implemented by [`SpinLock`] here and by alloc-global's `StdMutex` (feature
/// `std`); implement it for another lock (a `lock_api` mutex, an interrupt-disabling lock
/// in a kernel) to use that one.
///
/// # Safety
///
/// Implementors promise:
///
/// 1. Mutual exclusion: while a guard returned by [`lock`](Self::lock) is alive, no other
///    call to `lock` on the same lock returns.
/// 2. Ordering: everything a thread did before dropping a guard happens-before everything
///    the thread that takes the lock next does after its `lock` returns (a Release unlock
///    and an Acquire lock).
///
/// Allocators shared through a lock (alloc-global's `Locked`) rely on these to hand a
/// non-`Sync` allocator to one thread at a time.
///
/// # Examples
///
/// ```
/// use alloc_core::{RawLock, SpinLock};
///
/// let lock = SpinLock::new();
/// {
///     let _guard = lock.lock();
///     assert!(lock.is_locked());
/// }
/// assert!(!lock.is_locked());
/// ```
pub unsafe trait RawLock {
    /// Held while the lock is; dropping it unlocks.
    type Guard<'a>
    where
        Self: 'a;

    /// Waits until the lock is free, takes it, and returns the guard that releases it.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{RawLock, SpinLock};
    ///
    /// let lock = SpinLock::new();
    /// let guard = lock.lock();
    /// drop(guard);
    /// let _again = lock.lock();
    /// ```
    fn lock(&self) -> Self::Guard<'_>;
}

/// A test-and-test-and-set spin lock: one atomic compare-exchange to lock, one store to
/// unlock. The lock of `SyncFreeList` and the default lock of alloc-global's `Locked`.
///
/// Waiters spin on a plain load (so the cache line is not bounced while the holder works),
/// with [`spin_loop`] hints; after 64 spins, with feature `std`, they
/// [yield](std::thread::yield_now) so that a holder that was preempted can finish. It works
/// without `std` and never allocates. It is not fair and not re-entrant: taking it again
/// on the thread that holds it spins forever (alloc-global's `Locked` detects that in
/// debug builds).
///
/// # Examples
///
/// ```
/// use alloc_core::{RawLock, SpinLock};
///
/// static LOCK: SpinLock = SpinLock::new();
/// let guard = LOCK.lock();
/// assert!(LOCK.is_locked());
/// drop(guard);
/// assert!(!LOCK.is_locked());
/// ```
pub struct SpinLock {
    /// `true` while a [`SpinGuard`] is alive.
    locked: AtomicBool,
}

impl SpinLock {
    /// An unlocked lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = alloc_core::SpinLock::new();
    /// assert!(!lock.is_locked());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            locked: AtomicBool::new(false),
        }
    }

    /// Whether some thread holds the lock now (a snapshot, for diagnostics: the answer may
    /// be stale by the time it is read).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{RawLock, SpinLock};
    ///
    /// let lock = SpinLock::new();
    /// let _guard = lock.lock();
    /// assert!(lock.is_locked());
    /// ```
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }

    /// Spins until the lock looks free, then tries to take it; repeats until it succeeds.
    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                if spins < 64 {
                    spins += 1;
                    spin_loop();
                } else {
                    // The holder may have been preempted: give it the core.
                    #[cfg(feature = "std")]
                    std::thread::yield_now();
                    #[cfg(not(feature = "std"))]
                    spin_loop();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl Default for SpinLock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SpinLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinLock")
            .field("locked", &self.is_locked())
            .finish()
    }
}

// SAFETY: (1) `lock` returns only after its compare-exchange turned `false` into `true`,
// and only the guard's drop stores `false` again, so two guards are never alive together;
// (2) the compare-exchange that locks is Acquire and the store that unlocks is Release, on
// the same atomic.
unsafe impl RawLock for SpinLock {
    type Guard<'a> = SpinGuard<'a>;

    #[inline]
    fn lock(&self) -> SpinGuard<'_> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }
}

/// Proof that a [`SpinLock`] is held; dropping it unlocks (also while unwinding, so a
/// panic in the critical section does not leave the lock taken).
///
/// # Examples
///
/// ```
/// use alloc_core::{RawLock, SpinLock};
///
/// let lock = SpinLock::new();
/// let guard: alloc_core::SpinGuard<'_> = lock.lock();
/// drop(guard);
/// assert!(!lock.is_locked());
/// ```
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinGuard<'a> {
    lock: &'a SpinLock,
}

impl Drop for SpinGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::{RawLock, SpinLock};
    use std::thread;

    #[test]
    fn guard_unlocks_on_unwind() {
        let lock = SpinLock::new();
        let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            let _guard = lock.lock();
            panic!("inside the critical section");
        }));
        assert!(result.is_err());
        assert!(!lock.is_locked());
        drop(lock.lock());
    }

    #[test]
    fn spin_lock_excludes_threads() {
        const ROUNDS: usize = if cfg!(miri) { 50 } else { 100_000 };
        let lock = SpinLock::new();
        // Non-atomic read-modify-write under the lock: lost updates would show without
        // mutual exclusion (and Miri would report the data race).
        let counter = core::cell::UnsafeCell::new(0usize);
        struct Shared<'a>(&'a core::cell::UnsafeCell<usize>);
        // SAFETY: the cell is only accessed with `lock` held.
        unsafe impl Sync for Shared<'_> {}
        let shared = Shared(&counter);
        thread::scope(|s| {
            for _ in 0..2 {
                let (lock, shared) = (&lock, &shared);
                s.spawn(move || {
                    for _ in 0..ROUNDS {
                        let _guard = lock.lock();
                        // SAFETY: the lock is held: no other access to the cell.
                        unsafe { *shared.0.get() += 1 };
                    }
                });
            }
        });
        assert_eq!(counter.into_inner(), 2 * ROUNDS);
    }
}

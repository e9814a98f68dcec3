//! The locks [`Locked`](crate::Locked) can use: the [`RawLock`] trait and [`SpinLock`] (the
//! default, `no_std`; both live in alloc-core, which `SyncFreeList` shares them with) and
//! [`StdMutex`] (feature `std`).

pub use alloc_core::{RawLock, SpinGuard, SpinLock};

/// [`std::sync::Mutex`] as a [`RawLock`] (feature `std`): waiters sleep in the kernel
/// instead of spinning, which wins when threads outnumber cores or when the inner
/// allocator holds the lock for long (a slow path that asks the system for memory). The
/// [crate docs](crate#which-lock) compare it with [`SpinLock`].
///
/// Poisoning is ignored: a panic inside the inner allocator leaves the allocator in
/// whatever state its own panic safety guarantees, which the poison flag cannot improve,
/// and an allocator must not start panicking on every later call.
///
/// Do not use it inside a `#[global_allocator]` on a platform whose `Mutex` allocates when
/// first locked (none of Linux, Windows and macOS does today): the allocation would call
/// back into the allocator being locked.
///
/// # Examples
///
/// ```
/// use alloc_core::Allocator;
/// use alloc_global::{Locked, StdMutex};
/// use std::alloc::System;
///
/// let shared = Locked::with_lock(System, StdMutex::new());
/// let b = shared.allocate([1u8, 2, 3]).unwrap();
/// assert_eq!(*b, [1, 2, 3]);
/// ```
#[cfg(feature = "std")]
#[derive(Debug, Default)]
pub struct StdMutex(std::sync::Mutex<()>);

#[cfg(feature = "std")]
impl StdMutex {
    /// An unlocked mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{RawLock, StdMutex};
    ///
    /// static LOCK: StdMutex = StdMutex::new();
    /// drop(LOCK.lock());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self(std::sync::Mutex::new(()))
    }
}

#[cfg(feature = "std")]
// SAFETY: (1) and (2) are `std::sync::Mutex`'s guarantees: one `MutexGuard` at a time, and
// unlocking synchronises with the next lock. Recovering the guard from a `PoisonError`
// still holds the lock.
unsafe impl RawLock for StdMutex {
    type Guard<'a> = std::sync::MutexGuard<'a, ()>;

    #[inline]
    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "std")]
    #[test]
    fn std_mutex_ignores_poison() {
        use super::{RawLock, StdMutex};
        let lock = StdMutex::new();
        let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            let _guard = lock.lock();
            panic!("poison it");
        }));
        assert!(result.is_err());
        assert!(lock.0.is_poisoned());
        drop(lock.lock());
    }
}

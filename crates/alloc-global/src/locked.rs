//! [`Locked`]: any allocator, shared between threads behind a lock.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::fmt;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

use crate::lock::{RawLock, SpinLock};

/// Makes any [`Allocator`] shareable between threads (`Sync`) by running each of its
/// operations under a lock: a [`SpinLock`] by default, or any other [`RawLock`] such as
/// [`StdMutex`](crate::StdMutex) (feature `std`).
///
/// `Locked<A>` is `Send` and `Sync` when `A` is `Send` (the allocator moves between
/// threads, one at a time, as with `Mutex<A>`), and a [`BlockOwner`] when `A` is. A block
/// allocated on one thread may be freed on another.
///
/// # What runs under the lock
///
/// Exactly one call of the inner allocator (`allocate_raw`, `allocate_zeroed_raw`,
/// `deallocate_raw`, `reallocate_raw` or `owns_block`) and nothing else: `Locked` itself
/// never allocates, prints or calls user code while it holds the lock. Zero-size requests
/// and deallocations of empty blocks are answered without the lock (every allocator
/// answers them the same way, see the
/// [contract](alloc_core::Allocator#zero-size-requests)). Calls are forwarded unchanged,
/// so an inner allocator's own `allocate_zeroed_raw` or in-place `reallocate_raw` is used
/// (and a reallocation that moves copies under the lock).
///
/// If the inner allocator panics, the lock is released while unwinding; the inner
/// allocator is left in the state its own panic safety guarantees.
///
/// # Re-entrancy
///
/// An inner allocator that calls back into the *same* `Locked` while it holds the lock
/// (for example a logger inside it that allocates from the `#[global_allocator]` which is
/// this very `Locked`) deadlocks: neither [`SpinLock`] nor [`StdMutex`](crate::StdMutex)
/// is re-entrant. With feature `std`, in every build, `Locked` detects it and panics with a
/// message naming the problem ("re-entrant call") instead of hanging (the check costs a
/// thread-local access and a relaxed load per call, a fraction of the lock itself); without
/// `std` it cannot tell threads apart and such a call deadlocks, documented in
/// `docs/bad-input.md`. Inside a `#[global_allocator]` such a panic turns into an abort
/// (see [`GlobalAllocator`](crate::GlobalAllocator)).
///
/// The same holds for a panic of the inner allocator while `Locked` is the global
/// allocator: the panic hook runs before unwinding releases the lock, and it may allocate.
/// Prefer inner allocators that do not panic on their hot paths there.
///
/// # Examples
///
/// ```
/// use alloc_core::{Allocator, AllocatorError, Block};
/// use alloc_global::Locked;
/// use core::{alloc::Layout, cell::Cell};
/// use std::alloc::System;
///
/// /// Not `Sync` (a `Cell`), so it cannot be shared as it is.
/// #[derive(Default)]
/// struct Counting { live: Cell<usize> }
///
/// // SAFETY: forwards to `System`, which keeps the contract.
/// unsafe impl Allocator for Counting {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         let block = System.allocate_raw(layout)?;
///         self.live.set(self.live.get() + 1);
///         Ok(block)
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         self.live.set(self.live.get() - 1);
///         // SAFETY: the caller gives back a block of `self`, hence of `System`.
///         unsafe { System.deallocate_raw(block) }
///     }
/// }
///
/// let shared = Locked::new(Counting::default());
/// std::thread::scope(|s| {
///     for t in 0..4u32 {
///         let shared = &shared;
///         s.spawn(move || {
///             let b = shared.allocate(t).unwrap();
///             assert_eq!(*b, t);
///         });
///     }
/// });
/// assert_eq!(shared.into_inner().live.get(), 0);
/// ```
pub struct Locked<A, L = SpinLock> {
    lock: L,
    /// The thread that holds `lock` (its [`crate::thread_marker`]), or 0: for detecting
    /// re-entrant calls.
    #[cfg(feature = "std")]
    owner: core::sync::atomic::AtomicUsize,
    /// Accessed only with `lock` held (or through `&mut self`).
    inner: UnsafeCell<A>,
}

// SAFETY: `&Locked` gives access to the inner allocator only inside `locked_call`, with the
// lock held, so at most one thread uses the allocator at a time, and the lock's
// Acquire/Release ordering (`RawLock` promise 2) makes each thread's use happen-before the
// next one's: the same reasoning as `Mutex<A>: Sync` for `A: Send`. Memory in blocks is
// handed from thread to thread along the same happens-before chain (a block is freed under
// the lock before it can be handed out again under the lock). `L: Sync` because the lock
// itself is shared.
unsafe impl<A: Send, L: RawLock + Sync> Sync for Locked<A, L> {}

impl<A> Locked<A> {
    /// Wraps `inner` with an unlocked [`SpinLock`]. A `const fn`, so a `Locked` can be a
    /// `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_global::Locked;
    /// use std::alloc::System;
    ///
    /// static SHARED: Locked<System> = Locked::new(System);
    /// let b = SHARED.allocate_str("shared").unwrap();
    /// assert_eq!(&*b, "shared");
    /// ```
    #[must_use]
    pub const fn new(inner: A) -> Self {
        Self::with_lock(inner, SpinLock::new())
    }
}

impl<A, L: RawLock> Locked<A, L> {
    /// Wraps `inner` with `lock`, any [`RawLock`] (the lock type is inferred from it).
    /// A `const fn`, like [`new`](Locked::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_global::{Locked, StdMutex};
    /// use std::alloc::System;
    ///
    /// static SHARED: Locked<System, StdMutex> = Locked::with_lock(System, StdMutex::new());
    /// let b = SHARED.allocate(5u16).unwrap();
    /// assert_eq!(*b, 5);
    /// ```
    #[must_use]
    pub const fn with_lock(inner: A, lock: L) -> Self {
        Self {
            lock,
            #[cfg(feature = "std")]
            owner: core::sync::atomic::AtomicUsize::new(0),
            inner: UnsafeCell::new(inner),
        }
    }

    /// The inner allocator, without locking: `&mut self` proves no other thread uses it.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::Locked;
    /// use std::alloc::System;
    ///
    /// let mut shared = Locked::new(System);
    /// let _inner: &mut System = shared.get_mut();
    /// ```
    #[must_use]
    pub fn get_mut(&mut self) -> &mut A {
        self.inner.get_mut()
    }

    /// Unwraps the inner allocator. Its blocks stay valid (moving an allocator never
    /// invalidates them).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::Locked;
    /// use std::alloc::System;
    ///
    /// let inner: System = Locked::new(System).into_inner();
    /// ```
    #[must_use]
    pub fn into_inner(self) -> A {
        self.inner.into_inner()
    }

    /// Runs `f` on the inner allocator with the lock held. `f` is always one call of the
    /// inner allocator's trait methods (see the type's docs).
    #[inline]
    fn locked_call<R>(&self, f: impl FnOnce(&A) -> R) -> R {
        #[cfg(feature = "std")]
        let me = self.check_not_reentrant();
        let _guard = self.lock.lock();
        // Declared after `_guard`, so dropped (the owner cleared) before the unlock.
        #[cfg(feature = "std")]
        let _owner = OwnerMark::set(&self.owner, me);
        // SAFETY: the lock is held until `_guard` drops after `f` returns, so no other
        // thread accesses `inner` meanwhile (`RawLock` promise 1), and earlier accesses
        // happen-before this one (promise 2). Only a shared reference is formed; `&mut`
        // access needs `&mut self`, which excludes this call.
        f(unsafe { &*self.inner.get() })
    }

    /// Panics if the calling thread already holds the lock; returns its marker.
    #[cfg(feature = "std")]
    #[inline]
    fn check_not_reentrant(&self) -> usize {
        let me = crate::thread_marker();
        // Only this thread could have stored its own marker, so a Relaxed load that sees
        // it proves the thread holds the lock now.
        if me != 0 && self.owner.load(core::sync::atomic::Ordering::Relaxed) == me {
            reentrant_call();
        }
        me
    }
}

/// The panic of a detected re-entrant call (out of line: the hot path stays small).
#[cfg(feature = "std")]
#[cold]
#[inline(never)]
fn reentrant_call() -> ! {
    panic!(
        "Locked: re-entrant call on the thread that holds the lock: the inner allocator (or \
         code it runs, such as a logger) called back into the same Locked, which would \
         deadlock"
    )
}

/// Records the thread holding the lock, and clears the record when dropped.
#[cfg(feature = "std")]
struct OwnerMark<'a>(&'a core::sync::atomic::AtomicUsize);

#[cfg(feature = "std")]
impl<'a> OwnerMark<'a> {
    #[inline]
    fn set(owner: &'a core::sync::atomic::AtomicUsize, me: usize) -> Self {
        owner.store(me, core::sync::atomic::Ordering::Relaxed);
        Self(owner)
    }
}

#[cfg(feature = "std")]
impl Drop for OwnerMark<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.store(0, core::sync::atomic::Ordering::Relaxed);
    }
}

impl<A: Default, L: RawLock + Default> Default for Locked<A, L> {
    fn default() -> Self {
        Self::with_lock(A::default(), L::default())
    }
}

impl<A> From<A> for Locked<A> {
    fn from(inner: A) -> Self {
        Self::new(inner)
    }
}

/// Shows the inner allocator's type, not its state: formatting it would run its `Debug`
/// (user code that may allocate) under the lock.
impl<A, L: fmt::Debug> fmt::Debug for Locked<A, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locked")
            .field("allocator", &core::any::type_name::<A>())
            .field("lock", &self.lock)
            .finish_non_exhaustive()
    }
}

// SAFETY: every method forwards to the inner allocator under the lock, so the inner
// allocator sees the same calls as if it were used by one thread, and its blocks are the
// ones returned: promises 1, 2 and 4 are the inner allocator's (the blocks live outside
// `Locked`, as they live outside `A`). Zero-size requests get `Block::empty` and empty
// deallocations do nothing, as promise 3 requires of every allocator, including `A`.
unsafe impl<A: Allocator, L: RawLock> Allocator for Locked<A, L> {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        self.locked_call(|inner| inner.allocate_raw(layout))
    }

    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        // SAFETY: forwarded from the caller: `block` fits a block currently allocated by
        // `self`, which is one of the inner allocator's.
        self.locked_call(|inner| unsafe { inner.deallocate_raw(block) });
    }

    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller, as for `deallocate_raw`.
        self.locked_call(|inner| unsafe { inner.reallocate_raw(block, new_layout) })
    }

    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        self.locked_call(|inner| inner.allocate_zeroed_raw(layout))
    }
}

// SAFETY: the inner allocator's answer, asked under the lock; `Locked`'s blocks are
// exactly the inner allocator's.
unsafe impl<A: BlockOwner, L: RawLock> BlockOwner for Locked<A, L> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.locked_call(|inner| inner.owns_block(block))
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator, L: RawLock] for Locked<A, L>);

#[cfg(test)]
mod tests {
    use super::Locked;
    use alloc_core::{Allocator, AllocatorError, Block};
    use core::alloc::Layout;

    /// Panics on every request: to check that the lock is released by unwinding.
    struct Panicking;

    // SAFETY: never hands out a block (zero-size requests are answered by `Locked`).
    unsafe impl Allocator for Panicking {
        fn allocate_raw(&self, _: Layout) -> Result<Block, AllocatorError> {
            panic!("inner allocator panics")
        }
        unsafe fn deallocate_raw(&self, _: Block) {}
    }

    #[test]
    fn panic_in_inner_allocator_releases_the_lock() {
        let locked: Locked<Panicking> = Locked::new(Panicking);
        for _ in 0..2 {
            let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
                locked.allocate_raw(Layout::new::<u64>())
            }));
            assert!(result.is_err());
            assert!(!locked.lock.is_locked());
        }
        // Zero-size requests never reach the inner allocator.
        let empty = locked.allocate_raw(Layout::new::<()>()).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn debug_shows_the_type_not_the_state() {
        let locked: Locked<std::alloc::System> = Locked::new(std::alloc::System);
        let text = std::format!("{locked:?}");
        assert!(
            text.contains("System") && text.contains("locked: false"),
            "{text}"
        );
    }
}

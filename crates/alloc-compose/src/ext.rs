//! [`AllocatorExt`]: the fluent way to chain allocators.

use alloc_core::{Allocator, BlockOwner};

use crate::{Fallback, Guard, Proxy, ProxyLogger, Segregator};

/// Chaining methods for every [`Allocator`], so a composition reads left to right:
///
/// ```text
/// FreeList::new(64, 128)?.with_fallback(Heap).proxy(Counters::new())
///     : Proxy<Fallback<FreeList, Heap>, Counters>
/// ```
///
/// Each method wraps `self` in a named type ([`Fallback`], [`Proxy`]), so the type of a
/// chain can be written in a struct field or a type alias, and chains compose
/// recursively: a `Fallback` or a `Proxy` is an `Allocator` (and a [`BlockOwner`] when its
/// parts are), so it can be chained again. To chain an allocator without giving it away,
/// chain an exclusive reference: `(&mut pool).with_fallback(Heap)`. A shared reference
/// can be the fallback side, but not the main side: `&A` is deliberately not a
/// [`BlockOwner`] (see "Sub-allocation" in its docs).
///
/// Implemented for every `Allocator`; import it with `use alloc_compose::AllocatorExt`.
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Counters, Fallback, NoLog, Null, Proxy};
/// use alloc_core::{Allocator, Heap};
///
/// // A nameable chain: a struct field of the chain's type.
/// struct App {
///     alloc: Proxy<Fallback<Proxy<Null, NoLog>, Heap>, Counters>,
/// }
///
/// let app = App { alloc: Null.proxy(NoLog).with_fallback(Heap).proxy(Counters::new()) };
/// let v = app.alloc.allocate_slice_with(10, |i| i as u8).unwrap();
/// assert_eq!(v[9], 9);
/// assert_eq!(app.alloc.logger().counts().allocations, 1);
/// ```
pub trait AllocatorExt: Allocator + Sized {
    /// Tries `self` first and `fallback` when `self` fails: [`Fallback::new(self,
    /// fallback)`](Fallback::new). `self` must be a [`BlockOwner`] (that is how blocks are
    /// routed back); the fallback can be any allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Fallback, Null};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// // `Null` fails everything, the second `Null` too, `Heap` serves.
    /// let alloc: Fallback<Null, Fallback<Null, Heap>> = Null.with_fallback(Null.with_fallback(Heap));
    /// assert_eq!(*alloc.allocate(9u16).unwrap(), 9);
    /// ```
    #[inline]
    #[must_use]
    fn with_fallback<F: Allocator>(self, fallback: F) -> Fallback<Self, F>
    where
        Self: BlockOwner,
    {
        Fallback::new(self, fallback)
    }

    /// Reports every operation on `self` to `logger`: [`Proxy::new(self,
    /// logger)`](Proxy::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Counters};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.proxy(Counters::new());
    /// drop(alloc.allocate(1u8).unwrap());
    /// assert_eq!(alloc.logger().counts().deallocations, 1);
    /// ```
    #[inline]
    #[must_use]
    fn proxy<L: ProxyLogger>(self, logger: L) -> Proxy<Self, L> {
        Proxy::new(self, logger)
    }

    /// Sends requests of up to `THRESHOLD` bytes to `self` and larger ones to `large`:
    /// [`Segregator::new(self, large)`](Segregator::new). Neither side needs to be a
    /// [`BlockOwner`]: blocks are routed back by size.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Null, Segregator};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc: Segregator<16, Heap, Null> = Heap.segregate::<16, _>(Null);
    /// assert_eq!(*alloc.allocate(1u128).unwrap(), 1); // 16 bytes: `Heap`
    /// assert!(alloc.allocate([0u8; 17]).is_err());    // `Null`
    /// ```
    #[inline]
    #[must_use]
    fn segregate<const THRESHOLD: usize, L: Allocator>(
        self,
        large: L,
    ) -> Segregator<THRESHOLD, Self, L> {
        Segregator::new(self, large)
    }

    /// Wraps `self` in the debug layer [`Guard`] (fences, fill patterns, double-free,
    /// foreign-block and leak detection), with its table on the heap:
    /// [`Guard::new(self)`](Guard::new). Feature `alloc`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::AllocatorExt;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.guarded();
    /// let b = alloc.allocate(3u16).unwrap();
    /// assert_eq!((*b, alloc.live_blocks()), (3, 1));
    /// ```
    #[cfg(feature = "alloc")]
    #[inline]
    #[must_use]
    fn guarded(self) -> Guard<Self> {
        Guard::new(self)
    }

    /// As [`guarded`](Self::guarded), with the guard's table in memory from `parent`:
    /// [`Guard::new_in(self, parent)`](Guard::new_in).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::AllocatorExt;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.guarded_in(std::alloc::System);
    /// assert_eq!(*alloc.allocate(3u16).unwrap(), 3);
    /// ```
    #[inline]
    #[must_use]
    fn guarded_in<P: Allocator>(self, parent: P) -> Guard<Self, P> {
        Guard::new_in(self, parent)
    }
}

impl<A: Allocator> AllocatorExt for A {}

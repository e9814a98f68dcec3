//! [`Proxy`]: an allocator that reports every operation to a [`ProxyLogger`].

use core::alloc::Layout;
use core::fmt;
use core::mem;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

/// One operation performed through a [`Proxy`], as reported to its [`ProxyLogger`].
///
/// Blocks are reported as the proxy returns them and as they are given back: with
/// **exactly the requested size** (see [`Proxy`]), so sizes in `Allocated`,
/// `Deallocated` and `Reallocated` events add up exactly. Addresses are informative only:
/// a block reported as deallocated or reallocated may no longer be accessed.
///
/// More kinds of events may be added (the enum is `#[non_exhaustive]`): match with a
/// `_ => {}` arm.
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Event, Trace};
/// use alloc_core::{Allocator, AllocatorError, Heap};
/// use core::alloc::Layout;
///
/// let alloc = Heap.proxy(Trace::new());
/// drop(alloc.allocate(1u32).unwrap());
/// let events = alloc.logger().take();
/// assert!(matches!(events[0], Event::Allocated { block, zeroed: false } if block.size() == 4));
/// assert!(matches!(events[1], Event::Deallocated { block } if block.size() == 4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// An allocation succeeded.
    Allocated {
        /// The block returned (its layout is the one requested).
        block: Block,
        /// Whether the caller asked for zeroed memory.
        zeroed: bool,
    },
    /// An allocation failed.
    AllocationFailed {
        /// The layout requested.
        layout: Layout,
        /// Whether the caller asked for zeroed memory.
        zeroed: bool,
        /// The error returned.
        error: AllocatorError,
    },
    /// A block was given back (after the inner allocator took it back).
    Deallocated {
        /// The block given back.
        block: Block,
    },
    /// A reallocation succeeded: `old` is no longer allocated, `new` is.
    Reallocated {
        /// The block given to `reallocate_raw`.
        old: Block,
        /// The block returned (its layout is the new layout requested).
        new: Block,
    },
    /// A reallocation failed: `old` is still allocated, unchanged.
    ReallocationFailed {
        /// The block given to `reallocate_raw`.
        old: Block,
        /// The layout requested.
        new_layout: Layout,
        /// The error returned.
        error: AllocatorError,
    },
}

/// Writes `size B align A at 0xADDR` for a block.
struct ShowBlock<'a>(&'a Block);

impl fmt::Display for ShowBlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{} B align {} at {:#x}", b.size(), b.align(), b.addr())
    }
}

/// One line per event, for traces, for example
/// `allocate 48 B align 8 at 0x5581e3c0` or
/// `reallocate 48 B align 8 at 0x5581e3c0 failed (to 4096 B align 8): out of memory`.
///
/// # Examples
///
/// ```
/// use alloc_compose::Event;
/// use alloc_core::{AllocatorError, Block};
/// use core::alloc::Layout;
///
/// let block = Block::empty(Layout::new::<[u64; 0]>());
/// assert_eq!(Event::Deallocated { block }.to_string(), "deallocate 0 B align 8 at 0x8");
/// ```
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let zeroed = |z: bool| if z { " zeroed" } else { "" };
        match self {
            Self::Allocated { block, zeroed: z } => {
                write!(f, "allocate{} {}", zeroed(*z), ShowBlock(block))
            }
            Self::AllocationFailed {
                layout,
                zeroed: z,
                error,
            } => write!(
                f,
                "allocate{} {} B align {} failed: {error}",
                zeroed(*z),
                layout.size(),
                layout.align()
            ),
            Self::Deallocated { block } => write!(f, "deallocate {}", ShowBlock(block)),
            Self::Reallocated { old, new } => {
                write!(f, "reallocate {} to {}", ShowBlock(old), ShowBlock(new))
            }
            Self::ReallocationFailed {
                old,
                new_layout,
                error,
            } => write!(
                f,
                "reallocate {} failed (to {} B align {}): {error}",
                ShowBlock(old),
                new_layout.size(),
                new_layout.align()
            ),
        }
    }
}

/// Receives the [`Event`]s of a [`Proxy`].
///
/// The method takes `&self`: a logger with state uses `Cell`s, atomics or a short
/// `RefCell` borrow of its own. The proxy calls it **after** the inner allocator has
/// finished the operation and holds no borrow of anything while it does, so a logger may
/// itself allocate, even through the very proxy it logs (its own operations are then
/// logged too, re-entrantly: guard against endless recursion if you do that).
///
/// A logger should not panic. If it does, the allocator stays consistent: after a
/// successful allocation the block is given back before the panic continues (nothing
/// leaks); after a deallocation or a failed request there is nothing to undo. After a
/// successful **reallocation** the caller's old block is already gone, and unwinding
/// would leave the caller holding it, so a panic there **aborts** the process (by
/// panicking again during the unwind) rather than risk a double free.
///
/// Ready loggers: [`NoLog`](crate::NoLog) (costs nothing), [`Counters`](crate::Counters)
/// and [`AtomicCounters`](crate::AtomicCounters) (counts and bytes), `Trace` (with feature
/// `std`: collects or prints every event), [`FnLogger`](crate::FnLogger) (a closure).
/// References, boxes, `Rc`s and `Arc`s of loggers are loggers (to share one between
/// proxies), and so is a pair `(A, B)` (to log to both).
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Event, ProxyLogger};
/// use alloc_core::{Allocator, Heap};
/// use core::cell::Cell;
///
/// /// Remembers the largest size requested.
/// #[derive(Default)]
/// struct Largest(Cell<usize>);
///
/// impl ProxyLogger for Largest {
///     fn log(&self, event: &Event) {
///         let size = match event {
///             Event::Allocated { block, .. } => block.size(),
///             Event::AllocationFailed { layout, .. } => layout.size(),
///             Event::Reallocated { new, .. } => new.size(),
///             Event::ReallocationFailed { new_layout, .. } => new_layout.size(),
///             _ => 0,
///         };
///         self.0.set(self.0.get().max(size));
///     }
/// }
///
/// let alloc = Heap.proxy(Largest::default());
/// let _small = alloc.allocate(1u8).unwrap();
/// let _big = alloc.allocate([0u64; 100]).unwrap();
/// assert_eq!(alloc.logger().0.get(), 800);
/// ```
pub trait ProxyLogger {
    /// Reports one operation, after it happened.
    ///
    /// # Examples
    ///
    /// See the [trait's docs](ProxyLogger).
    fn log(&self, event: &Event);
}

/// Wraps an allocator and reports every operation to a [`ProxyLogger`]: successful and
/// failed allocations (zeroed or not), deallocations, successful and failed
/// reallocations, with their blocks, layouts and errors.
///
/// `Proxy<A, L>` is an [`Allocator`] for every allocator `A`, and a [`BlockOwner`] when
/// `A` is one (`owns_block` queries are forwarded, not logged), so proxies go anywhere in
/// a chain: around a `Fallback`, or as one side of it.
///
/// **Blocks are returned with exactly the requested size**, even when the inner allocator
/// hands out more (a pool slot larger than the request, say). The trimmed block still
/// fits the inner one, so the inner allocator accepts it back; and since exactly that
/// size is the only one that fits, every caller gives back exactly the size that was
/// logged, which makes byte counts exact. Apart from that, a proxy is transparent: with
/// [`NoLog`](crate::NoLog) it compiles down to the inner allocator.
///
/// See [`ProxyLogger`] for what happens when a logger panics.
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Counters, Counts, Proxy};
/// use alloc_core::{Allocator, Heap};
///
/// let alloc: Proxy<Heap, Counters> = Heap.proxy(Counters::new());
/// let a = alloc.allocate([0u8; 100]).unwrap();
/// let b = alloc.allocate_str("hello").unwrap();
/// drop(a);
/// let counts = alloc.logger().counts();
/// assert_eq!(counts.allocations, 2);
/// assert_eq!(counts.deallocations, 1);
/// assert_eq!(counts.bytes_live, 5);
/// assert_eq!(counts.peak_bytes, 105);
/// # drop(b);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Proxy<A, L> {
    /// The allocator that does the work.
    inner: A,
    /// Told about every operation, after it happened.
    logger: L,
}

impl<A, L> Proxy<A, L> {
    /// Wraps `inner`, reporting to `logger`; the same as
    /// [`inner.proxy(logger)`](crate::AllocatorExt::proxy).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Counters, Proxy};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Proxy::new(Heap, Counters::new());
    /// let _ = alloc.allocate(1u8).unwrap();
    /// assert_eq!(alloc.logger().counts().allocations, 1);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(inner: A, logger: L) -> Self
    where
        A: Allocator,
        L: ProxyLogger,
    {
        Self { inner, logger }
    }

    /// The wrapped allocator. Operations performed on it directly are not logged.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, NoLog};
    /// use alloc_core::Heap;
    ///
    /// assert_eq!(*Heap.proxy(NoLog).inner(), Heap);
    /// ```
    #[inline]
    #[must_use]
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// The logger.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Counters};
    /// use alloc_core::Heap;
    ///
    /// assert_eq!(Heap.proxy(Counters::new()).logger().counts().allocations, 0);
    /// ```
    #[inline]
    #[must_use]
    pub const fn logger(&self) -> &L {
        &self.logger
    }

    /// Takes the proxy apart. Blocks allocated through it stay allocated in the inner
    /// allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Counters};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.proxy(Counters::new());
    /// drop(alloc.allocate(3u16).unwrap());
    /// let (_heap, counters) = alloc.into_parts();
    /// assert_eq!(counters.counts().deallocations, 1);
    /// ```
    #[inline]
    #[must_use]
    pub fn into_parts(self) -> (A, L) {
        (self.inner, self.logger)
    }
}

/// Gives a freshly allocated block back if the logger panics while reporting it.
struct FreeOnUnwind<'a, A: Allocator> {
    inner: &'a A,
    block: Block,
}

impl<A: Allocator> Drop for FreeOnUnwind<'_, A> {
    fn drop(&mut self) {
        // SAFETY: only reached while unwinding from the logger, before the block was
        // returned: it is currently allocated by `inner` and nobody else knows it.
        unsafe { self.inner.deallocate_raw(self.block) }
    }
}

/// Aborts (by panicking during the unwind) if the logger panics while reporting a
/// successful reallocation: see [`ProxyLogger`].
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        panic!(
            "alloc_compose::Proxy: the logger panicked while reporting a successful \
             reallocation; the caller's old block is gone, so unwinding could free it twice: \
             aborting"
        );
    }
}

impl<A: Allocator, L: ProxyLogger> Proxy<A, L> {
    #[inline]
    fn allocate_logged(&self, layout: Layout, zeroed: bool) -> Result<Block, AllocatorError> {
        let result = if zeroed {
            self.inner.allocate_zeroed_raw(layout)
        } else {
            self.inner.allocate_raw(layout)
        };
        match result {
            Ok(block) => {
                // Exactly the requested size: it fits the inner block (see the type docs).
                let block = Block::from_raw_parts(block.ptr(), layout);
                let guard = FreeOnUnwind {
                    inner: &self.inner,
                    block,
                };
                self.logger.log(&Event::Allocated { block, zeroed });
                mem::forget(guard);
                Ok(block)
            }
            Err(error) => {
                self.logger.log(&Event::AllocationFailed {
                    layout,
                    zeroed,
                    error,
                });
                Err(error)
            }
        }
    }
}

// SAFETY: every block comes from `inner`, which keeps the contract; the proxy only trims
// a returned block to the requested size (still valid, aligned, disjoint, and a block that
// fits the inner one, so the inner allocator accepts back every block that fits the
// trimmed one). Blocks live in `inner`, which survives moves and clones. The logger is
// called after each operation and cannot change any block; if it panics, the guards give
// back a block no caller knows about, or abort.
unsafe impl<A: Allocator, L: ProxyLogger> Allocator for Proxy<A, L> {
    /// Allocates from the inner allocator, then logs [`Event::Allocated`] or
    /// [`Event::AllocationFailed`].
    ///
    /// # Errors
    ///
    /// The inner allocator's.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.allocate_logged(layout, false)
    }

    /// As [`allocate_raw`](Self::allocate_raw), zeroed.
    ///
    /// # Errors
    ///
    /// The inner allocator's.
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.allocate_logged(layout, true)
    }

    /// Deallocates in the inner allocator, then logs [`Event::Deallocated`].
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        // SAFETY: forwarded from the caller: a block that fits one returned by the proxy
        // fits the block `inner` returned.
        unsafe { self.inner.deallocate_raw(block) };
        self.logger.log(&Event::Deallocated { block });
    }

    /// Reallocates in the inner allocator, then logs [`Event::Reallocated`] or
    /// [`Event::ReallocationFailed`].
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// The inner allocator's.
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        old: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller, as in `deallocate_raw`.
        match unsafe { self.inner.reallocate_raw(old, new_layout) } {
            Ok(new) => {
                let new = Block::from_raw_parts(new.ptr(), new_layout);
                let guard = AbortOnUnwind;
                self.logger.log(&Event::Reallocated { old, new });
                mem::forget(guard);
                Ok(new)
            }
            Err(error) => {
                self.logger.log(&Event::ReallocationFailed {
                    old,
                    new_layout,
                    error,
                });
                Err(error)
            }
        }
    }
}

// SAFETY: forwards to `inner`, whose answer is truthful; the proxy's blocks are `inner`'s
// blocks (trimmed, which does not change what `inner` owns).
unsafe impl<A: BlockOwner, L: ProxyLogger> BlockOwner for Proxy<A, L> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.inner.owns_block(block)
    }
}

alloc_core::impl_allocator_api2!(impl[A, L] for Proxy<A, L> where [A: Allocator, L: ProxyLogger]);

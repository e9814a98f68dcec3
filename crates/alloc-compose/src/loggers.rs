//! Ready [`ProxyLogger`]s: [`NoLog`], [`Counters`], [`AtomicCounters`], [`FnLogger`], and
//! `Trace` (feature `std`); and the logger impls for references, smart pointers and pairs.

use core::cell::Cell;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::{Event, ProxyLogger};

/// The logger that does nothing: a `Proxy<A, NoLog>` compiles down to `A`.
///
/// Useful to keep a proxy in a type (say, behind a `cfg(debug_assertions)` type alias
/// that picks [`Counters`] in debug builds) at no cost.
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Counters, NoLog, Proxy};
/// use alloc_core::{Allocator, Heap};
///
/// #[cfg(debug_assertions)]
/// type Logger = Counters;
/// #[cfg(not(debug_assertions))]
/// type Logger = NoLog;
///
/// let alloc: Proxy<Heap, Logger> = Heap.proxy(Logger::default());
/// assert_eq!(*alloc.allocate(1u8).unwrap(), 1);
/// let quiet = Heap.proxy(NoLog);
/// assert_eq!(*quiet.allocate(2u8).unwrap(), 2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoLog;

impl ProxyLogger for NoLog {
    #[inline(always)]
    fn log(&self, _event: &Event) {}
}

/// What [`Counters`] and [`AtomicCounters`] counted.
///
/// Bytes are the sizes requested (a [`Proxy`](crate::Proxy) returns exactly those, so
/// each block is counted in and out with the same size).
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Counters, Counts};
/// use alloc_core::{Allocator, Heap};
///
/// let alloc = Heap.proxy(Counters::new());
/// drop(alloc.allocate(0u32).unwrap());
/// assert_eq!(
///     alloc.logger().counts(),
///     Counts { allocations: 1, deallocations: 1, peak_bytes: 4, ..Counts::default() }
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    /// Successful allocations (zero-size ones included).
    pub allocations: usize,
    /// Deallocations (of empty blocks too).
    pub deallocations: usize,
    /// Successful reallocations.
    pub reallocations: usize,
    /// Failed allocations and reallocations.
    pub failures: usize,
    /// Bytes currently allocated.
    pub bytes_live: usize,
    /// The most bytes that were allocated at once.
    pub peak_bytes: usize,
}

/// The change an event makes to the number of live bytes: `(added, removed)`.
#[inline]
fn byte_change(event: &Event) -> (usize, usize) {
    match event {
        Event::Allocated { block, .. } => (block.size(), 0),
        Event::Deallocated { block } => (0, block.size()),
        Event::Reallocated { old, new } => (new.size(), old.size()),
        Event::AllocationFailed { .. } | Event::ReallocationFailed { .. } => (0, 0),
    }
}

/// A counting logger for one thread: allocations, deallocations, reallocations, failures,
/// bytes live and peak bytes, in [`Cell`]s (it is `Send` but not `Sync`; see
/// [`AtomicCounters`] for a logger to share).
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Counters, Null};
/// use alloc_core::{Allocator, Heap};
///
/// let alloc = Null.with_fallback(Heap).proxy(Counters::new());
/// let mut v = alloc.allocate_slice_copy(&[1u8, 2, 3]).unwrap();
/// assert!(alloc.allocate([0u8; 4096]).is_ok());
/// let counts = alloc.logger().counts();
/// assert_eq!((counts.allocations, counts.deallocations), (2, 1));
/// assert_eq!(counts.bytes_live, 3);
/// assert_eq!(counts.peak_bytes, 3 + 4096);
/// # v[0] = 0;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    allocations: Cell<usize>,
    deallocations: Cell<usize>,
    reallocations: Cell<usize>,
    failures: Cell<usize>,
    bytes_live: Cell<usize>,
    peak_bytes: Cell<usize>,
}

impl Counters {
    /// All counts at zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Counters, Counts};
    ///
    /// assert_eq!(Counters::new().counts(), Counts::default());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            allocations: Cell::new(0),
            deallocations: Cell::new(0),
            reallocations: Cell::new(0),
            failures: Cell::new(0),
            bytes_live: Cell::new(0),
            peak_bytes: Cell::new(0),
        }
    }

    /// The counts so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Counters};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.proxy(Counters::new());
    /// let _b = alloc.allocate(1u64).unwrap();
    /// assert_eq!(alloc.logger().counts().bytes_live, 8);
    /// ```
    #[must_use]
    pub fn counts(&self) -> Counts {
        Counts {
            allocations: self.allocations.get(),
            deallocations: self.deallocations.get(),
            reallocations: self.reallocations.get(),
            failures: self.failures.get(),
            bytes_live: self.bytes_live.get(),
            peak_bytes: self.peak_bytes.get(),
        }
    }

    /// Sets the event counts to zero and the peak to the bytes live now (which stay: the
    /// blocks are still allocated).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Counters};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.proxy(Counters::new());
    /// let _b = alloc.allocate(1u64).unwrap();
    /// drop(alloc.allocate([0u8; 100]).unwrap());
    /// alloc.logger().reset();
    /// let counts = alloc.logger().counts();
    /// assert_eq!((counts.allocations, counts.bytes_live, counts.peak_bytes), (0, 8, 8));
    /// ```
    pub fn reset(&self) {
        self.allocations.set(0);
        self.deallocations.set(0);
        self.reallocations.set(0);
        self.failures.set(0);
        self.peak_bytes.set(self.bytes_live.get());
    }
}

#[inline]
fn bump(cell: &Cell<usize>) {
    cell.set(cell.get().wrapping_add(1));
}

impl ProxyLogger for Counters {
    #[inline]
    fn log(&self, event: &Event) {
        match event {
            Event::Allocated { .. } => bump(&self.allocations),
            Event::Deallocated { .. } => bump(&self.deallocations),
            Event::Reallocated { .. } => bump(&self.reallocations),
            Event::AllocationFailed { .. } | Event::ReallocationFailed { .. } => {
                bump(&self.failures);
            }
        }
        let (added, removed) = byte_change(event);
        // Wrapping: a caller that keeps the contract never gives back more than it got.
        let live = self
            .bytes_live
            .get()
            .wrapping_add(added)
            .wrapping_sub(removed);
        self.bytes_live.set(live);
        if live > self.peak_bytes.get() {
            self.peak_bytes.set(live);
        }
    }
}

/// A counting logger to share between threads: the same counts as [`Counters`], in
/// atomics (relaxed: each count is exact, but a snapshot taken while other threads
/// allocate need not be consistent across counts). The peak is exact: every increase of
/// the live bytes is compared with it.
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, AtomicCounters};
/// use alloc_core::{Allocator, Heap};
/// use std::sync::Arc;
///
/// let counters = Arc::new(AtomicCounters::new());
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let alloc = Heap.proxy(Arc::clone(&counters));
///         std::thread::spawn(move || drop(alloc.allocate([0u8; 16]).unwrap()))
///     })
///     .collect();
/// threads.into_iter().for_each(|t| t.join().unwrap());
/// let counts = counters.counts();
/// assert_eq!((counts.allocations, counts.deallocations, counts.bytes_live), (4, 4, 0));
/// ```
#[derive(Debug, Default)]
pub struct AtomicCounters {
    allocations: AtomicUsize,
    deallocations: AtomicUsize,
    reallocations: AtomicUsize,
    failures: AtomicUsize,
    bytes_live: AtomicUsize,
    peak_bytes: AtomicUsize,
}

impl AtomicCounters {
    /// All counts at zero (usable in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, AtomicCounters};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// static COUNTERS: AtomicCounters = AtomicCounters::new();
    /// let alloc = Heap.proxy(&COUNTERS);
    /// let _b = alloc.allocate(1u8).unwrap();
    /// assert!(COUNTERS.counts().allocations >= 1);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            allocations: AtomicUsize::new(0),
            deallocations: AtomicUsize::new(0),
            reallocations: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
            bytes_live: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
        }
    }

    /// The counts so far (each read separately, see the type's docs).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, AtomicCounters};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.proxy(AtomicCounters::new());
    /// let _b = alloc.allocate(1u32).unwrap();
    /// assert_eq!(alloc.logger().counts().peak_bytes, 4);
    /// ```
    #[must_use]
    pub fn counts(&self) -> Counts {
        Counts {
            allocations: self.allocations.load(Relaxed),
            deallocations: self.deallocations.load(Relaxed),
            reallocations: self.reallocations.load(Relaxed),
            failures: self.failures.load(Relaxed),
            bytes_live: self.bytes_live.load(Relaxed),
            peak_bytes: self.peak_bytes.load(Relaxed),
        }
    }

    /// Sets the event counts to zero and the peak to the bytes live now.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, AtomicCounters};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.proxy(AtomicCounters::new());
    /// drop(alloc.allocate(1u32).unwrap());
    /// alloc.logger().reset();
    /// assert_eq!(alloc.logger().counts(), Default::default());
    /// ```
    pub fn reset(&self) {
        self.allocations.store(0, Relaxed);
        self.deallocations.store(0, Relaxed);
        self.reallocations.store(0, Relaxed);
        self.failures.store(0, Relaxed);
        self.peak_bytes
            .store(self.bytes_live.load(Relaxed), Relaxed);
    }
}

impl ProxyLogger for AtomicCounters {
    #[inline]
    fn log(&self, event: &Event) {
        let count = match event {
            Event::Allocated { .. } => &self.allocations,
            Event::Deallocated { .. } => &self.deallocations,
            Event::Reallocated { .. } => &self.reallocations,
            Event::AllocationFailed { .. } | Event::ReallocationFailed { .. } => &self.failures,
        };
        count.fetch_add(1, Relaxed);
        let (added, removed) = byte_change(event);
        if added > removed {
            let grow = added - removed;
            let live = self.bytes_live.fetch_add(grow, Relaxed).wrapping_add(grow);
            self.peak_bytes.fetch_max(live, Relaxed);
        } else if removed > added {
            self.bytes_live.fetch_sub(removed - added, Relaxed);
        }
    }
}

/// A closure as a logger.
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Event, FnLogger};
/// use alloc_core::{Allocator, Heap};
/// use core::cell::Cell;
///
/// let frees = Cell::new(0);
/// let alloc = Heap.proxy(FnLogger(|e: &Event| {
///     if let Event::Deallocated { .. } = e {
///         frees.set(frees.get() + 1);
///     }
/// }));
/// drop(alloc.allocate(1u8).unwrap());
/// assert_eq!(frees.get(), 1);
/// ```
#[derive(Clone, Copy, Default)]
pub struct FnLogger<F>(pub F);

impl<F> fmt::Debug for FnLogger<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnLogger(..)")
    }
}

impl<F: Fn(&Event)> ProxyLogger for FnLogger<F> {
    #[inline]
    fn log(&self, event: &Event) {
        (self.0)(event);
    }
}

impl<L: ProxyLogger + ?Sized> ProxyLogger for &L {
    #[inline]
    fn log(&self, event: &Event) {
        (**self).log(event);
    }
}

#[cfg(feature = "alloc")]
impl<L: ProxyLogger + ?Sized> ProxyLogger for alloc::boxed::Box<L> {
    #[inline]
    fn log(&self, event: &Event) {
        (**self).log(event);
    }
}

#[cfg(feature = "alloc")]
impl<L: ProxyLogger + ?Sized> ProxyLogger for alloc::rc::Rc<L> {
    #[inline]
    fn log(&self, event: &Event) {
        (**self).log(event);
    }
}

#[cfg(feature = "alloc")]
impl<L: ProxyLogger + ?Sized> ProxyLogger for alloc::sync::Arc<L> {
    #[inline]
    fn log(&self, event: &Event) {
        (**self).log(event);
    }
}

/// Logs every event to both loggers, first to `.0`, then to `.1`.
impl<L1: ProxyLogger, L2: ProxyLogger> ProxyLogger for (L1, L2) {
    #[inline]
    fn log(&self, event: &Event) {
        self.0.log(event);
        self.1.log(event);
    }
}

#[cfg(feature = "std")]
pub use trace::Trace;

#[cfg(feature = "std")]
mod trace {
    use alloc::vec::Vec;
    use core::cell::RefCell;

    use crate::{Event, ProxyLogger};

    /// A logger that keeps every [`Event`] (to inspect in a test or print at the end), or
    /// prints each one to standard error as it happens (feature `std`).
    ///
    /// Events are kept in a `Vec` on the global heap, never through the proxied
    /// allocator; the `RefCell` inside is borrowed only for the push. It is `Send` but not
    /// `Sync`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Event, Null, Trace};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Null.proxy(Trace::new()).with_fallback(Heap);
    /// let b = alloc.allocate(7u8).unwrap();      // Null fails, Heap serves
    /// let trace = alloc.main().logger().take();
    /// assert_eq!(trace.len(), 1);
    /// assert!(trace[0].to_string().starts_with("allocate 1 B align 1 failed: out of memory"));
    /// # drop(b);
    /// ```
    #[derive(Debug, Default)]
    pub struct Trace {
        events: RefCell<Vec<Event>>,
        print: bool,
    }

    impl Trace {
        /// A trace that keeps the events.
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_compose::Trace;
        ///
        /// assert!(Trace::new().is_empty());
        /// ```
        #[must_use]
        pub const fn new() -> Self {
            Self {
                events: RefCell::new(Vec::new()),
                print: false,
            }
        }

        /// A trace that prints each event to standard error, one line each (prefixed by
        /// `alloc: `), and keeps none.
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_compose::{AllocatorExt, Trace};
        /// use alloc_core::{Allocator, Heap};
        ///
        /// let alloc = Heap.proxy(Trace::printing());
        /// drop(alloc.allocate(1u64).unwrap()); // prints two lines to stderr
        /// assert!(alloc.logger().is_empty());
        /// ```
        #[must_use]
        pub const fn printing() -> Self {
            Self {
                events: RefCell::new(Vec::new()),
                print: true,
            }
        }

        /// A copy of the events kept so far.
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_compose::{AllocatorExt, Trace};
        /// use alloc_core::{Allocator, Heap};
        ///
        /// let alloc = Heap.proxy(Trace::new());
        /// let _b = alloc.allocate(1u8).unwrap();
        /// assert_eq!(alloc.logger().events().len(), 1);
        /// ```
        #[must_use]
        pub fn events(&self) -> Vec<Event> {
            self.events.borrow().clone()
        }

        /// Takes the events kept so far, leaving the trace empty.
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_compose::{AllocatorExt, Trace};
        /// use alloc_core::{Allocator, Heap};
        ///
        /// let alloc = Heap.proxy(Trace::new());
        /// drop(alloc.allocate(1u8).unwrap());
        /// assert_eq!(alloc.logger().take().len(), 2);
        /// assert!(alloc.logger().is_empty());
        /// ```
        #[must_use]
        pub fn take(&self) -> Vec<Event> {
            core::mem::take(&mut *self.events.borrow_mut())
        }

        /// How many events are kept.
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_compose::Trace;
        ///
        /// assert_eq!(Trace::new().len(), 0);
        /// ```
        #[must_use]
        pub fn len(&self) -> usize {
            self.events.borrow().len()
        }

        /// Whether no event is kept.
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_compose::Trace;
        ///
        /// assert!(Trace::printing().is_empty());
        /// ```
        #[must_use]
        pub fn is_empty(&self) -> bool {
            self.events.borrow().is_empty()
        }
    }

    impl ProxyLogger for Trace {
        fn log(&self, event: &Event) {
            if self.print {
                std::eprintln!("alloc: {event}");
            } else {
                self.events.borrow_mut().push(*event);
            }
        }
    }
}

//! [`GlobalAllocator`]: an [`Allocator`] as the `#[global_allocator]`, built on first use.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU8, Ordering};

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError};

/// No allocator yet; the first use runs the initialiser.
const UNINIT: u8 = 0;
/// One thread is running the initialiser; others wait.
const INITIALISING: u8 = 1;
/// `value` holds the allocator (final).
const READY: u8 = 2;
/// The initialiser failed; `error` says why (final).
const FAILED: u8 = 3;

/// The error of a re-entrant initialisation.
#[cfg(feature = "std")]
const REENTRANT_INIT: InitError = InitError::other(
    "the global allocator's initialiser allocated from the global allocator: allocate from System instead",
);
/// The error recorded when the initialiser panicked.
const INIT_PANICKED: InitError = InitError::other("the global allocator's initialiser panicked");
/// The value of `error` before any failure (never read: `error` is meaningful only once
/// the state is `FAILED`).
const NOT_FAILED: InitError = InitError::other("the global allocator has not failed");

/// An [`Allocator`] as the `#[global_allocator]`: a `const`-constructible wrapper that
/// implements [`GlobalAlloc`], building its allocator on first use if needed.
///
/// - [`GlobalAllocator::new`] takes an allocator that can be built in a `const` context
///   (such as [`Locked::new`](crate::Locked::new) around a `const`-constructible
///   allocator).
/// - [`GlobalAllocator::lazy`] takes a function that builds it, run once on the first
///   allocation: most allocators need a parent allocation first (a free list's region),
///   which a `const` context cannot make. **The function must take its memory from
///   [`std::alloc::System`]** (which implements [`Allocator`] with feature `std` of
///   `alloc-core`), not from `Heap`, which is this very global allocator.
///
/// The static must be `Sync`, so the allocator must be: wrap a single-threaded allocator in
/// [`Locked`](crate::Locked), or use a thread-safe one.
///
/// # Guarantees at the `GlobalAlloc` boundary
///
/// - Failure is a null pointer, never a panic: an allocator error, a failed or re-entrant
///   initialisation, an invalid `realloc` size. The adapter itself contains no `unwrap`,
///   no indexing, no arithmetic that can overflow.
/// - Unwinding out of a `GlobalAlloc` method is undefined behaviour. If the inner
///   allocator or the initialiser panics anyway (a checking allocator that found a double
///   free), the process aborts after the panic message instead of unwinding into the
///   caller (with `std`, [`std::process::abort`]; without, a panic while unwinding, which
///   aborts).
/// - The adapter takes no lock and never allocates; it adds one atomic load (and a
///   predictable branch) to each call once the allocator is ready.
/// - `realloc` is the inner allocator's [`reallocate_raw`](Allocator::reallocate_raw), so
///   in-place growth is used when the allocator has it.
/// - Zero-size requests (which `GlobalAlloc`'s contract excludes) are still answered
///   soundly: a dangling, aligned pointer, and freeing it does nothing.
///
/// # Initialisation
///
/// A state machine on one atomic: uninitialised, initialising, ready, failed. The first
/// thread to allocate runs the initialiser; threads that allocate meanwhile spin (and, with
/// `std`, yield) until it is done, so no request fails merely because it came early. If the
/// initialiser fails (or panics), the state is final: every later request returns null
/// (Rust then reports the failed allocation and aborts), and [`get_or_init`](Self::get_or_init)
/// returns the error. With `std`, an initialiser that allocates from the global allocator
/// (which would wait for itself forever) is detected: that inner request fails with an
/// error saying so. Without `std` it hangs.
///
/// # Examples
///
/// An allocator that can be built in a `const` context is installed directly:
///
/// ```rust,standalone_crate
/// use alloc_global::{GlobalAllocator, Locked};
/// use std::alloc::System;
///
/// #[global_allocator]
/// static GLOBAL: GlobalAllocator<Locked<System>> = GlobalAllocator::new(Locked::new(System));
///
/// fn main() {
///     let v: Vec<u32> = (0..100).collect();
///     assert_eq!(v.iter().sum::<u32>(), 4950);
///     assert!(GLOBAL.get().is_some());
/// }
/// ```
///
/// An allocator that needs memory first is built on the first allocation, from `System`:
///
/// ```rust,standalone_crate
/// use alloc_core::{Allocator, AllocatorError, Block, InitError};
/// use alloc_global::{GlobalAllocator, Locked};
/// use core::{alloc::Layout, cell::Cell};
/// use std::alloc::System;
///
/// /// Bumps through a 64 KiB chunk from `System`, then falls back to `System`.
/// struct BumpThenSystem { chunk: Block, used: Cell<usize> }
/// // SAFETY: the chunk belongs to the allocator alone; nothing is tied to a thread.
/// unsafe impl Send for BumpThenSystem {}
///
/// impl BumpThenSystem {
///     fn new() -> Result<Self, InitError> {
///         let chunk = System.allocate_raw(Layout::from_size_align(1 << 16, 64).unwrap())?;
///         Ok(Self { chunk, used: Cell::new(0) })
///     }
///     fn owns(&self, block: &Block) -> bool {
///         block.is_inside(self.chunk.addr(), self.chunk.size())
///     }
/// }
///
/// // SAFETY: bump blocks are disjoint, aligned and inside the chunk, which is never freed;
/// // the rest comes from `System`.
/// unsafe impl Allocator for BumpThenSystem {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         if layout.size() > 0 && layout.align() <= 64 {
///             // `used <= 64 KiB` and the chunk is 64-aligned: no overflow, and aligned.
///             let offset = self.used.get().next_multiple_of(layout.align());
///             if layout.size() <= self.chunk.size().saturating_sub(offset) {
///                 self.used.set(offset + layout.size());
///                 // SAFETY: `offset + size` is within the chunk (checked above).
///                 let ptr = unsafe { self.chunk.ptr().add(offset) };
///                 return Ok(Block::from_raw_parts(ptr, layout));
///             }
///         }
///         System.allocate_raw(layout)
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         if !self.owns(&block) {
///             // SAFETY: not in the chunk, so it came from `System`.
///             unsafe { System.deallocate_raw(block) }
///         }
///     }
/// }
///
/// #[global_allocator]
/// static GLOBAL: GlobalAllocator<Locked<BumpThenSystem>> =
///     GlobalAllocator::lazy(|| Ok(Locked::new(BumpThenSystem::new()?)));
///
/// fn main() {
///     let words: Vec<String> = (0..100).map(|i| i.to_string()).collect();
///     assert_eq!(words[42], "42");
///     let big = vec![0u8; 1 << 20]; // more than the chunk: served by `System`
///     assert_eq!(big.len(), 1 << 20);
/// }
/// ```
pub struct GlobalAllocator<A> {
    /// `UNINIT`, `INITIALISING`, `READY` or `FAILED`; moves only forward.
    state: AtomicU8,
    /// Builds the allocator; `None` when it was given ready-made.
    init: Option<fn() -> Result<A, InitError>>,
    /// The thread running the initialiser ([`crate::thread_marker`]), or 0.
    #[cfg(feature = "std")]
    initialiser: core::sync::atomic::AtomicUsize,
    /// Initialised when `state` is `READY`; written only by the initialising thread before
    /// it stores `READY` (Release), read only after loading `READY` (Acquire).
    value: UnsafeCell<MaybeUninit<A>>,
    /// Meaningful when `state` is `FAILED`; written like `value` before storing `FAILED`.
    error: UnsafeCell<InitError>,
}

// SAFETY: the allocator is written once, by the thread that won the `UNINIT ->
// INITIALISING` exchange, before a Release store of `READY`; every other access is a shared
// read after an Acquire load of `READY`, so writes and reads never race and all threads see
// it initialised. After that, threads share `&A` (hence `A: Sync`), and the allocator may
// be built on one thread and dropped on another (hence `A: Send`), as for `OnceLock<A>`.
// `error` is handled like `value`, with `FAILED`; `InitError` is `Send + Sync`.
unsafe impl<A: Send + Sync> Sync for GlobalAllocator<A> {}

impl<A> GlobalAllocator<A> {
    /// A global allocator that uses `allocator`, built in a `const` context.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{GlobalAllocator, Locked};
    /// use std::alloc::System;
    ///
    /// static GLOBAL: GlobalAllocator<Locked<System>> = GlobalAllocator::new(Locked::new(System));
    /// assert!(GLOBAL.get().is_some());
    /// ```
    #[must_use]
    pub const fn new(allocator: A) -> Self {
        Self {
            state: AtomicU8::new(READY),
            init: None,
            #[cfg(feature = "std")]
            initialiser: core::sync::atomic::AtomicUsize::new(0),
            value: UnsafeCell::new(MaybeUninit::new(allocator)),
            error: UnsafeCell::new(NOT_FAILED),
        }
    }

    /// A global allocator whose allocator `init` builds on first use (once, on the thread
    /// that allocates first). `init` must allocate from [`std::alloc::System`] (or another
    /// allocator that is not the global one); see the [type docs](Self#initialisation).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, AllocatorError, InitError};
    /// use alloc_global::{GlobalAllocator, Locked};
    /// use std::alloc::System;
    ///
    /// static GLOBAL: GlobalAllocator<Locked<System>> =
    ///     GlobalAllocator::lazy(|| Ok(Locked::new(System)));
    /// assert!(GLOBAL.get().is_none());
    /// // Any use initialises it, as the first allocation through `GlobalAlloc` would.
    /// let b = GLOBAL.allocate(7u32).unwrap();
    /// assert_eq!(*b, 7);
    /// assert!(GLOBAL.get().is_some());
    ///
    /// static BROKEN: GlobalAllocator<System> =
    ///     GlobalAllocator::lazy(|| Err(InitError::other("no memory at start-up")));
    /// assert_eq!(BROKEN.get_or_init().unwrap_err().to_string(), "no memory at start-up");
    /// // Allocation reports the kind.
    /// assert_eq!(BROKEN.allocate(1u8).unwrap_err().0, AllocatorError::Other);
    /// ```
    #[must_use]
    pub const fn lazy(init: fn() -> Result<A, InitError>) -> Self {
        Self {
            state: AtomicU8::new(UNINIT),
            init: Some(init),
            #[cfg(feature = "std")]
            initialiser: core::sync::atomic::AtomicUsize::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            error: UnsafeCell::new(NOT_FAILED),
        }
    }

    /// The allocator, if it is built (always, for [`new`](Self::new)); `None` before the
    /// first use of a [`lazy`](Self::lazy) one, during its initialisation, and after a
    /// failed one. Never initialises.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::GlobalAllocator;
    /// use std::alloc::System;
    ///
    /// let global = GlobalAllocator::lazy(|| Ok(System));
    /// assert!(global.get().is_none());
    /// global.get_or_init().unwrap();
    /// assert!(global.get().is_some());
    /// ```
    #[inline]
    #[must_use]
    pub fn get(&self) -> Option<&A> {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: `READY` was stored (Release) after `value` was written, and this
            // load is Acquire.
            Some(unsafe { self.value_unchecked() })
        } else {
            None
        }
    }

    /// The allocator, built now if this is the first use (waiting if another thread is
    /// building it).
    ///
    /// # Errors
    ///
    /// The initialiser's error if it failed (now or on an earlier call: failure is final);
    /// an [`InitError`] of kind `Other` if it panicked, or (with `std`) if it is running on
    /// this thread, which means it allocated from this very allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::GlobalAllocator;
    /// use std::alloc::System;
    ///
    /// let global = GlobalAllocator::lazy(|| Ok(System));
    /// let _system: &System = global.get_or_init().unwrap();
    /// ```
    #[inline]
    pub fn get_or_init(&self) -> Result<&A, InitError> {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: as in `get`.
            return Ok(unsafe { self.value_unchecked() });
        }
        self.init_slow()
    }

    /// # Safety
    ///
    /// `state` was loaded as `READY` with Acquire ordering (or `&mut self` is held and it
    /// is `READY`).
    #[inline]
    unsafe fn value_unchecked(&self) -> &A {
        // SAFETY: `value` was initialised before `READY` was stored and is never written
        // again (caller); the Acquire load makes that write visible.
        unsafe { (*self.value.get()).assume_init_ref() }
    }

    /// The first use: runs the initialiser, or waits for the thread that runs it.
    #[cold]
    #[inline(never)]
    fn init_slow(&self) -> Result<&A, InitError> {
        let mut spins = 0u32;
        loop {
            match self.state.compare_exchange(
                UNINIT,
                INITIALISING,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return self.run_init(),
                // SAFETY: loaded as `READY` with Acquire ordering.
                Err(READY) => return Ok(unsafe { self.value_unchecked() }),
                // SAFETY: `error` was written before `FAILED` was stored (Release) and is
                // never written again; this load was Acquire.
                Err(FAILED) => return Err(unsafe { *self.error.get() }),
                Err(_) => {
                    // Another thread, or this one, is running the initialiser.
                    #[cfg(feature = "std")]
                    {
                        let me = crate::thread_marker();
                        if me != 0 && self.initialiser.load(Ordering::Relaxed) == me {
                            return Err(REENTRANT_INIT);
                        }
                    }
                    if spins < 64 {
                        spins += 1;
                        core::hint::spin_loop();
                    } else {
                        #[cfg(feature = "std")]
                        std::thread::yield_now();
                        #[cfg(not(feature = "std"))]
                        core::hint::spin_loop();
                    }
                }
            }
        }
    }

    /// Runs the initialiser; called by the thread that moved the state to `INITIALISING`.
    fn run_init(&self) -> Result<&A, InitError> {
        #[cfg(feature = "std")]
        self.initialiser
            .store(crate::thread_marker(), Ordering::Relaxed);
        // If the initialiser panics: record it as a failure, so that waiting threads stop
        // waiting, and let the panic continue.
        let on_unwind = FailOnUnwind(self);
        let result = match self.init {
            Some(init) => init(),
            // Unreachable: `new` starts `READY`. Kept as an error, not a panic.
            None => Err(InitError::other("the global allocator has no initialiser")),
        };
        core::mem::forget(on_unwind);
        #[cfg(feature = "std")]
        self.initialiser.store(0, Ordering::Relaxed);
        match result {
            Ok(allocator) => {
                // SAFETY: this thread alone moved the state from `UNINIT` to
                // `INITIALISING`; no other thread touches `value` until it sees `READY`.
                unsafe { (*self.value.get()).write(allocator) };
                self.state.store(READY, Ordering::Release);
                // SAFETY: `value` was written just above by this thread.
                Ok(unsafe { self.value_unchecked() })
            }
            Err(e) => {
                self.fail(e);
                Err(e)
            }
        }
    }

    /// Records `e` and moves to `FAILED`; called by the initialising thread only.
    fn fail(&self, e: InitError) {
        // SAFETY: only the initialising thread writes `error`, before storing `FAILED`;
        // no other thread reads it until it sees `FAILED`.
        unsafe { *self.error.get() = e };
        self.state.store(FAILED, Ordering::Release);
    }
}

/// Marks the initialisation failed if the initialiser unwinds.
struct FailOnUnwind<'a, A>(&'a GlobalAllocator<A>);

impl<A> Drop for FailOnUnwind<'_, A> {
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        self.0.initialiser.store(0, Ordering::Relaxed);
        self.0.fail(INIT_PANICKED);
    }
}

impl<A: Allocator> GlobalAllocator<A> {
    /// `GlobalAlloc::alloc` and `alloc_zeroed` on the ready allocator: `allocate` (one of
    /// `inner`'s methods), its block as a pointer, null on failure.
    #[inline(always)]
    fn serve(
        inner: &A,
        layout: Layout,
        allocate: impl FnOnce(&A, Layout) -> Result<Block, AllocatorError>,
    ) -> *mut u8 {
        let bomb = AbortOnUnwind;
        let ptr = allocate(inner, layout).map_or(ptr::null_mut(), |b| b.as_ptr());
        bomb.defuse();
        ptr
    }

    /// The same before the allocator is ready: builds it (or waits for it), then serves;
    /// null if it cannot be built. A call of its own, so that the ready path keeps
    /// nothing live across a call (and needs no stack frame).
    #[cold]
    #[inline(never)]
    fn serve_first(
        &self,
        layout: Layout,
        allocate: impl FnOnce(&A, Layout) -> Result<Block, AllocatorError>,
    ) -> *mut u8 {
        let bomb = AbortOnUnwind;
        let ptr = self.get_or_init().map_or(ptr::null_mut(), |inner| {
            Self::serve(inner, layout, allocate)
        });
        bomb.defuse();
        ptr
    }
}

/// Aborts the process if dropped: alive around every call into user code from a
/// `GlobalAlloc` method, and forgotten when the call returns, so it only drops while
/// unwinding, which must not leave a `GlobalAlloc` method.
struct AbortOnUnwind;

impl AbortOnUnwind {
    #[inline]
    fn defuse(self) {
        core::mem::forget(self);
    }
}

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        std::process::abort();
        // A panic in a destructor during unwinding aborts the process.
        #[cfg(not(feature = "std"))]
        panic!("a panic tried to unwind out of a GlobalAlloc method: aborting");
    }
}

impl<A> Drop for GlobalAllocator<A> {
    fn drop(&mut self) {
        if *self.state.get_mut() == READY {
            // SAFETY: `READY` means `value` is initialised; `&mut self` excludes any other
            // access, and it is dropped once.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<A> fmt::Debug for GlobalAllocator<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.load(Ordering::Acquire) {
            UNINIT => "uninitialised",
            INITIALISING => "initialising",
            READY => "ready",
            _ => "failed",
        };
        f.debug_struct("GlobalAllocator")
            .field("allocator", &core::any::type_name::<A>())
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

// SAFETY: every method hands out the inner allocator's blocks unchanged: non-null results
// of `alloc`/`alloc_zeroed`/`realloc` are blocks allocated by it for the requested layout
// (aligned, at least the requested size, disjoint: its contract, promise 1), and `dealloc`
// and `realloc` give it back a block rebuilt from the caller's pointer and layout, which
// fits the block it handed out (`GlobalAlloc`'s caller contract: same layout as
// allocated, and the inner allocator accepts any block that fits). Failures are null and
// leave the old block untouched (promise 4). Nothing unwinds out (`AbortOnUnwind`).
unsafe impl<A: Allocator> GlobalAlloc for GlobalAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.get() {
            Some(inner) => Self::serve(inner, layout, A::allocate_raw),
            None => self.serve_first(layout, A::allocate_raw),
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.get() {
            Some(inner) => Self::serve(inner, layout, A::allocate_zeroed_raw),
            None => self.serve_first(layout, A::allocate_zeroed_raw),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // A pointer this allocator handed out means it is ready; anything else (null, or
        // a call before initialisation) can only be a caller's bug, and is ignored.
        let (Some(inner), Some(ptr)) = (self.get(), NonNull::new(ptr)) else {
            return;
        };
        if ptr.as_ptr().addr() & (layout.align() - 1) != 0 {
            return; // Not a block of ours (misaligned): ignored rather than a panic.
        }
        let bomb = AbortOnUnwind;
        // SAFETY: the caller gives back a block allocated here with `layout`, so the
        // rebuilt block fits a block currently allocated by `inner`.
        unsafe { inner.deallocate_raw(Block::from_raw_parts(ptr, layout)) };
        bomb.defuse();
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (Some(inner), Some(ptr)) = (self.get(), NonNull::new(ptr)) else {
            return ptr::null_mut();
        };
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return ptr::null_mut();
        };
        if ptr.as_ptr().addr() & (layout.align() - 1) != 0 {
            return ptr::null_mut();
        }
        let bomb = AbortOnUnwind;
        let block = Block::from_raw_parts(ptr, layout);
        // SAFETY: as in `dealloc`, `block` fits a block currently allocated by `inner`.
        let result = unsafe { inner.reallocate_raw(block, new_layout) };
        bomb.defuse();
        result.map_or(ptr::null_mut(), |b| b.as_ptr())
    }
}

// SAFETY: forwards to the inner allocator (built on first use), whose blocks these are.
// Before it is built, no block can be currently allocated, so `deallocate_raw` can only
// receive an empty block, which is a no-op; zero-size requests go to the inner allocator,
// which answers `Block::empty`.
unsafe impl<A: Allocator> Allocator for GlobalAllocator<A> {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.get_or_init()?.allocate_raw(layout)
    }

    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if let Some(inner) = self.get() {
            // SAFETY: forwarded from the caller.
            unsafe { inner.deallocate_raw(block) }
        }
    }

    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.get_or_init()?.reallocate_raw(block, new_layout) }
    }

    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.get_or_init()?.allocate_zeroed_raw(layout)
    }
}

// SAFETY: the inner allocator's answer; before it is built, nothing is its block.
unsafe impl<A: BlockOwner> BlockOwner for GlobalAllocator<A> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.get().is_some_and(|inner| inner.owns_block(block))
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator] for GlobalAllocator<A>);

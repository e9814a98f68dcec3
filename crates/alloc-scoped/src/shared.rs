//! [`SharedArena`]: a growing bump arena that threads share (`Sync`), lock-free.
//!
//! # Design
//!
//! Each chunk (a block of the parent, aligned to 16) has a [`Header`] at its top holding
//! the chunk's own bump pointer, an atomic. An allocation loads the current chunk, then
//! moves that chunk's pointer down with one compare-and-swap: no lock, and threads that
//! still see an older chunk keep allocating from it safely (its pointer is as atomic as
//! the current one's). When the chunk is full, the thread takes a new chunk from the
//! parent *without holding anything* (the parent may be user code that uses this very
//! arena), carves its block from the top of the new chunk while no one else can see it,
//! and pushes the chunk on the chain with a compare-and-swap (a Treiber-stack push: the
//! chain is never popped while the arena is shared). Two threads that grow at once each
//! push a chunk; the older of the two keeps its free space for the threads that still see
//! it, and is otherwise wasted (counted in [`ArenaStats::wasted`](crate::ArenaStats::wasted)).
//!
//! Chunks go back to the parent only through `&mut self` ([`reset`](SharedArena::reset),
//! `Drop`), so a header is never freed while a thread can read it.
//!
//! Under `cfg(loom)` the atomics are loom's, and `tests/loom.rs` checks the concurrent
//! paths under every interleaving loom explores.

use core::alloc::Layout;
use core::fmt;
use core::ptr::{self, NonNull};

#[cfg(not(loom))]
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

use crate::bump::down;
use crate::{ArenaStats, BUFFER_ALIGN, MAX_ALIGN, Scoped};

/// The record at the top of every chunk of a [`SharedArena`].
#[repr(C)]
struct Header {
    /// The chunk's bump pointer, in `start..=self` (the header's address); it carries the
    /// chunk's provenance.
    ptr: AtomicPtr<u8>,
    /// Lowest address of the chunk.
    start: usize,
    /// The chunk below this one in the chain: written before the chunk is published,
    /// never again while the arena is shared.
    prev: *mut Header,
    /// The chunk as the parent returned it.
    chunk: Block,
}

const HEADER: usize = (size_of::<Header>() + BUFFER_ALIGN - 1) & !(BUFFER_ALIGN - 1);

/// The smallest chunk a `SharedArena` takes.
const MIN_CHUNK: usize = 4096;

/// The first chunk of a [`SharedArena::local`] handle.
const LOCAL_CHUNK: usize = 4096;

/// The first chunk for `initial` bytes: with the header, at least [`MIN_CHUNK`], rounded
/// up to a power of two (as the growing `Scoped` does).
fn first_chunk(initial: usize) -> usize {
    let size = initial.saturating_add(HEADER).max(MIN_CHUNK);
    size.checked_next_power_of_two().unwrap_or(size)
}

macro_rules! shared_struct {
    ($($default:tt)*) => {
        /// A growing bump arena that threads share through `&`: `Sync` when its parent
        /// is, for scoped threads and rayon-style parallel code.
        ///
        /// Allocation moves the current chunk's bump pointer with one compare-and-swap;
        /// growth takes a chunk from the parent (the global heap by default) and
        /// publishes it with another, so no thread ever waits for a lock. Freeing the
        /// most recent block of a chunk gives it back (if no other thread allocated after
        /// it), other frees do nothing until [`reset`](Self::reset); see [the module
        /// docs](crate#the-shared-arena) for the details and the numbers.
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_core::Allocator;
        /// use alloc_scoped::SharedArena;
        ///
        /// let arena = SharedArena::new(4096);
        /// let sums: Vec<u64> = std::thread::scope(|s| {
        ///     let handles: Vec<_> = (0..4u64)
        ///         .map(|t| {
        ///             let arena = &arena;
        ///             s.spawn(move || {
        ///                 let values = arena.allocate_slice_with(1000, |i| i as u64 * t).unwrap();
        ///                 values.iter().sum()
        ///             })
        ///         })
        ///         .collect();
        ///     handles.into_iter().map(|h| h.join().unwrap()).collect()
        /// });
        /// assert_eq!(sums, [0, 499_500, 999_000, 1_498_500]);
        /// ```
        pub struct SharedArena<A: Allocator $($default)*> {
            /// The current chunk (the top of the chain), null before the first one.
            current: AtomicPtr<Header>,
            /// Size of the next regular chunk.
            next_size: AtomicUsize,
            /// Bytes taken from the parent and not given back.
            held: AtomicUsize,
            /// The most `held` may reach.
            limit: usize,
            /// Where the chunks come from.
            parent: A,
        }
    };
}

#[cfg(feature = "alloc")]
shared_struct!(= Heap);
#[cfg(not(feature = "alloc"))]
shared_struct!();

#[cfg(feature = "alloc")]
impl SharedArena<Heap> {
    /// A shared arena over the global heap whose first chunk holds at least `initial`
    /// bytes (taken at the first allocation); chunks double from there.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::SharedArena;
    ///
    /// let arena = SharedArena::new(0);
    /// assert_eq!(*arena.allocate(5u8).unwrap(), 5);
    /// ```
    #[must_use]
    pub fn new(initial: usize) -> Self {
        Self::new_in(initial, Heap)
    }
}

impl<A: Allocator> SharedArena<A> {
    /// A shared arena whose chunks come from `parent`: as [`new`](SharedArena::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    /// use alloc_scoped::SharedArena;
    ///
    /// let arena = SharedArena::new_in(1024, Heap);
    /// assert_eq!(*arena.allocate(5u8).unwrap(), 5);
    /// ```
    #[must_use]
    pub fn new_in(initial: usize, parent: A) -> Self {
        Self {
            current: AtomicPtr::new(ptr::null_mut()),
            next_size: AtomicUsize::new(first_chunk(initial)),
            held: AtomicUsize::new(0),
            limit: usize::MAX,
            parent,
        }
    }

    /// Sets the most bytes the arena may hold from its parent (`None`: no limit, the
    /// default). A growth past it fails with `OutOfMemory` (`TooLarge` if the request
    /// alone exceeds it).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, AllocatorError};
    /// use alloc_scoped::SharedArena;
    ///
    /// let mut arena = SharedArena::new(0);
    /// arena.set_limit(Some(10_000));
    /// assert_eq!(arena.allocate([0u8; 20_000]).unwrap_err().0, AllocatorError::TooLarge);
    /// ```
    pub fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit.unwrap_or(usize::MAX);
    }

    /// The allocator the chunks come from.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Heap;
    /// use alloc_scoped::SharedArena;
    ///
    /// let _heap: &Heap = SharedArena::new(0).parent();
    /// ```
    #[must_use]
    pub fn parent(&self) -> &A {
        &self.parent
    }

    /// A handle for one thread: a growing [`Scoped`] whose chunks come from this arena
    /// (4 KiB first, doubling). It allocates without atomics (it is `Send`, not `Sync`);
    /// its chunks return to this arena when it is dropped (the most recent one is
    /// reclaimed at once, the others at this arena's [`reset`](Self::reset)). Use one
    /// per thread or task when each does many small allocations: the measured cost per
    /// allocation is a `Scoped`'s instead of a compare-and-swap.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::SharedArena;
    ///
    /// let arena = SharedArena::new(0);
    /// let totals: Vec<u64> = std::thread::scope(|s| {
    ///     let handles: Vec<_> = (0..2u64).map(|t| {
    ///         let arena = &arena;
    ///         s.spawn(move || {
    ///             let local = arena.local();
    ///             let v = local.allocate_slice_with(100, |i| i as u64 + t).unwrap();
    ///             v.iter().sum()
    ///         })
    ///     }).collect();
    ///     handles.into_iter().map(|h| h.join().unwrap()).collect()
    /// });
    /// assert_eq!(totals, [4950, 5050]);
    /// ```
    #[must_use]
    pub fn local(&self) -> Scoped<&Self> {
        Scoped::lazy_in(LOCAL_CHUNK, self)
    }

    /// The arena's [statistics](ArenaStats) (a snapshot while other threads allocate).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::SharedArena;
    ///
    /// let arena = SharedArena::new(0);
    /// let _x = arena.allocate(1u64).unwrap();
    /// let stats = arena.stats();
    /// assert_eq!((stats.allocated, stats.chunks), (8, 1));
    /// assert_eq!(stats.capacity, stats.allocated + stats.remaining + stats.wasted);
    /// ```
    #[must_use]
    pub fn stats(&self) -> ArenaStats {
        let mut stats = ArenaStats {
            held: self.held.load(Ordering::Relaxed),
            ..ArenaStats::default()
        };
        let mut next = self.current.load(Ordering::Acquire);
        let mut first = true;
        while let Some(h) = NonNull::new(next) {
            // SAFETY: chunks of the chain stay allocated while the arena is shared (only
            // `&mut self` gives them back), and their headers were written before they
            // were published (Release), which the Acquire load above saw.
            let header = unsafe { h.as_ref() };
            let low = header.ptr.load(Ordering::Relaxed).addr();
            let top = h.as_ptr().addr();
            stats.chunks += 1;
            stats.allocated += top - low;
            stats.capacity += top - header.start;
            if first {
                stats.remaining = low - header.start;
            } else {
                stats.wasted += low - header.start;
            }
            first = false;
            next = header.prev;
        }
        stats
    }

    /// Forgets every block and keeps the largest chunk, giving the others back. `&mut
    /// self` guarantees no value allocated here is alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::SharedArena;
    ///
    /// let mut arena = SharedArena::new(0);
    /// for i in 0..10_000u64 { core::mem::forget(arena.allocate(i).unwrap()); }
    /// arena.reset();
    /// assert_eq!((arena.stats().allocated, arena.stats().chunks), (0, 1));
    /// ```
    pub fn reset(&mut self) {
        let mut largest: *mut Header = ptr::null_mut();
        let mut next = self.current.load(Ordering::Relaxed);
        while let Some(h) = NonNull::new(next) {
            // SAFETY: `&mut self`: no other thread, chunks of the chain are allocated.
            let header = unsafe { h.as_ref() };
            if largest.is_null() || {
                // SAFETY: as above.
                header.chunk.size() > unsafe { &*largest }.chunk.size()
            } {
                largest = h.as_ptr();
            }
            next = header.prev;
        }
        let mut next = self.current.swap(largest, Ordering::Relaxed);
        while let Some(h) = NonNull::new(next) {
            // SAFETY: as above.
            let header = unsafe { h.as_ref() };
            next = header.prev;
            if h.as_ptr() == largest {
                header.ptr.store(top_of(h), Ordering::Relaxed);
                // SAFETY: `&mut self`; the header is valid for writes.
                unsafe { (*h.as_ptr()).prev = ptr::null_mut() };
            } else {
                let block = header.chunk;
                self.held.fetch_sub(block.size(), Ordering::Relaxed);
                // SAFETY: the chunk came from the parent, is unlinked, and no block in it
                // is alive (`&mut self`).
                unsafe { self.parent.deallocate_raw(block) };
            }
        }
    }

    /// The slow path: zero-size requests, alignments too large, and growth.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, layout: Layout) -> Result<NonNull<u8>, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout).ptr());
        }
        if layout.align() > MAX_ALIGN {
            return Err(AllocatorError::UnsupportedAlignment);
        }
        // Another thread may have grown the arena since the fast path looked.
        if let Some(ptr) = self.alloc_fast(layout) {
            return Ok(ptr);
        }
        let need = layout
            .size()
            .checked_add(layout.align().max(BUFFER_ALIGN) + HEADER)
            .filter(|&n| n <= isize::MAX as usize - BUFFER_ALIGN)
            .ok_or(AllocatorError::TooLarge)?;
        let regular = self.next_size.load(Ordering::Relaxed);
        let h = if need <= regular {
            match self.take(regular) {
                Ok(h) => {
                    let doubled = regular.saturating_mul(2).min(isize::MAX as usize / 2);
                    self.next_size.fetch_max(doubled, Ordering::Relaxed);
                    h
                }
                Err(_) => self.take(need)?,
            }
        } else {
            self.take(need)?
        };
        // The block, from the top of the new chunk, which no other thread sees yet.
        // SAFETY: written by `take`; a shared reference, since the header is only
        // written through its raw pointer again in `publish`, after the last use of this
        // one.
        let header = unsafe { h.as_ref() };
        let ptr = header.ptr.load(Ordering::Relaxed);
        // It fits by construction (`need`); the chunk is published either way, so that
        // it is given back with the others.
        let new = down(ptr.addr(), layout).filter(|&n| n >= header.start);
        let new_ptr = new.map(|new| ptr.with_addr(new));
        if let Some(new_ptr) = new_ptr {
            header.ptr.store(new_ptr, Ordering::Relaxed);
        }
        self.publish(h);
        new_ptr
            .and_then(NonNull::new)
            .ok_or(AllocatorError::OutOfMemory)
    }

    /// Takes a chunk of `size` bytes (rounded up to 16) from the parent, within the limit,
    /// and writes its header (not published).
    fn take(&self, size: usize) -> Result<NonNull<Header>, AllocatorError> {
        let size = size
            .checked_add(BUFFER_ALIGN - 1)
            .map(|s| s & !(BUFFER_ALIGN - 1))
            .ok_or(AllocatorError::TooLarge)?;
        if size > self.limit {
            return Err(AllocatorError::TooLarge);
        }
        // Reserve the bytes before asking, so that racing threads stay within the limit.
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                (size <= self.limit - held.min(self.limit)).then(|| held + size)
            })
            .map_err(|_| AllocatorError::OutOfMemory)?;
        let layout = Layout::from_size_align(size, BUFFER_ALIGN).map_err(|_| {
            self.held.fetch_sub(size, Ordering::Relaxed);
            AllocatorError::TooLarge
        })?;
        let block = match self.parent.allocate_raw(layout) {
            Ok(block) => block,
            Err(e) => {
                self.held.fetch_sub(size, Ordering::Relaxed);
                return Err(e);
            }
        };
        // Count what the parent really gave.
        self.held.fetch_add(block.size() - size, Ordering::Relaxed);
        let offset = (block.size() - HEADER) & !(BUFFER_ALIGN - 1);
        // SAFETY: `offset + HEADER <= block.size()`, since `size >= need > HEADER`.
        let at = unsafe { block.ptr().add(offset) }.cast::<Header>();
        // SAFETY: `at` is 16-aligned inside the block, which nobody else uses; the block
        // pointer carries the chunk's provenance, kept in `ptr`.
        unsafe {
            at.write(Header {
                ptr: AtomicPtr::new(at.cast::<u8>().as_ptr()),
                start: block.addr(),
                prev: ptr::null_mut(),
                chunk: block,
            });
        }
        Ok(at)
    }

    /// Pushes a written chunk on the chain, making it current.
    fn publish(&self, h: NonNull<Header>) {
        let h = h.as_ptr();
        let mut top = self.current.load(Ordering::Relaxed);
        loop {
            // SAFETY: the chunk is not published yet: this thread alone accesses its
            // header.
            unsafe { (*h).prev = top };
            match self
                .current
                .compare_exchange_weak(top, h, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => top = now,
            }
        }
    }

    /// The fast path: one compare-and-swap on the current chunk's pointer.
    #[inline(always)]
    fn alloc_fast(&self, layout: Layout) -> Option<NonNull<u8>> {
        let h = NonNull::new(self.current.load(Ordering::Acquire))?;
        // SAFETY: a published chunk stays allocated while the arena is shared, and its
        // header was written before it was published (the Acquire load pairs with the
        // Release of `publish`).
        let h = unsafe { h.as_ref() };
        let mut ptr = h.ptr.load(Ordering::Relaxed);
        loop {
            let new = down(ptr.addr(), layout).filter(|&n| n >= h.start)?;
            let new_ptr = ptr.with_addr(new);
            // The pointer's own modification order keeps the blocks apart. Acquire on
            // success: the bytes may have been a block another thread wrote and then gave
            // back (`deallocate_raw` rewinds with Release), and its writes must happen
            // before ours.
            match h
                .ptr
                .compare_exchange_weak(ptr, new_ptr, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return NonNull::new(new_ptr),
                Err(now) => ptr = now,
            }
        }
    }

    /// The chunk that holds `block` among its live blocks, if any.
    fn find(&self, block: &Block) -> Option<&Header> {
        let mut next = self.current.load(Ordering::Acquire);
        while let Some(h) = NonNull::new(next) {
            // SAFETY: as in `alloc_fast`.
            let header = unsafe { h.as_ref() };
            let low = header.ptr.load(Ordering::Relaxed).addr();
            if block.is_inside(low, h.as_ptr().addr() - low) {
                return Some(header);
            }
            next = header.prev;
        }
        None
    }
}

/// The top of a chunk (its header's address), with the chunk's provenance.
fn top_of(h: NonNull<Header>) -> *mut u8 {
    h.cast::<u8>().as_ptr()
}

impl<A: Allocator> Drop for SharedArena<A> {
    fn drop(&mut self) {
        let mut next = self.current.load(Ordering::Relaxed);
        while let Some(h) = NonNull::new(next) {
            // SAFETY: `&mut self`: the chunks of the chain are allocated and unshared.
            let header = unsafe { h.as_ref() };
            next = header.prev;
            // SAFETY: the chunk came from the parent; no block of it is alive (typed
            // values borrow the arena; raw blocks live only as long as the allocator).
            unsafe { self.parent.deallocate_raw(header.chunk) };
        }
    }
}

impl<A: Allocator> fmt::Debug for SharedArena<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("SharedArena")
            .field("allocated", &stats.allocated)
            .field("chunks", &stats.chunks)
            .field("held", &stats.held)
            .finish()
    }
}

// SAFETY: the arena owns its chunks exclusively (blocks handed out borrow it, or are raw
// blocks valid only while it lives); sending it sends its parent, hence `A: Send`.
unsafe impl<A: Allocator + Send> Send for SharedArena<A> {}

// SAFETY: through `&self`, threads only touch atomics (the chain head, each chunk's bump
// pointer, the counters) and headers that are immutable once published; chunks are
// freed only through `&mut self`. The parent is called from several threads at once,
// hence `A: Sync`.
unsafe impl<A: Allocator + Sync> Sync for SharedArena<A> {}

// SAFETY: every block is carved by a successful compare-and-swap that moves a chunk's
// pointer down past it, so blocks never overlap (the pointer's modification order is
// total); a chunk is valid parent memory until `reset` or `Drop` (both `&mut`); blocks
// lie below each chunk's header, outside the arena value; zero-size requests get
// `Block::empty`; a failed request changes nothing but the counters it restores.
unsafe impl<A: Allocator> Allocator for SharedArena<A> {
    /// Bumps the current chunk's pointer down with a compare-and-swap; grows when full.
    ///
    /// # Errors
    ///
    /// `UnsupportedAlignment` above [`MAX_ALIGN`], `TooLarge` for a request no chunk can
    /// hold (or above the limit), `OutOfMemory` past the limit, or the parent's error.
    #[inline(always)]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() != 0 && layout.align() <= MAX_ALIGN {
            if let Some(ptr) = self.alloc_fast(layout) {
                return Ok(Block::from_raw_parts(ptr, layout));
            }
        }
        self.alloc_slow(layout)
            .map(|ptr| Block::from_raw_parts(ptr, layout))
    }

    /// Gives the block back if it is the most recent of its chunk and no thread allocated
    /// after it; otherwise does nothing.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// In every build, if `block` is not empty and does not lie among the live blocks of
    /// a chunk (freed twice after a rewind, foreign).
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let Some(h) = self.find(&block) else {
            foreign_block(&block)
        };
        let at = block.as_ptr();
        // SAFETY: `block` lies in the chunk (checked by `find`): its end is at most the
        // header's address.
        let end = unsafe { at.add(block.size()) };
        // Fails harmlessly if another block was carved below it meanwhile. Release: the
        // next thread to carve these bytes (Acquire) must see every write made to them
        // here first, or the two threads' accesses would race (Miri found this race).
        let _ = h
            .ptr
            .compare_exchange(at, end, Ordering::Release, Ordering::Relaxed);
    }
}

// SAFETY: `owns_block` is true exactly for blocks among the live blocks of a chunk of
// the chain (`ptr..header`), where every live block lies.
unsafe impl<A: Allocator> BlockOwner for SharedArena<A> {
    fn owns_block(&self, block: &Block) -> bool {
        self.find(block).is_some()
    }
}

/// The panic of [`SharedArena`] for a block it does not hold.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign_block(block: &Block) -> ! {
    panic!(
        "alloc_scoped::SharedArena::deallocate_raw: {block:?} is not among the live blocks \
         of this arena (a double free, or a block of another allocator)"
    )
}

alloc_core::impl_allocator_api2!(impl[A: Allocator] for SharedArena<A>);

//! [`ThreadCache`]: per-thread caches of free blocks in front of any thread-safe
//! allocator (Bonwick's magazines and depot, tcmalloc's thread caches and transfer cache).
//!
//! The design, its bounds and the reasons are in [`ThreadCache`]'s docs.

mod classes;
mod depot;
mod local;
mod stats;

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::alloc::System;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

pub(crate) use classes::{ALIGN, MAX_SIZE, NUM_CLASSES, class_of, class_size};
use depot::{Core, DEPOT_BATCHES, next};
pub use stats::CacheStats;

/// Where a request goes: nowhere (size 0), a class, or the backing allocator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Empty,
    Class(usize),
    Backing,
}

/// The route of a block or request with `size` bytes and alignment `align`.
#[inline(always)]
const fn route(size: usize, align: usize) -> Route {
    if size.wrapping_sub(1) < MAX_SIZE && align <= ALIGN {
        Route::Class(class_of(size))
    } else if size == 0 {
        Route::Empty
    } else {
        Route::Backing
    }
}

/// The layout of class `c`'s blocks in the backing allocator.
#[inline(always)]
pub(crate) const fn class_layout(c: usize) -> Layout {
    // SAFETY: class sizes are multiples of 16, at most 16 KiB, and 16 is a power of two.
    unsafe { Layout::from_size_align_unchecked(class_size(c), ALIGN) }
}

/// The block handed out for a class-`c` block at `ptr`, asked with alignment `align`.
#[inline(always)]
fn class_block(ptr: NonNull<u8>, c: usize, align: usize) -> Block {
    // SAFETY: `align <= 16` is a power of two (it came from a `Layout`) and divides the
    // class size; the size is at most 16 KiB, far below `Block::MAX_SIZE`.
    unsafe {
        Block::from_raw_parts_unchecked(
            ptr,
            Layout::from_size_align_unchecked(class_size(c), align),
        )
    }
}

/// The most blocks a refill takes from the backing allocator, and given back to it in one
/// call. Under Miri 16: every test's first request of each class would otherwise take 64
/// blocks from the backing allocator, which made the interpreted tests twice as slow.
const BACKING_BATCH: usize = if cfg!(miri) { 16 } else { 64 };

/// The id of an instance without a core yet: no slot ever has it (slot ids are 0 or
/// taken from [`NEXT_ID`], which starts at 1 and never gets this far).
const NO_ID: u64 = u64::MAX;

/// The identity of the next instance to get a core (0 means "no slot").
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Per-thread caches of free blocks in front of any allocator `A`: the fast path of a
/// multi-threaded allocator, with no lock and no atomic read-modify-write.
///
/// Requests of 1 byte to 16 KiB aligned to at most 16 bytes are served from the calling
/// thread's cache (36 size classes, a returned block has its class's size); larger or more
/// aligned ones go straight to `A`. A block may be freed on any thread; it joins that
/// thread's cache. Blocks move between the threads' caches, a shared depot and `A` in
/// batches; see [Design](#design) below for the bounds and the reasons.
///
/// - `ThreadCache::new` is a `const fn`: a `ThreadCache` can be a `static` (and the
///   `#[global_allocator]`, through [`GlobalAllocator`](crate::GlobalAllocator)); it
///   allocates its shared part from [`System`](std::alloc::System) on first use.
/// - As a value created at run time, it is shared by `&` between threads and dropped after
///   them (or before: a thread that outlives it never touches its blocks again).
/// - It is `Sync` when `A` is; `A`'s `deallocate_raw` is called from any thread.
/// - It is a [`BlockOwner`] when `A` is.
///
/// Needs feature `std`.
///
/// # Design
///
/// - **Classes.** 36 size classes, 16 bytes to 16 KiB, 16-aligned (four per power of two
///   above 128 bytes, at most 25 % waste). Larger or more aligned requests go straight to
///   the backing allocator (counted as *spills*).
/// - **Per thread.** Each thread has, per instance, a stack of free blocks per class,
///   linked through the blocks' first word, in a `thread_local!` table. Allocation pops
///   and free pushes with plain loads and stores: no lock, no atomic read-modify-write.
/// - **Batches.** An empty stack takes a batch (half its capacity) from the instance's
///   *depot* (four shards with a spin lock per class each, a batch moves in O(1); each
///   batch is given to and first looked for in the shard of the CPU the thread runs on, so
///   that threads sharing a core exchange blocks still in its cache), else up to 64
///   blocks from the backing allocator in one [`allocate_batch`](Allocator::allocate_batch)
///   call (a backing allocator that overrides it, as [`SizeClasses`](crate::SizeClasses)
///   does, takes its lock once for them); a full stack gives its bottom (coldest) half to
///   the depot as a batch, cut in O(1) at a mark the stack keeps, or to
///   the backing allocator when the depot holds 256 KiB of that class already (16 batches
///   of the classes of 128 bytes and up, 128 of the 16-byte class's; the limit is a
///   parameter: [`with_depot_batches`](Self::with_depot_batches)).
/// - **Bounds.** A thread keeps at most 32 KiB per class (an even number of blocks
///   between 2 and 256), so at most [`MAX_THREAD_BYTES`](Self::MAX_THREAD_BYTES)
///   (986 KiB) per instance when every class is full; the depot at most 256 KiB per
///   class (9 MiB in all) by default. A thread's blocks go to the depot when it exits; the
///   depot's go to the backing allocator when the instance is dropped.
///
/// # Frees from other threads
///
/// A block freed on another thread than the one that allocated it stays with the freeing
/// thread (magazine style): it is pushed on the freeing thread's stack like any other,
/// and reaches the allocating thread again through the depot, a batch at a time. The
/// alternative, a lock-free queue back to the owner (mimalloc's thread-free list,
/// snmalloc's messages), needs to find the owner of any block: a header per block, or
/// chunks aligned to their size so that masking the address finds the owner. A cache in
/// front of *any* allocator has neither, so magazines are the only choice that works for
/// every backing allocator; they also cost a cross-thread free exactly what a local free
/// costs. The price: a producer/consumer pair moves blocks through the depot's lock once
/// per batch (up to 128 blocks), and memory freed by a thread is reused by that thread
/// first. The figures are in the facade's "Sharing across threads" docs.
///
/// # Thread-local storage, also inside `#[global_allocator]`
///
/// The table is a `thread_local!` with a `const` initialiser and no destructor, so
/// reaching it never allocates and it stays readable during every thread-local destructor.
/// A second, empty thread-local with a destructor gives the slots back when the thread
/// exits. Registering that destructor is the one step that may allocate: on Linux, std
/// calls glibc's `__cxa_thread_atexit_impl`, which takes its memory from glibc's `malloc`,
/// not from the Rust global allocator; platforms whose registration does allocate through
/// the global allocator re-enter the cache during registration, and those calls are
/// served without a cache. After the thread's destructor ran, the thread's requests are
/// served without a cache too (straight from the backing allocator).
///
/// # Several instances, and instances dropped before their threads
///
/// A thread holds up to 4 slots, each tied to one instance by
/// the instance's unique id (a counter, never reused). The instance's shared part (its
/// *core*: depot, counters, the list of its threads' slots) is allocated from
/// [`System`](std::alloc::System) on first use, so the instance value may move. When an
/// instance is dropped, it takes the free blocks out of every thread's slot (under a global
/// registry lock, which a thread's exit takes too; no call on the instance can be running,
/// since `Drop` has `&mut`), gives every free block to the backing allocator and detaches
/// the slots: a thread that outlives the instance never touches its blocks again, and the
/// slot is reused by the next instance the thread uses. A thread that uses more than four
/// instances at once is served without a cache for the others (counted as `uncached`).
///
/// # Examples
///
/// ```
/// use alloc_global::{Allocator, ThreadCache};
/// use std::alloc::System;
///
/// let cache = ThreadCache::new(System);
/// std::thread::scope(|s| {
///     for t in 0..4u64 {
///         let cache = &cache;
///         s.spawn(move || {
///             let boxes: Vec<_> = (0..100).map(|i| cache.allocate(t * 1000 + i).unwrap()).collect();
///             assert_eq!(*boxes[99], t * 1000 + 99);
///         });
///     }
/// });
/// assert_eq!(cache.stats().served, 400);
/// ```
pub struct ThreadCache<A: Allocator> {
    /// The shared part, null until first use; then never changes until `drop`.
    core: AtomicPtr<Core>,
    /// The core's id once the core exists, [`NO_ID`] before: the fast paths match it
    /// against the thread's slots without reading the core (a slot registered for this
    /// instance exists only once the core does).
    id: AtomicU64,
    /// Asks the backing allocator whether it owns a block being freed
    /// ([`checked`](Self::checked)); `None`: no check.
    check: Option<fn(&A, &Block) -> bool>,
    /// The depot's limit per class, in batches of the classes of 128 bytes and up (16 KiB;
    /// [`DEPOT_BATCHES`] by default): `classes::depot_batches` gives a class's limit.
    depot_batches: usize,
    backing: A,
}

/// The ownership check of [`ThreadCache::checked`], as a plain function.
fn owns<A: BlockOwner>(backing: &A, block: &Block) -> bool {
    backing.owns_block(block)
}

/// The panic of a failed ownership check.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign_block(block: &Block) -> ! {
    panic!(
        "ThreadCache::deallocate_raw: {block:?} is not owned by the backing allocator \
         (a block of another allocator, or of a cache over another allocator)"
    )
}

impl<A: Allocator> ThreadCache<A> {
    /// The most bytes of free blocks one thread keeps for one instance: 32 KiB per class
    /// (at least 2 and at most 256 blocks) over the 36 classes.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::ThreadCache;
    /// use std::alloc::System;
    ///
    /// assert!(ThreadCache::<System>::MAX_THREAD_BYTES < 1 << 20);
    /// ```
    pub const MAX_THREAD_BYTES: usize = classes::MAX_CACHED_PER_THREAD;

    /// A cache in front of `backing`. A `const fn`; nothing is allocated until the first
    /// request.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{Allocator, ThreadCache};
    /// use std::alloc::System;
    ///
    /// static CACHE: ThreadCache<System> = ThreadCache::new(System);
    /// let b = CACHE.allocate_str("cached").unwrap();
    /// assert_eq!(&*b, "cached");
    /// ```
    #[must_use]
    pub const fn new(backing: A) -> Self {
        Self {
            core: AtomicPtr::new(ptr::null_mut()),
            id: AtomicU64::new(NO_ID),
            check: None,
            depot_batches: DEPOT_BATCHES,
            backing,
        }
    }

    /// As [`new`](Self::new), and every free first asks the backing allocator whether it
    /// owns the block ([`BlockOwner::owns_block`]): a block of another allocator, or of
    /// a cache over another allocator, panics with a message naming the problem instead
    /// of joining the cache. The check costs the backing allocator's `owns_block` on every
    /// free (for a free list, two compares and a modulo).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{Allocator, AllocatorError, Block, BlockOwner, ThreadCache};
    /// use core::{alloc::Layout, cell::Cell};
    /// use std::alloc::System;
    ///
    /// /// Bumps through 64 KiB taken from `System` (never reuses a block: a toy), and
    /// /// owns exactly the blocks inside them.
    /// struct Region { start: Block, used: Cell<usize> }
    /// impl Drop for Region {
    ///     fn drop(&mut self) {
    ///         // SAFETY: `System`'s block, given back once, when no block of it is in use.
    ///         unsafe { System.deallocate_raw(self.start) }
    ///     }
    /// }
    /// // SAFETY: blocks are disjoint, 16-aligned pieces of the region, which lives as long
    /// // as the allocator.
    /// unsafe impl Allocator for Region {
    ///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
    ///         let (offset, size) = (self.used.get(), layout.size().next_multiple_of(16));
    ///         if layout.align() > 16 || size > self.start.size() - offset {
    ///             return Err(AllocatorError::OutOfMemory);
    ///         }
    ///         self.used.set(offset + size);
    ///         // SAFETY: `offset + size` is inside the region.
    ///         Ok(Block::from_raw_parts(unsafe { self.start.ptr().add(offset) }, layout))
    ///     }
    ///     unsafe fn deallocate_raw(&self, _: Block) {}
    /// }
    /// // SAFETY: the region's blocks are exactly the blocks inside it.
    /// unsafe impl BlockOwner for Region {
    ///     fn owns_block(&self, b: &Block) -> bool {
    ///         !b.is_empty() && b.is_inside(self.start.addr(), self.start.size())
    ///     }
    /// }
    /// let region = || Region {
    ///     start: System.allocate_raw(Layout::from_size_align(1 << 16, 16).unwrap()).unwrap(),
    ///     used: Cell::new(0),
    /// };
    ///
    /// let (cache, other) = (ThreadCache::checked(region()), ThreadCache::checked(region()));
    /// let theirs = other.allocate_raw(Layout::new::<u64>()).unwrap();
    /// // SAFETY: deliberately wrong for the example: a block of `other`; the check refuses
    /// // it before the cache touches it.
    /// let free = || unsafe { cache.deallocate_raw(theirs) };
    /// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(free));
    /// assert!(r.is_err());
    /// ```
    #[must_use]
    pub const fn checked(backing: A) -> Self
    where
        A: BlockOwner,
    {
        Self {
            core: AtomicPtr::new(ptr::null_mut()),
            id: AtomicU64::new(NO_ID),
            check: Some(owns::<A>),
            depot_batches: DEPOT_BATCHES,
            backing,
        }
    }

    /// As [`new`](Self::new), with a depot that keeps up to `batches` full batches per
    /// class (16 by default) before giving further batches back to the backing allocator
    /// (through [`deallocate_batch`](Allocator::deallocate_batch)). The batches counted are
    /// those of the classes of 128 bytes and up (16 KiB of blocks); the smaller classes'
    /// batches are smaller (128 blocks), and the depot keeps as many bytes of them: with
    /// 16, 256 KiB of every class (128 batches of the 16-byte class). `usize::MAX` never
    /// gives blocks back before the instance is dropped: the right choice when the backing
    /// allocator would only keep them on a list of its own and never return memory, since
    /// a batch then moves in O(1). `0` gives every batch a full thread cache sheds straight
    /// back. A `const fn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{Allocator, ThreadCache};
    /// use std::alloc::System;
    ///
    /// // Threads that free what other threads allocated shed batches into the depot;
    /// // this one keeps them all until it is dropped.
    /// let cache = ThreadCache::with_depot_batches(System, usize::MAX);
    /// let b = cache.allocate(7u32).unwrap();
    /// assert_eq!(*b, 7);
    /// ```
    #[must_use]
    pub const fn with_depot_batches(backing: A, batches: usize) -> Self {
        Self {
            core: AtomicPtr::new(ptr::null_mut()),
            id: AtomicU64::new(NO_ID),
            check: None,
            depot_batches: batches,
            backing,
        }
    }

    /// The backing allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::ThreadCache;
    /// use std::alloc::System;
    ///
    /// let cache = ThreadCache::new(System);
    /// let _system: &System = cache.backing();
    /// ```
    #[must_use]
    pub const fn backing(&self) -> &A {
        &self.backing
    }

    /// The shared part, if created.
    #[inline(always)]
    fn core(&self) -> Option<&Core> {
        let core = self.core.load(Ordering::Acquire);
        // SAFETY: a non-null `core` points to a `Core` initialised before it was published
        // (Release/Acquire), freed only by `drop`, which has `&mut self`.
        unsafe { core.as_ref() }
    }

    /// The shared part, created from `System` if needed; `None` if `System` refuses.
    #[cold]
    #[inline(never)]
    fn core_or_init(&self) -> Option<&Core> {
        if let Some(core) = self.core() {
            return Some(core);
        }
        let layout = Layout::new::<Core>();
        // SAFETY: `Core` is not zero-sized.
        let fresh = unsafe { GlobalAlloc::alloc(&System, layout) }.cast::<Core>();
        if fresh.is_null() {
            return None;
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `fresh` is a new allocation for a `Core`.
        unsafe { fresh.write(Core::new(id)) };
        match self.core.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {}
            Err(_) => {
                // Another thread won: ours was never shared.
                // SAFETY: `fresh` was allocated above with `layout` and holds a `Core`
                // (plain data: nothing to drop) that no one else has seen.
                unsafe { GlobalAlloc::dealloc(&System, fresh.cast(), layout) };
            }
        }
        let core = self.core();
        if let Some(core) = core {
            // Every thread that gets here stores the same value. A thread that still
            // reads `NO_ID` takes the slow path, which finds the core.
            self.id.store(core.id, Ordering::Relaxed);
        }
        core
    }
}

impl<A: Allocator> ThreadCache<A> {
    /// Serves a class-`c` request when the thread's stack is empty or the thread has no
    /// slot yet: a batch from the depot, else from the backing allocator.
    #[cold]
    #[inline(never)]
    fn allocate_slow(&self, c: usize, align: usize) -> Result<Block, AllocatorError> {
        let Some(core) = self.core_or_init() else {
            return self.allocate_uncached(None, c, align);
        };
        if local::with_slot(core.id, |_| ()).is_none() && !local::register(core) {
            return self.allocate_uncached(Some(core), c, align);
        }
        Core::bump(&core.refills);
        let chain = core.take(c);
        if !chain.head.is_null() {
            let first = chain.head;
            // SAFETY: the chain's `count` blocks are ours now; `first` is its head.
            let rest = unsafe { next(first) };
            let kept = local::with_slot(core.id, |slot| {
                // SAFETY: the rest of the chain (`count - 1` blocks) goes to our stack,
                // which was empty (no user code ran since the pop failed) or holds fewer
                // than `capacity` blocks.
                unsafe { slot.put(c, rest, chain.count - 1) };
                local::Slot::count_served(&slot.classes[c], 1);
            });
            if kept.is_none() {
                // SAFETY: the rest is ours; back to the depot it goes.
                unsafe { core.give_loose(c, rest, chain.count - 1) };
            }
            // SAFETY: `first` is a free class-`c` block from the depot, now ours.
            return Ok(class_block(
                unsafe { NonNull::new_unchecked(first) },
                c,
                align,
            ));
        }
        // The depot is empty: up to half a stack of blocks from the backing allocator, in
        // one batch call (`Allocator::allocate_batch`: one lock for allocators that
        // override it, one call per block otherwise). User code may run inside it and
        // re-enter this cache; nothing is held across.
        let layout = class_layout(c);
        let mut fresh = [Block::empty(layout); BACKING_BATCH];
        let want = classes::batch(c).clamp(1, BACKING_BATCH);
        let n = self.backing.allocate_batch(layout, &mut fresh[..want])?;
        for (i, block) in fresh[1..n].iter().enumerate() {
            // SAFETY: a fresh class-`c` block of the backing allocator, given to the stack.
            let kept = local::with_slot(core.id, |slot| unsafe { slot.push(c, block.as_ptr()) });
            if kept != Some(true) {
                // SAFETY: these blocks are ours and unused: back to where they came from,
                // as they were handed out.
                unsafe { self.backing.deallocate_batch(&fresh[1 + i..n]) };
                break;
            }
        }
        local::with_slot(core.id, |slot| {
            local::Slot::count_served(&slot.classes[c], 1)
        });
        Ok(class_block(fresh[0].ptr(), c, align))
    }

    /// A class-`c` request served by the backing allocator directly.
    fn allocate_uncached(
        &self,
        core: Option<&Core>,
        c: usize,
        align: usize,
    ) -> Result<Block, AllocatorError> {
        if let Some(core) = core {
            Core::bump(&core.uncached);
        }
        let block = self.backing.allocate_raw(class_layout(c))?;
        Ok(class_block(block.ptr(), c, align))
    }

    /// Takes back a class-`c` block when the thread's stack is full or the thread has no
    /// slot: a batch moves to the depot (or the backing allocator), then the block is
    /// pushed.
    ///
    /// # Safety
    ///
    /// `block` is a class-`c` block currently allocated by `self`, not used afterwards.
    #[cold]
    #[inline(never)]
    unsafe fn deallocate_slow(&self, c: usize, block: *mut u8) {
        let core = match self.core() {
            Some(core) if local::with_slot(core.id, |_| ()).is_some() || local::register(core) => {
                core
            }
            other => {
                if let Some(core) = other {
                    Core::bump(&core.uncached);
                }
                // SAFETY: class blocks come from the backing allocator with the class
                // layout (forwarded from the caller).
                unsafe { self.deallocate_to_backing(c, block) };
                return;
            }
        };
        // SAFETY: forwarded from the caller.
        if local::with_slot(core.id, |slot| unsafe { slot.push(c, block) }) == Some(true) {
            return;
        }
        // The stack is full: a batch leaves it.
        let Some(chain) = local::with_slot(core.id, |slot| slot.take_batch(c)) else {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_to_backing(c, block) };
            return;
        };
        Core::bump(&core.flushes);
        let limit = classes::depot_batches(self.depot_batches, c);
        // SAFETY: the chain holds `batch(c)` free class-`c` blocks taken from our stack.
        if !unsafe { core.give_batch(c, chain, limit) } {
            // SAFETY: the chain's blocks are ours, free class-`c` blocks of the backing
            // allocator.
            let n = unsafe { give_chain(&self.backing, c, chain) };
            core.overflow.fetch_add(n as u64, Ordering::Relaxed);
        }
        // SAFETY: forwarded from the caller.
        if local::with_slot(core.id, |slot| unsafe { slot.push(c, block) }) != Some(true) {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_to_backing(c, block) };
        }
    }

    /// Gives a class-`c` block to the backing allocator.
    ///
    /// # Safety
    ///
    /// `block` is a class-`c` block allocated from the backing allocator with
    /// `class_layout(c)`, owned by the caller and not used afterwards.
    unsafe fn deallocate_to_backing(&self, c: usize, block: *mut u8) {
        // SAFETY: forwarded from the caller; the pointer is not null.
        let block = unsafe { NonNull::new_unchecked(block) };
        // SAFETY: forwarded from the caller: the block fits `class_layout(c)`.
        unsafe { self.backing.deallocate_raw(class_block(block, c, ALIGN)) };
    }
}

// SAFETY: (1) class blocks are class-layout blocks of the backing allocator (16-aligned,
// class-sized, so aligned for any request of at most 16 and at least as large), each in at
// most one place at a time: handed out, a thread's stack, a chain being moved, the depot;
// other blocks are the backing allocator's own answers. (2) Blocks live in the backing
// allocator's memory; the cache gives them back only when it is dropped or when they are
// free. (3) Zero-size requests get `Block::empty`. (4) A failure changes nothing.
unsafe impl<A: Allocator> Allocator for ThreadCache<A> {
    #[inline(always)]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        match route(layout.size(), layout.align()) {
            Route::Class(c) => {
                let id = self.id.load(Ordering::Relaxed);
                if let Some(Some(p)) = local::with_slot(id, |slot| slot.pop(c)) {
                    return Ok(class_block(p, c, layout.align()));
                }
                self.allocate_slow(c, layout.align())
            }
            Route::Empty => Ok(Block::empty(layout)),
            Route::Backing => self.allocate_backing(layout),
        }
    }

    /// The fast path is inlined whole into the caller (a push on the thread's stack); the
    /// check, the slow path and large blocks are calls. (Measured: when the compiler chose
    /// not to inline it, the call and its six saved registers made the one-thread
    /// larson-like workload about 10 % slower.)
    #[inline(always)]
    unsafe fn deallocate_raw(&self, block: Block) {
        if let Some(check) = self.check {
            // SAFETY: forwarded from the caller.
            return unsafe { self.deallocate_checked(check, block) };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate_unchecked(block) }
    }

    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        match (
            route(block.size(), block.align()),
            route(new_layout.size(), new_layout.align()),
        ) {
            // The same class: the block already has room (and 16-byte alignment).
            (Route::Class(old), Route::Class(new)) if old == new => {
                Ok(class_block(block.ptr(), new, new_layout.align()))
            }
            // SAFETY: forwarded from the caller: the block came from the backing allocator
            // unchanged, and the new layout routes there too.
            (Route::Backing, Route::Backing) => unsafe {
                self.backing.reallocate_raw(block, new_layout)
            },
            // SAFETY: forwarded from the caller.
            _ => unsafe { alloc_core::move_block(self, self, block, new_layout) },
        }
    }

    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        match route(layout.size(), layout.align()) {
            Route::Backing => {
                self.spilled();
                self.backing.allocate_zeroed_raw(layout)
            }
            _ => {
                let block = self.allocate_raw(layout)?;
                // SAFETY: the block is ours, valid for `size()` bytes.
                unsafe { ptr::write_bytes(block.as_ptr(), 0, block.size()) };
                Ok(block)
            }
        }
    }
}

impl<A: Allocator> ThreadCache<A> {
    /// A request for the backing allocator (too large or too aligned for the classes).
    #[cold]
    #[inline(never)]
    fn allocate_backing(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.spilled();
        self.backing.allocate_raw(layout)
    }

    /// Gives a block of the backing route back to the backing allocator.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`] on the backing allocator.
    #[inline(never)]
    unsafe fn deallocate_backing(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { self.backing.deallocate_raw(block) }
    }

    /// Frees `block` without the ownership check: a push on the thread's stack, or a call.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    #[inline(always)]
    unsafe fn deallocate_unchecked(&self, block: Block) {
        match route(block.size(), block.align()) {
            Route::Class(c) => {
                let id = self.id.load(Ordering::Relaxed);
                // SAFETY: forwarded from the caller: a class-`c` block of ours, given to
                // this thread's slot for this instance (a slot with our id is registered
                // for this instance: ids are never reused, and `NO_ID` matches none).
                let pushed = local::with_slot(id, |slot| unsafe { slot.push(c, block.as_ptr()) });
                if pushed == Some(true) {
                    return;
                }
                // SAFETY: forwarded from the caller.
                unsafe { self.deallocate_slow(c, block.as_ptr()) }
            }
            Route::Empty => {}
            // SAFETY: forwarded from the caller: blocks of this route came from the backing
            // allocator unchanged.
            Route::Backing => unsafe { self.deallocate_backing(block) },
        }
    }

    /// The ownership check, then the free: a function of its own, so that nothing of the
    /// unchecked fast path lives across a call (with the check inline, the block outlived
    /// the call to it, and `__rust_dealloc` saved three registers and built a stack frame
    /// on every free, checked or not).
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    #[inline(never)]
    unsafe fn deallocate_checked(&self, check: fn(&A, &Block) -> bool, block: Block) {
        self.check_owned(check, &block);
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate_unchecked(block) }
    }

    /// Panics unless the backing allocator owns `block` (as it was handed out to it).
    /// Inlined into its one caller, `deallocate_checked`, which is the call.
    #[inline]
    fn check_owned(&self, check: fn(&A, &Block) -> bool, block: &Block) {
        let asked = match route(block.size(), block.align()) {
            Route::Class(c) => class_block(block.ptr(), c, ALIGN),
            Route::Empty => return,
            Route::Backing => *block,
        };
        if !check(&self.backing, &asked) {
            foreign_block(block);
        }
    }

    /// Counts a spill.
    fn spilled(&self) {
        if let Some(core) = self.core_or_init() {
            Core::bump(&core.spills);
        }
    }
}

// SAFETY: class blocks are asked about with the layout the backing allocator gave them;
// other blocks are the backing allocator's unchanged, so its truthful answer is ours.
unsafe impl<A: BlockOwner> BlockOwner for ThreadCache<A> {
    fn owns_block(&self, block: &Block) -> bool {
        match route(block.size(), block.align()) {
            // Every class block is 16-aligned: one that is not was never ours (and cannot
            // be described with the class layout).
            Route::Class(c) => {
                block.addr() % ALIGN == 0
                    && self.backing.owns_block(&class_block(block.ptr(), c, ALIGN))
            }
            Route::Empty => false,
            Route::Backing => self.backing.owns_block(block),
        }
    }
}

impl<A: Allocator> Drop for ThreadCache<A> {
    fn drop(&mut self) {
        let core = *self.core.get_mut();
        if core.is_null() {
            return;
        }
        // SAFETY: the core is alive until freed below; `&mut self` means no call on this
        // instance runs or will run on any thread.
        let core_ref = unsafe { &*core };
        // SAFETY: as above.
        unsafe { local::detach_all(core_ref) };
        drain(core_ref, &self.backing);
        // SAFETY: every slot is detached (none points to the core) and the depot is empty;
        // the core was allocated from `System` with this layout; `Core` needs no drop.
        unsafe { GlobalAlloc::dealloc(&System, core.cast(), Layout::new::<Core>()) };
    }
}

/// Gives every block of the depot to the backing allocator (the instance's `Drop`).
fn drain<A: Allocator>(core: &Core, backing: &A) {
    for c in 0..NUM_CLASSES {
        let chain = core.take_all(c);
        // SAFETY: the chain was taken out of the depot: free class-`c` blocks of the
        // backing allocator, ours.
        unsafe { give_chain(backing, c, chain.head) };
    }
}

/// Gives a null-terminated chain of class-`c` blocks to the backing allocator, up to
/// [`BACKING_BATCH`] blocks per [`deallocate_batch`](Allocator::deallocate_batch) call;
/// returns how many.
///
/// # Safety
///
/// `head` starts a null-terminated chain of free class-`c` blocks of `backing`, each
/// allocated with the class layout, owned by the caller and not used afterwards.
unsafe fn give_chain<A: Allocator>(backing: &A, c: usize, head: *mut u8) -> usize {
    let mut blocks = [Block::empty(class_layout(c)); BACKING_BATCH];
    let (mut p, mut total) = (head, 0);
    while !p.is_null() {
        let mut n = 0;
        while n < BACKING_BATCH && !p.is_null() {
            // SAFETY: `p` is a block of the caller's chain; its link is read before the
            // block is given back (below, after this loop).
            let following = unsafe { next(p) };
            // SAFETY: a block of the chain is not null.
            blocks[n] = class_block(unsafe { NonNull::new_unchecked(p) }, c, ALIGN);
            (p, n) = (following, n + 1);
        }
        // SAFETY: each a free class-`c` block of the backing allocator, described with the
        // class layout it was allocated with, given back once (the caller's chain).
        unsafe { backing.deallocate_batch(&blocks[..n]) };
        total += n;
    }
    total
}

impl<A: Allocator> fmt::Debug for ThreadCache<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadCache")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator] for ThreadCache<A>);

//! [`SizeClasses`]: growable, thread-safe size classes for blocks up to 4 KiB, in 16 KiB
//! and 64 KiB chunks taken from a parent and given back when empty.
//!
//! # Design
//!
//! - **Chunks.** Each of the 30 classes (8 to 4,096 bytes, four steps per doubling) carves
//!   its blocks out of chunks aligned to their size, taken from the parent when the class
//!   has no free block: 16 KiB for the classes up to 1 KiB, 64 KiB above (at least 15
//!   blocks per chunk either way). The peak memory of a class is its peak use rounded up
//!   to a chunk, so small chunks keep programs that use a little of many small classes
//!   small (with 64 KiB chunks everywhere, a larson-like run of 8-64 B blocks held 1.47
//!   times mimalloc's bytes; see `benches/RESULTS.md`), and large chunks keep the larger
//!   classes' header waste and parent calls low. A chunk starts with a header (a free
//!   list, a bump index for blocks never used, a use count, links) and a bitmap with one
//!   bit per block; the blocks follow. A class is never "full": it grows until the parent refuses, and then
//!   the request fails with the parent's error, it never spills elsewhere.
//! - **Finding a block's chunk in O(1).** A radix tree over `address >> 14` (the
//!   `ChunkMap`: five levels of 4,096 atomic pointers on 64-bit targets, lock-free, its
//!   nodes never freed before the allocator) maps every 16 KiB granule of every chunk to
//!   the chunk's pointer and class.
//!   Masking the address (as rpmalloc and mimalloc do) would find the header faster, but
//!   reading a header at a masked address is only sound when the block really is ours,
//!   and with the provenance of the caller's pointer; the map decides ownership without
//!   reading memory that may not be ours, gives every chunk pointer our own provenance
//!   (strict provenance, and Miri's aliasing models, hold whatever pointer the caller
//!   gives back), and turns foreign blocks and blocks of another instance into a clear
//!   panic in every build. It costs five dependent loads of hot cache lines (only frees
//!   that reach the classes pay it: a per-thread cache in front finds the class from the
//!   layout).
//! - **Locks.** Each class has a spin lock (on its own cache line) held for a pop or a
//!   push, a few instructions, never across a call into the parent or any user code, so
//!   an allocator that re-enters (a parent, a logger) cannot deadlock or see a broken
//!   structure. A fully lock-free class would need safe memory reclamation for chunks
//!   (a chunk given back while another thread still reads its header: hazard pointers or
//!   epochs); under the lock a chunk is unlisted before it is given back and nobody can
//!   reach it. Different classes never contend. Per-thread caches go in front
//!   ([`allocate_batch`](SizeClasses::allocate_batch) and
//!   [`deallocate_batch`](SizeClasses::deallocate_batch) move many blocks per lock).
//! - **Hysteresis.** A chunk whose last block comes back stays, empty, until the class
//!   holds more than [`max_empty_chunks`](SizeClasses::with_max_empty_chunks) empty chunks
//!   (1 by default); then it goes back to the parent. A program that oscillates around a
//!   chunk boundary does not call the parent on every oscillation.
//! - **Checks.** Every build: a block outside every chunk of this instance (a block of
//!   another allocator, or of another `SizeClasses`), or off a block boundary, or larger
//!   than its class, panics as foreign; a block whose bit is clear panics as a double free
//!   (except a double free racing with the return of its empty chunk to the parent). The
//!   panic happens before anything changes, with no lock held.
//!
//! # Measured
//!
//! Benchmark `shared` (one run on a 2-core VM at load average 17, other engineers
//! compiling: rough). Each thread allocates 64 random-size blocks per round, frees three in
//! four itself and hands one in four to the next thread; time per round, `SizeClasses`
//! against `System` / mimalloc:
//!
//! | sizes | 1 thread | 2 threads | 4 threads |
//! |---|---|---|---|
//! | 8–64 B | 0.76 / 1.49 | 0.71 / 1.53 | 0.83 / 1.21 |
//! | 8–4,096 B | 0.48 / 0.99 | 0.29 / 0.68 | 0.38 / 0.40 |
//!
//! Memory taken from the parent, 4 threads, 200 rounds: 768 KiB for the 8–64 B workload
//! (eight classes with a chunk each plus the map's nodes, 2.3 times the peak of bytes
//! requested: the fixed cost of one chunk per class), 10.7 MiB for 8–4,096 B (0.72 times
//! the peak requested in a `System` run of the same workload, whose peak depends on how
//! many handed-over blocks wait in the threads' inboxes). Both measured when every class
//! had 64 KiB chunks; `benches/RESULTS.md` has the later figures (larson-like workloads
//! through `GeneralPurpose`, after the 16 KiB chunks).

mod chunk;
mod map;
mod table;

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, RawLock, SpinLock};

use chunk::{ClassState, Header};
use map::ChunkMap;
use table::{CHUNK_LAYOUTS, CLASSES, GEOMETRY, GRANULE, class_of};

/// One class: its lock and the state behind it, on a cache line of its own (threads that
/// use different classes do not slow each other down).
#[repr(align(64))]
struct Class {
    lock: SpinLock,
    /// Accessed only with `lock` held.
    state: UnsafeCell<ClassState>,
}

impl Class {
    const fn new() -> Self {
        Self {
            lock: SpinLock::new(),
            state: UnsafeCell::new(ClassState::new()),
        }
    }
}

macro_rules! size_classes_struct {
    ($($default:ty)?) => {
        /// Thread-safe size classes that grow: blocks of 8 bytes to 4 KiB in 30 classes,
        /// carved from chunks (16 KiB for classes up to 1 KiB, 64 KiB above) that are taken
        /// from a parent allocator when a class has no free block and given back when they
        /// are empty (keeping a few, see
        /// [`with_max_empty_chunks`](Self::with_max_empty_chunks)).
        ///
        /// - `Send + Sync` when the parent is: any thread may free a block of any other.
        /// - `const`-constructible, so it can be a `static` (a `#[global_allocator]` through
        ///   [`GlobalAllocator`](crate::GlobalAllocator)).
        /// - Requests above 4 KiB fail with `TooLarge`, alignments above 4 KiB with
        ///   `UnsupportedAlignment`: route them to a large-block allocator explicitly (a
        ///   segregator by size); nothing is ever handed to another allocator silently.
        ///   When the parent refuses a chunk, the request fails with the parent's error.
        /// - A request gets a block of its class's size (the smallest class that holds and
        ///   aligns it); reallocation within the class is in place.
        /// - [`BlockOwner`] in O(1), lock-free; frees find the chunk in O(1) and take the
        ///   class's lock for a few instructions. Foreign blocks and double frees panic
        ///   (see [`deallocate_raw`](#method.deallocate_raw)).
        ///
        /// The design and its reasons are written at the top of `src/classes/mod.rs`.
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_core::Allocator;
        /// use alloc_global::SizeClasses;
        ///
        /// static CLASSES: SizeClasses = SizeClasses::new();
        ///
        /// std::thread::scope(|s| {
        ///     for t in 0..4u64 {
        ///         s.spawn(move || {
        ///             let values: Vec<_> =
        ///                 (0..1000).map(|i| CLASSES.allocate([t, i]).unwrap()).collect();
        ///             assert!(values.iter().enumerate().all(|(i, v)| **v == [t, i as u64]));
        ///         });
        ///     }
        /// });
        /// assert!(CLASSES.chunks() >= 1);
        /// ```
        pub struct SizeClasses<P: Allocator $(= $default)?> {
            classes: [Class; CLASSES],
            map: ChunkMap,
            /// Chunks held (for statistics; updated after the fact, Relaxed).
            chunks: AtomicUsize,
            /// Their bytes (for statistics, like `chunks`).
            bytes: AtomicUsize,
            /// The most bytes of chunks held at once (for statistics, like `chunks`).
            peak_bytes: AtomicUsize,
            max_empty: usize,
            parent: P,
        }
    };
}

#[cfg(feature = "std")]
size_classes_struct!(std::alloc::System);
#[cfg(not(feature = "std"))]
size_classes_struct!();

// SAFETY: the classes own their chunks (taken from the parent, given back to it on drop);
// sending the value sends them with it, sound when the parent may be sent.
unsafe impl<P: Allocator + Send> Send for SizeClasses<P> {}
// SAFETY: the mutable state of a class (its list, and the headers, bitmaps and free-list
// links of its chunks) is accessed only with the class's lock held, whose Acquire/Release
// orderings order those accesses; the chunk map is atomic; a block's memory passes from
// the thread that frees it to the next one that allocates it through the same lock. The
// parent is called from any thread through `&P`, hence `P: Sync`.
unsafe impl<P: Allocator + Sync> Sync for SizeClasses<P> {}

#[cfg(feature = "std")]
impl SizeClasses<std::alloc::System> {
    /// Size classes over the system allocator, with no chunk yet. A `const fn`.
    ///
    /// # Examples
    ///
    /// ```
    /// static CLASSES: alloc_global::SizeClasses = alloc_global::SizeClasses::new();
    /// assert_eq!(CLASSES.chunks(), 0);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self::new_in(std::alloc::System)
    }
}

#[cfg(feature = "std")]
impl Default for SizeClasses<std::alloc::System> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Allocator> SizeClasses<P> {
    /// The block sizes of the classes, ascending; the last is the largest request served.
    ///
    /// # Examples
    ///
    /// ```
    /// let sizes = alloc_global::SizeClasses::<std::alloc::System>::CLASS_SIZES;
    /// assert_eq!((sizes[0], sizes[sizes.len() - 1]), (8, 4096));
    /// ```
    pub const CLASS_SIZES: &'static [usize] = &table::SIZES;

    /// Size classes over `parent`, with no chunk yet. A `const fn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let classes = alloc_global::SizeClasses::new_in(Heap);
    /// assert_eq!(*classes.allocate(7u8).unwrap(), 7);
    /// ```
    #[must_use]
    pub const fn new_in(parent: P) -> Self {
        Self {
            classes: [const { Class::new() }; CLASSES],
            map: ChunkMap::new(),
            chunks: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
            max_empty: 1,
            parent,
        }
    }

    /// Keeps up to `n` empty chunks per class before giving chunks back to the parent
    /// (default 1; 0 gives every chunk back as soon as it is empty). A `const fn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_global::SizeClasses;
    ///
    /// let classes = SizeClasses::new().with_max_empty_chunks(0);
    /// let b = classes.allocate(1u64).unwrap();
    /// assert_eq!(classes.chunks(), 1);
    /// drop(b);
    /// assert_eq!(classes.chunks(), 0);
    /// ```
    #[must_use]
    pub const fn with_max_empty_chunks(mut self, n: usize) -> Self {
        self.max_empty = n;
        self
    }

    /// The number of chunks taken from the parent and not given back (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    ///
    /// let classes = alloc_global::SizeClasses::new();
    /// let small = classes.allocate(1u8).unwrap();
    /// let other = classes.allocate([0u8; 100]).unwrap();
    /// assert_eq!(classes.chunks(), 2); // one per class used
    /// ```
    #[must_use]
    pub fn chunks(&self) -> usize {
        self.chunks.load(Relaxed)
    }

    /// The bytes of the chunks held now (a snapshot): 16 KiB per chunk of a class up to
    /// 1 KiB, 64 KiB per chunk of a larger class.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    ///
    /// let classes = alloc_global::SizeClasses::new();
    /// let small = classes.allocate(1u8).unwrap();
    /// let large = classes.allocate([0u8; 2000]).unwrap();
    /// assert_eq!(classes.chunk_bytes(), 16 * 1024 + 64 * 1024);
    /// ```
    #[must_use]
    pub fn chunk_bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }

    /// The most bytes of chunks held at once since the classes were created (a
    /// snapshot): the peak memory taken from the parent for blocks (the chunk map's nodes
    /// aside).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_global::SizeClasses;
    ///
    /// let classes = SizeClasses::new().with_max_empty_chunks(0);
    /// let (a, b) = (classes.allocate(1u8).unwrap(), classes.allocate([0u8; 100]).unwrap());
    /// drop((a, b));
    /// assert_eq!((classes.chunks(), classes.peak_chunk_bytes()), (0, 2 * 16 * 1024));
    /// ```
    #[must_use]
    pub fn peak_chunk_bytes(&self) -> usize {
        self.peak_bytes.load(Relaxed)
    }

    /// The parent allocator the chunks come from.
    ///
    /// # Examples
    ///
    /// ```
    /// let classes = alloc_global::SizeClasses::new_in(alloc_core::Heap);
    /// assert_eq!(*classes.parent(), alloc_core::Heap);
    /// ```
    #[must_use]
    pub fn parent(&self) -> &P {
        &self.parent
    }

    /// The chunk, class and block index of `block`, if it is a block of this instance:
    /// inside one of its chunks, at a block boundary, and fitting its class. Reads only
    /// the chunk map and the immutable geometry.
    #[inline]
    fn locate(&self, block: &Block) -> Option<(*mut Header, usize, usize)> {
        let entry = self.map.get(block.addr());
        if entry.is_null() {
            return None;
        }
        let class = entry.addr() & (GRANULE - 1);
        let chunk = entry.map_addr(|a| a & !(GRANULE - 1));
        let g = &GEOMETRY[class];
        let rel = (block.addr() - chunk.addr()).checked_sub(g.offset)?;
        let index = ((rel as u64 * g.recip) >> 32) as usize;
        (index * g.size == rel
            && index < g.count
            && block.size() <= g.size
            && block.align() <= g.align)
            .then_some((chunk.cast::<Header>(), class, index))
    }

    /// The block at `ptr` of class `class`, for a request aligned to `align`.
    #[inline]
    fn block(ptr: NonNull<u8>, class: usize, align: usize) -> Block {
        // SAFETY: the size of a class is at most 4 KiB, far below `Block::MAX_SIZE`; the
        // class alignment is at least `align` (a power of two), which the block start has.
        unsafe {
            Block::from_raw_parts_unchecked(
                ptr,
                Layout::from_size_align_unchecked(GEOMETRY[class].size, align),
            )
        }
    }

    /// The mutable state of `class`.
    ///
    /// # Safety
    ///
    /// The class's lock is held for as long as the reference lives, and no other
    /// reference to the state exists.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    unsafe fn state(&self, class: usize) -> &mut ClassState {
        // SAFETY: the caller holds the lock, so no other thread accesses the state, and
        // no other reference exists (caller).
        unsafe { &mut *self.classes[class].state.get() }
    }
}

impl<P: Allocator> SizeClasses<P> {
    /// Takes a new chunk for `class` from the parent, records it, lists it and returns a
    /// block of it. The parent is called with no lock held.
    #[cold]
    #[inline(never)]
    fn grow(&self, class: usize) -> Result<NonNull<u8>, AllocatorError> {
        let layout = CHUNK_LAYOUTS[class];
        let chunk = self.parent.allocate_raw(layout)?.ptr();
        // SAFETY: a fresh chunk of the class's layout (the parent's promise 1), reachable
        // by nobody else yet.
        let h = unsafe { chunk::init(chunk, class) };
        let entry = chunk.as_ptr().map_addr(|a| a | class);
        let granules = (0..layout.size() / GRANULE).map(|k| chunk.addr().get() + k * GRANULE);
        for (k, addr) in granules.clone().enumerate() {
            if let Err(e) = self.map.insert(&self.parent, addr, entry) {
                granules.take(k).for_each(|a| self.map.remove(a));
                // SAFETY: allocated above with `layout`, never published (its granules
                // recorded so far are forgotten; no block of it was handed out, so any
                // pointer into it that met them was not ours).
                unsafe {
                    self.parent
                        .deallocate_raw(Block::from_raw_parts(chunk, layout))
                };
                return Err(e);
            }
        }
        self.chunks.fetch_add(1, Relaxed);
        let held = self.bytes.fetch_add(layout.size(), Relaxed) + layout.size();
        self.peak_bytes.fetch_max(held, Relaxed);
        let _guard = self.classes[class].lock.lock();
        // SAFETY: the lock is held; `h` is a live chunk of `class` with all its blocks
        // free, not yet listed, so taking one leaves it with free blocks to list.
        unsafe {
            let state = self.state(class);
            let block = state.take_from(h, class);
            state.push_front(h);
            Ok(block)
        }
    }

    /// Gives an empty, unlisted chunk of `class` back to the parent.
    #[cold]
    #[inline(never)]
    fn release(&self, h: *mut Header, class: usize) {
        let chunk = h.cast::<u8>();
        let layout = CHUNK_LAYOUTS[class];
        // Forgotten before it is freed: the parent may hand the memory out again at once,
        // to a `grow` of this very instance.
        for k in 0..layout.size() / GRANULE {
            self.map.remove(chunk.addr() + k * GRANULE);
        }
        self.chunks.fetch_sub(1, Relaxed);
        self.bytes.fetch_sub(layout.size(), Relaxed);
        let chunk = NonNull::new(chunk).expect("chunks are non-null");
        // SAFETY: a chunk of `class` allocated by the parent with its layout in `grow`; it
        // is empty, unlisted and unrecorded, so nobody reaches it any more.
        unsafe {
            self.parent
                .deallocate_raw(Block::from_raw_parts(chunk, layout))
        };
    }

    /// Allocates up to `out.len()` blocks for `layout` and writes them to the front of
    /// `out`; returns how many (at least one when `out` is not empty). Takes the class's
    /// lock once for all the blocks it finds free, and asks the parent for one chunk at
    /// most. Every block is as [`allocate_raw`](Allocator::allocate_raw) would return it.
    ///
    /// This and [`deallocate_batch`](Self::deallocate_batch) are the interface for
    /// per-thread caches: refill a cache's magazine with one call, flush it with one.
    ///
    /// # Errors
    ///
    /// As `allocate_raw`: `TooLarge`, `UnsupportedAlignment`, or the parent's error when
    /// no block is free and the parent refuses a chunk (then `out` is unchanged).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use alloc_global::SizeClasses;
    /// use core::alloc::Layout;
    ///
    /// let classes = SizeClasses::new();
    /// let layout = Layout::new::<[u64; 4]>();
    /// let mut magazine = [Block::empty(layout); 32];
    /// let n = classes.allocate_batch(layout, &mut magazine).unwrap();
    /// assert!(n >= 1);
    /// // SAFETY: the first `n` blocks were allocated just above and are given back once.
    /// unsafe { classes.deallocate_batch(&magazine[..n]) };
    /// ```
    pub fn allocate_batch(
        &self,
        layout: Layout,
        out: &mut [Block],
    ) -> Result<usize, AllocatorError> {
        if layout.size() == 0 {
            out.fill(Block::empty(layout));
            return Ok(out.len());
        }
        let class = class_of(layout.size(), layout.align())?;
        if out.is_empty() {
            return Ok(0);
        }
        let mut n = self.take_many(class, layout.align(), out);
        if n == 0 {
            out[0] = Self::block(self.grow(class)?, class, layout.align());
            n = 1 + self.take_many(class, layout.align(), &mut out[1..]);
        }
        Ok(n)
    }

    /// Pops up to `out.len()` free blocks of `class` under one lock.
    fn take_many(&self, class: usize, align: usize, out: &mut [Block]) -> usize {
        let _guard = self.classes[class].lock.lock();
        // SAFETY: the lock is held until the end of the function; listed chunks are live
        // chunks of `class`.
        let state = unsafe { self.state(class) };
        let mut n = 0;
        while n < out.len() {
            // SAFETY: as above.
            match unsafe { state.take(class) } {
                Some(ptr) => out[n] = Self::block(ptr, class, align),
                None => break,
            }
            n += 1;
        }
        n
    }

    /// Gives back every block of `blocks`, taking each class's lock once per run of
    /// consecutive blocks of that class. Empty blocks are skipped.
    ///
    /// # Safety
    ///
    /// Every block fits a block currently allocated by `self` (or is empty), no block
    /// appears twice, and none is used afterwards: as for
    /// [`deallocate_raw`](Allocator::deallocate_raw), for each.
    ///
    /// # Panics
    ///
    /// As `deallocate_raw`, at the first foreign block or double free: the blocks before
    /// it are freed, the others are not.
    ///
    /// # Examples
    ///
    /// See [`allocate_batch`](Self::allocate_batch).
    #[track_caller]
    pub unsafe fn deallocate_batch(&self, blocks: &[Block]) {
        /// What to do once the lock is released.
        enum Then {
            Continue,
            Release(*mut Header),
            DoubleFree(usize),
        }
        let mut i = 0;
        while i < blocks.len() {
            if blocks[i].is_empty() {
                i += 1;
                continue;
            }
            let Some((mut h, class, mut index)) = self.locate(&blocks[i]) else {
                foreign_block(&blocks[i])
            };
            let then = {
                let _guard = self.classes[class].lock.lock();
                // SAFETY: the lock is held for the whole block.
                let state = unsafe { self.state(class) };
                loop {
                    // SAFETY: under the lock; `h` and `index` locate a block of `class`
                    // that the caller gives back and no longer uses.
                    match unsafe { state.give(h, class, index, self.max_empty) } {
                        Err(()) => break Then::DoubleFree(i),
                        Ok(true) => {
                            i += 1;
                            break Then::Release(h);
                        }
                        Ok(false) => i += 1,
                    }
                    // Stay under this lock while the next block is of the same class.
                    match blocks.get(i).and_then(|b| self.locate(b)) {
                        Some((h2, c2, index2)) if c2 == class => (h, index) = (h2, index2),
                        _ => break Then::Continue,
                    }
                }
            };
            match then {
                Then::Continue => {}
                Then::Release(h) => self.release(h, class),
                Then::DoubleFree(k) => double_free(&blocks[k]),
            }
        }
    }
}

#[cold]
#[inline(never)]
fn cold_path() {}

#[cold]
#[inline(never)]
#[track_caller]
fn foreign_block(block: &Block) -> ! {
    panic!(
        "SizeClasses: deallocated a block this instance does not own (outside its chunks, \
         not on a block boundary, or larger than its class; a block of another allocator \
         or of another SizeClasses): {block:?}"
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn double_free(block: &Block) -> ! {
    panic!("SizeClasses: double free of {block:?} (it is not allocated)")
}

impl<P: Allocator> Drop for SizeClasses<P> {
    fn drop(&mut self) {
        let parent = &self.parent;
        // SAFETY: the map's nodes and chunks were allocated by `parent`; the map is not
        // used again. Each entry is a chunk taken in `grow` with its class's layout and not
        // given back (`release` removes its entries first), given back here once, from the
        // entry of its first granule; its blocks end with the allocator.
        unsafe {
            self.map.drain(parent, &mut |addr, entry| {
                let chunk = entry.map_addr(|a| a & !(GRANULE - 1));
                if chunk.addr() == addr {
                    let layout = CHUNK_LAYOUTS[entry.addr() & (GRANULE - 1)];
                    let chunk = NonNull::new(chunk).expect("chunks are non-null");
                    parent.deallocate_raw(Block::from_raw_parts(chunk, layout));
                }
            });
        }
    }
}

/// Shows the parent and the number of chunks, not the classes' state (that would take
/// every lock).
impl<P: Allocator + fmt::Debug> fmt::Debug for SizeClasses<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SizeClasses")
            .field("chunks", &self.chunks())
            .field("max_empty_chunks", &self.max_empty)
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

// SAFETY: 1. a block is popped from a chunk's free list or bump index under the class's
// lock, once (its bit is set until it comes back), so blocks are disjoint; it lies inside
// a live chunk at `offset + index * size`, aligned to the class alignment, which
// `class_of` chose at least as large as the requested one, with the class size, at least
// the requested size. 2. chunks live in the parent until the block's chunk is empty (it
// is only given back with no block handed out) or the allocator is dropped; moving the
// allocator moves no chunk. 3. zero-size requests get `Block::empty`; empty blocks are
// ignored. 4. failed requests change no block (a refused chunk changes nothing; a failed
// reallocation keeps the old block).
unsafe impl<P: Allocator> Allocator for SizeClasses<P> {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            cold_path();
            return Ok(Block::empty(layout));
        }
        let class = match class_of(layout.size(), layout.align()) {
            Ok(class) => class,
            Err(e) => {
                cold_path();
                return Err(e);
            }
        };
        let popped = {
            let _guard = self.classes[class].lock.lock();
            // SAFETY: the lock is held for the block; listed chunks are live chunks of
            // `class`.
            unsafe { self.state(class).take(class) }
        };
        let ptr = match popped {
            Some(ptr) => ptr,
            None => self.grow(class)?,
        };
        Ok(Self::block(ptr, class, layout.align()))
    }

    /// Gives `block` back to its chunk; an empty chunk beyond the kept ones goes back to
    /// the parent.
    ///
    /// # Panics
    ///
    /// `SizeClasses: deallocated a block this instance does not own …` for a block outside
    /// this instance's chunks (another allocator's, another `SizeClasses`'s), off a block
    /// boundary or larger than its class; `SizeClasses: double free …` for a block that is
    /// not allocated. Every build; nothing changes, no lock is held while panicking.
    #[inline]
    #[track_caller]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let Some((h, class, index)) = self.locate(&block) else {
            foreign_block(&block)
        };
        let result = {
            let _guard = self.classes[class].lock.lock();
            // SAFETY: under the lock; `h` and `index` locate a block of `class` that the
            // caller gives back and no longer uses (a block that is not allocated is
            // refused by its bit).
            unsafe { self.state(class).give(h, class, index, self.max_empty) }
        };
        match result {
            Ok(false) => {}
            Ok(true) => self.release(h, class),
            Err(()) => double_free(&block),
        }
    }

    /// In place when the new layout maps to the same class; otherwise a new block, a copy
    /// and a free.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](#method.deallocate_raw), for a block that is not one of this
    /// instance's or not allocated.
    #[track_caller]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        let Some((h, class, index)) = self.locate(&block) else {
            foreign_block(&block)
        };
        let allocated = {
            let _guard = self.classes[class].lock.lock();
            // SAFETY: under the lock; `h` and `index` locate a block of `class`.
            unsafe { ClassState::is_allocated(h, index) }
        };
        if !allocated {
            double_free(&block);
        }
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_raw(block) };
            return Ok(Block::empty(new_layout));
        }
        let g = &GEOMETRY[class];
        if class_of(new_layout.size(), new_layout.align()) == Ok(class) {
            // SAFETY: the block lies inside its chunk, at this offset.
            let ptr =
                unsafe { NonNull::new_unchecked(h.cast::<u8>()).add(g.offset + index * g.size) };
            return Ok(Self::block(ptr, class, new_layout.align()));
        }
        let new = self.allocate_raw(new_layout)?;
        // SAFETY: the old block is valid for `block.size()` bytes (it fits an allocation),
        // the new one for `new_layout.size()`; they are distinct allocations.
        unsafe {
            core::ptr::copy_nonoverlapping(
                block.as_ptr(),
                new.as_ptr(),
                block.size().min(new_layout.size()),
            );
        }
        // SAFETY: forwarded from the caller; the contents were copied.
        unsafe { self.deallocate_raw(block) };
        Ok(new)
    }

    /// The inherent [`SizeClasses::allocate_batch`]: one lock for the whole batch.
    #[inline]
    fn allocate_batch(&self, layout: Layout, out: &mut [Block]) -> Result<usize, AllocatorError> {
        Self::allocate_batch(self, layout, out)
    }

    /// The inherent [`SizeClasses::deallocate_batch`]: one lock per run of blocks of a
    /// class.
    #[inline]
    #[track_caller]
    unsafe fn deallocate_batch(&self, blocks: &[Block]) {
        // SAFETY: forwarded from the caller (the same contract).
        unsafe { Self::deallocate_batch(self, blocks) }
    }
}

// SAFETY: true exactly for non-empty blocks inside a chunk of this instance, at a block
// boundary, fitting the chunk's class: the blocks it hands out (and no memory it never
// handed out: chunk headers and bitmaps are not at block boundaries). Reads only the
// chunk map and immutable geometry.
unsafe impl<P: Allocator> BlockOwner for SizeClasses<P> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        !block.is_empty() && self.locate(block).is_some()
    }
}

alloc_core::impl_allocator_api2!(impl[P: Allocator] for SizeClasses<P>);

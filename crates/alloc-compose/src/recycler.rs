//! [`Recycler`]: keeps a few freed blocks and serves later requests of the same size class
//! from them, in front of an allocator whose fresh blocks are dear (an `mmap` per block,
//! each page zeroed and faulted in by the kernel).
//!
//! The kept blocks form an intrusive list: each kept block holds a [`Header`] at its start
//! (the next kept block, its inner size and alignment), so the recycler is five words over
//! its inner allocator whatever its capacity, and needs no memory of its own.
//!
//! # Re-entrancy
//!
//! The inner allocator is user code: it may allocate from, or give blocks back to, this
//! recycler from inside our call to it. So no call into the inner allocator happens while
//! the list is half-changed: a block is unlinked (and the counts updated) before it goes to
//! the inner allocator, and the list is walked afresh after every such call. Blocks taken
//! off the list are reachable from our locals only, so nothing re-entrant can see them.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::mem::{ManuallyDrop, size_of};
use core::ptr::{self, NonNull};

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

use crate::quantizer::{Rounding, SizeClassRounding};

/// What a kept block holds at its start while it is kept, unaligned (a block of a
/// byte-aligned request may start at any address): read and written with
/// [`read`](Self::read) and [`set_next`](Self::set_next) only.
#[derive(Clone, Copy)]
#[repr(C)]
struct Header {
    /// The next (older) kept block.
    next: Option<NonNull<Header>>,
    /// The block's size with the inner allocator (a rounded size).
    size: usize,
    /// The block's alignment with the inner allocator.
    align: usize,
}

impl Header {
    /// The header at `at`.
    ///
    /// # Safety
    ///
    /// `at` starts a kept block whose header was written by `Recycler::keep`.
    #[inline(always)]
    unsafe fn read(at: NonNull<Self>) -> Self {
        // SAFETY: the caller's promise: valid for reads of a header (at any alignment).
        unsafe { at.as_ptr().read_unaligned() }
    }

    /// Sets the `next` field of the header at `at`.
    ///
    /// # Safety
    ///
    /// As [`read`](Self::read), and the block is ours to write (kept).
    #[inline(always)]
    unsafe fn set_next(at: NonNull<Self>, next: Option<NonNull<Self>>) {
        // SAFETY: the caller's promise; a raw place, no reference to the unaligned header.
        unsafe { (&raw mut (*at.as_ptr()).next).write_unaligned(next) }
    }
}

/// Keeps up to `max_blocks` freed blocks (and at most `max_bytes` bytes of them) and serves
/// later requests of the same size class and alignment from them, without the inner
/// allocator: a cache of large blocks in front of an allocator whose fresh blocks are dear,
/// such as `Pages` (alloc-pages), where every new block costs a system call and a page
/// fault per page. A freed block goes back to the inner allocator only when it is evicted,
/// at [`flush`](Self::flush), or when the recycler is dropped.
///
/// - **Size classes.** Every request is rounded up with [`SizeClassRounding`] (four classes
///   per doubling) before the inner allocator sees it, and a kept block serves exactly the
///   requests of its class. So a block handed out is less than 25 % larger than the request
///   (above 16 bytes), and reports its class size: whatever [fitting](Allocator#the-contract)
///   size the caller gives back rounds to the same class, hence to the size the inner
///   allocator handed out (as with [`Quantizer`](crate::Quantizer)).
/// - **Alignment.** A kept block serves only requests of its own alignment: a block's
///   alignment is part of the layout the caller gives back, and must reach the inner
///   allocator unchanged.
/// - **Which block.** The most recently freed block of the class (its memory is the most
///   likely to be in cache). **Eviction**: when a free would keep more than `max_blocks`
///   blocks or more than `max_bytes` bytes, the oldest kept blocks go back to the inner
///   allocator until it fits; a block larger than `max_bytes` alone is not kept.
/// - **Cost.** The kept list is searched linearly on allocation and on free (the double
///   free check): `max_blocks` is meant to be small (4 to 64).
/// - **Small blocks.** A block smaller than three words (24 bytes on 64-bit targets) is
///   not kept (its header would not fit): it goes straight back to the inner allocator.
/// - **Reallocation** within the class and alignment: the same block. Otherwise the inner
///   allocator's reallocation between classes (which may move without copying, as
///   `mremap` does); kept blocks are not used for moves.
/// - **Zeroed** requests served from a kept block zero it (the whole class size).
/// - **Double free** of a kept block panics (`Recycler: double free …`), in every build,
///   as does reallocating one. A foreign block, or a block freed twice after it was handed
///   out again, cannot be told from a real one: it is the inner allocator's to detect when
///   the block reaches it.
///
/// Zero-size requests are answered with [`Block::empty`]. It is a [`BlockOwner`] when the
/// inner allocator is (kept blocks are free memory: the inner allocator still claims them,
/// which the trait allows). It is `!Sync` (share it across threads behind `Locked`) and
/// `Send` when the inner allocator is.
///
/// # Examples
///
/// The second 1 MiB buffer is the first one again, without the inner allocator:
///
/// ```
/// use alloc_compose::{AllocatorExt, Counters, Recycler};
/// use alloc_core::{Allocator, Heap};
/// use core::alloc::Layout;
///
/// let heap = Heap.proxy(Counters::new());
/// let alloc = Recycler::new(&heap, 8);
/// let layout = Layout::from_size_align(1 << 20, 8).unwrap();
/// for _ in 0..100 {
///     let block = alloc.allocate_raw(layout).unwrap();
///     // SAFETY: the block is valid for `layout.size()` bytes, and given back once.
///     unsafe {
///         block.as_ptr().write_bytes(1, layout.size());
///         alloc.deallocate_raw(block);
///     }
/// }
/// assert_eq!(heap.logger().counts().allocations, 1);
/// assert_eq!((alloc.kept_blocks(), alloc.kept_bytes()), (1, 1 << 20));
/// alloc.flush();
/// assert_eq!(heap.logger().counts().bytes_live, 0);
/// ```
pub struct Recycler<A: Allocator> {
    /// Serves every request that no kept block serves, and gets every block back at last.
    inner: A,
    /// The most recently kept block (its header is at its start); each header links to the
    /// next older one. Every block on the list is currently allocated by `inner`, with the
    /// size and alignment of its header, and is neither handed out nor reachable otherwise.
    head: Cell<Option<NonNull<Header>>>,
    /// Number of blocks on the list.
    kept: Cell<usize>,
    /// Sum of the list's header sizes.
    kept_bytes: Cell<usize>,
    /// The most blocks kept.
    max_blocks: usize,
    /// The most bytes kept.
    max_bytes: usize,
}

// SAFETY: the kept blocks are memory of the inner allocator, reachable only from this
// value; sending them together with the inner allocator is sound when it may be sent. It
// stays `!Sync` (the `Cell`s).
unsafe impl<A: Allocator + Send> Send for Recycler<A> {}

impl<A: Allocator> Recycler<A> {
    /// Keeps up to `max_blocks` freed blocks, of any total size (at most `max_blocks` times
    /// the largest block freed). `max_blocks == 0` keeps nothing: every call goes to the
    /// inner allocator (with the rounded size).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Recycler;
    /// use alloc_core::Heap;
    ///
    /// let alloc = Recycler::new(Heap, 8);
    /// assert_eq!((alloc.max_blocks(), alloc.max_bytes()), (8, usize::MAX));
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(inner: A, max_blocks: usize) -> Self {
        Self::with_limits(inner, max_blocks, usize::MAX)
    }

    /// Keeps up to `max_blocks` freed blocks and at most `max_bytes` bytes of them (sizes
    /// of the size classes).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Recycler;
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// let alloc = Recycler::with_limits(Heap, 8, 64 << 10);
    /// let small = alloc.allocate_raw(Layout::new::<[u8; 4096]>()).unwrap();
    /// let large = alloc.allocate_raw(Layout::new::<[u8; 100_000]>()).unwrap();
    /// // SAFETY: both blocks are currently allocated by `alloc`, given back once.
    /// unsafe {
    ///     alloc.deallocate_raw(small);
    ///     alloc.deallocate_raw(large);
    /// }
    /// // 100,000 bytes exceed the cap alone: back to the heap at once.
    /// assert_eq!((alloc.kept_blocks(), alloc.kept_bytes()), (1, 4096));
    /// ```
    #[inline]
    #[must_use]
    pub const fn with_limits(inner: A, max_blocks: usize, max_bytes: usize) -> Self {
        Self {
            inner,
            head: Cell::new(None),
            kept: Cell::new(0),
            kept_bytes: Cell::new(0),
            max_blocks,
            max_bytes,
        }
    }

    /// The inner allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, Recycler};
    ///
    /// assert_eq!(*Recycler::new(Null, 4).inner(), Null);
    /// ```
    #[inline]
    #[must_use]
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// The most blocks kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, Recycler};
    ///
    /// assert_eq!(Recycler::new(Null, 4).max_blocks(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub const fn max_blocks(&self) -> usize {
        self.max_blocks
    }

    /// The most bytes kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, Recycler};
    ///
    /// assert_eq!(Recycler::with_limits(Null, 4, 1 << 20).max_bytes(), 1 << 20);
    /// ```
    #[inline]
    #[must_use]
    pub const fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// How many freed blocks are kept now.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Recycler;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Recycler::new(Heap, 4);
    /// drop(alloc.allocate([0u8; 100]).unwrap());
    /// assert_eq!(alloc.kept_blocks(), 1);
    /// ```
    #[inline]
    #[must_use]
    pub fn kept_blocks(&self) -> usize {
        self.kept.get()
    }

    /// How many bytes the kept blocks hold (their class sizes).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Recycler;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Recycler::new(Heap, 4);
    /// drop(alloc.allocate([0u8; 100]).unwrap());
    /// assert_eq!(alloc.kept_bytes(), 112); // the class of 100 bytes
    /// ```
    #[inline]
    #[must_use]
    pub fn kept_bytes(&self) -> usize {
        self.kept_bytes.get()
    }

    /// Gives every kept block back to the inner allocator (also done on drop).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Counters, Recycler};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let heap = Heap.proxy(Counters::new());
    /// let alloc = Recycler::new(&heap, 4);
    /// drop(alloc.allocate([0u8; 100]).unwrap());
    /// assert_eq!(heap.logger().counts().bytes_live, 112);
    /// alloc.flush();
    /// assert_eq!((alloc.kept_blocks(), heap.logger().counts().bytes_live), (0, 0));
    /// ```
    pub fn flush(&self) {
        // Detach the whole list first: the inner allocator may re-enter, and then sees an
        // empty (consistent) list; the detached blocks are reachable from `next` only.
        let mut next = self.head.replace(None);
        self.kept.set(0);
        self.kept_bytes.set(0);
        while let Some(header) = next {
            // SAFETY: `header` was on the list, so it is the start of a block currently
            // allocated by `inner` whose header we wrote; detached, it is ours alone (not on
            // the list any more, not handed out).
            let block = unsafe { Self::block_of(header) };
            // SAFETY: as above; read before the block goes back.
            next = unsafe { Header::read(header) }.next;
            // SAFETY: `block` is currently allocated by `inner` with this layout (the list's
            // invariant), and nothing refers to it any more.
            unsafe { self.inner.deallocate_raw(block) };
        }
    }

    /// Gives every kept block back and returns the inner allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, Recycler};
    ///
    /// assert_eq!(Recycler::new(Null, 4).into_inner(), Null);
    /// ```
    #[must_use]
    pub fn into_inner(self) -> A {
        self.flush();
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so `inner` is moved out once; the
        // list is empty (just flushed), and the other fields own nothing.
        unsafe { ptr::read(&raw const this.inner) }
    }

    /// The inner block of a kept header.
    ///
    /// # Safety
    ///
    /// `header` starts a block on the list (or just taken off it): valid for reads of a
    /// header.
    #[inline(always)]
    unsafe fn block_of(header: NonNull<Header>) -> Block {
        // SAFETY: the header was written by `keep` (the caller's promise).
        let Header { size, align, .. } = unsafe { Header::read(header) };
        // SAFETY: `size` and `align` are the layout of a block the inner allocator handed
        // out (the list's invariant): a valid layout, and the block's memory.
        unsafe {
            Block::from_raw_parts_unchecked(
                header.cast::<u8>(),
                Layout::from_size_align_unchecked(size, align),
            )
        }
    }

    /// `layout` with its size rounded to its class; `SizeOverflow` past `isize::MAX`.
    #[inline(always)]
    fn rounded(layout: Layout) -> Result<Layout, AllocatorError> {
        match SizeClassRounding.round(layout.size()) {
            Some(size) => Layout::from_size_align(size, layout.align())
                .map_err(|_| AllocatorError::SizeOverflow),
            None => Err(AllocatorError::SizeOverflow),
        }
    }

    /// The inner block of a non-empty block that fits one of ours: the same address, its
    /// class size.
    #[inline(always)]
    fn inner_block(block: &Block) -> Block {
        // Every size that fits our block rounds to the class size we asked for
        // (`Rounding`'s promises), which was a valid layout.
        let size = SizeClassRounding
            .round(block.size())
            .unwrap_or(block.size());
        Block::from_raw_parts(
            block.ptr(),
            // A block that fits one of ours has a valid rounded layout; for anything else
            // (a broken contract) keep the caller's own layout.
            Layout::from_size_align(size, block.align()).unwrap_or(block.layout()),
        )
    }

    /// Takes the most recently kept block of exactly `layout` off the list.
    #[inline]
    fn take(&self, layout: Layout) -> Option<Block> {
        let mut prev: Option<NonNull<Header>> = None;
        let mut cur = self.head.get();
        while let Some(header) = cur {
            // SAFETY: `header` is on the list: the start of a kept block, ours to read.
            let h = unsafe { Header::read(header) };
            let next = h.next;
            if h.size == layout.size() && h.align == layout.align() {
                match prev {
                    None => self.head.set(next),
                    // SAFETY: `p` is on the list (the block before `header`), ours to write.
                    Some(p) => unsafe { Header::set_next(p, next) },
                }
                self.kept.set(self.kept.get() - 1);
                self.kept_bytes.set(self.kept_bytes.get() - layout.size());
                return Some(Block::from_raw_parts(header.cast::<u8>(), layout));
            }
            prev = cur;
            cur = next;
        }
        None
    }

    /// Takes the oldest kept block off the list (`None` if the list is empty).
    fn take_oldest(&self) -> Option<Block> {
        let mut prev: Option<NonNull<Header>> = None;
        let mut cur = self.head.get()?;
        // SAFETY: `cur` is on the list: the start of a kept block, ours to read.
        while let Some(next) = unsafe { Header::read(cur) }.next {
            prev = Some(cur);
            cur = next;
        }
        match prev {
            None => self.head.set(None),
            // SAFETY: `p` is on the list (the block before the last), ours to write.
            Some(p) => unsafe { Header::set_next(p, None) },
        }
        // SAFETY: `cur` was on the list until just now.
        let block = unsafe { Self::block_of(cur) };
        self.kept.set(self.kept.get() - 1);
        self.kept_bytes.set(self.kept_bytes.get() - block.size());
        Some(block)
    }

    /// Panics if `block` starts a kept block: it was given back twice.
    #[inline]
    fn check_not_kept(&self, block: &Block, what: &str) {
        let mut cur = self.head.get();
        while let Some(header) = cur {
            if header.cast::<u8>() == block.ptr() {
                double_free(what, block);
            }
            // SAFETY: `header` is on the list: the start of a kept block, ours to read.
            cur = unsafe { Header::read(header) }.next;
        }
    }

    /// Whether the inner block `block` can hold a header and respects the byte cap.
    #[inline(always)]
    fn keepable(&self, block: &Block) -> bool {
        self.max_blocks > 0 && block.size() <= self.max_bytes && block.size() >= size_of::<Header>()
    }

    /// Puts the inner block `block` on the list, then gives the oldest blocks back while
    /// the limits are exceeded.
    ///
    /// # Safety
    ///
    /// `block` is currently allocated by `inner` with exactly this layout, `keepable`, and
    /// no longer used by anyone else.
    unsafe fn keep(&self, block: Block) {
        let header = block.ptr().cast::<Header>();
        // SAFETY: the block is ours (the caller's promise), at least a header large
        // (`keepable`); written unaligned.
        unsafe {
            header.as_ptr().write_unaligned(Header {
                next: self.head.get(),
                size: block.size(),
                align: block.align(),
            });
        }
        self.head.set(Some(header));
        self.kept.set(self.kept.get() + 1);
        self.kept_bytes.set(self.kept_bytes.get() + block.size());
        // Re-read the limits after every call into the inner allocator: it may re-enter.
        while self.kept.get() > self.max_blocks || self.kept_bytes.get() > self.max_bytes {
            let Some(victim) = self.take_oldest() else {
                break;
            };
            // SAFETY: the victim was on the list: currently allocated by `inner` with this
            // layout, and now off the list, so nothing else refers to it.
            unsafe { self.inner.deallocate_raw(victim) };
        }
    }
}

/// The panic of a block given back while it is kept.
#[cold]
#[inline(never)]
#[track_caller]
fn double_free(what: &str, block: &Block) -> ! {
    panic!(
        "Recycler: double free: {what} was given {block:?}, which is already free (kept for reuse)"
    )
}

impl<A: Allocator> Drop for Recycler<A> {
    fn drop(&mut self) {
        self.flush();
    }
}

impl<A: Allocator + fmt::Debug> fmt::Debug for Recycler<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recycler")
            .field("inner", &self.inner)
            .field("kept_blocks", &self.kept.get())
            .field("kept_bytes", &self.kept_bytes.get())
            .field("max_blocks", &self.max_blocks)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

// SAFETY:
// 1. A block is either a kept block of exactly the rounded layout (on the list it was
//    allocated by `inner` with that layout and handed out to no one; taken off the list, it
//    is handed out once) or an inner block of the rounded layout; both are reported with
//    the rounded size, which they have, and the requested alignment; they overlap no live
//    block (the inner allocator's promise, and kept blocks are off limits until taken).
// 2. The memory is the inner allocator's, kept allocated until flushed (on drop at the
//    latest).
// 3. Zero-size requests return `Block::empty` and empty blocks are no-ops.
// 4. A failure changes nothing: the inner allocator's failed reallocation leaves the block.
// A block given back with any size that fits ours rounds to the class size we asked the
// inner allocator for (`Rounding`'s promises), with the same alignment.
unsafe impl<A: Allocator> Allocator for Recycler<A> {
    /// A kept block of the request's class and alignment, else the rounded request from
    /// the inner allocator.
    ///
    /// # Errors
    ///
    /// `SizeOverflow` when the rounded size exceeds `isize::MAX`; otherwise the inner
    /// allocator's error.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let rounded = Self::rounded(layout)?;
        if let Some(block) = self.take(rounded) {
            return Ok(block);
        }
        self.inner
            .allocate_raw(rounded)
            .map(|b| Block::from_raw_parts(b.ptr(), rounded))
    }

    /// As [`allocate_raw`](Self::allocate_raw), zeroed (the whole class size; a kept block
    /// is zeroed here).
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let rounded = Self::rounded(layout)?;
        if let Some(block) = self.take(rounded) {
            // SAFETY: the block was just taken off the list: ours, valid for its size.
            unsafe { block.as_ptr().write_bytes(0, block.size()) };
            return Ok(block);
        }
        self.inner
            .allocate_zeroed_raw(rounded)
            .map(|b| Block::from_raw_parts(b.ptr(), rounded))
    }

    /// Keeps the block (evicting the oldest kept blocks past the limits), or gives it to
    /// the inner allocator if it cannot be kept.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// If `block` is kept already (a double free).
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        self.check_not_kept(&block, "deallocate_raw");
        let inner = Self::inner_block(&block);
        if self.keepable(&inner) {
            // SAFETY: the caller gives back a block of ours, which is the inner block of
            // its class (above), currently allocated by `inner`; not kept (checked).
            unsafe { self.keep(inner) }
        } else {
            // SAFETY: as above.
            unsafe { self.inner.deallocate_raw(inner) }
        }
    }

    /// In place when the class and the alignment stay; otherwise the inner allocator's
    /// reallocation between class sizes.
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw); the block is then unchanged.
    ///
    /// # Panics
    ///
    /// If `block` is kept (it was given back already).
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_raw(block) };
            return Ok(Block::empty(new_layout));
        }
        self.check_not_kept(&block, "reallocate_raw");
        let rounded = Self::rounded(new_layout)?;
        let inner = Self::inner_block(&block);
        if inner.layout() == rounded {
            return Ok(inner);
        }
        // SAFETY: `inner` is currently allocated by the inner allocator (our block of its
        // class), and not kept (checked).
        let new = unsafe { self.inner.reallocate_raw(inner, rounded) }?;
        Ok(Block::from_raw_parts(new.ptr(), rounded))
    }

    /// The class size (or the size itself, if rounding overflows).
    #[inline]
    fn good_size(&self, layout: Layout) -> usize {
        SizeClassRounding
            .round(layout.size())
            .unwrap_or(layout.size())
    }
}

// SAFETY: a live block of ours, with any size that fits, rounds to the inner block, which
// the inner allocator claims; any other block is asked about with its rounded size (a
// block containing it), which an inner allocator that never handed that memory out
// disclaims. Kept blocks are free memory: either answer is allowed (the inner allocator's
// `true`).
unsafe impl<A: BlockOwner> BlockOwner for Recycler<A> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        match Self::rounded(block.layout()) {
            Ok(layout) if !block.is_empty() => self
                .inner
                .owns_block(&Block::from_raw_parts(block.ptr(), layout)),
            _ => false,
        }
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator] for Recycler<A>);

//! [`Bump`]: the non-generic engine behind [`Scoped`](crate::Scoped) and
//! [`Scope`](crate::Scope): a downward bump pointer over one region of a buffer, plus
//! the busy flag that a child scope sets on its parent.
//!
//! Everything here is compiled once, whatever the parent allocator of a `Scoped` is (the
//! generic outer type wraps this non-generic inner one).

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::ptr::{self, NonNull};

use alloc_core::{AllocatorError, Block};

use crate::chunk::{self, Chain, Grow, Header, Region};
use crate::{MAX_ALIGN, Scope};

/// The value of [`Bump::limit`] while a child scope is open: no address is at or above
/// it, so every allocation of the fast path fails and the slow path reports
/// [`AllocatorError::Busy`].
const BUSY: usize = usize::MAX;

/// A downward bump allocator over the region `start..end` of a buffer.
///
/// Blocks are handed out from `end` towards `start`: the live blocks of this allocator
/// all lie in `ptr..end`, the free space is `start..ptr`.
pub(crate) struct Bump {
    /// The bump pointer: the lowest byte handed out (or `end` when nothing is). Always in
    /// `start..=end`. It carries the provenance of the whole buffer, so every block is
    /// derived from it.
    ptr: Cell<NonNull<u8>>,
    /// Allocations must start at or above this address: `start`, or [`BUSY`] while a
    /// child scope is open. It is the one bound the fast path compares against.
    limit: Cell<usize>,
    /// Lowest address of the region (the start of the buffer or chunk).
    start: Cell<usize>,
    /// One past the highest address of the region: the end of the buffer (or the chunk's
    /// header) for a `Scoped`, the parent's bump pointer at the time a child `Scope` was
    /// opened.
    end: Cell<usize>,
    /// The chunk the region lies in (a growing arena), `None` for a fixed buffer. Its
    /// header's `prev` chain leads to the older chunks of this allocator, down to `base`.
    chunk: Cell<Option<NonNull<Header>>>,
    /// Where this allocator's chain of chunks stops: `None` for a `Scoped`; for a scope,
    /// the parent's chunk when the scope opened (the scope's chunks are those above it).
    base: Option<NonNull<Header>>,
}

impl Bump {
    /// A bump allocator over `len` bytes at `base`, with nothing allocated.
    ///
    /// # Safety
    ///
    /// `base..base + len` is valid for reads and writes, and stays so (and is used by
    /// nobody else) for as long as the `Bump` or any block it hands out is in use. For
    /// `len == 0`, `base` may be dangling (it is then never dereferenced).
    #[inline]
    pub(crate) unsafe fn new(base: NonNull<u8>, len: usize) -> Self {
        // SAFETY: `base..base + len` is one allocation (caller), so one past its end is
        // in bounds for `add`.
        let end = unsafe { base.add(len) };
        let start = base.as_ptr().addr();
        Self {
            ptr: Cell::new(end),
            limit: Cell::new(start),
            start: Cell::new(start),
            end: Cell::new(end.as_ptr().addr()),
            chunk: Cell::new(None),
            base: None,
        }
    }

    /// A bump allocator with no memory: its first request goes to the slow path.
    pub(crate) fn empty() -> Self {
        // SAFETY: a dangling pointer with length 0 is never dereferenced.
        unsafe { Self::new(NonNull::dangling(), 0) }
    }

    /// Allocates `layout`: the fast path, inlined into the caller. On the bump pointer's
    /// dependency chain there are only a subtraction and a mask (two cycles per
    /// allocation in a loop); the checks beside it are predictable branches, and those
    /// on the layout alone (zero size, alignment) fold away for constant layouts or are
    /// hoisted out of loops. Zero-size requests get an empty block; the reason for any
    /// other failure comes from the cold slow path.
    #[inline(always)]
    pub(crate) fn alloc(&self, layout: Layout, grow: &dyn Grow) -> Result<Block, AllocatorError> {
        // Checks on the layout alone first, as their own branch: constant for typed
        // allocations, loop-invariant in loops (where the optimiser hoists them).
        if layout.size() != 0 && layout.align() <= MAX_ALIGN {
            let ptr = self.ptr.get();
            if let Some(new) = down(ptr.as_ptr().addr(), layout) {
                if new >= self.limit.get() {
                    // SAFETY: `new >= limit >= start >= 1` (`start` is the address of a
                    // `NonNull`), so the pointer is not null.
                    let new_ptr = unsafe { NonNull::new_unchecked(ptr.as_ptr().with_addr(new)) };
                    self.ptr.set(new_ptr);
                    // `new..new + size` lies in `start..ptr`: free space of the buffer,
                    // now the lowest live block, aligned by `down`.
                    return Ok(Block::from_raw_parts(new_ptr, layout));
                }
            }
        } else if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        // The slow path answers with a pointer or nothing (one register), and only a
        // failure builds an error: a `Result<Block, _>` coming back from an out-of-line
        // call travels through memory, and merging it with the fast path cost stores
        // and loads in every caller's loop.
        match self.alloc_slow(layout, grow) {
            Some(ptr) => Ok(Block::from_raw_parts(ptr, layout)),
            None => Err(self.failure(layout, grow)),
        }
    }

    /// The slow path of `alloc`: the start of the empty block for a zero-size request
    /// (which must not consume anything); for other requests, the block in a new chunk
    /// if the arena grows (`grow`), `None` otherwise.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, layout: Layout, grow: &dyn Grow) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            Some(Block::empty(layout).ptr())
        } else if self.is_busy() || layout.align() > MAX_ALIGN {
            None
        } else {
            grow.grow(self, layout)
        }
    }

    /// Why a non-empty request for `layout` cannot be served now.
    #[cold]
    #[inline(never)]
    fn failure(&self, layout: Layout, grow: &dyn Grow) -> AllocatorError {
        if self.is_busy() {
            AllocatorError::Busy
        } else if layout.align() > MAX_ALIGN {
            AllocatorError::UnsupportedAlignment
        } else if let Some(error) = grow.error() {
            error
        } else if layout.size() > self.capacity() {
            AllocatorError::TooLarge
        } else {
            AllocatorError::OutOfMemory
        }
    }

    /// Gives `block` back: rewinds the bump pointer if it is the most recent block,
    /// does nothing otherwise.
    ///
    /// # Safety
    ///
    /// `block` fits a block currently allocated by this `Bump`, or is empty. A block that
    /// lies outside `ptr..end` (foreign, freed twice, or from a scope that has ended) is
    /// detected and causes a panic; other violations are not detected.
    ///
    /// # Panics
    ///
    /// If `block` is not empty and does not lie in `ptr..end`.
    #[inline(always)]
    pub(crate) unsafe fn dealloc(&self, block: Block) {
        let ptr = self.ptr.get();
        let addr = ptr.as_ptr().addr();
        if block.addr() == addr {
            // The most recent block (or an empty block that happens to sit at the bump
            // pointer: rewinding by zero bytes is harmless). `addr <= end` (invariant).
            if block.size() > self.end.get() - addr {
                not_allocated(&block, "deallocate_raw");
            }
            // SAFETY: `addr + size <= end`: inside the buffer or one past its end.
            self.ptr.set(unsafe { ptr.add(block.size()) });
        } else if !block.is_empty() && !block.is_inside(addr, self.end.get() - addr) {
            self.check_older(&block, "deallocate_raw");
        }
    }

    /// Reallocates `block` to `new_layout`. The most recent block is moved within the
    /// space from `limit` to its own end (growing downward into the free space, or
    /// shrinking towards its end, which gives the rest back) with one overlapping copy;
    /// another block keeps its address when it shrinks and is copied to a new block when
    /// it grows.
    ///
    /// # Safety
    ///
    /// As [`dealloc`](Self::dealloc).
    ///
    /// # Errors
    ///
    /// As [`alloc`](Self::alloc); the block is unchanged then.
    ///
    /// # Panics
    ///
    /// As [`dealloc`](Self::dealloc).
    //
    // Out of line on purpose: growth is rare next to the pushes around it (a `Vec`
    // doubles), and inlining this body into a push loop costs registers in the loop:
    // measured 30 % slower pushes in `benches/benches/scoped.rs` when inlined.
    #[inline(never)]
    pub(crate) unsafe fn realloc(
        &self,
        block: Block,
        new_layout: Layout,
        grow: &dyn Grow,
    ) -> Result<Block, AllocatorError> {
        if block.layout() == new_layout {
            return Ok(block);
        }
        if block.is_empty() {
            // Nothing to copy and nothing to give back.
            return self.alloc(new_layout, grow);
        }
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.dealloc(block) };
            return Ok(Block::empty(new_layout));
        }
        let ptr = self.ptr.get();
        let addr = ptr.as_ptr().addr();
        if block.addr() == addr {
            // The most recent block: all of `limit..addr + size` is available to it.
            if block.size() > self.end.get() - addr {
                not_allocated(&block, "reallocate_raw");
            }
            let top = addr + block.size();
            let served = new_layout.align() <= MAX_ALIGN;
            if let Some(new) = down(top, new_layout).filter(|&n| served && n >= self.limit.get()) {
                // SAFETY: `new >= limit >= start >= 1`: not null.
                let new_ptr = unsafe { NonNull::new_unchecked(ptr.as_ptr().with_addr(new)) };
                let len = block.size().min(new_layout.size());
                // SAFETY: the old block (`addr..top`) and the new one (`new..new + len`,
                // with `new + new_size <= top`) both lie in `start..end`, valid for reads
                // and writes; `ptr::copy` allows them to overlap. Nothing else lives in
                // `limit..top` but the old block.
                unsafe { ptr::copy(block.as_ptr(), new_ptr.as_ptr(), len) };
                self.ptr.set(new_ptr);
                return Ok(Block::from_raw_parts(new_ptr, new_layout));
            }
        } else if !block.is_inside(addr, self.end.get() - addr) {
            self.check_older(&block, "reallocate_raw");
        }
        self.realloc_elsewhere(block, new_layout, grow)
    }

    /// The rest of `realloc`: a block that is not the most recent one (or a most recent
    /// one that cannot move, because the space is exhausted or a child scope is open).
    #[inline(never)]
    fn realloc_elsewhere(
        &self,
        block: Block,
        new_layout: Layout,
        grow: &dyn Grow,
    ) -> Result<Block, AllocatorError> {
        if new_layout.size() <= block.size() && block.addr() % new_layout.align() == 0 {
            // Shrink in place: same address, the tail stays unused until the space is
            // reclaimed (a reset, or the end of the scope).
            return Ok(Block::from_raw_parts(block.ptr(), new_layout));
        }
        let new = self.alloc(new_layout, grow)?;
        // SAFETY: `block` is valid for reads of its size (caller), `new` for writes of at
        // least `new_layout.size()` bytes; `new` is freshly allocated while `block` is
        // live, so they do not overlap (a growth in `alloc` may have run the parent's
        // code, but chunks are given back only at a reset, which takes `&mut`, or when a
        // scope ends, which cannot happen during a call on it or on one of its children). The old block needs no freeing: it is not the
        // most recent one any more.
        unsafe {
            ptr::copy_nonoverlapping(
                block.as_ptr(),
                new.as_ptr(),
                block.size().min(new_layout.size()),
            );
        }
        Ok(new)
    }

    /// Whether `block` lies among this allocator's live blocks (`ptr..end`, and the
    /// live parts of its older chunks).
    #[inline]
    pub(crate) fn owns_block(&self, block: &Block) -> bool {
        let addr = self.ptr.get().as_ptr().addr();
        block.is_inside(addr, self.end.get() - addr)
            || (self.chunk.get() != self.base && self.in_older(block))
    }

    /// Whether `block` lies among the live blocks of this allocator's older chunks.
    #[cold]
    fn in_older(&self, block: &Block) -> bool {
        let mut found = false;
        self.for_each_older(|region| {
            found |= block.is_inside(region.low, region.high - region.low);
        });
        found
    }

    /// The older regions of this allocator, newest first.
    fn for_each_older(&self, mut f: impl FnMut(Region)) {
        let mut next = self.chunk.get();
        while next != self.base {
            let Some(h) = next else { break };
            // SAFETY: the chunks of this allocator's chain down to `base` are held by the
            // arena while this allocator is alive (scopes give theirs back only when they
            // end; the arena only at `reset`, which takes `&mut`, and in `Drop`).
            let header = unsafe { chunk::header(h) };
            f(header.region);
            next = header.prev;
        }
    }

    /// The check of a block that is not in the current region: it must be in an older
    /// one.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn check_older(&self, block: &Block, method: &str) {
        if !self.in_older(block) {
            not_allocated(block, method);
        }
    }

    /// Moves to the chunk `h` (held, unused, unlinked) and allocates `layout` in it: the
    /// current region is recorded in `h`'s header, which joins the chain on top. `None`
    /// if `layout` does not fit in it (the chunk is then still entered).
    pub(crate) fn enter(&self, h: NonNull<Header>, layout: Layout) -> Option<NonNull<u8>> {
        let region = Region {
            start: self.start.get(),
            low: self.ptr.get().as_ptr().addr(),
            high: self.end.get(),
        };
        // SAFETY: `h` is held and unused, so no reference to its header is alive.
        unsafe {
            (*h.as_ptr()).prev = self.chunk.get();
            (*h.as_ptr()).region = region;
        }
        self.set_region(h, None);
        self.alloc_fast(layout)
    }

    /// Makes the space below `h`'s header the current region, with the bump pointer at
    /// `at` (its top when `None`).
    fn set_region(&self, h: NonNull<Header>, at: Option<usize>) {
        let (start, end) = chunk::space(h);
        // The header pointer carries the provenance of the whole chunk.
        let top = h.cast::<u8>();
        let ptr = match at {
            Some(at) => moved(top, at),
            None => top,
        };
        self.ptr.set(ptr);
        self.start.set(start);
        self.end.set(end);
        self.limit.set(start);
        self.chunk.set(Some(h));
    }

    /// The fast path alone, out of `alloc` (for a fresh chunk).
    fn alloc_fast(&self, layout: Layout) -> Option<NonNull<u8>> {
        let ptr = self.ptr.get();
        let new = down(ptr.as_ptr().addr(), layout)?;
        if new < self.limit.get() {
            return None;
        }
        let new_ptr = moved(ptr, new);
        self.ptr.set(new_ptr);
        Some(new_ptr)
    }

    /// Opens a child scope over the free space `start..ptr`, runs `f` with it and closes
    /// it again (also when `f` panics: the child's `Drop` clears the busy flag).
    pub(crate) fn scope<R>(
        &self,
        grow: &dyn Grow,
        f: impl FnOnce(&Scope<'_>) -> R,
    ) -> Result<R, AllocatorError> {
        let child = self.open(grow)?;
        Ok(f(&child))
    }

    /// Opens a child scope over the free space `start..ptr` (and the chunks it adds),
    /// marking this allocator busy until the child is dropped.
    pub(crate) fn open<'a>(&'a self, grow: &'a dyn Grow) -> Result<Scope<'a>, AllocatorError> {
        if self.is_busy() {
            return Err(AllocatorError::Busy);
        }
        let top = self.ptr.get();
        let child = Scope {
            bump: Self {
                ptr: Cell::new(top),
                limit: Cell::new(self.start.get()),
                start: Cell::new(self.start.get()),
                end: Cell::new(top.as_ptr().addr()),
                chunk: Cell::new(self.chunk.get()),
                base: self.chunk.get(),
            },
            parent: self,
            grow,
        };
        self.limit.set(BUSY);
        Ok(child)
    }

    /// Closes this allocator as a scope: it refuses everything from now on, and its
    /// chain of chunks is handed to the caller (`(top, base)`) to be given back.
    pub(crate) fn close(&self) -> Chain {
        self.limit.set(BUSY);
        self.start.set(self.end.get());
        self.ptr.set(moved(self.ptr.get(), self.end.get()));
        (self.chunk.replace(self.base), self.base)
    }

    /// Clears the busy flag: called when the child scope closes. The parent's bump
    /// pointer never moved down while the child was open, so the child's blocks are
    /// reclaimed with it.
    #[inline]
    pub(crate) fn end_scope(&self) {
        self.limit.set(self.start.get());
    }

    /// Forgets every block of the current region: the whole region is free again (and
    /// no scope is open).
    #[inline]
    pub(crate) fn reset(&mut self) {
        let ptr = self.ptr.get_mut();
        let addr = ptr.as_ptr().addr();
        // SAFETY: `ptr <= end`, both in (or one past) the same buffer.
        *ptr = unsafe { ptr.add(self.end.get() - addr) };
        self.limit.set(self.start.get());
    }

    /// Makes chunk `h` (held, unlinked) the only chunk, all free (or the empty state for
    /// `None`).
    pub(crate) fn reset_chunks(&mut self, h: Option<NonNull<Header>>) {
        match h {
            Some(h) => self.set_region(h, None),
            None => *self = Self::empty(),
        }
    }

    /// The current chunk (`None` for a fixed buffer or an empty growing arena).
    pub(crate) fn chunk(&self) -> Option<NonNull<Header>> {
        self.chunk.get()
    }

    /// Where this allocator stands: its chunk and bump pointer.
    pub(crate) fn position(&self) -> (usize, usize) {
        let chunk = self.chunk.get().map_or(0, |h| h.as_ptr().addr());
        (chunk, self.ptr.get().as_ptr().addr())
    }

    /// Moves back to `position` (from [`position`](Self::position)), if it lies in the
    /// current region or an older one; returns the chunks above it (`(top, base)`, to be
    /// given back), or `None` if the position is not one of this allocator.
    pub(crate) fn rewind(&mut self, (chunk, at): (usize, usize)) -> Option<Chain> {
        let current = self.chunk.get();
        if current.map_or(0, |h| h.as_ptr().addr()) == chunk {
            if at < self.start.get() || at > self.end.get() {
                return None;
            }
            self.ptr.set(moved(self.ptr.get(), at));
            self.limit.set(self.start.get());
            return Some((None, None));
        }
        let mut next = current;
        while let Some(h) = next {
            // SAFETY: chunks of the chain are held.
            let header = unsafe { chunk::header(h) };
            let (prev, region) = (header.prev, header.region);
            let prev_chunk = prev?;
            if prev_chunk.as_ptr().addr() == chunk {
                if at < region.start || at > region.high {
                    return None;
                }
                // Back to `prev_chunk`, as the allocator left it but with the pointer at
                // `at`; a region whose top is not the chunk's top (a scope's first
                // region) is never the chain of a `Scoped`, which alone rewinds.
                self.set_region(prev_chunk, Some(at));
                self.end.set(region.high);
                return Some((current, prev));
            }
            next = prev;
        }
        None
    }

    /// The statistics of this allocator's chunks (`spare_chunks` and `held` are the
    /// arena's, filled in by the caller).
    pub(crate) fn stats(&self) -> chunk::ArenaStats {
        let mut stats = chunk::ArenaStats {
            allocated: self.used(),
            remaining: self.remaining(),
            capacity: self.capacity(),
            chunks: 1,
            ..chunk::ArenaStats::default()
        };
        self.for_each_older(|region| {
            if region.high > region.start {
                stats.chunks += 1;
                stats.allocated += region.high - region.low;
                stats.wasted += region.low - region.start;
                stats.capacity += region.high - region.start;
            }
        });
        if self.capacity() == 0 && self.chunk.get().is_none() {
            stats.chunks = 0;
        }
        stats
    }

    /// Bytes between the bump pointer and the end of the region.
    #[inline]
    pub(crate) fn used(&self) -> usize {
        self.end.get() - self.ptr.get().as_ptr().addr()
    }

    /// Bytes between the start of the region and the bump pointer.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.ptr.get().as_ptr().addr() - self.start.get()
    }

    /// Size of the region.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.end.get() - self.start.get()
    }

    /// Whether a child scope is open.
    #[inline]
    pub(crate) fn is_busy(&self) -> bool {
        self.limit.get() == BUSY
    }

    /// Formats the fields every public type shows in its `Debug` output.
    pub(crate) fn debug_fields<'a, 'b>(
        &self,
        d: &'a mut fmt::DebugStruct<'a, 'b>,
    ) -> &'a mut fmt::DebugStruct<'a, 'b> {
        d.field("capacity", &self.capacity())
            .field("used", &self.used())
            .field("busy", &self.is_busy())
    }
}

/// `ptr` moved to `addr`, with its provenance. Addresses here are never 0: they are at
/// or above the start of a region, the address of a `NonNull`.
fn moved(ptr: NonNull<u8>, addr: usize) -> NonNull<u8> {
    NonNull::new(ptr.as_ptr().with_addr(addr)).unwrap_or(ptr)
}

/// Whether `layout` fits in the free space `start..end`.
pub(crate) fn fits(start: usize, end: usize, layout: Layout) -> bool {
    layout.align() <= MAX_ALIGN && down(end, layout).is_some_and(|new| new >= start)
}

/// `top - layout.size()` rounded down to `layout.align()`, or `None` if the subtraction
/// underflows. The result is never above `top - size`, so the block `new..new + size`
/// ends at or below `top`.
#[inline(always)]
pub(crate) fn down(top: usize, layout: Layout) -> Option<usize> {
    top.checked_sub(layout.size())
        .map(|unaligned| unaligned & !(layout.align() - 1))
}

/// The panic for a block that is not among the live blocks of the allocator.
#[cold]
#[inline(never)]
#[track_caller]
fn not_allocated(block: &Block, method: &str) -> ! {
    panic!(
        "alloc_scoped: {method} was given {block:?}, which is not currently allocated by \
         this allocator (a double free, a block of another allocator, or a block of a \
         scope that has ended)"
    )
}

#[cfg(test)]
mod tests {
    use super::down;
    use core::alloc::Layout;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn down_subtracts_and_aligns() {
        assert_eq!(down(0x1000, layout(16, 8)), Some(0x0ff0));
        assert_eq!(down(0x1000, layout(3, 1)), Some(0x0ffd));
        assert_eq!(down(0x1003, layout(8, 8)), Some(0x0ff8));
        assert_eq!(down(0x1000, layout(1, 4096)), Some(0));
        assert_eq!(down(0x2001, layout(1, 4096)), Some(0x2000));
        assert_eq!(down(0x1000, layout(0, 64)), Some(0x1000));
    }

    #[test]
    fn down_refuses_sizes_that_do_not_fit_below_top() {
        assert_eq!(down(0x1000, layout(0x1000, 1)), Some(0));
        assert_eq!(down(0x1000, layout(0x1001, 1)), None);
        assert_eq!(down(1, layout(2, 1)), None);
        assert_eq!(down(0x1000, layout(isize::MAX as usize, 1)), None);
        assert_eq!(
            down(usize::MAX, layout(isize::MAX as usize, 1)),
            Some(1 << (usize::BITS - 1))
        );
    }

    #[test]
    fn down_never_exceeds_top_minus_size() {
        for top in [1usize, 2, 7, 8, 4095, 4096, usize::MAX] {
            for size in [0usize, 1, 2, 3, 8, 100, 4096] {
                for align in [1usize, 2, 8, 64, 4096] {
                    if let Some(new) = down(top, layout(size, align)) {
                        assert_eq!(new % align, 0);
                        assert!(new + size <= top, "{top} {size} {align}");
                        assert!(top - size - new < align, "{top} {size} {align}");
                    } else {
                        assert!(size > top);
                    }
                }
            }
        }
    }
}

//! The chunks of a growing [`Scoped`](crate::Scoped): their headers, the list of spare
//! chunks, the growth policy (sizes, limit, what is kept), all non-generic; only the two
//! calls into the parent allocator go through [`RawParent`].
//!
//! # Layout
//!
//! A chunk is one block of the parent, aligned to 16. Its [`Header`] sits at its top (the
//! highest 16-aligned place it fits), and the region below the header is bumped downward
//! like a fixed buffer. The chunks an allocator uses form a chain from its current chunk
//! to older ones (`Header::prev`); each header also records the region of the previous
//! chunk *as the allocator left it* (`Header::region`), which is what ownership checks,
//! statistics and checkpoints read. Spare chunks (kept for reuse) form a second list
//! through the same `prev` field.
//!
//! # Re-entrancy
//!
//! The parent is user code, which may allocate and free through the very arena that is
//! asking it for a chunk (a logger, a hostile wrapper). Every state change here is
//! complete before the parent is called, and the arena's state is read again after it
//! returns: a chunk is installed on top of whatever chunk is current *then*, and chunks
//! being given back are unlinked from every list before the first of them is freed.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;

use alloc_core::{Allocator, AllocatorError, Block};

use crate::BUFFER_ALIGN;
use crate::bump::Bump;

/// What an arena keeps when chunks fall out of use (at [`reset`](crate::Scoped::reset),
/// when a scope ends, at [`reset_to`](crate::Scoped::reset_to)).
///
/// # Examples
///
/// ```
/// use alloc_core::Allocator;
/// use alloc_scoped::{Retain, Scoped};
///
/// let mut arena = Scoped::growable(64).unwrap();
/// arena.set_retain(Retain::All);
/// for _ in 0..100 { core::mem::forget(arena.allocate([0u8; 48]).unwrap()); }
/// let held = arena.stats().held;
/// arena.reset();
/// assert_eq!(arena.stats().held, held); // every chunk kept
/// arena.set_retain(Retain::Largest);
/// arena.reset();
/// assert!(arena.stats().held < held); // only the largest kept
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Retain {
    /// Keep one chunk, the largest: after a reset it is the current chunk; after a scope
    /// ends it is kept as the one spare chunk that the next growth takes before asking
    /// the parent. Everything else goes back to the parent. The default.
    #[default]
    Largest,
    /// Keep every chunk until the arena is dropped: the parent is asked only when no
    /// kept chunk is large enough.
    All,
}

/// Statistics of an arena, read with [`Scoped::stats`](crate::Scoped::stats) or
/// [`Scope::stats`](crate::Scope::stats).
///
/// `capacity == allocated + remaining + wasted` always holds.
///
/// # Examples
///
/// ```
/// use alloc_core::Allocator;
/// use alloc_scoped::Scoped;
///
/// let arena = Scoped::growable(1024).unwrap(); // a first chunk of 2 KiB
/// let _a = arena.allocate([0u8; 1000]).unwrap();
/// let _b = arena.allocate([0u8; 1100]).unwrap(); // does not fit: a second chunk
/// let stats = arena.stats();
/// assert_eq!((stats.chunks, stats.allocated), (2, 2100));
/// assert!(stats.wasted >= 900 && stats.held > stats.capacity);
/// assert_eq!(stats.capacity, stats.allocated + stats.remaining + stats.wasted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct ArenaStats {
    /// Bytes taken by live blocks, with their alignment padding and the blocks freed out
    /// of order (which only a reset or the end of the scope reclaims).
    pub allocated: usize,
    /// Bytes free in the current chunk: what can be allocated without growing.
    pub remaining: usize,
    /// Bytes left free at the ends of chunks the allocator has moved on from.
    pub wasted: usize,
    /// Bytes of the regions in use: `allocated + remaining + wasted`.
    pub capacity: usize,
    /// Chunks (regions) in use: 1 for a fixed buffer or a scope that has not grown.
    pub chunks: usize,
    /// Spare chunks kept for reuse (of the whole arena; 0 for a fixed buffer).
    pub spare_chunks: usize,
    /// Bytes taken from the parent and not given back (of the whole arena: the chunks in
    /// use by it and its open scopes, the spare chunks, and the chunk headers).
    pub held: usize,
}

/// The record at the top of every chunk.
#[repr(C)]
pub(crate) struct Header {
    /// The previous chunk of the chain (or the next spare chunk, in the spare list).
    pub(crate) prev: Option<NonNull<Header>>,
    /// The chunk as the parent returned it: given back as is.
    pub(crate) chunk: Block,
    /// The region of `prev` as the allocator left it when it moved to this chunk.
    pub(crate) region: Region,
}

/// Size of a [`Header`], rounded up to 16, so that the region below it ends 16-aligned.
pub(crate) const HEADER: usize = (size_of::<Header>() + BUFFER_ALIGN - 1) & !(BUFFER_ALIGN - 1);

/// A region of a chunk: the space `start..high`, of which `low..high` holds the live
/// blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Region {
    pub(crate) start: usize,
    pub(crate) low: usize,
    pub(crate) high: usize,
}

/// A chain of chunks from its top down to (not including) its base, to be given back.
pub(crate) type Chain = (Option<NonNull<Header>>, Option<NonNull<Header>>);

/// Reads the header of a chunk.
///
/// # Safety
///
/// `header` is the header of a chunk that is currently held (in a chain or the spare
/// list of a live arena).
#[inline]
pub(crate) unsafe fn header<'h>(header: NonNull<Header>) -> &'h Header {
    // SAFETY: a held chunk is valid memory of the parent, its header was written when the
    // chunk was taken and is only written again (`set_link`) through the same pointer
    // while no reference from here is alive (callers copy fields out at once).
    unsafe { header.as_ref() }
}

/// Writes the `prev` and `region` fields of a held chunk's header.
///
/// # Safety
///
/// As [`header`], and no reference to the header is alive.
#[inline]
unsafe fn set_link(header: NonNull<Header>, prev: Option<NonNull<Header>>, region: Region) {
    // SAFETY: the header is valid for writes (caller); the fields are plain data.
    unsafe {
        (*header.as_ptr()).prev = prev;
        (*header.as_ptr()).region = region;
    }
}

/// The space below a chunk's header: `(start, end)`.
pub(crate) fn space(header: NonNull<Header>) -> (usize, usize) {
    (chunk_start(header), header.as_ptr().addr())
}

/// The lowest address of a held chunk.
fn chunk_start(h: NonNull<Header>) -> usize {
    // SAFETY: only called on held chunks.
    unsafe { header(h) }.chunk.addr()
}

/// The size of a held chunk as the parent gave it.
fn chunk_size(h: NonNull<Header>) -> usize {
    // SAFETY: only called on held chunks.
    unsafe { header(h) }.chunk.size()
}

/// The two calls a growing arena makes into its parent, behind a trait object so that
/// the growth code is compiled once.
pub(crate) trait RawParent {
    fn alloc_chunk(&self, layout: Layout) -> Result<Block, AllocatorError>;
    /// # Safety
    ///
    /// `block` was returned by `alloc_chunk` and is not in use.
    unsafe fn free_chunk(&self, block: Block);
}

impl<A: Allocator> RawParent for A {
    fn alloc_chunk(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.allocate_raw(layout)
    }
    unsafe fn free_chunk(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate_raw(block) }
    }
}

/// The hook by which a full [`Bump`] asks its arena for more memory. A fixed-capacity
/// arena answers `None` at once.
pub(crate) trait Grow {
    /// Moves `bump` to a chunk in which `layout` fits and allocates `layout` there, or
    /// `None` (the reason is then [`error`](Self::error)).
    fn grow(&self, bump: &Bump, layout: Layout) -> Option<NonNull<u8>>;
    /// Why the last `grow` failed; `None` for a fixed-capacity arena.
    fn error(&self) -> Option<AllocatorError>;
    /// Takes back the chain of chunks from `top` down to `base` (excluded): a scope has
    /// ended. The chunks are no longer referenced by anyone.
    fn release(&self, top: Option<NonNull<Header>>, base: Option<NonNull<Header>>);
    /// Spare chunks and bytes held, for statistics.
    fn held(&self) -> (usize, usize);
}

/// The smallest chunk a growing arena takes (headers included).
const MIN_CHUNK: usize = 512;

/// The size of a first chunk for `size` bytes (header included): at least
/// [`MIN_CHUNK`], rounded up to a power of two, as bumpalo does, so that the doubling
/// sizes stay powers of two (measured in `benches/benches/arena.rs`: taking exactly
/// `initial + header` made every later chunk 1 % larger than bumpalo's, for the same
/// blocks).
const fn pow2(size: usize) -> usize {
    let size = if size < MIN_CHUNK { MIN_CHUNK } else { size };
    match size.checked_next_power_of_two() {
        Some(p) => p,
        None => size,
    }
}

/// The size after `size`: twice as large, within what a layout accepts.
fn doubled(size: usize) -> usize {
    size.saturating_mul(2).min(isize::MAX as usize / 2)
}

/// The growth state of an arena: policy and spare chunks. Cells, because growth happens
/// through `&self`; never borrowed across a call into the parent.
pub(crate) struct Chunks {
    /// Whether the arena grows at all (`Scoped::new` does not).
    growable: bool,
    /// Spare chunks, linked through `Header::prev`.
    spare: Cell<Option<NonNull<Header>>>,
    /// Size of the next regular chunk (doubles as chunks are taken).
    next_size: Cell<usize>,
    /// Bytes taken from the parent and not given back.
    held: Cell<usize>,
    /// The most `held` may reach.
    limit: Cell<usize>,
    retain: Cell<Retain>,
    /// Why the last growth failed.
    error: Cell<Option<AllocatorError>>,
}

impl Chunks {
    /// The state of a fixed-capacity arena: never grows.
    pub(crate) const fn fixed() -> Self {
        Self::new(false, 0)
    }

    pub(crate) const fn new(growable: bool, first: usize) -> Self {
        Self {
            growable,
            spare: Cell::new(None),
            next_size: Cell::new(pow2(first)),
            held: Cell::new(0),
            limit: Cell::new(usize::MAX),
            retain: Cell::new(Retain::Largest),
            error: Cell::new(None),
        }
    }

    pub(crate) fn is_growable(&self) -> bool {
        self.growable
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        self.limit.set(limit);
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.get()
    }

    pub(crate) fn set_retain(&self, retain: Retain) {
        self.retain.set(retain);
    }

    pub(crate) fn retain(&self) -> Retain {
        self.retain.get()
    }

    pub(crate) fn error(&self) -> Option<AllocatorError> {
        self.growable
            .then(|| self.error.get().unwrap_or(AllocatorError::OutOfMemory))
    }

    /// Spare chunks and bytes held.
    pub(crate) fn held(&self) -> (usize, usize) {
        let mut spares = 0;
        let mut next = self.spare.get();
        while let Some(h) = next {
            spares += 1;
            // SAFETY: spare chunks are held.
            next = unsafe { header(h) }.prev;
        }
        (spares, self.held.get())
    }

    /// Takes a chunk of at least `size` bytes from the parent (within the limit) and
    /// writes its header; the header is not linked anywhere yet.
    pub(crate) fn take(
        &self,
        parent: &dyn RawParent,
        size: usize,
    ) -> Result<NonNull<Header>, AllocatorError> {
        let size = size
            .checked_add(BUFFER_ALIGN - 1)
            .map(|s| s & !(BUFFER_ALIGN - 1))
            .filter(|&s| s >= HEADER)
            .ok_or(AllocatorError::TooLarge)?;
        if size > self.limit.get() {
            return Err(AllocatorError::TooLarge);
        }
        if size > self.limit.get() - self.held.get().min(self.limit.get()) {
            return Err(AllocatorError::OutOfMemory);
        }
        let layout =
            Layout::from_size_align(size, BUFFER_ALIGN).map_err(|_| AllocatorError::TooLarge)?;
        let block = parent.alloc_chunk(layout)?;
        // The parent ran user code: only local values from here on, and the state read
        // again.
        self.held.set(self.held.get() + block.size());
        // The header at the highest 16-aligned offset it fits (the block may be larger
        // than asked, and of any size).
        let offset = (block.size() - HEADER) & !(BUFFER_ALIGN - 1);
        // SAFETY: `offset + HEADER <= block.size()`: inside the block.
        let at = unsafe { block.ptr().add(offset) }.cast::<Header>();
        // SAFETY: `at` is 16-aligned (the block is, and `offset` is a multiple of 16),
        // valid for writes of a `Header` (inside the block, which nobody else uses).
        unsafe {
            at.write(Header {
                prev: None,
                chunk: block,
                region: Region::default(),
            });
        }
        Ok(at)
    }

    /// Takes the first chunk of an arena, of at least `size` bytes; the chunks after it
    /// double from its size.
    pub(crate) fn first(
        &self,
        parent: &dyn RawParent,
        size: usize,
    ) -> Result<NonNull<Header>, AllocatorError> {
        let h = self.take(parent, pow2(size))?;
        self.next_size.set(doubled(chunk_size(h)));
        Ok(h)
    }

    /// Gives a chunk back to the parent.
    ///
    /// # Safety
    ///
    /// `h` is held, unlinked from every list, and nothing uses its memory.
    unsafe fn give_back(&self, parent: &dyn RawParent, h: NonNull<Header>) {
        // SAFETY: held (caller).
        let block = unsafe { header(h) }.chunk;
        self.held.set(self.held.get() - block.size());
        // SAFETY: `block` came from `alloc_chunk` and nothing uses it (caller).
        unsafe { parent.free_chunk(block) };
    }

    /// The growth of `bump` for `layout`: a spare chunk that fits, or a new one (with a
    /// size that doubles, or the request's own size when that is larger).
    pub(crate) fn grow(
        &self,
        parent: &dyn RawParent,
        bump: &Bump,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        if !self.growable {
            return None;
        }
        match self.grow_inner(parent, bump, layout) {
            Ok(ptr) => Some(ptr),
            Err(e) => {
                self.error.set(Some(e));
                None
            }
        }
    }

    fn grow_inner(
        &self,
        parent: &dyn RawParent,
        bump: &Bump,
        layout: Layout,
    ) -> Result<NonNull<u8>, AllocatorError> {
        if let Some(h) = self.take_spare(layout) {
            return bump.enter(h, layout).ok_or(AllocatorError::OutOfMemory);
        }
        // Room for the block at any alignment, and the header.
        let need = layout
            .size()
            .checked_add(layout.align().max(BUFFER_ALIGN) + HEADER)
            .ok_or(AllocatorError::TooLarge)?;
        let regular = self.next_size.get();
        let within = |size: usize| size <= self.limit.get() - self.held.get().min(self.limit.get());
        let h = if need <= regular && within(regular) {
            match self.take(parent, regular) {
                Ok(h) => {
                    self.next_size.set(doubled(regular));
                    h
                }
                // The parent refused a regular chunk: one just large enough may do.
                Err(_) => self.take(parent, need)?,
            }
        } else {
            // Larger than a regular chunk, or a regular one would pass the limit.
            self.take(parent, need)?
        };
        if bump.is_busy() {
            // The parent opened a scope on this arena from inside its call: keep the
            // chunk for later, the request fails.
            self.keep(parent, h);
            return Err(AllocatorError::Busy);
        }
        bump.enter(h, layout).ok_or(AllocatorError::OutOfMemory)
    }

    /// Unlinks and returns the first spare chunk in which `layout` fits.
    fn take_spare(&self, layout: Layout) -> Option<NonNull<Header>> {
        let mut link: Option<NonNull<Header>> = None;
        let mut next = self.spare.get();
        while let Some(h) = next {
            let (start, end) = space(h);
            // SAFETY: spare chunks are held.
            let after = unsafe { header(h) }.prev;
            if crate::bump::fits(start, end, layout) {
                match link {
                    None => self.spare.set(after),
                    // SAFETY: `l` is a held spare chunk; no reference to it is alive.
                    Some(l) => unsafe { set_link(l, after, Region::default()) },
                }
                return Some(h);
            }
            link = Some(h);
            next = after;
        }
        None
    }

    /// Keeps `h` (no longer used by anyone) as a spare chunk, or gives it back, as the
    /// retain policy says.
    pub(crate) fn keep(&self, parent: &dyn RawParent, h: NonNull<Header>) {
        // SAFETY: `h` is held and unlinked; no reference to it is alive.
        unsafe { set_link(h, self.spare.get(), Region::default()) };
        self.spare.set(Some(h));
        if self.retain.get() == Retain::Largest {
            self.trim(parent);
        }
    }

    /// Keeps only the largest spare chunk. The list is detached before the first chunk is
    /// given back, so that the parent may use the arena meanwhile.
    fn trim(&self, parent: &dyn RawParent) {
        let mut largest: Option<NonNull<Header>> = None;
        let mut next = self.spare.get();
        while let Some(h) = next {
            if largest.is_none_or(|l| chunk_size(h) > chunk_size(l)) {
                largest = Some(h);
            }
            // SAFETY: spare chunks are held.
            next = unsafe { header(h) }.prev;
        }
        let mut next = self.spare.take();
        while let Some(h) = next {
            // SAFETY: spare chunks are held; read before `h` is given away.
            next = unsafe { header(h) }.prev;
            if Some(h) == largest {
                // SAFETY: held, unlinked, no reference alive.
                unsafe { set_link(h, self.spare.get(), Region::default()) };
                self.spare.set(Some(h));
            } else {
                // SAFETY: detached from the list above, and spare chunks are unused.
                unsafe { self.give_back(parent, h) };
            }
        }
    }

    /// Keeps or gives back the chain from `top` down to `base` (excluded), which nobody
    /// uses any more.
    pub(crate) fn release(
        &self,
        parent: &dyn RawParent,
        top: Option<NonNull<Header>>,
        base: Option<NonNull<Header>>,
    ) {
        let mut next = top;
        while next != base {
            let Some(h) = next else { break };
            // SAFETY: chunks of a chain are held; read before `h` is given away.
            next = unsafe { header(h) }.prev;
            self.keep(parent, h);
        }
    }

    /// Gives back every spare chunk.
    pub(crate) fn free_spares(&self, parent: &dyn RawParent) {
        while let Some(h) = self.spare.get() {
            // SAFETY: spare chunks are held.
            self.spare.set(unsafe { header(h) }.prev);
            // SAFETY: unlinked just above, and spare chunks are unused.
            unsafe { self.give_back(parent, h) };
        }
    }

    /// The reset of a growing arena: the chain from `top` and the spare chunks are all
    /// out of use; returns the one to continue in (the largest), after keeping or giving
    /// back the others.
    pub(crate) fn reset(
        &self,
        parent: &dyn RawParent,
        top: Option<NonNull<Header>>,
    ) -> Option<NonNull<Header>> {
        // Gather the chain into the spare list, then take the largest out of it.
        let retain = self.retain.replace(Retain::All);
        self.release(parent, top, None);
        self.retain.set(retain);
        let mut largest: Option<NonNull<Header>> = None;
        let mut next = self.spare.get();
        while let Some(h) = next {
            if largest.is_none_or(|l| chunk_size(h) > chunk_size(l)) {
                largest = Some(h);
            }
            // SAFETY: spare chunks are held.
            next = unsafe { header(h) }.prev;
        }
        let largest = largest?;
        let taken = self.take_spare_exact(largest);
        debug_assert!(taken, "the largest spare chunk is in the list");
        if retain == Retain::Largest {
            self.free_spares(parent);
        }
        // SAFETY: `largest` is held and unlinked.
        unsafe { set_link(largest, None, Region::default()) };
        Some(largest)
    }

    /// Unlinks `target` from the spare list.
    fn take_spare_exact(&self, target: NonNull<Header>) -> bool {
        let mut link: Option<NonNull<Header>> = None;
        let mut next = self.spare.get();
        while let Some(h) = next {
            // SAFETY: spare chunks are held.
            let after = unsafe { header(h) }.prev;
            if h == target {
                match link {
                    None => self.spare.set(after),
                    // SAFETY: `l` is a held spare chunk; no reference to it is alive.
                    Some(l) => unsafe { set_link(l, after, Region::default()) },
                }
                return true;
            }
            link = Some(h);
            next = after;
        }
        false
    }

    /// Gives back everything: the chain from `top` and the spare chunks (`Drop`).
    pub(crate) fn free_all(&self, parent: &dyn RawParent, top: Option<NonNull<Header>>) {
        let mut next = top;
        while let Some(h) = next {
            // SAFETY: chunks of the chain are held; read before it is given back.
            next = unsafe { header(h) }.prev;
            // SAFETY: the arena is being dropped: nothing uses its chunks.
            unsafe { self.give_back(parent, h) };
        }
        self.free_spares(parent);
    }
}

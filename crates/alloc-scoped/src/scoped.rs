//! [`Scoped`]: the bump allocator that owns one buffer from its parent.

use core::alloc::Layout;
use core::fmt;
use core::mem::MaybeUninit;

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError};

use crate::bump::Bump;
use crate::chunk::{Chunks, Grow, Header};
use crate::{BUFFER_ALIGN, Buffer, Scope};

/// A bump allocator over one buffer of fixed capacity, or over chunks that grow
/// ([`growable`](Scoped::growable)), for temporary allocations, with nested
/// [scopes](Self::scope) that reclaim their memory when they end.
///
/// The buffer comes from the parent allocator `A` (the global heap by default:
/// [`new`](Scoped::new)), or from any allocator ([`new_in`](Self::new_in)), or from
/// memory the caller lends ([`from_buffer`](Scoped::from_buffer), no heap at all).
/// It is given back to the parent when the `Scoped` is dropped. The buffer lives in
/// the parent's memory, never inside the `Scoped` value, so moving a `Scoped` (for
/// example into a collection that owns its allocator) keeps its blocks valid.
///
/// Allocation bumps a pointer down from the end of the buffer: a few instructions.
/// Freeing the most recent block gives its memory back, other frees do nothing until
/// [`reset`](Self::reset), and the most recent block grows and shrinks in place.
/// When a fixed buffer is full, requests fail; a growing arena takes another
/// chunk: see [the crate docs](crate#growth).
///
/// `Scoped<A>` is `Send` when `A` is, and never `Sync`.
///
/// # Examples
///
/// ```
/// use alloc_core::Allocator;
/// use alloc_scoped::Scoped;
///
/// let alloc = Scoped::new(1024).unwrap();
/// let a = alloc.allocate(1u64).unwrap();
/// let b = alloc.allocate_str("hello").unwrap();
/// assert_eq!((*a, &*b), (1, "hello"));
/// assert_eq!(alloc.used(), 13);
/// ```
pub struct Scoped<
    #[cfg(feature = "alloc")] A: Allocator = Heap,
    #[cfg(not(feature = "alloc"))] A: Allocator,
> {
    /// The bump pointer over the whole buffer (or the current chunk).
    pub(crate) bump: Bump,
    /// The buffer, exactly as the parent returned it; given back in `Drop`. Empty for a
    /// growing arena, whose chunks are in `bump`'s chain and `chunks`.
    pub(crate) buffer: Block,
    /// Where the buffer (or the chunks) came from.
    pub(crate) parent: A,
    /// Growth: policy and spare chunks (`Chunks::fixed()` for a fixed buffer).
    pub(crate) chunks: Chunks,
}

#[cfg(feature = "alloc")]
impl Scoped<Heap> {
    /// A `Scoped` with a buffer of `size` bytes from the global heap.
    ///
    /// # Errors
    ///
    /// An [`InitError`] of kind [`AllocatorError::SizeOverflow`] if `size` exceeds
    /// `isize::MAX` (rounded up to 16), [`AllocatorError::OutOfMemory`] if the heap cannot
    /// provide the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, AllocatorError};
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(1024).unwrap();
    /// assert_eq!(alloc.capacity(), 1024);
    /// let e = Scoped::new(usize::MAX).unwrap_err();
    /// assert_eq!(e.kind(), AllocatorError::SizeOverflow);
    /// assert_eq!(e.to_string(), "size overflow: buffer size exceeds isize::MAX");
    /// ```
    #[inline]
    pub fn new(size: usize) -> Result<Self, InitError> {
        Self::new_in(size, Heap)
    }
}

impl<'a> Scoped<Buffer<'a>> {
    /// A `Scoped` over memory the caller lends: no heap needed (`no_std`). The whole
    /// slice is the buffer, and the `Scoped` borrows it for `'a`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    /// use core::mem::MaybeUninit;
    ///
    /// let mut memory = [MaybeUninit::<u8>::uninit(); 256];
    /// let alloc = Scoped::from_buffer(&mut memory);
    /// let x = alloc.allocate(7u32).unwrap();
    /// assert_eq!(*x, 7);
    /// assert_eq!(alloc.capacity(), 256);
    /// ```
    #[must_use]
    pub fn from_buffer(buffer: &'a mut [MaybeUninit<u8>]) -> Self {
        let parent = Buffer::new(buffer);
        let block = parent.take_all();
        // SAFETY: `block` is all of `parent`'s memory, now allocated to us.
        unsafe { Self::from_parts(block, parent) }
    }
}

impl<A: Allocator> Scoped<A> {
    /// A `Scoped` with a buffer of `size` bytes (aligned to 16) from `parent`, which the
    /// `Scoped` keeps and gives the buffer back to when dropped.
    ///
    /// Pass a reference (`&parent`) to keep using the parent elsewhere: references to
    /// allocators are allocators too. A `Scoped` can live in another `Scoped`, in a
    /// [`Buffer`], or in any allocator of the toolkit.
    ///
    /// # Errors
    ///
    /// An [`InitError`] of kind [`AllocatorError::SizeOverflow`] if `size` exceeds
    /// `isize::MAX` (rounded up to 16), otherwise of the kind `parent` answers when asked
    /// for the buffer. `parent` is dropped then.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, AllocatorError};
    /// use alloc_scoped::Scoped;
    ///
    /// let outer = Scoped::new(4096).unwrap();
    /// let inner = Scoped::new_in(1024, &outer).unwrap();
    /// let x = inner.allocate(5u8).unwrap();
    /// assert_eq!(*x, 5);
    /// assert_eq!(outer.used(), 1024);
    /// // The outer allocator cannot give more than it has.
    /// assert_eq!(Scoped::new_in(4096, &outer).unwrap_err().kind(), AllocatorError::OutOfMemory);
    /// ```
    pub fn new_in(size: usize, parent: A) -> Result<Self, InitError> {
        let layout = Layout::from_size_align(size, BUFFER_ALIGN).map_err(|_| {
            InitError::new(
                AllocatorError::SizeOverflow,
                "buffer size exceeds isize::MAX",
            )
        })?;
        let block = parent.allocate_raw(layout).map_err(|kind| {
            InitError::new(kind, "the parent allocator cannot provide the buffer")
        })?;
        // SAFETY: `block` was just allocated by `parent`.
        Ok(unsafe { Self::from_parts(block, parent) })
    }

    /// Takes ownership of `buffer`.
    ///
    /// # Safety
    ///
    /// `buffer` is currently allocated by `parent`, and nothing else uses it.
    unsafe fn from_parts(buffer: Block, parent: A) -> Self {
        // SAFETY: a block currently allocated by `parent` is valid for reads and writes of
        // its size until it is given back, which happens only in `Drop`; nothing else uses
        // it (caller). An empty block is never dereferenced.
        let bump = unsafe { Bump::new(buffer.ptr(), buffer.size()) };
        Self {
            bump,
            buffer,
            parent,
            chunks: Chunks::fixed(),
        }
    }

    /// Runs `f` with a child allocator ([`Scope`]) that starts where this allocator
    /// stands, and reclaims everything the child allocated when `f` returns.
    ///
    /// While the child is open, this allocator refuses to allocate (and to grow blocks)
    /// with [`AllocatorError::Busy`], so it never hands out memory the child uses; freeing
    /// its blocks still works. Scopes nest: the child has its own
    /// [`scope`](Scope::scope). If `f` panics, the panic goes on, and this allocator is
    /// unmarked and usable afterwards, with the child's memory reclaimed.
    ///
    /// # Errors
    ///
    /// [`AllocatorError::Busy`] if a child scope of this allocator is already open (when
    /// the closure of that scope calls `scope` on this allocator again); `f` is not run
    /// then.
    ///
    /// # Examples
    ///
    /// The example of the original crate: a hundred bombs go off at the end of a scope.
    ///
    /// ```
    /// use alloc_core::{Allocator, AllocatorError};
    /// use alloc_scoped::Scoped;
    ///
    /// #[derive(Debug)]
    /// struct Bomb(u8);
    /// impl Drop for Bomb {
    ///     fn drop(&mut self) { println!("Boom! {}", self.0); }
    /// }
    ///
    /// // a new scoped allocator with a kilobyte of memory from the heap.
    /// let alloc = Scoped::new(1024).unwrap();
    /// alloc.scope(|inner| {
    ///     let mut bombs = Vec::new();
    ///     for i in 0..100 { bombs.push(inner.allocate(Bomb(i)).unwrap()) }
    ///     // the parent is busy while the scope is open.
    ///     assert!(matches!(alloc.allocate(0u8), Err((AllocatorError::Busy, 0))));
    ///     // the bombs go off here, and the scope's memory is reclaimed when it returns.
    /// }).unwrap();
    /// let my_int = alloc.allocate_with(|| 23).unwrap();   // constructed in place
    /// assert_eq!(*my_int, 23);
    /// ```
    ///
    /// A value allocated in a scope cannot leave it: the borrow checker refuses this.
    ///
    /// ```compile_fail
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(1024).unwrap();
    /// let escaped = alloc.scope(|inner| inner.allocate(5u32).unwrap()).unwrap();
    /// println!("{}", *escaped);
    /// ```
    ///
    /// (The same program compiles when the value is used inside the scope:)
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(1024).unwrap();
    /// let copied = alloc.scope(|inner| *inner.allocate(5u32).unwrap()).unwrap();
    /// println!("{}", copied);
    /// ```
    pub fn scope<R>(&self, f: impl FnOnce(&Scope<'_>) -> R) -> Result<R, AllocatorError> {
        self.bump.scope(self, f)
    }

    /// Forgets every block at once: the whole buffer is free again. Taking `&mut self`
    /// guarantees that no value allocated here (and no open scope) is alive.
    ///
    /// Blocks handed out by [`allocate_raw`](Allocator::allocate_raw) must not be used
    /// afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let mut alloc = Scoped::new(64).unwrap();
    /// for round in 0..10u64 {
    ///     let values = alloc.allocate_slice_with(8, |i| i as u64 * round).unwrap();
    ///     assert_eq!(values[1], round);
    ///     core::mem::forget(values); // no free at all...
    ///     alloc.reset(); // ...the reset takes everything back.
    /// }
    /// assert_eq!(alloc.used(), 0);
    /// ```
    #[inline]
    pub fn reset(&mut self) {
        if self.chunks.is_growable() {
            let kept = self.chunks.reset(&self.parent, self.bump.chunk());
            self.bump.reset_chunks(kept);
        } else {
            self.bump.reset();
        }
    }

    /// Bytes taken by this allocator's blocks, including alignment padding and the bytes
    /// of blocks freed out of order (which only a [`reset`](Self::reset) reclaims).
    /// Memory used by an open child scope is not counted.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(64).unwrap();
    /// let a = alloc.allocate(1u32).unwrap();
    /// let b = alloc.allocate(2u32).unwrap();
    /// assert_eq!(alloc.used(), 8);
    /// drop(a); // not the most recent block: nothing is reclaimed
    /// assert_eq!(alloc.used(), 8);
    /// drop(b); // the most recent one: rewinds
    /// assert_eq!(alloc.used(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub fn used(&self) -> usize {
        self.bump.stats().allocated
    }

    /// Bytes still free: `capacity() - used()` (for a growing arena: in the current chunk,
    /// before it grows). A request of this size with alignment 1 succeeds; larger
    /// alignments may need padding. While a child scope is open, the child uses part of
    /// it.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(64).unwrap();
    /// let _a = alloc.allocate([0u8; 40]).unwrap();
    /// assert_eq!(alloc.remaining(), 24);
    /// assert!(alloc.allocate([0u8; 25]).is_err());
    /// ```
    #[inline]
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.bump.remaining()
    }

    /// Size of the buffer in bytes (at least the size asked for; the parent may give
    /// more). For a growing arena: the bytes of the chunks in use (without headers and
    /// spare chunks), `used() + remaining() + ` the bytes [wasted](crate::ArenaStats::wasted)
    /// at the ends of older chunks.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_scoped::Scoped;
    ///
    /// assert_eq!(Scoped::new(100).unwrap().capacity(), 100);
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.bump.stats().capacity
    }

    /// The allocator the buffer came from.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Heap;
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(16).unwrap();
    /// let _heap: &Heap = alloc.parent();
    /// ```
    #[inline]
    #[must_use]
    pub fn parent(&self) -> &A {
        &self.parent
    }
}

impl<A: Allocator> Drop for Scoped<A> {
    fn drop(&mut self) {
        if self.chunks.is_growable() {
            // No block of a chunk can be in use (as below); a scope that is still open
            // (leaked with `mem::forget`) has leaked its own chunks with it.
            self.chunks.free_all(&self.parent, self.bump.chunk());
            return;
        }
        // SAFETY: the buffer is currently allocated by `parent` (`from_parts`), and no
        // block of it can be in use: every typed value borrows `self`, and raw blocks are
        // valid only as long as the allocator (contract, promise 2).
        unsafe { self.parent.deallocate_raw(self.buffer) };
    }
}

impl<A: Allocator> fmt::Debug for Scoped<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.bump
            .debug_fields(&mut f.debug_struct("Scoped"))
            .finish()
    }
}

// SAFETY: a `Scoped` owns its buffer (or its chunks, and the spare chunks whose pointers
// `chunks` holds) exclusively (only blocks it handed out point into them, and typed ones
// borrow the `Scoped`, which prevents sending it while they live), and its `Cell`s are
// not shared; so sending it moves nothing another thread could still
// reach, except its parent, hence `A: Send`.
unsafe impl<A: Allocator + Send> Send for Scoped<A> {}

// SAFETY: blocks are carved by `Bump` from the buffer, which is valid (allocated by the
// parent and owned until `Drop`); live blocks lie in `ptr..end` and new ones below `ptr`,
// so they never overlap, and an open child scope uses only space below `ptr` while this
// allocator refuses to allocate; the memory is the parent's, outside the `Scoped` value,
// so moving it invalidates nothing; zero-size requests get `Block::empty` and empty
// blocks are ignored on free; a failed request changes nothing.
unsafe impl<A: Allocator> Allocator for Scoped<A> {
    /// Bumps downward; see [the crate docs](crate#allocation).
    ///
    /// # Errors
    ///
    /// `Busy` while a child scope is open, `UnsupportedAlignment` above [`MAX_ALIGN`],
    /// `TooLarge` above [`capacity`](Scoped::capacity), `OutOfMemory` when the rest is
    /// too small.
    ///
    /// [`MAX_ALIGN`]: crate::MAX_ALIGN
    #[inline(always)]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.bump.alloc(layout, self)
    }

    /// Rewinds if `block` is the most recent block, otherwise does nothing.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// In every build, if `block` is not empty and does not lie among the live blocks
    /// (freed twice, foreign, or from a scope that has ended).
    #[inline(always)]
    unsafe fn deallocate_raw(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { self.bump.dealloc(block) }
    }

    /// Moves the most recent block in place; see [the crate docs](crate#reallocation).
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw); `block` is unchanged then.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](Self::deallocate_raw).
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.bump.realloc(block, new_layout, self) }
    }
}

// SAFETY: `owns_block` is true exactly for blocks in `ptr..end` of the buffer, where every
// live block lies; blocks of an open child scope lie below `ptr`, foreign memory outside
// the buffer.
unsafe impl<A: Allocator> BlockOwner for Scoped<A> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.bump.owns_block(block)
    }
}

/// The growth of a `Scoped` (and of its scopes), through its parent.
impl<A: Allocator> Grow for Scoped<A> {
    fn grow(&self, bump: &Bump, layout: Layout) -> Option<core::ptr::NonNull<u8>> {
        self.chunks.grow(&self.parent, bump, layout)
    }
    fn error(&self) -> Option<AllocatorError> {
        self.chunks.error()
    }
    fn release(
        &self,
        top: Option<core::ptr::NonNull<Header>>,
        base: Option<core::ptr::NonNull<Header>>,
    ) {
        self.chunks.release(&self.parent, top, base);
    }
    fn held(&self) -> (usize, usize) {
        if self.chunks.is_growable() {
            self.chunks.held()
        } else {
            (0, self.buffer.size())
        }
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator] for Scoped<A>);

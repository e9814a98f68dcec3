//! The growing [`Scoped`]: its constructors, limit, retain policy and statistics, and the
//! two ways besides the closure to take memory back: scope guards and checkpoints.

use core::alloc::Layout;

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block};

use crate::bump::Bump;
use crate::chunk::{ArenaStats, Chunks, Grow, HEADER, Retain};
use crate::{Scope, Scoped};

#[cfg(feature = "alloc")]
impl Scoped<Heap> {
    /// A `Scoped` that grows: its first chunk, from the global heap, holds at least
    /// `initial` bytes (its size with the header is rounded up to a power of two, at
    /// least 512); when a chunk is full it takes another, twice as large as the one
    /// before (or as large as the request, if that is larger). `initial == 0` takes
    /// nothing until the first allocation. The `Bump::new()` of bumpalo is
    /// `Scoped::growable(0)`.
    ///
    /// # Errors
    ///
    /// [`AllocatorError::SizeOverflow`] if `initial` exceeds `isize::MAX` (with the
    /// chunk header), [`AllocatorError::OutOfMemory`] if the heap refuses the first
    /// chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let arena = Scoped::growable(4096).unwrap();
    /// let values: Vec<_> = (0..10_000u64).map(|i| arena.allocate(i).unwrap()).collect();
    /// assert_eq!(*values[9_999], 9_999);
    /// assert!(arena.stats().chunks > 1);
    /// ```
    pub fn growable(initial: usize) -> Result<Self, AllocatorError> {
        Self::growable_in(initial, Heap)
    }
}

impl<A: Allocator> Scoped<A> {
    /// A `Scoped` that grows, with its chunks from `parent`: as
    /// [`growable`](Scoped::growable). Chunks are aligned to 16 and end with a header of
    /// a few words; the parent may be any allocator (pass `&parent` to share one).
    ///
    /// # Errors
    ///
    /// [`AllocatorError::SizeOverflow`] if `initial` exceeds `isize::MAX` (with the
    /// chunk header), otherwise whatever `parent` answers when asked for the first
    /// chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let outer = Scoped::new(64 * 1024).unwrap();
    /// let arena = Scoped::growable_in(1000, &outer).unwrap();
    /// for i in 0..1000u32 { core::mem::forget(arena.allocate(i).unwrap()); }
    /// assert!(arena.stats().chunks >= 2);
    /// assert!(outer.used() >= 4000);
    /// ```
    pub fn growable_in(initial: usize, parent: A) -> Result<Self, AllocatorError> {
        let first = initial
            .checked_add(HEADER)
            .filter(|&n| n <= isize::MAX as usize - 16)
            .ok_or(AllocatorError::SizeOverflow)?;
        let mut this = Self {
            bump: Bump::empty(),
            buffer: Block::empty(Layout::new::<u8>()),
            parent,
            chunks: Chunks::new(true, first),
        };
        if initial > 0 {
            let h = this.chunks.first(&this.parent, first)?;
            this.bump.reset_chunks(Some(h));
        }
        Ok(this)
    }

    /// A growing arena that takes its first chunk, of `first` bytes (header included),
    /// at its first allocation.
    pub(crate) fn lazy_in(first: usize, parent: A) -> Self {
        Self {
            bump: Bump::empty(),
            buffer: Block::empty(Layout::new::<u8>()),
            parent,
            chunks: Chunks::new(true, first),
        }
    }

    /// Whether this arena grows ([`growable`](Scoped::growable)) or has a fixed capacity
    /// ([`new`](Scoped::new), [`from_buffer`](Scoped::from_buffer)).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_scoped::Scoped;
    ///
    /// assert!(Scoped::growable(0).unwrap().is_growable());
    /// assert!(!Scoped::new(64).unwrap().is_growable());
    /// ```
    #[must_use]
    pub fn is_growable(&self) -> bool {
        self.chunks.is_growable()
    }

    /// Sets the most bytes a growing arena may hold from its parent (chunks in use and
    /// spare, headers included); `None` for no limit (the default). A growth that would
    /// exceed it fails with [`AllocatorError::OutOfMemory`] (`TooLarge` if the request
    /// alone exceeds it), after trying a chunk just large enough for the request. A
    /// limit below what is held already gives nothing back; it stops further growth.
    /// No effect on a fixed-capacity arena.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, AllocatorError};
    /// use alloc_scoped::Scoped;
    ///
    /// let arena = Scoped::growable(1024).unwrap();
    /// arena.set_limit(Some(8 * 1024));
    /// let mut refused = None;
    /// for i in 0..10_000u64 {
    ///     match arena.allocate(i) {
    ///         Ok(b) => core::mem::forget(b),
    ///         Err((e, _)) => { refused = Some(e); break; }
    ///     }
    /// }
    /// assert_eq!(refused, Some(AllocatorError::OutOfMemory));
    /// assert!(arena.stats().held <= 8 * 1024);
    /// assert_eq!(arena.allocate_raw(core::alloc::Layout::new::<[u8; 9000]>()), Err(AllocatorError::TooLarge));
    /// ```
    pub fn set_limit(&self, limit: Option<usize>) {
        self.chunks.set_limit(limit.unwrap_or(usize::MAX));
    }

    /// The limit set with [`set_limit`](Self::set_limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_scoped::Scoped;
    ///
    /// let arena = Scoped::growable(0).unwrap();
    /// assert_eq!(arena.limit(), None);
    /// arena.set_limit(Some(1 << 20));
    /// assert_eq!(arena.limit(), Some(1 << 20));
    /// ```
    #[must_use]
    pub fn limit(&self) -> Option<usize> {
        Some(self.chunks.limit()).filter(|&l| l != usize::MAX)
    }

    /// Sets what the arena keeps when chunks fall out of use: see [`Retain`].
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_scoped::{Retain, Scoped};
    ///
    /// let arena = Scoped::growable(0).unwrap();
    /// arena.set_retain(Retain::All);
    /// assert_eq!(arena.retain(), Retain::All);
    /// ```
    pub fn set_retain(&self, retain: Retain) {
        self.chunks.set_retain(retain);
    }

    /// The policy set with [`set_retain`](Self::set_retain) ([`Retain::Largest`] by
    /// default).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_scoped::{Retain, Scoped};
    ///
    /// assert_eq!(Scoped::growable(0).unwrap().retain(), Retain::Largest);
    /// ```
    #[must_use]
    pub fn retain(&self) -> Retain {
        self.chunks.retain()
    }

    /// The arena's [statistics](ArenaStats): bytes allocated, chunks, bytes wasted at chunk
    /// ends, bytes held from the parent. While a scope is open, its memory is not
    /// counted (but its chunks are in `held`).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let fixed = Scoped::new(100).unwrap();
    /// let _x = fixed.allocate(0u32).unwrap();
    /// let stats = fixed.stats();
    /// assert_eq!((stats.allocated, stats.remaining, stats.chunks, stats.held), (4, 96, 1, 100));
    /// ```
    #[must_use]
    pub fn stats(&self) -> ArenaStats {
        let mut stats = self.bump.stats();
        (stats.spare_chunks, stats.held) = Grow::held(self);
        stats
    }

    /// Opens a child scope and returns it as a guard: the scope ends when the guard is
    /// dropped, so it can live across `?` and loops without a closure. It works as
    /// [`scope`](Self::scope) does: this allocator is busy while the guard lives, and
    /// everything allocated through the guard (chunks included) is reclaimed when it
    /// drops. Values allocated through the guard borrow it and cannot outlive it.
    ///
    /// A guard leaked with [`mem::forget`](core::mem::forget) leaves this allocator
    /// busy (every request fails with `Busy`) until [`reset`](Self::reset), and the
    /// chunks the scope added are never given back; nothing unsound happens.
    ///
    /// # Errors
    ///
    /// [`AllocatorError::Busy`] if a scope of this allocator is open already.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// fn parse(arena: &Scoped, text: &str) -> Result<usize, core::num::ParseIntError> {
    ///     let scratch = arena.scope_guard().unwrap();
    ///     let mut total = 0;
    ///     for word in text.split(' ') {
    ///         let copy = scratch.allocate_str(word).unwrap();
    ///         total += copy.parse::<usize>()?; // the scope ends here on error too
    ///     }
    ///     Ok(total)
    /// }
    /// let arena = Scoped::growable(64).unwrap();
    /// assert_eq!(parse(&arena, "1 2 3"), Ok(6));
    /// assert!(parse(&arena, "1 x").is_err());
    /// assert_eq!(arena.used(), 0);
    /// ```
    ///
    /// A value allocated through the guard cannot outlive it:
    ///
    /// ```compile_fail
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let arena = Scoped::growable(1024).unwrap();
    /// let guard = arena.scope_guard().unwrap();
    /// let x = guard.allocate(5u32).unwrap();
    /// drop(guard);
    /// println!("{}", *x);
    /// ```
    pub fn scope_guard(&self) -> Result<Scope<'_>, AllocatorError> {
        self.bump.open(self)
    }

    /// Where the arena stands now, to come back to with [`reset_to`](Self::reset_to).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let mut arena = Scoped::growable(64).unwrap();
    /// let kept = arena.allocate_raw(core::alloc::Layout::new::<u64>()).unwrap();
    /// let checkpoint = arena.checkpoint();
    /// for i in 0..100u64 { core::mem::forget(arena.allocate(i).unwrap()); }
    /// arena.reset_to(checkpoint);
    /// assert_eq!(arena.used(), 8);
    /// assert!(arena.owns_block(&kept));
    /// # use alloc_core::BlockOwner;
    /// ```
    #[must_use]
    pub fn checkpoint(&self) -> Checkpoint {
        let (chunk, ptr) = self.bump.position();
        Checkpoint { chunk, ptr }
    }

    /// Gives back everything allocated since `checkpoint` was taken: the bump pointer
    /// goes back to it, and the chunks added since are kept or given back as the
    /// [`Retain`] policy says. Taking `&mut self` guarantees that no value allocated
    /// here is alive (as [`reset`](Self::reset)); it also ends a scope leaked with
    /// `mem::forget`. Raw blocks allocated after the checkpoint must not be used
    /// afterwards.
    ///
    /// # Panics
    ///
    /// If `checkpoint` is not a position of this arena now: taken from another arena,
    /// or before a reset (or an earlier `reset_to`) that gave its chunk away.
    ///
    /// # Examples
    ///
    /// A value allocated after the checkpoint cannot be used after `reset_to`:
    ///
    /// ```compile_fail
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let mut arena = Scoped::growable(1024).unwrap();
    /// let checkpoint = arena.checkpoint();
    /// let x = arena.allocate(5u32).unwrap();
    /// arena.reset_to(checkpoint);
    /// println!("{}", *x);
    /// ```
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let mut arena = Scoped::new(1024).unwrap();
    /// let start = arena.checkpoint();
    /// for _ in 0..3 {
    ///     let x = arena.allocate([7u8; 100]).unwrap();
    ///     assert_eq!(x[99], 7);
    ///     core::mem::forget(x);
    ///     arena.reset_to(start);
    /// }
    /// assert_eq!(arena.used(), 0);
    /// ```
    pub fn reset_to(&mut self, checkpoint: Checkpoint) {
        match self.bump.rewind((checkpoint.chunk, checkpoint.ptr)) {
            Some((top, base)) => {
                if top != base {
                    self.chunks.release(&self.parent, top, base);
                }
            }
            None => foreign_checkpoint(checkpoint),
        }
    }
}

/// A position of a [`Scoped`] arena, taken with [`Scoped::checkpoint`], to go back to
/// with [`Scoped::reset_to`]. A plain value (two addresses): it borrows nothing, and
/// `reset_to` checks it.
///
/// # Examples
///
/// ```
/// use alloc_scoped::Scoped;
///
/// let mut arena = Scoped::growable(64).unwrap();
/// let checkpoint = arena.checkpoint();
/// arena.reset_to(checkpoint);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Address of the chunk's header (0 for a fixed buffer or no chunk).
    chunk: usize,
    /// The bump pointer.
    ptr: usize,
}

/// The panic of [`Scoped::reset_to`] for a checkpoint that is not a position of the
/// arena.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign_checkpoint(checkpoint: Checkpoint) -> ! {
    panic!(
        "alloc_scoped::Scoped::reset_to: {checkpoint:?} is not a position of this arena \
         (a checkpoint of another arena, or taken before a reset gave its chunk away)"
    )
}

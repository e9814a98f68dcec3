//! [`Bitmapped`]: fixed-size blocks tracked by one bit each, runs of several blocks, O(1)
//! ownership, and a fast "free everything" (D's `BitmappedBlock`).

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::mem::{align_of, size_of};
use core::ptr::NonNull;

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError, move_block};

use crate::bitmap::{Bits, WORD, words_for};

macro_rules! bitmapped_struct {
    ($($default:ty)?) => {
        /// An allocator of `capacity` blocks of `block_size` bytes (a power of two) in one
        /// region taken from a parent, with one bit per block: a request of `size` bytes
        /// takes a run of `ceil(size / block_size)` contiguous blocks (first fit, the
        /// bitmap scanned a word, 64 blocks, at a time).
        ///
        /// - Blocks are aligned to the block size, capped at 4,096; more aligned requests
        ///   fail with `UnsupportedAlignment`, requests of more than the whole region with
        ///   `TooLarge`, and a region without a free run long enough with `OutOfMemory`.
        ///   The returned block reports the whole run.
        /// - Reallocation shrinks in place, grows in place into free blocks that follow,
        ///   and otherwise moves.
        /// - [`BlockOwner`]: O(1), by address range and block boundary.
        /// - [`deallocate_all`](Self::deallocate_all) frees every block at once (it clears
        ///   the bitmap: a word per 64 blocks).
        /// - A second bitmap marks where each allocation starts, so a double free, a block
        ///   given back with a size that does not fit, or a foreign block **panics**, in
        ///   every build, naming the problem; the bitmaps live at the start of the region,
        ///   2 bits per block.
        ///
        /// The memory lives in the parent, not in the value: moving it keeps every block
        /// valid; dropping it gives the region back. It is `Send` when the parent is, not
        /// `Sync` (wrap it in a `Locked` to share it).
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_compose::Bitmapped;
        /// use alloc_core::{Allocator, BlockOwner};
        /// use core::alloc::Layout;
        ///
        /// let mut alloc = Bitmapped::new(64, 1024).unwrap();
        /// let one = alloc.allocate([1u8; 40]).unwrap(); // one block
        /// let run = alloc.allocate_raw(Layout::new::<[u8; 200]>()).unwrap(); // four blocks
        /// assert_eq!(run.size(), 256);
        /// assert!(alloc.owns(&one) && alloc.owns_block(&run));
        /// assert_eq!(alloc.free_blocks(), 1024 - 5);
        /// drop(one);
        /// alloc.deallocate_all(); // `run` is gone too
        /// assert_eq!(alloc.free_blocks(), 1024);
        /// ```
        pub struct Bitmapped<P: Allocator $(= $default)?> {
            /// The parent's block: `2 * words` words of bitmap (blocks in use, then
            /// starts of allocations), then the blocks.
            region: Block,
            /// Block `i` starts at `first + (i << shift)`; `first` is aligned to `align`.
            first: NonNull<u8>,
            /// Number of blocks.
            blocks: usize,
            /// Words per bitmap: `words_for(blocks)`.
            words: usize,
            /// log2 of the block size.
            shift: u32,
            /// Alignment of every block.
            align: usize,
            /// Every word of the in-use bitmap below this index is full.
            hint: Cell<usize>,
            /// Where the region comes from and goes back to.
            parent: P,
        }
    };
}

#[cfg(feature = "alloc")]
bitmapped_struct!(Heap);
#[cfg(not(feature = "alloc"))]
bitmapped_struct!();

// SAFETY: a `Bitmapped` owns its region (its pointers point into memory its parent gave it)
// and its `Cell`s; sending all of that together is sound when the parent may be sent. It
// stays `!Sync` (the `Cell`s).
unsafe impl<P: Allocator + Send> Send for Bitmapped<P> {}

/// The largest block alignment: larger block sizes are still aligned to a page.
const MAX_ALIGN: usize = 4096;

#[cfg(feature = "alloc")]
impl Bitmapped<Heap> {
    /// `blocks` blocks of `block_size` bytes from [`Heap`].
    ///
    /// # Errors
    ///
    /// As [`new_in`](Self::new_in).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Bitmapped;
    /// use alloc_core::AllocatorError;
    ///
    /// let alloc = Bitmapped::new(32, 100).unwrap();
    /// assert_eq!((alloc.block_size(), alloc.capacity(), alloc.block_align()), (32, 100, 32));
    /// assert!(matches!(Bitmapped::new(24, 100), Err(e) if e.kind() == AllocatorError::InvalidArgument));
    /// ```
    pub fn new(block_size: usize, blocks: usize) -> Result<Self, InitError> {
        Self::new_in(block_size, blocks, Heap)
    }
}

impl<P: Allocator> Bitmapped<P> {
    /// `blocks` blocks of `block_size` bytes in one region from `parent` (with the
    /// bitmaps in front).
    ///
    /// # Errors
    ///
    /// - `InvalidArgument` if `block_size` is not a power of two or `blocks` is 0;
    /// - `SizeOverflow` if the region's size overflows `isize::MAX`;
    /// - the parent's error if it cannot provide the region.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Bitmapped;
    /// use alloc_core::{Allocator, AllocatorError, Heap};
    ///
    /// let alloc = Bitmapped::new_in(4096, 16, Heap).unwrap();
    /// let page = alloc.allocate([0u8; 4096]).unwrap();
    /// assert_eq!(page.as_ptr().addr() % 4096, 0);
    /// assert_eq!(Bitmapped::new_in(64, usize::MAX >> 4, Heap).unwrap_err().kind(), AllocatorError::SizeOverflow);
    /// ```
    pub fn new_in(block_size: usize, blocks: usize, parent: P) -> Result<Self, InitError> {
        if !block_size.is_power_of_two() {
            return Err(InitError::invalid_argument(
                "Bitmapped: the block size must be a power of two",
            ));
        }
        if blocks == 0 {
            return Err(InitError::invalid_argument(
                "Bitmapped: the number of blocks must be positive",
            ));
        }
        let shift = block_size.trailing_zeros();
        let align = block_size.min(MAX_ALIGN);
        let words = words_for(blocks);
        let overflow = AllocatorError::SizeOverflow;
        let maps = (2 * words)
            .checked_mul(size_of::<usize>())
            .ok_or(overflow)?;
        let offset = maps.checked_next_multiple_of(align).ok_or(overflow)?;
        let bytes = blocks.checked_mul(block_size).ok_or(overflow)?;
        let total = offset.checked_add(bytes).ok_or(overflow)?;
        let layout =
            Layout::from_size_align(total, align.max(align_of::<usize>())).map_err(|_| overflow)?;
        let region = parent.allocate_raw(layout)?;
        // SAFETY: `offset < total <= region.size()`.
        let first = unsafe { region.ptr().add(offset) };
        let this = Self {
            region,
            first,
            blocks,
            words,
            shift,
            align,
            hint: Cell::new(0),
            parent,
        };
        // SAFETY: the region starts with `maps` bytes for the bitmaps, aligned for
        // `usize`, which are ours; initialise them before `maps()` reads them.
        unsafe { region.as_ptr().write_bytes(0, maps) };
        this.reset();
        Ok(this)
    }

    /// The two bitmaps: blocks in use, and blocks where an allocation starts.
    #[inline(always)]
    fn maps(&self) -> (Bits<'_>, Bits<'_>) {
        let ptr = self.region.ptr().cast::<Cell<usize>>();
        // SAFETY: the region starts with `2 * words` initialised words (zeroed in `new_in`),
        // aligned for `usize`, that belong to `self` for its whole life and are reached
        // only through these shared `Cell`s (never handed out, never overlapping a block).
        let all = unsafe { core::slice::from_raw_parts(ptr.as_ptr(), 2 * self.words) };
        let (used, starts) = all.split_at(self.words);
        (Bits::new(used, self.blocks), Bits::new(starts, self.blocks))
    }

    fn reset(&self) {
        let (used, starts) = self.maps();
        used.reset();
        starts.reset();
        self.hint.set(0);
    }

    /// The size of a block.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_compose::Bitmapped::new(128, 8).unwrap().block_size(), 128);
    /// ```
    #[inline]
    #[must_use]
    pub fn block_size(&self) -> usize {
        1 << self.shift
    }

    /// The alignment of every block: the block size, capped at 4,096.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_compose::Bitmapped::new(1 << 16, 2).unwrap().block_align(), 4096);
    /// ```
    #[inline]
    #[must_use]
    pub fn block_align(&self) -> usize {
        self.align
    }

    /// The number of blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_compose::Bitmapped::new(16, 300).unwrap().capacity(), 300);
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.blocks
    }

    /// The number of free blocks (a word at a time).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    ///
    /// let alloc = alloc_compose::Bitmapped::new(16, 300).unwrap();
    /// let b = alloc.allocate([0u8; 33]).unwrap();
    /// assert_eq!(alloc.free_blocks(), 297);
    /// ```
    #[must_use]
    pub fn free_blocks(&self) -> usize {
        self.blocks - self.maps().0.count()
    }

    /// The parent the region came from.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Heap;
    ///
    /// assert_eq!(*alloc_compose::Bitmapped::new(16, 8).unwrap().parent(), Heap);
    /// ```
    #[inline]
    #[must_use]
    pub fn parent(&self) -> &P {
        &self.parent
    }

    /// Frees every block at once, in one pass over the bitmaps. Blocks handed out before
    /// are no longer allocated (`&mut self`: no box or collection borrows the allocator).
    ///
    /// # Examples
    ///
    /// See [`Bitmapped`].
    pub fn deallocate_all(&mut self) {
        self.reset();
    }

    /// The number of blocks a request of `size` bytes takes.
    #[inline(always)]
    fn blocks_for(&self, size: usize) -> usize {
        (size >> self.shift) + usize::from(size & ((1 << self.shift) - 1) != 0)
    }

    /// The block of `n` blocks starting at block `i`, with alignment `align`.
    #[inline(always)]
    fn block_at(&self, i: usize, n: usize, align: usize) -> Block {
        // SAFETY: `i + n <= blocks`, so the run lies inside the region: the pointer is in
        // bounds, the size below the region's (a valid layout), and `align` is at most
        // the block alignment, which every block start has.
        unsafe {
            Block::from_raw_parts_unchecked(
                self.first.add(i << self.shift),
                Layout::from_size_align_unchecked(n << self.shift, align),
            )
        }
    }

    /// The index and length of the allocation `block` names, checked against the bitmaps:
    /// `Err` with the reason if it is not an allocation currently handed out.
    fn find(&self, block: &Block) -> Result<(usize, usize), &'static str> {
        let len = self.blocks << self.shift;
        let offset = block.addr().wrapping_sub(self.first.as_ptr().addr());
        if offset >= len || offset & ((1 << self.shift) - 1) != 0 {
            return Err(
                "a block this allocator does not own (outside its region or not on a block boundary)",
            );
        }
        let i = offset >> self.shift;
        let n = self.blocks_for(block.size());
        if n > self.blocks - i {
            return Err("a block larger than the rest of the region");
        }
        let (used, starts) = self.maps();
        let exact = starts.get(i)
            && used.all(i, n, true)
            && starts.all(i + 1, n - 1, false)
            && (i + n == self.blocks || !used.get(i + n) || starts.get(i + n));
        if exact {
            Ok((i, n))
        } else {
            Err(
                "a block that is not allocated with this size (a double free, or a size that does not fit the block)",
            )
        }
    }
}

/// The panic for a block given back that the bitmaps refute.
#[cold]
#[inline(never)]
#[track_caller]
fn refused(what: &str, reason: &str, block: &Block) -> ! {
    panic!("Bitmapped::{what}: {block:?} is {reason}")
}

impl<P: Allocator> Drop for Bitmapped<P> {
    fn drop(&mut self) {
        // SAFETY: the region was allocated by `parent` with this layout in `new_in` and is
        // given back once; the blocks inside end with the allocator (the contract allows
        // it).
        unsafe { self.parent.deallocate_raw(self.region) }
    }
}

impl<P: Allocator + fmt::Debug> fmt::Debug for Bitmapped<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bitmapped")
            .field("block_size", &self.block_size())
            .field("capacity", &self.blocks)
            .field("free_blocks", &self.free_blocks())
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

// SAFETY:
// 1. A block is a run of blocks inside the region whose bits were clear and are now set,
//    so it overlaps no live block; it is aligned (the block alignment is at least the
//    request's, checked) and has at least the requested size (whole blocks).
// 2. The region is the parent's, not part of the value.
// 3. Zero-size requests return `Block::empty`; empty blocks are no-ops.
// 4. Failures change nothing (the bitmaps are only written on success).
// No user code runs inside these methods (the parent is called only in `new_in` and
// `drop`), so nothing can change the bitmaps between a check and its use.
unsafe impl<P: Allocator> Allocator for Bitmapped<P> {
    /// A run of blocks, first fit.
    ///
    /// # Errors
    ///
    /// `UnsupportedAlignment` above [`block_align`](Self::block_align), `TooLarge` above
    /// the region, `OutOfMemory` when no free run is long enough.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        if layout.align() > self.align {
            return Err(AllocatorError::UnsupportedAlignment);
        }
        let n = self.blocks_for(layout.size());
        let (used, starts) = self.maps();
        let hint = self.hint.get();
        let i = if n == 1 {
            let i = used.take_one(hint);
            if let Some(i) = i {
                self.hint.set(i / WORD);
            }
            i
        } else if n <= self.blocks {
            used.take_run(n, hint)
        } else {
            return Err(AllocatorError::TooLarge);
        };
        match i {
            Some(i) => {
                starts.put(i, true);
                Ok(self.block_at(i, n, layout.align()))
            }
            None => Err(AllocatorError::OutOfMemory),
        }
    }

    /// Clears the run's bits.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// If the block is not an allocation of this allocator (foreign, already freed, or
    /// with a size that does not fit), naming the problem.
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let (i, n) = match self.find(&block) {
            Ok(found) => found,
            Err(reason) => refused("deallocate_raw", reason, &block),
        };
        let (used, starts) = self.maps();
        starts.put(i, false);
        used.fill(i, n, false);
        self.hint.set(self.hint.get().min(i / WORD));
    }

    /// Shrinks in place, grows in place into free blocks that follow, else moves.
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
    /// As [`deallocate_raw`](Self::deallocate_raw).
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        let (i, n) = match self.find(&block) {
            Ok(found) => found,
            Err(reason) => refused("reallocate_raw", reason, &block),
        };
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller (and checked above).
            unsafe { self.deallocate_raw(block) };
            return Ok(Block::empty(new_layout));
        }
        if new_layout.align() > self.align {
            return Err(AllocatorError::UnsupportedAlignment);
        }
        let m = self.blocks_for(new_layout.size());
        if m > self.blocks {
            return Err(AllocatorError::TooLarge);
        }
        if block.addr() % new_layout.align() == 0 {
            let (used, _) = self.maps();
            if m <= n {
                used.fill(i + m, n - m, false);
                self.hint.set(self.hint.get().min((i + m) / WORD));
                return Ok(self.block_at(i, m, new_layout.align()));
            }
            if used.all(i + n, m - n, false) {
                used.fill(i + n, m - n, true);
                return Ok(self.block_at(i, m, new_layout.align()));
            }
        }
        // SAFETY: `block` is currently allocated by `self` (checked above).
        unsafe { move_block(self, self, block, new_layout) }
    }
}

// SAFETY: every block handed out lies inside the region on a block boundary; any block
// outside the region, or not on a boundary, is refused. (Blocks inside the region that are
// free may be claimed: the trait allows either answer for them.)
unsafe impl<P: Allocator> BlockOwner for Bitmapped<P> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        let offset = block.addr().wrapping_sub(self.first.as_ptr().addr());
        !block.is_empty()
            && block.is_inside(self.first.as_ptr().addr(), self.blocks << self.shift)
            && offset & ((1 << self.shift) - 1) == 0
    }
}

alloc_core::impl_allocator_api2!(impl[P: Allocator] for Bitmapped<P>);

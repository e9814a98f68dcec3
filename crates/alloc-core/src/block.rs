//! [`Block`]: the description of one allocation.

use core::alloc::Layout;
use core::ptr::NonNull;

/// One allocation: where it starts, how many bytes it has, and its alignment.
///
/// A `Block` is only a description; holding one gives no access to the memory, so it is
/// `Copy`, `Send` and `Sync`. Reading or writing the memory, and giving the block back
/// with [`Allocator::deallocate_raw`](crate::Allocator::deallocate_raw), is `unsafe` and
/// follows the [allocator contract](crate::Allocator#the-contract).
///
/// Invariants (kept by every constructor):
/// - `align()` is a power of two and `ptr()` is a multiple of it;
/// - `size()` rounded up to `align()` does not exceed `isize::MAX`
///   (`layout()` is always a valid [`Layout`]);
/// - on 64-bit targets, `size()` is below 2^58 bytes (256 PiB, more than any 64-bit CPU
///   can address), so that a block is two words and travels in registers.
///
/// # Examples
///
/// ```
/// use alloc_core::{Allocator, Block, Heap};
/// use core::alloc::Layout;
///
/// let layout = Layout::from_size_align(24, 8).unwrap();
/// let block = Heap.allocate_raw(layout).unwrap();
/// assert!(block.size() >= 24);
/// assert_eq!(block.align(), 8);
/// assert_eq!(block.addr() % 8, 0);
/// // SAFETY: `block` was allocated by `Heap` just above and is not used afterwards.
/// unsafe { Heap.deallocate_raw(block) };
///
/// // A zero-size request is answered with an empty block that is still well aligned.
/// let empty = Block::empty(Layout::from_size_align(0, 64).unwrap());
/// assert!(empty.is_empty());
/// assert_eq!(empty.addr() % 64, 0);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Block {
    /// Start of the block; aligned to `meta.align()`.
    ptr: NonNull<u8>,
    /// Size (usable bytes) and alignment of the block.
    meta: Meta,
}

// Two words on 64-bit targets: a block is passed and returned in registers. At three words
// LLVM copied blocks through the stack with mismatched store and load widths (a
// store-forwarding stall that cost a `Fallback` 6x on an allocate+free pair).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<Block>() == 2 * core::mem::size_of::<usize>());

/// Size and alignment of a block. On 64-bit targets both share one word: the size in the
/// low [`Meta::SIZE_BITS`] bits and log2 of the alignment in the top six (a size of
/// 2^58 bytes, 256 PiB, is beyond any 64-bit CPU's address space). Elsewhere, a `Layout`.
#[cfg(target_pointer_width = "64")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Meta(usize);

#[cfg(target_pointer_width = "64")]
impl Meta {
    const SIZE_BITS: u32 = 58;
    const SIZE_MASK: usize = (1 << Self::SIZE_BITS) - 1;

    /// The largest size a block can describe.
    const MAX_SIZE: usize = Self::SIZE_MASK;

    /// Packs `layout`.
    ///
    /// # Panics
    ///
    /// If `layout.size()` exceeds [`Self::MAX_SIZE`], in every build: a larger size would
    /// spill into the alignment bits and `Block::layout` would build an invalid `Layout`.
    #[inline(always)]
    #[track_caller]
    const fn new(layout: Layout) -> Self {
        if layout.size() > Self::MAX_SIZE {
            too_large(layout.size());
        }
        // SAFETY: just checked.
        unsafe { Self::new_unchecked(layout) }
    }

    /// Packs `layout` without the size check.
    ///
    /// # Safety
    ///
    /// `layout.size() <= Self::MAX_SIZE`.
    #[inline(always)]
    const unsafe fn new_unchecked(layout: Layout) -> Self {
        Self(layout.size() | ((layout.align().trailing_zeros() as usize) << Self::SIZE_BITS))
    }

    #[inline]
    const fn size(self) -> usize {
        self.0 & Self::SIZE_MASK
    }

    #[inline]
    const fn align(self) -> usize {
        1 << (self.0 >> Self::SIZE_BITS)
    }
}

#[cfg(not(target_pointer_width = "64"))]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Meta(Layout);

#[cfg(not(target_pointer_width = "64"))]
impl Meta {
    /// The largest size a block can describe: every valid `Layout`'s.
    const MAX_SIZE: usize = isize::MAX as usize;

    #[inline(always)]
    const fn new(layout: Layout) -> Self {
        Self(layout)
    }

    /// # Safety
    ///
    /// None beyond `new`'s (kept `unsafe` to match the 64-bit signature).
    #[inline(always)]
    const unsafe fn new_unchecked(layout: Layout) -> Self {
        Self(layout)
    }

    #[inline]
    const fn size(self) -> usize {
        self.0.size()
    }

    #[inline]
    const fn align(self) -> usize {
        self.0.align()
    }
}

/// The panic of a block constructor given a size that cannot be described: out of line so
/// that the constructors stay small.
#[cfg(target_pointer_width = "64")]
#[cold]
#[inline(never)]
#[track_caller]
const fn too_large(_size: usize) -> ! {
    panic!("Block: a block cannot be 2^58 bytes (256 PiB) or larger")
}

impl core::fmt::Debug for Block {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Block")
            .field("ptr", &self.ptr)
            .field("size", &self.size())
            .field("align", &self.align())
            .finish()
    }
}

// SAFETY: a `Block` is an address and a layout; it grants no access to the memory it
// describes (every use of that memory is `unsafe` and carries its own contract), so
// sending or sharing the description between threads cannot cause a data race.
unsafe impl Send for Block {}
// SAFETY: as for `Send`: `&Block` only exposes the address and the layout.
unsafe impl Sync for Block {}

impl Block {
    /// Describes the memory at `ptr` with the size and alignment of `layout`.
    ///
    /// Creating a block is safe: it is only a description. Its use is what is `unsafe`.
    ///
    /// # Panics
    ///
    /// In debug builds, if `ptr` is not aligned to `layout.align()`. On 64-bit targets, in
    /// every build, if `layout.size()` is 2^58 bytes or more (no real allocation can be that
    /// large, and the size would not fit the block's packed representation); see
    /// [`Block::MAX_SIZE`].
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::{alloc::Layout, ptr::NonNull};
    ///
    /// let mut x = 7u64;
    /// let block = Block::from_raw_parts(NonNull::from(&mut x).cast(), Layout::new::<u64>());
    /// assert_eq!(block.size(), 8);
    /// ```
    #[inline]
    #[must_use]
    #[track_caller]
    pub fn from_raw_parts(ptr: NonNull<u8>, layout: Layout) -> Self {
        debug_assert!(
            ptr.as_ptr().addr() & (layout.align() - 1) == 0,
            "block pointer is not aligned to its layout"
        );
        Self {
            ptr,
            meta: Meta::new(layout),
        }
    }

    /// The largest size a block can describe: 2^58 - 1 bytes on 64-bit targets (the size
    /// shares a word with the alignment), `isize::MAX` elsewhere. Every block that
    /// describes real memory is smaller: no 64-bit CPU addresses 2^58 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    ///
    /// assert!(Block::MAX_SIZE >= 1 << 47);
    /// ```
    pub const MAX_SIZE: usize = Meta::MAX_SIZE;

    /// As [`from_raw_parts`](Self::from_raw_parts), without the size check: for hot paths
    /// whose sizes are already known to be small.
    ///
    /// # Safety
    ///
    /// `layout.size() <= Block::MAX_SIZE` (for example: the block lies inside memory that
    /// exists, or its size was checked against a small bound). `ptr` should be aligned to
    /// `layout.align()` (checked in debug builds, as by `from_raw_parts`).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::{alloc::Layout, ptr::NonNull};
    ///
    /// let mut x = [0u8; 16];
    /// // SAFETY: 16 bytes is far below `Block::MAX_SIZE`.
    /// let block = unsafe { Block::from_raw_parts_unchecked(NonNull::from(&mut x).cast(), Layout::new::<[u8; 16]>()) };
    /// assert_eq!(block.size(), 16);
    /// ```
    #[inline(always)]
    #[must_use]
    pub unsafe fn from_raw_parts_unchecked(ptr: NonNull<u8>, layout: Layout) -> Self {
        debug_assert!(
            ptr.as_ptr().addr() & (layout.align() - 1) == 0,
            "block pointer is not aligned to its layout"
        );
        Self {
            ptr,
            // SAFETY: forwarded from the caller.
            meta: unsafe { Meta::new_unchecked(layout) },
        }
    }

    /// The block for a zero-size request with `layout`'s alignment: size 0, at an address
    /// equal to the alignment (so it is non-null and well aligned), with no provenance.
    ///
    /// Every allocator answers zero-size requests with this block, and deallocating it is a
    /// no-op for every allocator (see the [contract](crate::Allocator#zero-size-requests)).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// let b = Block::empty(Layout::new::<[u128; 0]>());
    /// assert_eq!(b.size(), 0);
    /// assert_eq!(b.align(), core::mem::align_of::<u128>());
    /// assert_eq!(b.addr(), b.align());
    /// ```
    #[inline]
    #[must_use]
    pub const fn empty(layout: Layout) -> Self {
        let align = layout.align();
        let ptr = core::ptr::without_provenance_mut::<u8>(align);
        // SAFETY: `align` is a power of two, hence at least 1: the pointer is not null.
        let ptr = unsafe { NonNull::new_unchecked(ptr) };
        // SAFETY: size 0 with a valid alignment is always a valid layout.
        let layout = unsafe { Layout::from_size_align_unchecked(0, align) };
        Self {
            ptr,
            meta: Meta::new(layout),
        }
    }

    /// The start of the block.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// let b = Block::empty(Layout::new::<u32>());
    /// assert_eq!(b.ptr().as_ptr(), b.as_ptr());
    /// ```
    #[inline]
    #[must_use]
    pub const fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// The start of the block as a raw pointer.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// assert!(!Block::empty(Layout::new::<u32>()).as_ptr().is_null());
    /// ```
    #[inline]
    #[must_use]
    pub const fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The block as a slice pointer (`NonNull<[u8]>`), the form `allocator-api2` uses.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// assert_eq!(Block::empty(Layout::new::<u32>()).as_slice_ptr().len(), 0);
    /// ```
    #[inline]
    #[must_use]
    pub const fn as_slice_ptr(&self) -> NonNull<[u8]> {
        NonNull::slice_from_raw_parts(self.ptr, self.meta.size())
    }

    /// The address of the block's first byte.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// assert_eq!(Block::empty(Layout::new::<u32>()).addr(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr().addr()
    }

    /// The number of usable bytes in the block.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// assert_eq!(Block::empty(Layout::new::<u32>()).size(), 0);
    /// ```
    #[inline]
    #[must_use]
    pub const fn size(&self) -> usize {
        self.meta.size()
    }

    /// The alignment the block was requested with (its address is a multiple of it).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// assert_eq!(Block::empty(Layout::new::<u32>()).align(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub const fn align(&self) -> usize {
        self.meta.align()
    }

    /// Size and alignment as a [`Layout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// let l = Layout::new::<[u8; 0]>();
    /// assert_eq!(Block::empty(l).layout(), l);
    /// ```
    #[inline]
    #[must_use]
    pub const fn layout(&self) -> Layout {
        // SAFETY: the size and alignment come from a valid `Layout` (every constructor
        // takes one), so they form a valid `Layout` again.
        unsafe { Layout::from_size_align_unchecked(self.size(), self.align()) }
    }

    /// Whether the block has no bytes (the answer to a zero-size request).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::alloc::Layout;
    ///
    /// assert!(Block::empty(Layout::new::<()>()).is_empty());
    /// ```
    #[inline]
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.size() == 0
    }

    /// Whether `self` lies entirely inside the `len` bytes that start at `start`
    /// (`start <= addr` and `addr + size <= start + len`), computed without overflow.
    ///
    /// Allocators use it to implement
    /// [`BlockOwner::owns_block`](crate::BlockOwner::owns_block) by address range.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Block;
    /// use core::{alloc::Layout, ptr::NonNull};
    ///
    /// let mut buf = [0u8; 16];
    /// let base = NonNull::from(&mut buf).cast::<u8>();
    /// let inner = Block::from_raw_parts(base, Layout::new::<[u8; 8]>());
    /// assert!(inner.is_inside(base.as_ptr().addr(), 16));
    /// assert!(!inner.is_inside(base.as_ptr().addr() + 9, 7));
    /// ```
    #[inline]
    #[must_use]
    pub fn is_inside(&self, start: usize, len: usize) -> bool {
        let addr = self.addr();
        addr >= start && {
            let offset = addr - start;
            offset <= len && self.size() <= len - offset
        }
    }
}

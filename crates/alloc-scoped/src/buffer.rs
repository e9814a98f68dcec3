//! [`Buffer`]: memory lent by the caller, as an allocator of one block.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

/// A slice of memory lent by the caller, as an allocator that hands out one block at a
/// time: the parent of a [`Scoped`](crate::Scoped) built with
/// [`Scoped::from_buffer`](crate::Scoped::from_buffer), for programs without a heap.
///
/// The first request that fits gets a block at the start of the slice (aligned as asked);
/// further requests fail with [`AllocatorError::OutOfMemory`] until that block is given
/// back. It borrows the slice for `'a`, so the memory outlives every block, and it owns
/// exactly the block it handed out (by address range).
///
/// `Buffer` is `Send` (it holds a unique borrow of plain bytes) and not `Sync`.
///
/// # Examples
///
/// ```
/// use alloc_core::{Allocator, AllocatorError};
/// use alloc_scoped::{Buffer, Scoped};
/// use core::mem::MaybeUninit;
///
/// let mut memory = [MaybeUninit::<u8>::uninit(); 512];
/// let buffer = Buffer::new(&mut memory);
/// // A Scoped that uses 256 bytes of it (`Scoped::from_buffer` uses all of it).
/// let alloc = Scoped::new_in(256, &buffer).unwrap();
/// assert_eq!(*alloc.allocate(3u16).unwrap(), 3);
/// // The buffer has handed out its block: nothing more until it comes back.
/// assert_eq!(buffer.allocate(1u8).unwrap_err().0, AllocatorError::OutOfMemory);
/// drop(alloc);
/// assert_eq!(*buffer.allocate(1u8).unwrap(), 1);
/// ```
pub struct Buffer<'a> {
    /// Start of the lent memory (with its provenance).
    ptr: NonNull<u8>,
    /// Length of the lent memory.
    len: usize,
    /// Whether a non-empty block is currently handed out.
    taken: Cell<bool>,
    /// The unique borrow of the memory.
    _memory: PhantomData<&'a mut [MaybeUninit<u8>]>,
}

impl<'a> Buffer<'a> {
    /// An allocator over `memory`, which it borrows for `'a`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_scoped::Buffer;
    /// use core::mem::MaybeUninit;
    ///
    /// let mut memory = [MaybeUninit::<u8>::uninit(); 64];
    /// assert_eq!(Buffer::new(&mut memory).capacity(), 64);
    /// ```
    #[inline]
    #[must_use]
    pub fn new(memory: &'a mut [MaybeUninit<u8>]) -> Self {
        Self {
            len: memory.len(),
            ptr: NonNull::from(memory).cast(),
            taken: Cell::new(false),
            _memory: PhantomData,
        }
    }

    /// Length of the lent memory in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_scoped::Buffer;
    /// use core::mem::MaybeUninit;
    ///
    /// let mut memory = [MaybeUninit::<u8>::uninit(); 10];
    /// assert_eq!(Buffer::new(&mut memory[..4]).capacity(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Hands out all of the memory as one block of alignment 1, for
    /// [`Scoped::from_buffer`](crate::Scoped::from_buffer). Only called on a new
    /// `Buffer`, which has handed out nothing yet.
    pub(crate) fn take_all(&self) -> Block {
        debug_assert!(!self.taken.get(), "take_all on a buffer that is in use");
        self.taken.set(self.len != 0);
        // SAFETY: the length of a slice never exceeds `isize::MAX`; alignment 1 is valid.
        let layout = unsafe { Layout::from_size_align_unchecked(self.len, 1) };
        Block::from_raw_parts(self.ptr, layout)
    }
}

impl fmt::Debug for Buffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("capacity", &self.len)
            .field("taken", &self.taken.get())
            .finish()
    }
}

// SAFETY: the memory is borrowed uniquely for `'a` and `Buffer` holds no reference to
// shared state; sending it sends the unique borrow, as `&mut [MaybeUninit<u8>]: Send`.
unsafe impl Send for Buffer<'_> {}

// SAFETY: at most one non-empty block is handed out at a time (`taken`), so blocks never
// overlap; it lies inside the borrowed memory, which is valid for reads and writes for
// `'a`, longer than the `Buffer` and its blocks; the memory is not inside the `Buffer`
// value; zero-size requests get `Block::empty` and empty blocks are ignored; a failed
// request changes nothing.
unsafe impl Allocator for Buffer<'_> {
    /// Hands out the memory, aligned as asked, if it is free and large enough.
    ///
    /// # Errors
    ///
    /// `TooLarge` if the request does not fit in the memory after alignment,
    /// `OutOfMemory` while the block is handed out.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let offset = self.ptr.as_ptr().align_offset(layout.align());
        if offset > self.len || layout.size() > self.len - offset {
            return Err(AllocatorError::TooLarge);
        }
        if self.taken.replace(true) {
            return Err(AllocatorError::OutOfMemory);
        }
        // SAFETY: `offset + size <= len`: inside the borrowed memory.
        let ptr = unsafe { self.ptr.add(offset) };
        Ok(Block::from_raw_parts(ptr, layout))
    }

    /// Takes the block back.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// In every build, if `block` is not empty and is not the block handed out.
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        if !self.owns_block(&block) {
            foreign_block(&block);
        }
        self.taken.set(false);
    }
}

// SAFETY: the only live block lies inside the memory, and `owns_block` is false whenever
// no block is handed out, and for memory outside the lent slice.
unsafe impl BlockOwner for Buffer<'_> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.taken.get() && block.is_inside(self.ptr.as_ptr().addr(), self.len)
    }
}

/// The panic of [`Buffer`] when it is given a block that it did not hand out.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign_block(block: &Block) -> ! {
    panic!(
        "alloc_scoped::Buffer::deallocate_raw: {block:?} is not the block this buffer \
         handed out (a double free, or a block of another allocator)"
    )
}

alloc_core::impl_allocator_api2!(impl['a] for Buffer<'a>);

#[cfg(test)]
mod tests {
    use super::Buffer;
    use alloc_core::{Allocator, AllocatorError, BlockOwner};
    use core::alloc::Layout;
    use core::mem::MaybeUninit;

    #[test]
    fn one_block_at_a_time_and_aligned() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 100];
        let buffer = Buffer::new(&mut memory);
        let layout = Layout::from_size_align(32, 16).unwrap();
        let block = buffer.allocate_raw(layout).unwrap();
        assert_eq!(block.addr() % 16, 0);
        assert!(buffer.owns_block(&block));
        assert_eq!(
            buffer.allocate_raw(layout),
            Err(AllocatorError::OutOfMemory)
        );
        // SAFETY: `block` is the live block.
        unsafe { buffer.deallocate_raw(block) };
        assert!(!buffer.owns_block(&block));
        assert!(buffer.allocate_raw(layout).is_ok());
    }

    #[test]
    fn requests_that_cannot_fit_are_too_large() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 100];
        let buffer = Buffer::new(&mut memory);
        for size in [101, isize::MAX as usize] {
            let layout = Layout::from_size_align(size, 1).unwrap();
            assert_eq!(buffer.allocate_raw(layout), Err(AllocatorError::TooLarge));
        }
        // 100 bytes fit with alignment 1, but not once the start is moved to an
        // alignment the memory does not have.
        let start = buffer.ptr.as_ptr().addr();
        let align = 1usize << (start.trailing_zeros() + 1);
        let layout = Layout::from_size_align(100, align).unwrap();
        assert_eq!(buffer.allocate_raw(layout), Err(AllocatorError::TooLarge));
        let empty = buffer.allocate_raw(Layout::new::<[u64; 0]>()).unwrap();
        assert!(empty.is_empty());
        assert!(!buffer.owns_block(&empty));
    }

    #[test]
    #[should_panic(expected = "not the block this buffer")]
    fn freeing_a_foreign_block_panics() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 16];
        let buffer = Buffer::new(&mut memory);
        let mut other = 0u64;
        let block = alloc_core::Block::from_raw_parts(
            core::ptr::NonNull::from(&mut other).cast(),
            Layout::new::<u64>(),
        );
        // SAFETY: none: the violation being detected; the buffer panics before any use.
        unsafe { buffer.deallocate_raw(block) };
    }
}

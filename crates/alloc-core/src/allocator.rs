//! The [`Allocator`] and [`BlockOwner`] traits, and their impls for references and boxes.

use core::alloc::Layout;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use crate::{AllocBox, AllocatorError, Block};

/// A source of memory blocks.
///
/// An implementor writes two functions, [`allocate_raw`](Self::allocate_raw) and
/// [`deallocate_raw`](Self::deallocate_raw); every other method is provided with a correct
/// default and may be overridden for speed (most often
/// [`reallocate_raw`](Self::reallocate_raw), to grow or shrink in place).
///
/// # The contract
///
/// Terms used by every method:
///
/// - A block is **currently allocated** by an allocator if it was returned by
///   `allocate_raw`, `allocate_zeroed_raw` or `reallocate_raw` of that allocator (or of a
///   clone of it, or of a reference to it) and has not since been passed to
///   `deallocate_raw`, or to a `reallocate_raw` that succeeded.
/// - A block **fits** an allocation if it has the same address and alignment as the block
///   that was returned, and a size between the size that was requested and the size that
///   was returned (inclusive). Callers may give back any block that fits, for example one
///   rebuilt from the `Layout` they asked for; implementations must accept all of them.
///
/// # Zero-size requests
///
/// A request of size 0 is answered with [`Block::empty`]: a dangling, well-aligned block
/// that consumes no memory. Deallocating a zero-size block is a no-op for every allocator,
/// whichever allocator it came from, so composites may route empty blocks anywhere.
///
/// # Safety
///
/// Implementors promise:
///
/// 1. A block returned successfully is valid for reads and writes of `size()` bytes, is
///    aligned to the requested alignment, has `align()` equal to the requested alignment,
///    has `size()` at least the requested size, and overlaps no other block that is
///    currently allocated by this allocator.
/// 2. The block stays valid until it is deallocated, or until the allocator and all its
///    clones are dropped. **Moving the allocator, or cloning it, must not invalidate its
///    blocks**: the memory must live outside the allocator value (in a parent allocation,
///    not in a field). Generic collections move their allocator freely.
/// 3. Zero-size requests and deallocations follow [the rules above](#zero-size-requests).
/// 4. A failed request returns an [`AllocatorError`] and changes no block that is
///    currently allocated; a failed `reallocate_raw` leaves the old block allocated and
///    its contents unchanged.
///
/// The conformance kit in [`testing`](crate#features) (feature `testing`) checks these
/// promises with property tests; run it on every implementation.
///
/// # Examples
///
/// A complete allocator that counts its allocations and takes its memory from [`Heap`]:
///
/// ```
/// use alloc_core::{Allocator, AllocatorError, Block, Heap};
/// use core::{alloc::Layout, cell::Cell};
///
/// #[derive(Default)]
/// struct Counting { count: Cell<usize> }
///
/// // SAFETY: every method forwards to `Heap`, which keeps the contract.
/// unsafe impl Allocator for Counting {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         self.count.set(self.count.get() + 1);
///         Heap.allocate_raw(layout)
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         // SAFETY: the caller gives back a block allocated by `self`, hence by `Heap`.
///         unsafe { Heap.deallocate_raw(block) }
///     }
/// }
///
/// let alloc = Counting::default();
/// let answer = alloc.allocate(42u64).unwrap();
/// let text = alloc.allocate_str("hello").unwrap();
/// assert_eq!((*answer, &*text), (42, "hello"));
/// assert_eq!(alloc.count.get(), 2);
/// ```
///
/// [`Heap`]: crate::Heap
pub unsafe trait Allocator {
    /// Allocates a block for `layout`.
    ///
    /// See [the contract](Self#the-contract) for what a returned block guarantees, and
    /// [zero-size requests](Self#zero-size-requests).
    ///
    /// # Errors
    ///
    /// An [`AllocatorError`] when the request cannot be served: `OutOfMemory` when the
    /// memory is exhausted, `TooLarge` or `UnsupportedAlignment` when this allocator can
    /// never serve such a layout, and so on.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// let block = Heap.allocate_raw(Layout::new::<[u32; 4]>()).unwrap();
    /// assert_eq!(block.size(), 16);
    /// // SAFETY: `block` is currently allocated by `Heap` and not used afterwards.
    /// unsafe { Heap.deallocate_raw(block) };
    /// ```
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError>;

    /// Gives `block` back to the allocator.
    ///
    /// # Safety
    ///
    /// - `block` [fits](Self#the-contract) a block [currently allocated](Self#the-contract)
    ///   by this allocator, or is [empty](Self#zero-size-requests);
    /// - the memory is not used after this call.
    ///
    /// Allocators that can detect a violation (a foreign block, a double free) say so in
    /// their docs; others may corrupt memory.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// let block = Heap.allocate_raw(Layout::new::<u64>()).unwrap();
    /// // SAFETY: `block` is currently allocated by `Heap` and not used afterwards.
    /// unsafe { Heap.deallocate_raw(block) };
    /// ```
    unsafe fn deallocate_raw(&self, block: Block);

    /// Changes the size or alignment of `block` to `new_layout`, keeping its contents up to
    /// the smaller of the two sizes.
    ///
    /// On success the old block is no longer allocated (it may have moved) and the returned
    /// block is. Reallocating to size 0 deallocates the block and returns
    /// [`Block::empty`]. The default allocates a new block, copies and deallocates the
    /// old one (see [`move_block`]); allocators override it to grow or shrink in place.
    ///
    /// # Safety
    ///
    /// `block` [fits](Self#the-contract) a block [currently allocated](Self#the-contract)
    /// by this allocator, or is [empty](Self#zero-size-requests).
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw). On error `block` is still allocated and
    /// unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// let block = Heap.allocate_raw(Layout::new::<u8>()).unwrap();
    /// // SAFETY: `block` is currently allocated by `Heap`, valid for one byte.
    /// unsafe { block.as_ptr().write(7) };
    /// // SAFETY: `block` is currently allocated by `Heap`.
    /// let grown = unsafe { Heap.reallocate_raw(block, Layout::new::<[u8; 64]>()) }.unwrap();
    /// // SAFETY: the contents up to the old size survived the move.
    /// assert_eq!(unsafe { grown.as_ptr().read() }, 7);
    /// // SAFETY: `grown` is currently allocated by `Heap` and not used afterwards.
    /// unsafe { Heap.deallocate_raw(grown) };
    /// ```
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.layout() == new_layout {
            return Ok(block);
        }
        // SAFETY: forwarded from the caller: `block` is currently allocated by `self`.
        unsafe { move_block(self, self, block, new_layout) }
    }

    /// Allocates a block for `layout` whose bytes are all zero.
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// let block = Heap.allocate_zeroed_raw(Layout::new::<[u8; 32]>()).unwrap();
    /// // SAFETY: the block is valid for 32 bytes, all initialised to zero.
    /// let bytes = unsafe { core::slice::from_raw_parts(block.as_ptr(), 32) };
    /// assert!(bytes.iter().all(|&b| b == 0));
    /// // SAFETY: `block` is currently allocated by `Heap` and not used afterwards.
    /// unsafe { Heap.deallocate_raw(block) };
    /// ```
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = self.allocate_raw(layout)?;
        // SAFETY: a block returned by `allocate_raw` is valid for writes of `size()` bytes.
        unsafe { ptr::write_bytes(block.as_ptr(), 0, block.size()) };
        Ok(block)
    }

    /// The size a request of `layout` is really served with: at least `layout.size()`,
    /// and asking for that many bytes (same alignment) costs no more memory than asking
    /// for `layout.size()`. jemalloc's `nallocx`, mimalloc's `mi_good_size`.
    ///
    /// Callers that can use extra room (a growable buffer choosing its capacity) ask for
    /// the good size and use the whole block; later growth up to it needs no
    /// reallocation. It is a hint: safety never depends on it, and the default,
    /// `layout.size()`, is always correct. Allocators that round requests (size classes,
    /// `Quantizer`) override it; composites and references forward it.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// let layout = Layout::from_size_align(100, 8).unwrap();
    /// let good = Heap.good_size(layout);
    /// assert!(good >= 100);
    /// let block = Heap.allocate_raw(Layout::from_size_align(good, 8).unwrap()).unwrap();
    /// // SAFETY: `block` is currently allocated by `Heap` and not used afterwards.
    /// unsafe { Heap.deallocate_raw(block) };
    /// ```
    #[inline]
    fn good_size(&self, layout: Layout) -> usize {
        layout.size()
    }

    /// Allocates up to `out.len()` blocks for `layout`, writes them to the front of `out`
    /// and returns how many: at least one when `out` is not empty. Each block is as
    /// [`allocate_raw`](Self::allocate_raw) would return it, and is freed like any other
    /// (one at a time, or with [`deallocate_batch`](Self::deallocate_batch)).
    ///
    /// For per-thread caches that refill many blocks of one size at once. The default
    /// calls `allocate_raw` for each block and stops at the first refusal; allocators that
    /// take a lock per call override it to take the lock once (alloc-global's
    /// `SizeClasses`). `out`'s contents beyond the returned count are unspecified.
    ///
    /// # Errors
    ///
    /// As `allocate_raw`, when not even the first block can be allocated (then no block
    /// is allocated).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Block, Heap};
    /// use core::alloc::Layout;
    ///
    /// let layout = Layout::new::<[u64; 2]>();
    /// let mut magazine = [Block::empty(layout); 8];
    /// let n = Heap.allocate_batch(layout, &mut magazine).unwrap();
    /// assert_eq!(n, 8);
    /// // SAFETY: the first `n` blocks were allocated just above, each is given back once.
    /// unsafe { Heap.deallocate_batch(&magazine[..n]) };
    /// ```
    fn allocate_batch(&self, layout: Layout, out: &mut [Block]) -> Result<usize, AllocatorError> {
        let mut n = 0;
        while n < out.len() {
            match self.allocate_raw(layout) {
                Ok(block) => out[n] = block,
                Err(e) if n == 0 => return Err(e),
                Err(_) => break,
            }
            n += 1;
        }
        Ok(n)
    }

    /// Gives back every block of `blocks`. The default calls
    /// [`deallocate_raw`](Self::deallocate_raw) for each, in order; allocators that take a
    /// lock per call override it to take the lock once for many blocks.
    ///
    /// # Safety
    ///
    /// For each block, as for `deallocate_raw`: it [fits](Self#the-contract) a block
    /// currently allocated by `self` (or is empty), and none appears twice or is used
    /// afterwards.
    ///
    /// # Examples
    ///
    /// See [`allocate_batch`](Self::allocate_batch).
    unsafe fn deallocate_batch(&self, blocks: &[Block]) {
        for &block in blocks {
            // SAFETY: forwarded from the caller, block by block.
            unsafe { self.deallocate_raw(block) }
        }
    }

    /// Moves `value` into a new allocation and returns the owning [`AllocBox`].
    ///
    /// # Errors
    ///
    /// When the allocation fails, the error and the value itself (so nothing is lost).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let b = Heap.allocate([1u8, 2, 3]).unwrap();
    /// assert_eq!(b.iter().sum::<u8>(), 6);
    /// ```
    #[inline]
    fn allocate<T>(&self, value: T) -> Result<AllocBox<'_, T, Self>, (AllocatorError, T)>
    where
        Self: Sized,
    {
        match self.allocate_raw(Layout::new::<T>()) {
            Ok(block) => {
                let ptr = block.ptr().cast::<T>();
                // SAFETY: the block is valid for writes of `size_of::<T>()` bytes and
                // aligned for `T` (contract, promise 1).
                unsafe { ptr.as_ptr().write(value) };
                // SAFETY: `ptr` holds an initialised `T` in a block currently allocated by
                // `self` with `T`'s layout.
                Ok(unsafe { AllocBox::from_raw_in(ptr, self) })
            }
            Err(e) => Err((e, value)),
        }
    }

    /// Allocates first, then writes the value returned by `f` into the new block:
    /// the replacement for the old placement syntax, so large values need not be built on
    /// the stack and then copied (when the optimiser can write `f`'s result in place).
    ///
    /// If `f` panics, the block is given back before the panic continues.
    ///
    /// # Errors
    ///
    /// An [`AllocatorError`] when the allocation fails; `f` is not called then.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let big = Heap.allocate_with(|| [7u64; 4096]).unwrap();
    /// assert_eq!(big[4095], 7);
    /// ```
    #[inline]
    fn allocate_with<T, F>(&self, f: F) -> Result<AllocBox<'_, T, Self>, AllocatorError>
    where
        Self: Sized,
        F: FnOnce() -> T,
    {
        let uninit = self.allocate_uninit::<T>()?;
        Ok(AllocBox::write(uninit, f()))
    }

    /// Allocates room for a `T` without initialising it.
    ///
    /// # Errors
    ///
    /// An [`AllocatorError`] when the allocation fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let slot = Heap.allocate_uninit::<u32>().unwrap();
    /// let value = AllocBox::write(slot, 5);
    /// assert_eq!(*value, 5);
    /// ```
    #[inline]
    fn allocate_uninit<T>(&self) -> Result<AllocBox<'_, MaybeUninit<T>, Self>, AllocatorError>
    where
        Self: Sized,
    {
        let block = self.allocate_raw(Layout::new::<T>())?;
        // SAFETY: the block is currently allocated by `self` with the layout of `T`, which
        // is the layout of `MaybeUninit<T>`; an uninitialised `MaybeUninit` is valid.
        Ok(unsafe { AllocBox::from_raw_in(block.ptr().cast(), self) })
    }

    /// Allocates a slice of `len` elements, the element at index `i` being `f(i)`.
    ///
    /// If `f` panics, the elements written so far are dropped and the block is given back.
    ///
    /// # Errors
    ///
    /// `SizeOverflow` if `len` elements of `T` exceed `isize::MAX` bytes; otherwise as
    /// [`allocate_raw`](Self::allocate_raw).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let squares = Heap.allocate_slice_with(5, |i| i * i).unwrap();
    /// assert_eq!(&*squares, &[0, 1, 4, 9, 16]);
    /// ```
    fn allocate_slice_with<T, F>(
        &self,
        len: usize,
        mut f: F,
    ) -> Result<AllocBox<'_, [T], Self>, AllocatorError>
    where
        Self: Sized,
        F: FnMut(usize) -> T,
    {
        let layout = Layout::array::<T>(len).map_err(|_| AllocatorError::SizeOverflow)?;
        let block = self.allocate_raw(layout)?;
        let first = block.ptr().cast::<T>();

        /// Drops the initialised prefix and frees the block if `f` panics.
        struct Guard<'a, T, A: Allocator> {
            first: NonNull<T>,
            initialised: usize,
            block: Block,
            alloc: &'a A,
        }
        impl<T, A: Allocator> Drop for Guard<'_, T, A> {
            fn drop(&mut self) {
                let init = ptr::slice_from_raw_parts_mut(self.first.as_ptr(), self.initialised);
                // SAFETY: exactly the first `initialised` elements were written.
                unsafe { ptr::drop_in_place(init) };
                // SAFETY: the block is currently allocated by `alloc` and no longer used.
                unsafe { self.alloc.deallocate_raw(self.block) };
            }
        }

        let mut guard = Guard {
            first,
            initialised: 0,
            block,
            alloc: self,
        };
        while guard.initialised < len {
            let value = f(guard.initialised);
            // SAFETY: `initialised < len`, so the slot is inside the block, and aligned.
            unsafe { first.as_ptr().add(guard.initialised).write(value) };
            guard.initialised += 1;
        }
        core::mem::forget(guard);
        let slice = NonNull::slice_from_raw_parts(first, len);
        // SAFETY: all `len` elements are initialised, in a block currently allocated by
        // `self` with the layout of `[T]` of that length.
        Ok(unsafe { AllocBox::from_raw_in(slice, self) })
    }

    /// Allocates a copy of `src`.
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let copy = Heap.allocate_slice_copy(&[1u16, 2, 3]).unwrap();
    /// assert_eq!(&*copy, &[1, 2, 3]);
    /// ```
    fn allocate_slice_copy<T: Copy>(
        &self,
        src: &[T],
    ) -> Result<AllocBox<'_, [T], Self>, AllocatorError>
    where
        Self: Sized,
    {
        let block = self.allocate_raw(Layout::for_value(src))?;
        let first = block.ptr().cast::<T>();
        // SAFETY: the block is valid for `size_of_val(src)` bytes, aligned for `T`, and
        // cannot overlap `src`, which is borrowed memory not handed out by `self`.
        unsafe { ptr::copy_nonoverlapping(src.as_ptr(), first.as_ptr(), src.len()) };
        let slice = NonNull::slice_from_raw_parts(first, src.len());
        // SAFETY: all elements are initialised (copied), in a block currently allocated by
        // `self` with the layout of `src`.
        Ok(unsafe { AllocBox::from_raw_in(slice, self) })
    }

    /// Allocates a copy of the string `s`.
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let s = Heap.allocate_str("scoped").unwrap();
    /// assert_eq!(&*s, "scoped");
    /// ```
    fn allocate_str(&self, s: &str) -> Result<AllocBox<'_, str, Self>, AllocatorError>
    where
        Self: Sized,
    {
        let bytes = self.allocate_slice_copy(s.as_bytes())?;
        let (ptr, alloc) = AllocBox::into_raw_with_allocator(bytes);
        // SAFETY: the bytes are a copy of a `str`, hence valid UTF-8; `[u8]` and `str`
        // have the same layout, and the block is currently allocated by `alloc`.
        Ok(unsafe {
            AllocBox::from_raw_in(NonNull::new_unchecked(ptr.as_ptr() as *mut str), alloc)
        })
    }
}

/// An allocator that can tell whether it allocated a given block.
///
/// Composites such as `Fallback` use the answer to route a block back to the allocator it
/// came from, which is why a wrong answer would be undefined behaviour and the trait is
/// `unsafe`.
///
/// # Sub-allocation, and why `&A` is not a `BlockOwner`
///
/// An owner that answers by address range (as pools and bump allocators do) also claims
/// blocks of any allocator that was carved out of one of its own blocks: a `Scoped` whose
/// buffer is a `FreeList` block lies inside the `FreeList`'s range. If such a `Scoped` were
/// the fallback of a `Fallback` whose main is that `FreeList`, frees would be routed to the
/// `FreeList`, which would hand the `Scoped`'s live buffer out again.
///
/// The borrow checker rules that out, provided owners are only ever put into composites
/// **by value, by `&mut`, or in a `Box`**: carving an allocator out of an owner borrows the
/// owner, and a borrowed owner cannot also be moved or exclusively borrowed into a
/// composite. That is why `BlockOwner` is implemented for `&mut A` and `Box<A>` but not for
/// `&A`: a shared reference would let the same owner be both the main side and the parent
/// of the fallback side.
///
/// ```compile_fail
/// use alloc_core::{BlockOwner, Heap};
/// fn route_by<O: BlockOwner>(_owner: O) {}
/// # struct Owner;
/// # unsafe impl alloc_core::Allocator for Owner {
/// #     fn allocate_raw(&self, l: core::alloc::Layout) -> Result<alloc_core::Block, alloc_core::AllocatorError> { Heap.allocate_raw(l) }
/// #     unsafe fn deallocate_raw(&self, b: alloc_core::Block) {
/// #         // SAFETY: every block of `Owner` is a block of `Heap` (forwarded contract).
/// #         unsafe { Heap.deallocate_raw(b) }
/// #     }
/// # }
/// # unsafe impl BlockOwner for Owner { fn owns_block(&self, _: &alloc_core::Block) -> bool { false } }
/// let owner = Owner;
/// route_by(&owner); // error: `&Owner` is not a `BlockOwner`
/// ```
///
/// # Safety
///
/// For every block that is [currently allocated](Allocator#the-contract) by this
/// allocator and not [empty](Allocator#zero-size-requests), `owns_block` returns `true`
/// (also for any block that [fits](Allocator#the-contract) it). For every non-empty block
/// that lies outside the memory this allocator has handed out (a block of an unrelated
/// allocator, or memory it never managed), it returns `false`. For empty blocks, for blocks
/// that were already deallocated, and for blocks of an allocator carved out of one of this
/// allocator's blocks (see above), either answer is allowed.
///
/// Implementations must not be provided for shared references to an owner (see above).
///
/// # Examples
///
/// ```
/// use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
/// use core::alloc::Layout;
///
/// /// Allocates from the heap, but only blocks of 16 bytes, and remembers none of them:
/// /// it owns exactly the non-empty 16-byte blocks (a toy: good enough for a doc).
/// struct Sixteen;
/// // SAFETY: forwards to `Heap`, which keeps the contract.
/// unsafe impl Allocator for Sixteen {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         if layout.size() > 16 { return Err(AllocatorError::TooLarge) }
///         Heap.allocate_raw(layout)
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         // SAFETY: forwarded from the caller.
///         unsafe { Heap.deallocate_raw(block) }
///     }
/// }
///
/// let alloc = Sixteen;
/// let b = alloc.allocate(5u8).unwrap();
/// assert_eq!(*b, 5);
/// ```
pub unsafe trait BlockOwner: Allocator {
    /// Whether `block` was allocated by this allocator (see the trait's
    /// [`# Safety`](BlockOwner#safety) for the exact promise).
    ///
    /// # Examples
    ///
    /// See [`owns`](Self::owns).
    fn owns_block(&self, block: &Block) -> bool;

    /// Whether the value in `boxed` lives in memory of this allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Allocator, BlockOwner, Block, AllocatorError};
    /// use core::{alloc::Layout, cell::Cell, ptr::NonNull};
    ///
    /// // A one-shot allocator over a static buffer, owning blocks by address range.
    /// struct Once { buf: NonNull<u8>, used: Cell<bool> }
    /// // SAFETY: hands out the whole 64-byte buffer at most once.
    /// unsafe impl Allocator for Once {
    ///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
    ///         if layout.size() == 0 { return Ok(Block::empty(layout)) }
    ///         if layout.size() > 64 || layout.align() > 8 { return Err(AllocatorError::TooLarge) }
    ///         if self.used.replace(true) { return Err(AllocatorError::OutOfMemory) }
    ///         Ok(Block::from_raw_parts(self.buf, layout))
    ///     }
    ///     unsafe fn deallocate_raw(&self, block: Block) {
    ///         if !block.is_empty() { self.used.set(false) }
    ///     }
    /// }
    /// // SAFETY: owns exactly the blocks inside its buffer.
    /// unsafe impl BlockOwner for Once {
    ///     fn owns_block(&self, block: &Block) -> bool {
    ///         block.is_inside(self.buf.as_ptr().addr(), 64)
    ///     }
    /// }
    ///
    /// let mut buf = [0u64; 8];
    /// let once = Once { buf: NonNull::from(&mut buf).cast(), used: Cell::new(false) };
    /// let b = once.allocate(1u32).unwrap();
    /// assert!(once.owns(&b));
    /// let other = alloc_core::Heap.allocate(1u32).unwrap();
    /// assert!(!once.owns(&other));
    /// ```
    #[inline]
    fn owns<T: ?Sized, A: Allocator + ?Sized>(&self, boxed: &AllocBox<'_, T, A>) -> bool
    where
        Self: Sized,
    {
        self.owns_block(&AllocBox::as_block(boxed))
    }
}

/// Moves `block` from allocator `from` to allocator `to`, with the new layout: allocates in
/// `to`, copies the smaller of the two sizes, and deallocates in `from`.
///
/// Reallocating to size 0 deallocates the block and returns [`Block::empty`]. This is the
/// default of [`Allocator::reallocate_raw`] (with `from` and `to` the same allocator), and
/// what composites use to move a block from one allocator to another.
///
/// # Safety
///
/// `block` [fits](Allocator#the-contract) a block currently allocated by `from`, or is
/// [empty](Allocator#zero-size-requests).
///
/// # Errors
///
/// As `to.allocate_raw(new_layout)`; on error `block` is still allocated by `from` and
/// unchanged.
///
/// # Examples
///
/// ```
/// use alloc_core::{move_block, Allocator, Heap};
/// use core::alloc::Layout;
///
/// let b = Heap.allocate_raw(Layout::new::<u32>()).unwrap();
/// // SAFETY: `b` is currently allocated by `Heap`, valid for 4 bytes.
/// unsafe { b.as_ptr().cast::<u32>().write(0xfeed) };
/// // SAFETY: `b` is currently allocated by `Heap` (the `from` allocator).
/// let moved = unsafe { move_block(&Heap, &Heap, b, Layout::new::<u64>()) }.unwrap();
/// // SAFETY: the first 4 bytes were copied.
/// assert_eq!(unsafe { moved.as_ptr().cast::<u32>().read() }, 0xfeed);
/// // SAFETY: `moved` is currently allocated by `Heap`.
/// unsafe { Heap.deallocate_raw(moved) };
/// ```
pub unsafe fn move_block<F, T>(
    from: &F,
    to: &T,
    block: Block,
    new_layout: Layout,
) -> Result<Block, AllocatorError>
where
    F: Allocator + ?Sized,
    T: Allocator + ?Sized,
{
    if new_layout.size() == 0 {
        // SAFETY: forwarded from the caller.
        unsafe { from.deallocate_raw(block) };
        return Ok(Block::empty(new_layout));
    }
    let new = to.allocate_raw(new_layout)?;
    let len = block.size().min(new_layout.size());
    // SAFETY: `block` is valid for reads of `block.size()` bytes (caller) and `new` for
    // writes of at least `new_layout.size()` bytes (contract); `new` is currently allocated
    // while `block` is too, so they do not overlap (if `from` and `to` differ, their
    // memory is distinct, or `to` would have handed out memory `from` still uses).
    unsafe { ptr::copy_nonoverlapping(block.as_ptr(), new.as_ptr(), len) };
    // SAFETY: forwarded from the caller; the contents were copied out above.
    unsafe { from.deallocate_raw(block) };
    Ok(new)
}

macro_rules! forward_allocator {
    ($($impl_header:tt)*) => {
        // SAFETY: forwards every method to the referenced allocator, which keeps the
        // contract; a reference or box does not move the allocator's memory.
        unsafe impl $($impl_header)* {
            #[inline]
            fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
                (**self).allocate_raw(layout)
            }
            #[inline]
            unsafe fn deallocate_raw(&self, block: Block) {
                // SAFETY: forwarded from the caller.
                unsafe { (**self).deallocate_raw(block) }
            }
            #[inline]
            unsafe fn reallocate_raw(
                &self,
                block: Block,
                new_layout: Layout,
            ) -> Result<Block, AllocatorError> {
                // SAFETY: forwarded from the caller.
                unsafe { (**self).reallocate_raw(block, new_layout) }
            }
            #[inline]
            fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
                (**self).allocate_zeroed_raw(layout)
            }
            #[inline]
            fn good_size(&self, layout: Layout) -> usize {
                (**self).good_size(layout)
            }
            #[inline]
            fn allocate_batch(
                &self,
                layout: Layout,
                out: &mut [Block],
            ) -> Result<usize, AllocatorError> {
                (**self).allocate_batch(layout, out)
            }
            #[inline]
            unsafe fn deallocate_batch(&self, blocks: &[Block]) {
                // SAFETY: forwarded from the caller.
                unsafe { (**self).deallocate_batch(blocks) }
            }
        }
    };
}

macro_rules! forward_block_owner {
    ($($impl_header:tt)*) => {
        // SAFETY: forwards to the referenced allocator, whose answer is truthful.
        unsafe impl $($impl_header)* {
            #[inline]
            fn owns_block(&self, block: &Block) -> bool {
                (**self).owns_block(block)
            }
        }
    };
}

forward_allocator!(<A: Allocator + ?Sized> Allocator for &A);
forward_allocator!(<A: Allocator + ?Sized> Allocator for &mut A);
// Deliberately no `BlockOwner for &A`: see "Sub-allocation" in `BlockOwner`'s docs.
forward_block_owner!(<A: BlockOwner + ?Sized> BlockOwner for &mut A);
#[cfg(feature = "alloc")]
forward_allocator!(<A: Allocator + ?Sized> Allocator for alloc::boxed::Box<A>);
#[cfg(feature = "alloc")]
forward_block_owner!(<A: BlockOwner + ?Sized> BlockOwner for alloc::boxed::Box<A>);

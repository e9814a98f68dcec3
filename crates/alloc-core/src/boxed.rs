//! [`AllocBox`]: a value owned in an allocator.

use core::alloc::Layout;
use core::fmt;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use crate::{Allocator, Block};

/// A value of type `T` living in memory of the allocator `A`: the allocator-aware `Box`.
///
/// It derefs to the value, drops it and gives the memory back when it goes out of scope.
/// It borrows the allocator for `'a`, so it cannot outlive it: a value allocated in a
/// scope cannot be moved out of that scope. For a sized `T` it is two words (a pointer
/// and a reference to the allocator).
///
/// Functions that could shadow methods of `T` are associated functions, as for `Box`:
/// `AllocBox::into_inner(b)`, not `b.into_inner()`.
///
/// # Examples
///
/// ```
/// use alloc_core::{AllocBox, Allocator, Heap};
///
/// let mut b = Heap.allocate(String::from("hello")).unwrap();
/// b.push_str(", world");
/// assert_eq!(&*b, "hello, world");
/// let s: String = AllocBox::into_inner(b); // memory given back, value moved out
/// assert_eq!(s.len(), 12);
/// ```
pub struct AllocBox<'a, T: ?Sized, A: Allocator + ?Sized> {
    /// Points to an initialised `T` in a block currently allocated by `*alloc` with the
    /// layout `Layout::for_value(&*ptr)`.
    ptr: NonNull<T>,
    alloc: &'a A,
    /// The box owns a `T` (for the drop check).
    _owns: PhantomData<T>,
}

// SAFETY: sending the box sends the `T` (so `T: Send`) and the `&A` through which the
// memory is given back on another thread (so `A: Sync`).
unsafe impl<T: ?Sized + Send, A: Allocator + Sync + ?Sized> Send for AllocBox<'_, T, A> {}
// SAFETY: `&AllocBox` gives only `&T` and `&A`.
unsafe impl<T: ?Sized + Sync, A: Allocator + Sync + ?Sized> Sync for AllocBox<'_, T, A> {}

impl<'a, T: ?Sized, A: Allocator + ?Sized> AllocBox<'a, T, A> {
    /// Takes ownership of the value at `ptr` in `alloc`'s memory.
    ///
    /// # Safety
    ///
    /// - `ptr` points to an initialised `T`;
    /// - the memory is a block [currently allocated](Allocator#the-contract) by `alloc`
    ///   that `Layout::for_value(&*ptr)` [fits](Allocator#the-contract), with
    ///   `ptr` at its start;
    /// - nothing else owns the value or the block.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let b = Heap.allocate(9i32).unwrap();
    /// let (ptr, alloc) = AllocBox::into_raw_with_allocator(b);
    /// // SAFETY: `ptr` and `alloc` come from `into_raw_with_allocator`.
    /// let b = unsafe { AllocBox::from_raw_in(ptr, alloc) };
    /// assert_eq!(*b, 9);
    /// ```
    #[inline]
    pub unsafe fn from_raw_in(ptr: NonNull<T>, alloc: &'a A) -> Self {
        Self {
            ptr,
            alloc,
            _owns: PhantomData,
        }
    }

    /// Gives up ownership without dropping or freeing: the pointer and the allocator.
    /// [`from_raw_in`](Self::from_raw_in) takes them back.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let b = Heap.allocate(String::from("kept")).unwrap();
    /// let (ptr, heap) = AllocBox::into_raw_with_allocator(b);
    /// // SAFETY: `ptr` and `heap` come from `into_raw_with_allocator` just above.
    /// let back = unsafe { AllocBox::from_raw_in(ptr, heap) };
    /// assert_eq!(*back, "kept");
    /// ```
    #[inline]
    #[must_use = "the value leaks unless it is given back to `from_raw_in`"]
    pub fn into_raw_with_allocator(boxed: Self) -> (NonNull<T>, &'a A) {
        let boxed = ManuallyDrop::new(boxed);
        (boxed.ptr, boxed.alloc)
    }

    /// The allocator the value lives in.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let b = Heap.allocate(1u8).unwrap();
    /// let _heap: &Heap = AllocBox::allocator(&b);
    /// ```
    #[inline]
    #[must_use]
    pub fn allocator(boxed: &Self) -> &'a A {
        boxed.alloc
    }

    /// The block the value occupies (with the value's layout, which fits the allocation).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let b = Heap.allocate(1u64).unwrap();
    /// assert_eq!(AllocBox::as_block(&b).size(), 8);
    /// ```
    #[inline]
    #[must_use]
    pub fn as_block(boxed: &Self) -> Block {
        // SAFETY: `ptr` points to an initialised `T` (field invariant).
        let layout = Layout::for_value(unsafe { boxed.ptr.as_ref() });
        Block::from_raw_parts(boxed.ptr.cast(), layout)
    }

    /// A raw pointer to the value (valid while the box lives).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let b = Heap.allocate(3u8).unwrap();
    /// // SAFETY: the box is alive and the value initialised.
    /// assert_eq!(unsafe { *AllocBox::as_ptr(&b) }, 3);
    /// ```
    #[inline]
    #[must_use]
    pub fn as_ptr(boxed: &Self) -> *const T {
        boxed.ptr.as_ptr()
    }

    /// Consumes the box without freeing its memory, returning a reference that lives as
    /// long as the allocator borrow. The value is never dropped; the memory comes back only
    /// when the allocator itself reclaims it (for example when a scope ends).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let heap = Heap;
    /// let r: &mut u32 = AllocBox::leak(heap.allocate(5u32).unwrap());
    /// *r += 1;
    /// assert_eq!(*r, 6);
    /// # // Give it back so leak checkers stay quiet.
    /// # // SAFETY: `r` is the leaked box's value, allocated by `heap`, not used afterwards.
    /// # unsafe { drop(AllocBox::from_raw_in(core::ptr::NonNull::from(r), &heap)) };
    /// ```
    #[inline]
    #[must_use]
    pub fn leak(boxed: Self) -> &'a mut T
    where
        T: 'a,
    {
        let (ptr, _) = Self::into_raw_with_allocator(boxed);
        // SAFETY: the value is initialised and, the box being forgotten, uniquely owned;
        // the memory stays allocated for at least `'a`, the borrow of the allocator.
        unsafe { &mut *ptr.as_ptr() }
    }
}

impl<'a, T, A: Allocator + ?Sized> AllocBox<'a, T, A> {
    /// Moves the value out and gives the memory back.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let b = Heap.allocate(vec![1, 2]).unwrap();
    /// assert_eq!(AllocBox::into_inner(b), vec![1, 2]);
    /// ```
    #[inline]
    pub fn into_inner(boxed: Self) -> T {
        let (ptr, alloc) = Self::into_raw_with_allocator(boxed);
        // SAFETY: the value is initialised and owned; it is read exactly once.
        let value = unsafe { ptr.as_ptr().read() };
        // SAFETY: the block is currently allocated by `alloc` with `T`'s layout; the value
        // was moved out above.
        unsafe { alloc.deallocate_raw(Block::from_raw_parts(ptr.cast(), Layout::new::<T>())) };
        value
    }
}

impl<'a, T, A: Allocator + ?Sized> AllocBox<'a, MaybeUninit<T>, A> {
    /// Initialises the slot with `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocBox, Allocator, Heap};
    ///
    /// let b = AllocBox::write(Heap.allocate_uninit::<[u8; 3]>().unwrap(), [1, 2, 3]);
    /// assert_eq!(*b, [1, 2, 3]);
    /// ```
    #[inline]
    pub fn write(boxed: Self, value: T) -> AllocBox<'a, T, A> {
        let (ptr, alloc) = Self::into_raw_with_allocator(boxed);
        let ptr = ptr.cast::<T>();
        // SAFETY: the slot is valid for writes and aligned for `T` (`MaybeUninit<T>` has
        // `T`'s layout).
        unsafe { ptr.as_ptr().write(value) };
        // SAFETY: the value is now initialised, in the same block with the same layout.
        unsafe { AllocBox::from_raw_in(ptr, alloc) }
    }
}

impl<T: ?Sized, A: Allocator + ?Sized> Drop for AllocBox<'_, T, A> {
    #[inline]
    fn drop(&mut self) {
        let block = Self::as_block(self);
        // SAFETY: the value is initialised and owned by the box; it is dropped once.
        unsafe { self.ptr.as_ptr().drop_in_place() };
        // SAFETY: the block is currently allocated by `alloc` (field invariant) and its
        // value was dropped above; the box is not used again.
        unsafe { self.alloc.deallocate_raw(block) };
    }
}

impl<T: ?Sized, A: Allocator + ?Sized> Deref for AllocBox<'_, T, A> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the value is initialised and owned by the box (field invariant).
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ?Sized, A: Allocator + ?Sized> DerefMut for AllocBox<'_, T, A> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the value is initialised and uniquely owned by the box, borrowed mutably.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T: ?Sized, A: Allocator + ?Sized> AsRef<T> for AllocBox<'_, T, A> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized, A: Allocator + ?Sized> AsMut<T> for AllocBox<'_, T, A> {
    fn as_mut(&mut self) -> &mut T {
        self
    }
}

impl<T: ?Sized, A: Allocator + ?Sized> core::borrow::Borrow<T> for AllocBox<'_, T, A> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: ?Sized + fmt::Debug, A: Allocator + ?Sized> fmt::Debug for AllocBox<'_, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display, A: Allocator + ?Sized> fmt::Display for AllocBox<'_, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized + PartialEq, A: Allocator + ?Sized> PartialEq for AllocBox<'_, T, A> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq, A: Allocator + ?Sized> Eq for AllocBox<'_, T, A> {}

impl<T: ?Sized + PartialOrd, A: Allocator + ?Sized> PartialOrd for AllocBox<'_, T, A> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord, A: Allocator + ?Sized> Ord for AllocBox<'_, T, A> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + core::hash::Hash, A: Allocator + ?Sized> core::hash::Hash for AllocBox<'_, T, A> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl<I: Iterator + ?Sized, A: Allocator + ?Sized> Iterator for AllocBox<'_, I, A> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        (**self).next()
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::AllocBox;
    use crate::Heap;

    // The size target of the issue: a pointer plus a reference to the allocator.
    static_assertions::assert_eq_size!(AllocBox<'static, u64, Heap>, [usize; 2]);
    static_assertions::assert_eq_size!(AllocBox<'static, [u8], Heap>, [usize; 3]);
    static_assertions::assert_impl_all!(AllocBox<'static, u64, Heap>: Send, Sync);
    static_assertions::assert_not_impl_any!(AllocBox<'static, core::cell::Cell<u8>, Heap>: Sync);
    static_assertions::assert_not_impl_any!(AllocBox<'static, alloc::rc::Rc<u8>, Heap>: Send);
}

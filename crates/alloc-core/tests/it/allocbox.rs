//! `AllocBox` and the provided typed methods: values handed back on failure, panics that
//! do not leak, drops that run exactly once.

use alloc_core::{AllocBox, Allocator, AllocatorError, Block, Heap};
use core::alloc::Layout;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

/// Counts live blocks, and fails once `limit` blocks are live.
struct Tracking {
    live: Cell<usize>,
    limit: usize,
}

impl Tracking {
    fn new(limit: usize) -> Self {
        Self {
            live: Cell::new(0),
            limit,
        }
    }
}

// SAFETY: forwards to `Heap`.
unsafe impl Allocator for Tracking {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if self.live.get() == self.limit {
            return Err(AllocatorError::OutOfMemory);
        }
        let b = Heap.allocate_raw(layout)?;
        self.live.set(self.live.get() + 1);
        Ok(b)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        self.live.set(self.live.get() - 1);
        // SAFETY: forwarded from the caller.
        unsafe { Heap.deallocate_raw(block) }
    }
}

#[derive(Debug)]
struct DropCounter(Rc<Cell<usize>>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn failed_allocation_hands_the_value_back() {
    let alloc = Tracking::new(0);
    let (err, value) = alloc.allocate(String::from("keep me")).unwrap_err();
    assert_eq!(err, AllocatorError::OutOfMemory);
    assert_eq!(value, "keep me");
}

#[test]
fn values_are_dropped_once_and_memory_returned() {
    let alloc = Tracking::new(10);
    let drops = Rc::new(Cell::new(0));
    {
        let _a = alloc.allocate(DropCounter(drops.clone())).unwrap();
        let _b = alloc.allocate_with(|| DropCounter(drops.clone())).unwrap();
        assert_eq!(alloc.live.get(), 2);
    }
    assert_eq!(drops.get(), 2);
    assert_eq!(alloc.live.get(), 0);
}

#[test]
fn into_inner_moves_out_without_dropping() {
    let alloc = Tracking::new(1);
    let drops = Rc::new(Cell::new(0));
    let value = AllocBox::into_inner(alloc.allocate(DropCounter(drops.clone())).unwrap());
    assert_eq!((drops.get(), alloc.live.get()), (0, 0));
    drop(value);
    assert_eq!(drops.get(), 1);
}

#[test]
fn panic_in_allocate_with_returns_the_block() {
    let alloc = Tracking::new(1);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let _b = alloc.allocate_with::<u64, _>(|| panic!("constructor failed"));
    }));
    assert!(r.is_err());
    assert_eq!(alloc.live.get(), 0);
    // The allocator is usable afterwards.
    assert_eq!(*alloc.allocate(1u8).unwrap(), 1);
}

#[test]
fn panic_in_allocate_slice_with_drops_the_prefix() {
    let alloc = Tracking::new(1);
    let drops = Rc::new(Cell::new(0));
    let r = catch_unwind(AssertUnwindSafe(|| {
        alloc.allocate_slice_with(10, |i| {
            if i == 4 {
                panic!("element 4 failed");
            }
            DropCounter(drops.clone())
        })
    }));
    assert!(r.is_err());
    assert_eq!(drops.get(), 4);
    assert_eq!(alloc.live.get(), 0);
}

#[test]
fn slice_of_overflowing_length_is_an_error() {
    let err = Heap
        .allocate_slice_with(usize::MAX / 2, |i| i as u64)
        .unwrap_err();
    assert_eq!(err, AllocatorError::SizeOverflow);
}

#[test]
// Miri stops the program on an impossible allocation instead of returning null.
#[cfg_attr(miri, ignore = "Miri aborts on allocations larger than its memory")]
fn huge_layouts_are_refused_not_ub() {
    let layout = Layout::from_size_align(isize::MAX as usize - 4096, 1).unwrap();
    assert!(Heap.allocate_raw(layout).is_err());
}

#[test]
fn zero_size_values_are_aligned() {
    #[derive(Debug)]
    #[repr(align(256))]
    struct Aligned;
    let b = Heap.allocate(Aligned).unwrap();
    assert_eq!(AllocBox::as_ptr(&b) as usize % 256, 0);
    let s = Heap.allocate_str("").unwrap();
    assert_eq!(&*s, "");
}

#[test]
fn leak_keeps_the_value_alive() {
    let alloc = Tracking::new(1);
    let r: &mut Vec<u8> = AllocBox::leak(alloc.allocate(vec![1, 2, 3]).unwrap());
    r.push(4);
    assert_eq!(r, &[1, 2, 3, 4]);
    assert_eq!(alloc.live.get(), 1);
    // Give it back (and drop the Vec) so Miri's leak check stays quiet.
    // SAFETY: `r` came from `leak` of a box in `alloc`.
    drop(unsafe { AllocBox::from_raw_in(core::ptr::NonNull::from(r), &alloc) });
    assert_eq!(alloc.live.get(), 0);
}

#[test]
fn boxes_compare_and_format_like_their_values() {
    let a = Heap.allocate(3).unwrap();
    let b = Heap.allocate(4).unwrap();
    assert!(a < b);
    assert_eq!(format!("{a} {b:?}"), "3 4");
}

//! Behaviour: whole blocks, reallocation in place, ownership, moves, parents.

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use alloc_freelist::{FreeList, SyncFreeList};
use core::alloc::Layout;
use core::cell::Cell;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

static_assertions::assert_impl_all!(FreeList: Send);
static_assertions::assert_not_impl_any!(FreeList: Sync);
static_assertions::assert_impl_all!(SyncFreeList: Send, Sync);
static_assertions::assert_impl_all!(FreeList<&'static Heap>: Send);

#[test]
fn blocks_report_the_full_size_and_the_requested_alignment() {
    let list = FreeList::new(100, 8).unwrap();
    assert_eq!(list.block_align(), 4);
    let a = list.allocate_raw(layout(1, 1)).unwrap();
    let b = list.allocate_raw(layout(100, 4)).unwrap();
    assert_eq!((a.size(), a.align()), (100, 1));
    assert_eq!((b.size(), b.align()), (100, 4));
    assert_eq!(b.addr() - a.addr(), 100);
    // Any size between the requested and the reported one may be given back.
    // SAFETY: both blocks are allocated; the layouts fit them.
    unsafe {
        list.deallocate_raw(Block::from_raw_parts(a.ptr(), layout(1, 1)));
        list.deallocate_raw(Block::from_raw_parts(b.ptr(), layout(50, 4)));
    }
    assert_eq!(list.free_blocks(), 8);
}

#[test]
fn blocks_are_aligned_as_chosen() {
    for align in [1, 8, 64, 4096] {
        let size = align.max(size_of::<usize>()) + 8;
        let list = FreeList::with_layout(layout(size, align), 5).unwrap();
        let blocks: Vec<Block> = (0..5)
            .map(|_| list.allocate_raw(layout(size, align)).unwrap())
            .collect();
        for b in &blocks {
            assert_eq!(b.addr() % align, 0);
        }
        for b in blocks {
            // SAFETY: allocated above.
            unsafe { list.deallocate_raw(b) };
        }
    }
}

#[test]
fn unaligned_links_in_small_blocks() {
    // 12-byte blocks are 4-aligned: the link is stored unaligned in half of them.
    let list = FreeList::with_layout(Layout::new::<[u32; 3]>(), 8).unwrap();
    for round in 0..3u32 {
        let boxes: Vec<_> = (0..8)
            .map(|i| list.allocate([i, round, i * round]).unwrap())
            .collect();
        for (i, b) in (0u32..).zip(&boxes) {
            assert_eq!(**b, [i, round, i * round]);
        }
    }
}

#[test]
fn zeroed_allocation_zeroes_a_reused_block() {
    let list = FreeList::new(64, 1).unwrap();
    drop(list.allocate([0xFFu8; 64]).unwrap());
    let b = list.allocate_zeroed_raw(layout(8, 8)).unwrap();
    // SAFETY: the block is valid for its 64 bytes.
    let bytes = unsafe { core::slice::from_raw_parts(b.as_ptr(), b.size()) };
    assert!(bytes.iter().all(|&x| x == 0));
    // SAFETY: allocated above.
    unsafe { list.deallocate_raw(b) };
}

#[test]
fn reallocation_within_a_block_is_in_place() {
    let list = FreeList::new(64, 2).unwrap();
    let b = list.allocate_raw(layout(8, 8)).unwrap();
    // SAFETY: `b` is valid for 64 bytes.
    unsafe { b.as_ptr().write_bytes(7, 8) };
    // SAFETY: `b` is allocated by `list`.
    let grown = unsafe { list.reallocate_raw(b, layout(64, 16)) }.unwrap();
    assert_eq!(
        (grown.addr(), grown.size(), grown.align()),
        (b.addr(), 64, 16)
    );
    // SAFETY: `grown` is allocated by `list`.
    let shrunk = unsafe { list.reallocate_raw(grown, layout(2, 1)) }.unwrap();
    assert_eq!(
        (shrunk.addr(), shrunk.size(), shrunk.align()),
        (b.addr(), 64, 1)
    );
    // SAFETY: 8 bytes were written and kept.
    assert_eq!(unsafe { shrunk.as_ptr().add(7).read() }, 7);
    // Beyond a block: refused, the block stays allocated and unchanged.
    // SAFETY: `shrunk` is allocated by `list`.
    let e = unsafe { list.reallocate_raw(shrunk, layout(65, 1)) }.unwrap_err();
    assert_eq!(e, AllocatorError::TooLarge);
    // SAFETY: `shrunk` is still allocated by `list`.
    let e = unsafe { list.reallocate_raw(shrunk, layout(8, 32)) }.unwrap_err();
    assert_eq!(e, AllocatorError::UnsupportedAlignment);
    assert_eq!(list.free_blocks(), 1);
    // SAFETY: still allocated.
    assert_eq!(unsafe { shrunk.as_ptr().read() }, 7);
    // To size zero: freed.
    // SAFETY: `shrunk` is allocated by `list`.
    let empty = unsafe { list.reallocate_raw(shrunk, layout(0, 8)) }.unwrap();
    assert!(empty.is_empty());
    assert_eq!(list.free_blocks(), 2);
    // From an empty block: a new allocation.
    // SAFETY: empty blocks may be reallocated.
    let fresh = unsafe { list.reallocate_raw(empty, layout(16, 8)) }.unwrap();
    assert_eq!(list.free_blocks(), 1);
    // SAFETY: allocated above.
    unsafe { list.deallocate_raw(fresh) };
}

#[test]
fn sync_reallocation_within_a_block_is_in_place() {
    let list = SyncFreeList::new(64, 2).unwrap();
    let b = list.allocate_raw(layout(8, 8)).unwrap();
    // SAFETY: `b` is allocated by `list`.
    let grown = unsafe { list.reallocate_raw(b, layout(60, 4)) }.unwrap();
    assert_eq!(grown.addr(), b.addr());
    // SAFETY: `grown` is allocated by `list`.
    let e = unsafe { list.reallocate_raw(grown, layout(100, 4)) }.unwrap_err();
    assert_eq!(e, AllocatorError::TooLarge);
    // SAFETY: `grown` is allocated by `list`.
    let empty = unsafe { list.reallocate_raw(grown, layout(0, 4)) }.unwrap();
    assert!(empty.is_empty());
    assert_eq!(list.free_blocks(), 2);
}

#[test]
fn owns_block_by_range_and_boundary() {
    let list = FreeList::new(24, 4).unwrap();
    let other = FreeList::new(24, 4).unwrap();
    let a = list.allocate_raw(layout(24, 8)).unwrap();
    let b = list.allocate_raw(layout(3, 1)).unwrap();
    assert!(list.owns_block(&a) && list.owns_block(&b));
    // A smaller block that fits is still owned.
    assert!(list.owns_block(&Block::from_raw_parts(a.ptr(), layout(1, 1))));
    // Not on a block boundary, or larger than a block: not a block of the list.
    // SAFETY: 8 bytes into a 24-byte block.
    let inside = Block::from_raw_parts(unsafe { a.ptr().add(8) }, layout(8, 8));
    assert!(!list.owns_block(&inside));
    assert!(!list.owns_block(&Block::from_raw_parts(a.ptr(), layout(48, 8))));
    // Past the end and before the start.
    // SAFETY: 3 blocks further is the last block; 4 is one past the region.
    let (last, past) = unsafe { (a.ptr().add(72), a.ptr().add(96)) };
    assert!(list.owns_block(&Block::from_raw_parts(last, layout(8, 8))));
    assert!(!list.owns_block(&Block::from_raw_parts(past, layout(8, 8))));
    let before = Block::from_raw_parts(
        a.ptr().with_addr((a.addr() - 24).try_into().unwrap()),
        layout(8, 8),
    );
    assert!(!list.owns_block(&before));
    // Another list's blocks, the heap's, and empty blocks.
    let c = other.allocate_raw(layout(8, 8)).unwrap();
    assert!(!list.owns_block(&c) && other.owns_block(&c));
    let boxed = Box::new([0u64; 3]);
    assert!(!list.owns_block(&Block::from_raw_parts(
        core::ptr::NonNull::from(&*boxed).cast(),
        layout(24, 8)
    )));
    assert!(!list.owns_block(&Block::empty(layout(0, 8))));
    // `owns` on boxes, and on the sync variant.
    let x = list.allocate(5u16).unwrap();
    assert!(list.owns(&x) && !other.owns(&x));
    let sync = SyncFreeList::new(24, 4).unwrap();
    let y = sync.allocate(5u16).unwrap();
    assert!(sync.owns(&y) && !sync.owns(&x) && !list.owns(&y));
    // SAFETY: allocated above.
    unsafe {
        list.deallocate_raw(a);
        list.deallocate_raw(b);
        other.deallocate_raw(c);
    }
}

#[test]
fn moving_the_list_keeps_blocks_valid() {
    let list = FreeList::new(64, 4).unwrap();
    let block = list.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: valid for 64 bytes.
    unsafe { block.as_ptr().write_bytes(0xAB, 64) };
    // Move the list into a box, then out into a vector.
    let boxed = Box::new(list);
    let mut lists = vec![*boxed];
    let list = lists.pop().unwrap();
    // SAFETY: still allocated: the memory lives in the parent, not in the moved value.
    let bytes = unsafe { core::slice::from_raw_parts(block.as_ptr(), 64) };
    assert!(bytes.iter().all(|&b| b == 0xAB));
    assert!(list.owns_block(&block));
    // SAFETY: allocated by `list` (moved, the same allocator).
    unsafe { list.deallocate_raw(block) };
    assert_eq!(list.free_blocks(), 4);
}

/// A parent that counts what it hands out and gets back.
#[derive(Default)]
struct Counting {
    live: Cell<isize>,
}

// SAFETY: forwards to `Heap`.
unsafe impl Allocator for Counting {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
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

#[test]
fn one_parent_allocation_given_back_on_drop() {
    let parent = Counting::default();
    {
        let list = FreeList::new_in(64, 1000, &parent).unwrap();
        let boxes: Vec<_> = (0..1000).map(|i| list.allocate(i).unwrap()).collect();
        assert_eq!(parent.live.get(), 1, "one contiguous parent allocation");
        drop(boxes);
        let sync = SyncFreeList::new_in(64, 10, &parent).unwrap();
        assert_eq!(parent.live.get(), 2);
        drop(sync);
    }
    assert_eq!(parent.live.get(), 0);
}

#[test]
fn a_free_list_inside_a_block_of_another() {
    let big = FreeList::with_layout(layout(1024, 64), 2).unwrap();
    assert_eq!(
        alloc_freelist::region_layout(layout(32, 32), 31)
            .unwrap()
            .size(),
        31 * 32 + 8
    );
    let small = FreeList::with_layout_in(layout(32, 32), 31, &big).unwrap();
    assert_eq!(big.free_blocks(), 1);
    let xs: Vec<_> = (0..31u64).map(|i| small.allocate(i).unwrap()).collect();
    assert!(xs.iter().all(|x| !big.owns(x) || small.owns(x)));
    assert!(small.allocate(0u64).is_err());
    drop(xs);
    drop(small);
    assert_eq!(big.free_blocks(), 2);
}

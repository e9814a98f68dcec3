//! Unit tests of the engine: the division-free index, geometry errors, the lazy list.

use super::{FreeError, RawFreeList, default_align, odd_inverse};
use alloc_core::{AllocatorError, Block, Heap};
use core::alloc::Layout;

/// A region-less list with the given stride, for testing `index_of` alone.
fn geometry_only(stride: usize, capacity: usize, start: usize) -> RawFreeList {
    let g = super::Geometry::new(Layout::from_size_align(stride, 1).unwrap(), capacity).unwrap();
    RawFreeList::from_region_unchecked_for_tests(g, start)
}

impl RawFreeList {
    /// Builds the geometry over a fake address without touching memory (no bitmap).
    fn from_region_unchecked_for_tests(g: super::Geometry, start: usize) -> Self {
        let shift = g.stride.trailing_zeros();
        Self {
            start: core::ptr::NonNull::new(core::ptr::without_provenance_mut(start)).unwrap(),
            block_size: g.block_size,
            align: g.align,
            stride: g.stride,
            capacity: g.capacity,
            inverse: odd_inverse(g.stride >> shift),
            shift,
            region: g.region,
            bitmap: core::ptr::NonNull::dangling(),
            head: core::cell::Cell::new(None),
            fresh: core::cell::Cell::new(0),
            listed: core::cell::Cell::new(0),
        }
    }
}

#[test]
fn odd_inverses_are_inverses() {
    for odd in (1usize..2001)
        .step_by(2)
        .chain([usize::MAX, usize::MAX - 2])
    {
        assert_eq!(odd.wrapping_mul(odd_inverse(odd)), 1, "{odd}");
    }
}

#[test]
fn index_of_matches_division_for_every_offset() {
    let start = 0x10_0000;
    let strides: &[usize] = if cfg!(miri) {
        &[8, 24, 100]
    } else {
        &[8, 12, 16, 24, 40, 64, 100, 1000, 1024, 4104]
    };
    for &stride in strides {
        let capacity = 37;
        let raw = geometry_only(stride, capacity, start);
        // Every offset around the region, including before its start.
        let len = stride * capacity;
        let step = if cfg!(miri) { 7 } else { 1 };
        for addr in (start - 2 * stride..start + len + 2 * stride).step_by(step) {
            let expected = if addr >= start && (addr - start) % stride == 0 && addr < start + len {
                Some((addr - start) / stride)
            } else {
                None
            };
            let index = raw.index_of(addr);
            let got = (index < capacity).then_some(index);
            assert_eq!(
                got,
                expected,
                "stride {stride}, offset {}",
                addr as isize - start as isize
            );
        }
        // Far away addresses, both sides.
        for addr in [
            0,
            1,
            usize::MAX,
            usize::MAX - start,
            start / 2,
            start * 1000,
        ] {
            assert!(
                raw.index_of(addr) >= capacity,
                "stride {stride}, addr {addr:#x}"
            );
        }
    }
}

#[test]
fn default_alignment_is_natural_capped_at_16() {
    assert_eq!(default_align(8), 8);
    assert_eq!(default_align(12), 4);
    assert_eq!(default_align(24), 8);
    assert_eq!(default_align(100), 4);
    assert_eq!(default_align(64), 16);
    assert_eq!(default_align(1024), 16);
    assert_eq!(default_align(1025), 1);
}

#[test]
fn geometry_errors() {
    let l = |size, align| Layout::from_size_align(size, align).unwrap();
    assert!(matches!(
        super::Geometry::new(l(size_of::<usize>() - 1, 1), 4),
        Err(e) if e.kind() == AllocatorError::InvalidArgument
            && e.message().is_some_and(|m| m.contains("pointer"))
    ));
    assert!(matches!(
        super::Geometry::new(l(64, 8), 0),
        Err(e) if e.kind() == AllocatorError::InvalidArgument
            && e.message().is_some_and(|m| m.contains("zero"))
    ));
    assert!(matches!(
        super::Geometry::new(l(64, 8), usize::MAX / 32),
        Err(e) if e.kind() == AllocatorError::SizeOverflow
    ));
    // Does not overflow `usize`, but exceeds `isize::MAX`.
    assert!(matches!(
        super::Geometry::new(l(64, 8), usize::MAX / 64),
        Err(e) if e.kind() == AllocatorError::SizeOverflow
    ));
    // Stride is the size rounded up to the alignment.
    let g = super::Geometry::new(l(24, 16), 3).unwrap();
    assert_eq!((g.stride, g.block_size, g.align), (32, 24, 16));
    assert!(g.region.size() >= 96);
}

#[test]
fn fresh_blocks_come_in_address_order_then_lifo() {
    let raw = RawFreeList::new_in(Layout::from_size_align(24, 8).unwrap(), 4, &Heap).unwrap();
    let blocks: [_; 4] = core::array::from_fn(|_| raw.pop().unwrap());
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(b.as_ptr().addr() - blocks[0].as_ptr().addr(), i * 24);
    }
    assert_eq!(raw.pop(), None);
    assert_eq!(raw.free_blocks(), 0);
    let block = |p: core::ptr::NonNull<u8>| Block::from_raw_parts(p, Layout::new::<[u64; 3]>());
    // SAFETY: the blocks were popped above and are not used again until popped again.
    unsafe {
        raw.push(&block(blocks[2])).unwrap();
        raw.push(&block(blocks[0])).unwrap();
    }
    assert_eq!(raw.free_blocks(), 2);
    assert_eq!(raw.pop(), Some(blocks[0]));
    assert_eq!(raw.pop(), Some(blocks[2]));
    assert_eq!(raw.pop(), None);
    // An immediate double free is refused in every build, the list unchanged.
    // SAFETY: blocks[1] is allocated; the second push is refused before touching memory.
    unsafe {
        raw.push(&block(blocks[1])).unwrap();
        assert_eq!(raw.push(&block(blocks[1])), Err(FreeError::DoubleFree));
    }
    assert_eq!(raw.pop(), Some(blocks[1]));
    // Clean up: every block back, then the region.
    for b in blocks {
        // SAFETY: all four blocks are allocated.
        unsafe { raw.push(&block(b)).unwrap() };
    }
    assert_eq!(raw.free_blocks(), 4);
    // SAFETY: the region was allocated by `Heap` with this layout.
    unsafe { alloc_core::Allocator::deallocate_raw(&Heap, raw.region_block()) };
}

#[cfg(any(debug_assertions, feature = "double-free-check"))]
#[test]
fn bitmap_catches_every_double_free_when_checked() {
    let raw = RawFreeList::new_in(Layout::from_size_align(16, 8).unwrap(), 70, &Heap).unwrap();
    let a = raw.pop().unwrap();
    let b = raw.pop().unwrap();
    // Kept allocated, so the list does not restart.
    let _c = raw.pop().unwrap();
    let block = |p: core::ptr::NonNull<u8>| Block::from_raw_parts(p, Layout::new::<[u64; 2]>());
    // SAFETY: both blocks are allocated; later pushes are refused before touching memory.
    unsafe {
        raw.push(&block(a)).unwrap();
        raw.push(&block(b)).unwrap();
        // `a` is free but not the head: only the bitmap sees it.
        const { assert!(super::CHECKED) };
        assert_eq!(raw.push(&block(a)), Err(FreeError::DoubleFree));
    }
    // SAFETY: the region was allocated by `Heap` with this layout.
    unsafe { alloc_core::Allocator::deallocate_raw(&Heap, raw.region_block()) };
}

#[test]
fn the_list_restarts_when_every_block_is_free() {
    let raw = RawFreeList::new_in(Layout::from_size_align(32, 8).unwrap(), 8, &Heap).unwrap();
    let block = |p: core::ptr::NonNull<u8>| Block::from_raw_parts(p, Layout::new::<[u64; 4]>());
    let first: [_; 5] = core::array::from_fn(|_| raw.pop().unwrap());
    // Free in a scrambled order; the last one restarts the list.
    for i in [3, 0, 4, 1, 2] {
        // SAFETY: each block is allocated, given back once.
        unsafe { raw.push(&block(first[i])).unwrap() };
    }
    assert_eq!(raw.free_blocks(), 8);
    // Address order again, from the first block.
    let second: [_; 5] = core::array::from_fn(|_| raw.pop().unwrap());
    assert_eq!(first, second);
    for b in second {
        // SAFETY: each block is allocated, given back once.
        unsafe { raw.push(&block(b)).unwrap() };
    }
    // A double free after a restart is refused in every build.
    // SAFETY: refused before the memory is touched.
    let again = unsafe { raw.push(&block(first[2])) };
    assert_eq!(again, Err(FreeError::NotAllocated));
    // SAFETY: the region was allocated by `Heap` with this layout.
    unsafe { alloc_core::Allocator::deallocate_raw(&Heap, raw.region_block()) };
}

//! `Tlsf`: the conformance kit (plain, owner, with a parent that re-enters), coalescing
//! back to one block, growth in place, alignment, growth from the parent, bad input.

use alloc_core::testing::Conformance;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use alloc_tlsf::{NoParent, Tlsf};
use core::alloc::Layout;
use core::mem::MaybeUninit;
use test_rng::Rng;

fn kit(n: u64) -> Conformance {
    Conformance::new().tests(if cfg!(miri) { 6 } else { n })
}

#[test]
fn it_passes_the_kit_as_an_owner() {
    // A big first chunk: no growth.
    let r = kit(2_000).check_owner(|| Tlsf::new_in(Heap, 1 << 20).unwrap());
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
    // Small chunks: growth from the parent on most sequences.
    let r = kit(2_000).check_owner(|| Tlsf::new_in(Heap, 256).unwrap());
    assert!(r.allocations > 0, "{r:?}");
}

#[test]
fn a_fixed_region_runs_out_and_still_passes() {
    let r = kit(2_000).check_owner(|| Tlsf::new_in(OneChunk::default(), 3000).unwrap());
    assert!(r.failures > 0, "{r:?}");
}

#[test]
fn a_parent_that_reenters() {
    let n = if cfg!(miri) { 8 } else { 10_000 };
    let r = Conformance::new()
        .tests(n)
        .check_owner_reentrant(|reentry| Tlsf::new_in(reentry.wrap(Heap), 256).unwrap());
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn freeing_everything_in_any_order_merges_back_into_one_block() {
    let heap = Tlsf::new_in(OneChunk::default(), 1 << 16).unwrap();
    let whole = heap.free_bytes();
    let mut rng = Rng::new(7);
    for _ in 0..20 {
        let mut live = Vec::new();
        while let Ok(b) = heap.allocate_raw(Layout::from_size_align(rng.range(1..600), 8).unwrap())
        {
            live.push(b);
        }
        assert!(heap.free_bytes() < 1024, "filled up: {}", heap.free_bytes());
        rng.shuffle(&mut live);
        for b in live {
            // SAFETY: every block is currently allocated by `heap`.
            unsafe { heap.deallocate_raw(b) };
        }
        assert_eq!(heap.free_bytes(), whole);
        // One block again: a request of nearly all of it fits (TLSF searches the next size
        // class up, so the exact whole does not).
        let all = heap
            .allocate_raw(Layout::from_size_align(whole / 8 * 7, 8).unwrap())
            .unwrap();
        // SAFETY: `all` is currently allocated by `heap`.
        unsafe { heap.deallocate_raw(all) };
    }
}

#[test]
fn growth_in_place_into_a_free_neighbour() {
    let heap = Tlsf::new_in(Heap, 1 << 16).unwrap();
    let a = heap.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    let b = heap.allocate_raw(Layout::new::<[u8; 500]>()).unwrap();
    let c = heap.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    // SAFETY: all three are currently allocated by `heap`, and each result after them.
    unsafe {
        a.as_ptr().write_bytes(5, 100);
        heap.deallocate_raw(b);
        let grown = heap.reallocate_raw(a, Layout::new::<[u8; 600]>()).unwrap();
        assert_eq!(grown.ptr(), a.ptr(), "grew into the freed neighbour");
        assert_eq!(grown.as_ptr().add(99).read(), 5);
        let shrunk = heap
            .reallocate_raw(grown, Layout::new::<[u8; 40]>())
            .unwrap();
        assert_eq!(shrunk.ptr(), a.ptr());
        let moved = heap
            .reallocate_raw(shrunk, Layout::new::<[u8; 5000]>())
            .unwrap();
        assert_ne!(moved.ptr(), a.ptr(), "blocked by `c`: moved");
        assert_eq!(moved.as_ptr().add(39).read(), 5);
        heap.deallocate_raw(moved);
        heap.deallocate_raw(c);
    }
}

#[test]
fn growth_into_a_free_previous_neighbour() {
    let heap = Tlsf::new_in(Heap, 1 << 16).unwrap();
    let before = heap.free_bytes();
    let a = heap.allocate_raw(Layout::new::<[u8; 500]>()).unwrap();
    let b = heap.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    let c = heap.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    let d = heap.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    // SAFETY: all four are currently allocated by `heap`, and each result after them.
    unsafe {
        for i in 0..100 {
            b.as_ptr().add(i).write(i as u8);
        }
        heap.deallocate_raw(a);
        heap.deallocate_raw(c);
        // `b` cannot grow into `c` alone, but `a`, `b` and `c` together hold 700 bytes:
        // it moves down to where `a` was, its contents with it.
        let grown = heap.reallocate_raw(b, Layout::new::<[u8; 650]>()).unwrap();
        assert_eq!(
            grown.ptr(),
            a.ptr(),
            "moved into the freed previous neighbour"
        );
        assert!(grown.size() >= 650);
        for i in 0..100 {
            assert_eq!(grown.as_ptr().add(i).read(), i as u8, "byte {i}");
        }
        // Too large for the three together: moved elsewhere, contents kept.
        let moved = heap
            .reallocate_raw(grown, Layout::new::<[u8; 5000]>())
            .unwrap();
        assert_ne!(moved.ptr(), a.ptr());
        assert_eq!(moved.as_ptr().add(99).read(), 99);
        heap.deallocate_raw(moved);
        heap.deallocate_raw(d);
    }
    // Nothing lost on the way.
    assert_eq!(heap.free_bytes(), before);
}

#[test]
fn every_alignment_up_to_a_page_and_beyond() {
    let heap = Tlsf::new_in(Heap, 1 << 20).unwrap();
    let before = heap.free_bytes();
    let mut live = Vec::new();
    for shift in 0..=16 {
        let layout = Layout::from_size_align(24, 1 << shift).unwrap();
        let b = heap.allocate_raw(layout).unwrap();
        assert_eq!(b.addr() % layout.align(), 0);
        live.push(b);
    }
    for b in live {
        // SAFETY: every block is currently allocated by `heap`.
        unsafe { heap.deallocate_raw(b) };
    }
    assert_eq!(heap.free_bytes(), before);
}

#[test]
fn an_alignment_larger_than_the_chunk_grows_the_heap_enough() {
    let heap = Tlsf::new_in(Heap, 4096).unwrap();
    for shift in 12..=20 {
        let layout = Layout::from_size_align(100, 1 << shift).unwrap();
        let b = heap.allocate_raw(layout).unwrap();
        assert_eq!(b.addr() % layout.align(), 0);
        // SAFETY: `b` is currently allocated by `heap`.
        unsafe { heap.deallocate_raw(b) };
    }
}

#[test]
fn bad_requests_are_errors() {
    let heap = Tlsf::new_in(Heap, 4096).unwrap();
    let huge = Layout::from_size_align(isize::MAX as usize, 1).unwrap();
    assert_eq!(heap.allocate_raw(huge), Err(AllocatorError::TooLarge));
    let fixed = Tlsf::new();
    assert_eq!(
        fixed.allocate_raw(Layout::new::<u8>()),
        Err(AllocatorError::OutOfMemory)
    );
    let b = heap.allocate_raw(Layout::new::<u64>()).unwrap();
    // SAFETY: `b` is currently allocated by `heap`; it stays so on error.
    let r = unsafe { heap.reallocate_raw(b, huge) };
    assert_eq!(r, Err(AllocatorError::TooLarge));
    // SAFETY: still allocated.
    unsafe { heap.deallocate_raw(b) };
    assert!(matches!(
        Tlsf::new_in(Heap, 0),
        Err(e) if e.kind() == AllocatorError::InvalidArgument
    ));
    let empty = heap
        .allocate_raw(Layout::from_size_align(0, 64).unwrap())
        .unwrap();
    assert!(empty.is_empty() && empty.addr() % 64 == 0);
}

#[test]
#[should_panic(expected = "Tlsf::deallocate_raw")]
fn a_double_free_panics() {
    let heap = Tlsf::new_in(Heap, 4096).unwrap();
    let _keep = heap.allocate_raw(Layout::new::<[u8; 64]>()).unwrap();
    let b = heap.allocate_raw(Layout::new::<[u8; 64]>()).unwrap();
    let _after = heap.allocate_raw(Layout::new::<[u8; 64]>()).unwrap();
    // SAFETY: the first free is correct; the second is the bad input under test, found by
    // the header (free) before anything is touched.
    unsafe {
        heap.deallocate_raw(b);
        heap.deallocate_raw(b);
    }
}

#[test]
#[should_panic(expected = "is not a block of this heap")]
fn a_foreign_block_panics() {
    let heap = Tlsf::new_in(Heap, 4096).unwrap();
    // A block of the stack (nothing to leak when the test panics).
    let mut word = 0u64;
    let foreign = Block::from_raw_parts(
        core::ptr::NonNull::from(&mut word).cast(),
        Layout::new::<u64>(),
    );
    assert!(!heap.owns_block(&foreign));
    // SAFETY: none: the bad input under test, refused before anything is touched.
    unsafe { heap.deallocate_raw(foreign) };
}

#[test]
#[should_panic(expected = "not allocated")]
fn a_pointer_into_the_middle_of_a_block_panics() {
    let heap = Tlsf::new_in(Heap, 4096).unwrap();
    let b = heap.allocate_raw(Layout::new::<[u8; 256]>()).unwrap();
    // SAFETY: 64 bytes into a live block, zeroed first, so no header can be read there.
    let inner = unsafe {
        b.as_ptr().write_bytes(0, 256);
        Block::from_raw_parts(b.ptr().add(64), Layout::new::<u64>())
    };
    // SAFETY: none: the bad input under test.
    unsafe { heap.deallocate_raw(inner) };
}

#[test]
fn chunks_go_back_to_the_parent() {
    let counted = CountingHeap::default();
    {
        let heap = Tlsf::new_in(&counted, 1024).unwrap();
        let mut boxes = Vec::new();
        for i in 0..100 {
            boxes.push(heap.allocate([i as u8; 500]).unwrap());
        }
        assert!(counted.live.get() > 10);
        drop(boxes);
    }
    assert_eq!(counted.live.get(), 0);
}

/// `Heap`, for one request only: a heap over one fixed region that is given back.
#[derive(Default)]
struct OneChunk {
    given: core::cell::Cell<bool>,
}

// SAFETY: forwards to `Heap` (or refuses).
unsafe impl Allocator for OneChunk {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if self.given.replace(true) {
            return Err(AllocatorError::OutOfMemory);
        }
        Heap.allocate_raw(layout)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { Heap.deallocate_raw(block) }
    }
}

#[test]
fn a_static_buffer_serves_until_full() {
    // `add_static` takes `'static` memory: a static buffer (not a leaked box, which leak
    // checkers such as valgrind and Miri would report).
    static mut BUFFER: [MaybeUninit<u8>; 4096] = [MaybeUninit::uninit(); 4096];
    let heap = Tlsf::new();
    let buffer = &raw mut BUFFER;
    // SAFETY: this test is the only code that names `BUFFER`, and it runs once per process,
    // so this is the only reference to it ever made.
    let buffer: &'static mut [MaybeUninit<u8>] = unsafe { &mut *buffer };
    heap.add_static(buffer);
    let mut n = 0;
    while heap.allocate_raw(Layout::new::<[u8; 100]>()).is_ok() {
        n += 1;
    }
    assert!(
        (20..=32).contains(&n),
        "{n} blocks of 112 + 16 bytes in 4 KiB"
    );
}

#[derive(Default)]
struct CountingHeap {
    live: core::cell::Cell<usize>,
}

// SAFETY: forwards to `Heap`.
unsafe impl Allocator for CountingHeap {
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
fn tlsf_is_send_not_sync() {
    static_assertions::assert_impl_all!(Tlsf: Send);
    static_assertions::assert_impl_all!(Tlsf<Heap>: Send);
    static_assertions::assert_not_impl_any!(Tlsf: Sync);
    let _ = NoParent;
}

#[cfg(feature = "allocator-api2-02")]
#[test]
fn collections_on_it() {
    use allocator_api2_02::vec::Vec as AVec;
    let heap = Tlsf::new_in(Heap, 1 << 16).unwrap();
    let mut vs: Vec<AVec<u64, &Tlsf<Heap>>> = Vec::new();
    for i in 0..50 {
        let mut v = AVec::new_in(&heap);
        v.extend(0..(i * 37) as u64);
        vs.push(v);
    }
    for (i, v) in vs.iter().enumerate() {
        assert_eq!(v.len(), i * 37);
    }
}

//! `Pages`: the conformance kit, page rounding, alignment above a page, zeroed pages,
//! reallocation in place and by `mremap`, the allocator-api2 collections.

use alloc_core::testing::Conformance;
use alloc_pages::{Allocator, Pages, api2_02};
use static_assertions::assert_impl_all;

use crate::layout;

assert_impl_all!(Pages: Send, Sync, Copy, Default);

#[test]
fn it_passes_the_kit() {
    // The usual volume natively (10,000 sequences, about a million system calls: a few
    // seconds); under Miri, the kit's own reduced volume over the heap fallback.
    let r = Conformance::new().check(|| Pages);
    assert!(
        r.allocations > 0 && r.reallocations > 0 && r.deallocations > 0,
        "{r:?}"
    );
}

#[test]
fn blocks_are_whole_pages_aligned_to_pages() {
    let page = Pages::page_size();
    assert!(page.is_power_of_two());
    for size in [1, 7, page - 1, page, page + 1, 3 * page + 5] {
        let b = Pages.allocate_raw(layout(size, 1)).unwrap();
        assert_eq!(b.size(), size.next_multiple_of(page), "size {size}");
        assert_eq!(b.addr() % page, 0);
        assert_eq!(b.align(), 1, "the block reports the requested alignment");
        // SAFETY: the whole rounded size is the caller's.
        unsafe { b.as_ptr().add(b.size() - 1).write(1) };
        // SAFETY: currently allocated by `Pages`.
        unsafe { Pages.deallocate_raw(b) };
    }
    assert_eq!(Pages.good_size(layout(1, 1)), page);
    assert_eq!(Pages.good_size(layout(page + 1, 8)), 2 * page);
}

#[test]
fn a_block_given_back_with_the_requested_size_fits() {
    // The contract's "fits": a caller may rebuild the block from the layout it asked for.
    let b = Pages.allocate_raw(layout(100, 8)).unwrap();
    let asked = alloc_pages::Block::from_raw_parts(b.ptr(), layout(100, 8));
    // SAFETY: `asked` fits `b`, currently allocated by `Pages`.
    unsafe { Pages.deallocate_raw(asked) };
}

#[test]
fn alignments_above_a_page_are_served_and_kept_across_reallocation() {
    let page = Pages::page_size();
    for align in [2 * page, 1 << 16, 1 << 20, 1 << 21] {
        let b = Pages.allocate_raw(layout(100, align)).unwrap();
        assert_eq!(b.addr() % align, 0, "align {align}");
        assert_eq!(b.size(), page);
        // SAFETY: valid for `size()` bytes.
        unsafe { b.as_ptr().write_bytes(9, b.size()) };
        // Same page count: in place.
        // SAFETY: currently allocated by `Pages`.
        let same = unsafe { Pages.reallocate_raw(b, layout(page, align)) }.unwrap();
        assert_eq!(same.ptr(), b.ptr());
        // Growth keeps the alignment and the contents.
        // SAFETY: currently allocated by `Pages`.
        let grown = unsafe { Pages.reallocate_raw(same, layout(5 * page, align)) }.unwrap();
        assert_eq!(grown.addr() % align, 0);
        // SAFETY: the first page was copied (or kept).
        assert_eq!(unsafe { grown.as_ptr().add(page - 1).read() }, 9);
        // Shrinking too (in place on unix: the tail is unmapped).
        // SAFETY: currently allocated by `Pages`.
        let shrunk = unsafe { Pages.reallocate_raw(grown, layout(page + 1, align)) }.unwrap();
        assert_eq!((shrunk.addr() % align, shrunk.size()), (0, 2 * page));
        // SAFETY: the first page survived.
        assert_eq!(unsafe { shrunk.as_ptr().read() }, 9);
        // SAFETY: currently allocated by `Pages`.
        unsafe { Pages.deallocate_raw(shrunk) };
    }
}

#[test]
fn zeroed_blocks_are_zero() {
    for size in [1, 5000, if cfg!(miri) { 1 << 16 } else { 1 << 20 }] {
        let b = Pages.allocate_zeroed_raw(layout(size, 8)).unwrap();
        // SAFETY: valid for `size()` initialised bytes.
        let bytes = unsafe { core::slice::from_raw_parts(b.as_ptr(), b.size()) };
        assert!(bytes.iter().all(|&x| x == 0), "size {size}");
        // SAFETY: currently allocated by `Pages`.
        unsafe { Pages.deallocate_raw(b) };
    }
}

#[test]
fn reallocation_keeps_the_contents_from_one_page_to_sixteen_mib_and_back() {
    let page = Pages::page_size();
    let mut b = Pages.allocate_raw(layout(page, 8)).unwrap();
    let stamp = |b: &alloc_pages::Block, len: usize| {
        for i in (0..len).step_by(page) {
            // SAFETY: `i < len <= b.size()`.
            unsafe { b.as_ptr().add(i).write((i / page) as u8) };
        }
    };
    let check = |b: &alloc_pages::Block, len: usize| {
        for i in (0..len).step_by(page) {
            // SAFETY: `i < len <= b.size()`, written by `stamp`.
            assert_eq!(unsafe { b.as_ptr().add(i).read() }, (i / page) as u8);
        }
    };
    stamp(&b, b.size());
    let mut kept = b.size();
    for size in [3 * page, 1 << 20, 16 << 20, 1 << 20, page + 1, page] {
        // SAFETY: currently allocated by `Pages`.
        b = unsafe { Pages.reallocate_raw(b, layout(size, 8)) }.unwrap();
        assert_eq!(b.size(), size.next_multiple_of(page));
        check(&b, kept.min(b.size()));
        stamp(&b, b.size());
        kept = b.size();
    }
    // SAFETY: currently allocated by `Pages`.
    let empty = unsafe { Pages.reallocate_raw(b, layout(0, 8)) }.unwrap();
    assert!(empty.is_empty());
}

#[test]
#[cfg(all(any(target_os = "linux", target_os = "android"), not(miri)))]
fn on_linux_shrinking_is_in_place() {
    let b = Pages.allocate_raw(layout(1 << 20, 8)).unwrap();
    // SAFETY: currently allocated by `Pages`.
    let shrunk = unsafe { Pages.reallocate_raw(b, layout(4096, 8)) }.unwrap();
    assert_eq!(shrunk.ptr(), b.ptr(), "mremap shrinks in place");
    // SAFETY: currently allocated by `Pages`.
    unsafe { Pages.deallocate_raw(shrunk) };
}

#[test]
fn under_allocator_api2_collections() {
    let mut v: api2_02::vec::Vec<u64, Pages> = api2_02::vec::Vec::new_in(Pages);
    v.extend(0..(if cfg!(miri) { 2_000 } else { 300_000 }));
    assert_eq!(v.iter().sum::<u64>(), (0..v.len() as u64).sum::<u64>());
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v[9], 9);
}

//! `Affix`: the conformance kit (plain and re-entrant, with affixes whose `Default` and
//! `Drop` re-enter), affix values that survive reallocation, exact overhead, alignment of
//! the user part and the affixes, ownership.

use alloc_compose::{Affix, AllocatorExt, Counters};
use alloc_core::testing::{Conformance, Reentry};
use alloc_core::{Allocator, AllocatorError, BlockOwner, Heap};
use core::alloc::Layout;
use core::cell::{Cell, RefCell};

use crate::support::{Bump, Pool, kit};

/// A 32-byte-aligned prefix: more alignment than most requests.
#[derive(Debug, Default)]
#[repr(align(32))]
struct Wide(#[allow(dead_code)] u8);

#[test]
fn plain_affixes_pass_the_kit() {
    let r = kit(2_000).check(|| Affix::<_, u64, u32>::new(Heap));
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
    let r = kit(1_000).check(|| Affix::<_, Wide, u8>::new(Heap));
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(1_000).check(|| Affix::<_, (), u16>::new(Heap));
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(1_000).check(|| Affix::<_, u16>::new(Heap));
    assert!(r.allocations > 0, "{r:?}");
}

#[test]
fn over_owners_it_is_an_owner() {
    let r = kit(1_000).check_owner(|| Affix::<_, u64, u8>::new(Bump::new(1 << 16)));
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(1_000).check_owner(|| Affix::<_, u32>::new(Pool::new(256, 16)));
    assert!(r.allocations > 0 && r.failures > 0, "{r:?}");
    let alloc = Affix::<_, u64, u16>::new(Bump::new(4096));
    let mine = alloc.allocate(3u32).unwrap();
    let theirs = Heap.allocate(3u32).unwrap();
    assert!(alloc.owns(&mine));
    assert!(!alloc.owns(&theirs));
}

thread_local! {
    /// The hook the affixes' `Default` and `Drop` call (user code inside the `Affix`).
    static HOOK: RefCell<Option<Reentry>> = const { RefCell::new(None) };
}

fn hook() {
    let reentry = HOOK.with(|h| h.borrow().clone());
    if let Some(r) = reentry {
        r.hook();
    }
}

/// An affix whose construction and drop run the hostile code.
#[derive(Debug)]
struct Hostile(u64);
impl Default for Hostile {
    fn default() -> Self {
        hook();
        Hostile(0x5151)
    }
}
impl Drop for Hostile {
    fn drop(&mut self) {
        assert_eq!(self.0, 0x5151, "an affix was damaged or dropped twice");
        self.0 = 0;
        hook();
    }
}

#[test]
fn inner_allocator_and_affixes_that_reenter() {
    let n = if cfg!(miri) { 8 } else { 10_000 };
    let r = Conformance::new().tests(n).check_reentrant(|reentry| {
        HOOK.with(|h| *h.borrow_mut() = Some(reentry.clone()));
        Affix::<_, Hostile, Hostile>::new(reentry.wrap(Heap))
    });
    assert!(r.reentrant > 0, "{r:?}");
    let r = Conformance::new()
        .tests(n)
        .check_owner_reentrant(|reentry| {
            HOOK.with(|h| *h.borrow_mut() = Some(reentry.clone()));
            Affix::<_, Hostile, u8>::new(reentry.wrap(Bump::new(1 << 16)))
        });
    assert!(r.reentrant > 0, "{r:?}");
    HOOK.with(|h| *h.borrow_mut() = None);
}

#[test]
fn affixes_survive_growth_shrinking_and_a_change_of_alignment() {
    let alloc = Affix::<_, Cell<u64>, Cell<u32>>::new(Heap);
    let block = alloc.allocate_raw(Layout::new::<[u8; 5]>()).unwrap();
    // SAFETY: `block` is currently allocated by `alloc` (for every access below, with the
    // block of the moment).
    unsafe {
        alloc.prefix(&block).set(0xDEAD_BEEF);
        alloc.suffix(&block).set(0xFEED);
        block.as_ptr().write_bytes(7, 5);
    }
    let mut cur = block;
    for layout in [
        Layout::from_size_align(3000, 1).unwrap(),
        Layout::from_size_align(2, 1).unwrap(),
        Layout::from_size_align(100, 64).unwrap(),
        Layout::from_size_align(40, 4096).unwrap(),
        Layout::from_size_align(2, 2).unwrap(),
    ] {
        // SAFETY: `cur` is currently allocated by `alloc`.
        cur = unsafe { alloc.reallocate_raw(cur, layout) }.unwrap();
        assert_eq!(cur.addr() % layout.align(), 0);
        // SAFETY: as above.
        unsafe {
            assert_eq!(alloc.prefix(&cur).get(), 0xDEAD_BEEF);
            assert_eq!(alloc.suffix(&cur).get(), 0xFEED);
            assert_eq!(cur.as_ptr().read(), 7);
            assert_eq!(alloc.prefix_ptr(&cur).as_ptr().addr() % 8, 0);
            assert_eq!(alloc.suffix_ptr(&cur).as_ptr().addr() % 4, 0);
        }
    }
    // SAFETY: `cur` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(cur) };
}

/// Counts its drops.
struct Counted<'a>(&'a Cell<usize>);

#[test]
fn each_affix_is_dropped_once_on_deallocation_and_none_on_a_move() {
    let drops = Cell::new(0);
    // Counted has no `Default`: write it over the unit-like default `Option::None`.
    let alloc = Affix::<_, Option<Counted<'_>>>::new(Heap);
    let a = alloc.allocate_raw(Layout::new::<[u16; 4]>()).unwrap();
    // SAFETY: `a` is currently allocated by `alloc`, and no reference to its prefix lives.
    unsafe { *alloc.prefix_ptr(&a).as_ptr() = Some(Counted(&drops)) };
    // SAFETY: as above.
    let moved = unsafe { alloc.reallocate_raw(a, Layout::from_size_align(64, 128).unwrap()) };
    let moved = moved.unwrap();
    assert_eq!(drops.get(), 0);
    // SAFETY: `moved` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(moved) };
    assert_eq!(drops.get(), 1);
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn the_overhead_is_the_affixes_and_padding_exactly() {
    let counted = Heap.proxy(Counters::new());
    let alloc = Affix::<_, u32, u16>::new(&counted);
    let block = alloc.allocate_raw(Layout::new::<[u8; 3]>()).unwrap();
    // 4 (prefix) + 3 (user) + 1 (padding to the suffix's alignment) + 2 (suffix).
    assert_eq!(counted.logger().counts().bytes_live, 10);
    assert_eq!(alloc.overhead(Layout::new::<[u8; 3]>()), 7);
    assert_eq!(
        block.size(),
        4,
        "the request rounded up to the suffix's alignment"
    );
    // SAFETY: `block` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(block) };
    // No affixes: nothing added, and the caller sees the inner block.
    let none = Affix::<_>::new(&counted);
    assert_eq!(none.overhead(Layout::new::<[u8; 3]>()), 0);
    let b = none.allocate(1u8).unwrap();
    assert_eq!(counted.logger().counts().bytes_live, 1);
    drop(b);
    assert_eq!(counted.logger().counts().bytes_live, 0);
}

#[test]
fn overflowing_sizes_are_size_overflow() {
    let alloc = Affix::<_, u64, u64>::new(Heap);
    let huge = Layout::from_size_align(isize::MAX as usize - 4, 1).unwrap();
    assert_eq!(alloc.allocate_raw(huge), Err(AllocatorError::SizeOverflow));
    let b = alloc.allocate_raw(Layout::new::<u8>()).unwrap();
    // SAFETY: `b` is currently allocated by `alloc`; on error it stays so.
    let grown = unsafe { alloc.reallocate_raw(b, huge) };
    assert_eq!(grown, Err(AllocatorError::SizeOverflow));
    // SAFETY: `b` is still allocated.
    unsafe { alloc.deallocate_raw(b) };
}

#[cfg(feature = "allocator-api2-02")]
#[test]
fn a_vec_with_a_header_per_block() {
    use allocator_api2_02::vec::Vec;
    let alloc = Affix::<_, u64, u64>::new(Heap);
    let mut v: Vec<u32, _> = Vec::new_in(&alloc);
    v.extend(0..1000);
    assert_eq!(v.iter().sum::<u32>(), 499_500);
}

#[test]
fn affix_is_send_and_sync_when_its_parts_are() {
    static_assertions::assert_impl_all!(Affix<Heap, u64, u32>: Send, Sync);
    static_assertions::assert_not_impl_any!(Affix<Heap, Cell<u64>>: Sync);
    static_assertions::assert_not_impl_any!(Affix<Heap, std::rc::Rc<u8>>: Send, Sync);
}

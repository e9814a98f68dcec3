//! `Send`/`Sync` of every type, checked at compile time, and moving a `Scoped`.

use alloc_core::{Allocator, Heap};
use alloc_scoped::{Buffer, Scope, Scoped};
use core::alloc::Layout;
use core::marker::PhantomData;
use static_assertions::{assert_impl_all, assert_not_impl_any};

/// A parent that is neither `Send` nor `Sync`: the global heap through a raw-pointer
/// marker.
struct LocalHeap(PhantomData<*const ()>);

// SAFETY: forwards to `Heap`, which keeps the contract.
unsafe impl Allocator for LocalHeap {
    fn allocate_raw(
        &self,
        layout: Layout,
    ) -> Result<alloc_core::Block, alloc_core::AllocatorError> {
        Heap.allocate_raw(layout)
    }
    unsafe fn deallocate_raw(&self, block: alloc_core::Block) {
        // SAFETY: forwarded from the caller.
        unsafe { Heap.deallocate_raw(block) }
    }
}

assert_impl_all!(Scoped: Send);
assert_impl_all!(Scoped<Heap>: Send);
assert_impl_all!(Scoped<Buffer<'static>>: Send);
assert_not_impl_any!(Scoped: Sync);
assert_not_impl_any!(Scoped<Buffer<'static>>: Sync);
// `&Scoped` is not `Send` (Scoped is not `Sync`), so neither is a Scoped inside one.
assert_not_impl_any!(Scoped<&'static Scoped>: Send, Sync);
// A parent that is not `Send` makes the `Scoped` not `Send`.
assert_not_impl_any!(Scoped<LocalHeap>: Send, Sync);
assert_not_impl_any!(Scope<'static>: Send, Sync);
assert_impl_all!(Buffer<'static>: Send);
assert_not_impl_any!(Buffer<'static>: Sync);

/// The parent of the `Send` check works as a parent.
#[test]
fn a_local_parent_works() {
    let alloc = Scoped::new_in(64, LocalHeap(PhantomData)).unwrap();
    assert_eq!(*alloc.allocate(3u8).unwrap(), 3);
}

#[test]
fn a_scoped_can_be_sent_to_another_thread() {
    let alloc = Scoped::new(256).unwrap();
    let used = std::thread::spawn(move || {
        let v = alloc.allocate([1u32; 8]).unwrap();
        assert_eq!(v.iter().sum::<u32>(), 8);
        drop(v);
        alloc.used()
    })
    .join()
    .unwrap();
    assert_eq!(used, 0);
}

#[test]
fn moving_a_scoped_keeps_its_blocks_valid() {
    let alloc = Scoped::new(256).unwrap();
    let block = alloc
        .allocate_raw(core::alloc::Layout::new::<u64>())
        .unwrap();
    // SAFETY: `block` is valid for 8 bytes, aligned for `u64`.
    unsafe { block.as_ptr().cast::<u64>().write(0xdead_beef) };
    let moved = Box::new(alloc);
    // SAFETY: moving the allocator does not invalidate its blocks (the buffer is in the
    // heap, not in the `Scoped`).
    assert_eq!(unsafe { block.as_ptr().cast::<u64>().read() }, 0xdead_beef);
    // SAFETY: `block` is the most recent block of `moved`.
    unsafe { moved.deallocate_raw(block) };
    assert_eq!(moved.used(), 0);
}

#[test]
fn debug_output_shows_the_state() {
    let alloc = Scoped::new(64).unwrap();
    let _b = alloc.allocate(1u32).unwrap();
    assert_eq!(
        format!("{alloc:?}"),
        "Scoped { capacity: 64, used: 4, busy: false }"
    );
    alloc
        .scope(|s| {
            assert_eq!(
                format!("{s:?}"),
                "Scope { capacity: 60, used: 0, busy: false }"
            );
            assert_eq!(
                format!("{alloc:?}"),
                "Scoped { capacity: 64, used: 4, busy: true }"
            );
        })
        .unwrap();
    let mut memory = [core::mem::MaybeUninit::uninit(); 8];
    assert_eq!(
        format!("{:?}", Buffer::new(&mut memory)),
        "Buffer { capacity: 8, taken: false }"
    );
}

// The shared arena is `Sync` when its parent is, and `Send` when its parent is.
assert_impl_all!(alloc_scoped::SharedArena: Send, Sync);
assert_not_impl_any!(alloc_scoped::SharedArena<LocalHeap>: Send, Sync);
assert_impl_all!(alloc_scoped::Checkpoint: Send, Sync, Copy);

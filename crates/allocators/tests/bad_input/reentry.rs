//! Rows of the bad-input matrix about code that runs inside the allocators' calls, and
//! about descriptions that cannot exist: user code re-entering the allocator, and blocks of
//! 2^58 bytes or more.

use super::{layout, panic_message, pool};
use allocators::AllocatorError::OutOfMemory;
use allocators::{
    Allocator, AllocatorExt, AllocatorList, Block, Bucketizer, Event, FnLogger, Guard, Heap,
    Locked, Null, Proxy,
};
use core::alloc::Layout;

/// User code (an inner allocator, a parent, a logger, a factory, a callback) that uses the
/// very composite in the middle of the call: works for every composite but `Locked`, whose
/// non-re-entrant lock turns it into a clear panic. The kit's re-entrancy mode runs the
/// same over every composite at volume; this row checks one case of each answer and that
/// the allocators serve afterwards.
#[test]
fn user_code_re_enters_the_allocator() {
    use allocators::testing::{Op, Reentry, run_ops_owner_reentrant, run_ops_reentrant};

    let alloc = |size| Op::Alloc {
        size,
        align_log2: 3,
        zeroed: false,
    };
    let ops = [
        alloc(24),
        alloc(200),
        Op::Free { index: 0 },
        Op::Realloc {
            index: 0,
            size: 300,
            align_log2: 3,
        },
    ];
    let hostile = [
        alloc(16),
        alloc(40),
        Op::Free { index: 1 },
        alloc(8),
        Op::Free { index: 0 },
        alloc(64),
    ];

    // Works: the Guard (inner and table parent hostile), a list of hostile pools behind a
    // fallback, a proxy whose logger re-enters.
    let reentry = Reentry::new();
    let guard = Guard::new_in(reentry.wrap(pool()), reentry.wrap(Heap));
    let r = run_ops_owner_reentrant(&guard, &reentry, &ops, &hostile).unwrap();
    assert!(r.reentrant > 0 && guard.live_blocks() == 0, "{r:?}");
    assert!(guard.allocate(1u8).is_ok());

    let r2 = reentry.clone();
    let list = AllocatorList::new(move || Ok(r2.wrap(pool()))).with_fallback(reentry.wrap(Heap));
    let r = run_ops_reentrant(&list, &reentry, &ops, &hostile).unwrap();
    assert!(r.reentrant > 0, "{r:?}");
    assert!(list.allocate(1u8).is_ok());

    let r3 = reentry.clone();
    let proxy = Proxy::new(pool(), FnLogger(move |_: &Event| r3.hook()));
    let r = run_ops_reentrant(&proxy, &reentry, &ops, &hostile).unwrap();
    assert!(r.reentrant > 0, "{r:?}");
    assert!(proxy.allocate(1u8).is_ok());

    // `Locked`: a clear panic, the lock released, the allocator usable afterwards.
    let locked = Locked::new(reentry.wrap(pool()));
    let v = run_ops_reentrant(&locked, &reentry, &ops, &hostile).unwrap_err();
    assert!(v.message.contains("Locked: re-entrant call"), "{v}");
    drop(reentry);
    let mut locked = locked;
    let b = locked.allocate_raw(layout(8, 8)).unwrap();
    // SAFETY: allocated just above.
    unsafe { locked.deallocate_raw(b) };
    let _ = locked.get_mut();
}

#[test]
fn a_block_of_2_pow_58_bytes_or_more() {
    let huge = Layout::from_size_align(1usize << 58, 1).unwrap();
    let message = panic_message(|| {
        let _ = Block::from_raw_parts(core::ptr::NonNull::dangling(), huge);
    });
    assert!(
        message.contains("a block cannot be 2^58 bytes"),
        "{message}"
    );
    // Class sizes near `usize::MAX` build a correct bucketizer, and it still serves.
    let top = 1usize << (usize::BITS - 1);
    let b = Bucketizer::<_, 3>::with_sizes([64, top, top + 1], |_| Ok(Null)).unwrap();
    assert_eq!(b.class_of(top + 1), Some(2));
    assert_eq!(b.allocate_raw(layout(8, 8)), Err(OutOfMemory));
}

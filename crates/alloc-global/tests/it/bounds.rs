//! Auto traits: `Locked<A>` is `Send + Sync` exactly when `A: Send`; `GlobalAllocator<A>`
//! is `Sync` when `A: Send + Sync`.

use crate::pool::SizeClassPool;
use alloc_global::{GlobalAllocator, Locked, StdMutex};
use static_assertions::{assert_impl_all, assert_not_impl_any};
use std::alloc::System;
use std::rc::Rc;

type Pool = SizeClassPool<'static, System>;

// The pool itself is `Send` but not `Sync`: `Locked` is what makes it shareable.
assert_impl_all!(Pool: Send);
assert_not_impl_any!(Pool: Sync);
assert_impl_all!(Locked<Pool>: Send, Sync);
assert_impl_all!(Locked<Pool, StdMutex>: Send, Sync);

// An allocator tied to its thread (an `Rc` inside) stays there, locked or not.
struct ThreadBound(#[allow(dead_code)] Rc<()>);
assert_not_impl_any!(Locked<ThreadBound>: Send, Sync);
assert_not_impl_any!(Locked<ThreadBound, StdMutex>: Send, Sync);

// The global adapter needs a thread-safe allocator to be a `static`.
assert_impl_all!(GlobalAllocator<Locked<Pool>>: Send, Sync);
assert_impl_all!(GlobalAllocator<System>: Send, Sync);
assert_not_impl_any!(GlobalAllocator<Pool>: Sync);
assert_not_impl_any!(GlobalAllocator<ThreadBound>: Send, Sync);

#[test]
fn lock_adds_at_most_two_words() {
    use core::mem::size_of;
    // Release builds: one byte for the spin lock, padded; debug builds with `std` add the
    // owner word used to detect re-entrant calls.
    let overhead = size_of::<Locked<Pool>>() - size_of::<Pool>();
    assert!(overhead <= 2 * size_of::<usize>(), "{overhead}");
}

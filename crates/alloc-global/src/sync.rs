//! The atomics of the lock-free code: `core`'s, or `loom`'s under `--cfg loom`, so that the
//! model checker sees every access of [`SharedFreeList`](crate::SharedFreeList).
//!
//! Only code that needs no `const` constructor uses this module (loom's atomics are not
//! `const`-constructible); the size classes keep `core`'s atomics and their spin locks,
//! which loom does not model.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicU32, AtomicU64};

//! A crate that depends on one leaf of the workspace, `alloc-freelist`, and on
//! `allocator-api2` 0.2: nothing else. It proves that a user who wants a free list under
//! their collections needs neither the facade nor any other leaf. Its dependency graph
//! (`cargo tree -p freelist-only -e normal`) shows `alloc-freelist`, `alloc-core` and
//! `allocator-api2` only.
//!
//! ```
//! use allocator_api2_02::vec::Vec;
//! use alloc_freelist::FreeList;
//!
//! let pool = FreeList::new(1024, 64).unwrap();
//! let mut v: Vec<u64, FreeList> = Vec::new_in(pool); // by value: the Vec owns its pool
//! v.extend(0..100);
//! assert_eq!(v.iter().sum::<u64>(), 4950);
//! ```
#![no_std]

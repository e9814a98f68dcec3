//! Building blocks that chain allocators: `Null`, `Fallback`, `Proxy`.
//! (Filled in by the alloc-compose issue.)
#![no_std]

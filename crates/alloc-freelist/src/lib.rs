//! `FreeList`: a list of free fixed-size blocks, O(1) to allocate and free.
//! (Filled in by the alloc-freelist issue.)
#![no_std]

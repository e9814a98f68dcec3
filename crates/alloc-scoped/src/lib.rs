//! `Scoped`: a bump allocator for temporary allocations in tight loops, with nested
//! scopes whose values cannot escape them. (Filled in by the alloc-scoped issue.)
#![no_std]

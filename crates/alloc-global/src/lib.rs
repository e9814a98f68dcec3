//! Sharing allocators across threads (`Locked`) and installing one as the
//! `#[global_allocator]`. (Filled in by the building-blocks issue.)
#![no_std]

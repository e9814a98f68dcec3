//! Decoding fuzzer bytes into the conformance kit's operations.
//!
//! Every fuzz target reads its set-up (which allocator, how big) from the front of the
//! input with [`Input`], then the rest as a sequence of [`Op`]s with [`Input::ops`], and
//! runs them through `alloc_core::testing::run_ops` / `run_ops_owner`, which check the
//! allocator contract at every step (alignment, sizes, no overlap, contents kept across
//! reallocation, ownership answers). A violation, a panic, or a sanitizer report is a
//! finding.
//!
//! The decoding is total: any byte string is a valid input (missing bytes read as zero),
//! and frees or reallocations pick a live block modulo the number of live blocks, as the
//! kit's own generator does, so every input is a valid sequence of requests.
//!
//! A finding is replayed as a normal `#[test]` in the crate concerned: print the decoded
//! ops with `cargo +nightly fuzz fmt <target> <artifact>` (the targets' `Debug` output)
//! and paste them.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use alloc_core::testing::{Op, Report, Violation};
use core::alloc::Layout;

pub use alloc_core::testing::{run_ops, run_ops_owner};

/// The most operations one input runs (keeps each run short and memory bounded: at most
/// this many live blocks of at most 64 KiB).
pub const MAX_OPS: usize = 256;

/// A huge size no allocator can serve, yet a valid `Layout` size for every alignment the
/// decoder produces (a multiple of 64 KiB, at most `isize::MAX`).
pub const HUGE: usize = (isize::MAX as usize) & !0xFFFF;

/// A cursor over the fuzzer's bytes; reads past the end give zeroes.
#[derive(Debug)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the fuzzer's input.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte (zero when exhausted).
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A size: mostly small, up to 64 KiB, sometimes zero or [`HUGE`].
    pub fn size(&mut self, class: u8) -> usize {
        let raw = usize::from(self.u16());
        match class % 8 {
            0 => 0,
            1..=3 => raw % 65,
            4 => raw % 513,
            5 => raw % 4097,
            6 => raw % 65_537,
            _ => HUGE,
        }
    }

    /// An alignment, as a power of two: mostly 1 to 8, sometimes up to 64 KiB.
    pub fn align_log2(&mut self) -> u8 {
        let b = self.byte();
        match b {
            0..=191 => b % 4,
            192..=247 => 4 + b % 9,
            _ => 13 + b % 4,
        }
    }

    /// A layout made of [`size`](Self::size) and [`align_log2`](Self::align_log2).
    pub fn layout(&mut self) -> Layout {
        let class = self.byte();
        let size = self.size(class);
        let align = 1usize << self.align_log2();
        Layout::from_size_align(size, align).expect("decoded layouts are valid")
    }

    /// One operation (the tag byte chooses the kind, the size class and `zeroed`).
    pub fn op(&mut self) -> Op {
        let tag = self.byte();
        match tag % 8 {
            0..=3 => {
                let size = self.size(tag >> 3);
                Op::Alloc {
                    size,
                    align_log2: self.align_log2(),
                    zeroed: tag & 0x80 != 0,
                }
            }
            4 | 5 => Op::Free {
                index: usize::from(self.byte()),
            },
            _ => {
                let index = usize::from(self.byte());
                let size = self.size(tag >> 3);
                Op::Realloc {
                    index,
                    size,
                    align_log2: self.align_log2(),
                }
            }
        }
    }

    /// The remaining bytes as operations (at most [`MAX_OPS`]).
    pub fn ops(&mut self) -> Vec<Op> {
        let mut ops = Vec::new();
        while !self.is_empty() && ops.len() < MAX_OPS {
            ops.push(self.op());
        }
        ops
    }

    /// Up to `n` operations.
    pub fn ops_up_to(&mut self, n: usize) -> Vec<Op> {
        let mut ops = Vec::new();
        while !self.is_empty() && ops.len() < n.min(MAX_OPS) {
            ops.push(self.op());
        }
        ops
    }
}

/// Panics with the violation and the sequence: the fuzzer records the input.
pub fn check(what: &str, ops: &[Op], result: Result<Report, Violation>) -> Report {
    match result {
        Ok(report) => report,
        Err(v) => panic!("{what}: {v}\nops: {ops:#?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_decodes_to_valid_layouts() {
        for seed in 0..=255u8 {
            let data: Vec<u8> = (0..64)
                .map(|i: u8| i.wrapping_mul(seed).wrapping_add(seed))
                .collect();
            let mut input = Input::new(&data);
            let ops = input.ops();
            assert!(!ops.is_empty());
            // The kit builds a `Layout` from each op: it must not panic.
            run_ops(&alloc_core::Heap, &ops).unwrap();
        }
    }
}

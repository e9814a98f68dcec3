//! The conformance kit: property tests that any [`Allocator`] can be run through.
//!
//! The kit generates random sequences of operations ([`Op`]: allocate, reallocate,
//! deallocate) with quickcheck, runs them on a fresh allocator, and checks every step
//! against a model of the live blocks:
//!
//! - every block is aligned as requested, at least as large as requested, and reports the
//!   requested alignment;
//! - live blocks never overlap (checked by address, and by filling each block with its own
//!   pattern and checking the pattern before it is freed or moved);
//! - contents survive reallocation up to the smaller size, and a failed reallocation
//!   leaves the block intact;
//! - zero-size requests give well-aligned empty blocks;
//! - for a [`BlockOwner`], `owns_block` is true for every live block and false for memory
//!   the allocator never handed out;
//! - every block can be given back.
//!
//! On failure the sequence is shrunk to a minimal one, and the panic message shows it.
//! Failed requests are allowed (an allocator may run out of memory); the [`Report`] counts
//! them so a test can insist on successes.
//!
//! # Examples
//!
//! ```
//! use alloc_core::{testing::Conformance, Heap};
//!
//! Conformance::new().check(|| Heap);
//! ```
//!
//! Custom set-ups (an allocator inside a scope, a borrowed parent) use
//! [`Conformance::check_with`] and [`run_ops`] / [`run_ops_owner`]:
//!
//! ```
//! use alloc_core::{testing::{run_ops, Conformance}, Heap};
//!
//! let heap = &Heap;
//! Conformance::new().tests(50).check_with(|ops| run_ops(&heap, ops));
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::fmt;

use quickcheck::{Arbitrary, Gen};

use crate::{Allocator, Block, BlockOwner};

/// One step of a generated sequence.
///
/// Indices pick a live block modulo the number of live blocks (an index into nothing is a
/// no-op), so every sequence, and every shrunk sequence, is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Allocate `size` bytes aligned to `1 << align_log2` (zeroed if `zeroed`).
    Alloc {
        /// Requested size in bytes.
        size: usize,
        /// Requested alignment, as a power of two.
        align_log2: u8,
        /// Whether to use `allocate_zeroed_raw` (and check the zeroes).
        zeroed: bool,
    },
    /// Deallocate the live block at `index % live`.
    Free {
        /// Which live block.
        index: usize,
    },
    /// Reallocate the live block at `index % live` to `size` bytes aligned to
    /// `1 << align_log2`.
    Realloc {
        /// Which live block.
        index: usize,
        /// New size in bytes.
        size: usize,
        /// New alignment, as a power of two.
        align_log2: u8,
    },
}

fn arbitrary_size(g: &mut Gen) -> usize {
    match u8::arbitrary(g) % 20 {
        0 => 0,
        1..=13 => usize::arbitrary(g) % 65,
        14..=17 => 65 + usize::arbitrary(g) % 448,
        _ => 513 + usize::arbitrary(g) % 3584,
    }
}

fn arbitrary_align_log2(g: &mut Gen) -> u8 {
    match u8::arbitrary(g) % 16 {
        0..=11 => u8::arbitrary(g) % 4,
        12..=14 => 4 + u8::arbitrary(g) % 3,
        // Rarely a page-or-more alignment, which many allocators refuse.
        _ => 12,
    }
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 10 {
            0..=4 => Op::Alloc {
                size: arbitrary_size(g),
                align_log2: arbitrary_align_log2(g),
                zeroed: u8::arbitrary(g) % 4 == 0,
            },
            5..=7 => Op::Free {
                index: usize::arbitrary(g),
            },
            _ => Op::Realloc {
                index: usize::arbitrary(g),
                size: arbitrary_size(g),
                align_log2: if bool::arbitrary(g) {
                    0
                } else {
                    arbitrary_align_log2(g)
                },
            },
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        match *self {
            Op::Alloc {
                size,
                align_log2,
                zeroed,
            } => Box::new(
                size.shrink()
                    .map(move |size| Op::Alloc {
                        size,
                        align_log2,
                        zeroed,
                    })
                    .chain(align_log2.shrink().map(move |align_log2| Op::Alloc {
                        size,
                        align_log2,
                        zeroed,
                    })),
            ),
            Op::Free { index } => Box::new(index.shrink().map(|index| Op::Free { index })),
            Op::Realloc {
                index,
                size,
                align_log2,
            } => Box::new(
                // First the simpler operation: an allocation of the same layout needs no
                // live block. Without it, a sequence whose failure comes from reallocating
                // an empty block (in effect, an allocation) cannot shrink below it.
                core::iter::once(Op::Alloc {
                    size,
                    align_log2,
                    zeroed: false,
                })
                .chain(index.shrink().map(move |index| Op::Realloc {
                    index,
                    size,
                    align_log2,
                }))
                .chain(size.shrink().map(move |size| Op::Realloc {
                    index,
                    size,
                    align_log2,
                }))
                .chain(align_log2.shrink().map(move |align_log2| Op::Realloc {
                    index,
                    size,
                    align_log2,
                })),
            ),
        }
    }
}

/// What a run did: how many requests succeeded and failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Successful allocations (including zero-size ones).
    pub allocations: usize,
    /// Successful reallocations.
    pub reallocations: usize,
    /// Deallocations (including the ones at the end of the run).
    pub deallocations: usize,
    /// Requests (allocations or reallocations) that returned an error.
    pub failures: usize,
}

/// A broken promise: which step of the sequence, and what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Index of the operation in the sequence (`ops.len()` for the final clean-up).
    pub step: usize,
    /// What went wrong, in words.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {}: {}", self.step, self.message)
    }
}

impl core::error::Error for Violation {}

/// A live block in the model: the block, the size that was requested, and the byte it is
/// filled with.
struct Live {
    block: Block,
    requested: usize,
    fill: u8,
}

/// Runs `ops` on `alloc`, checking the allocator contract at each step, then gives every
/// live block back. See the [module docs](self) for what is checked.
///
/// # Errors
///
/// The first [`Violation`] found.
pub fn run_ops<A: Allocator + ?Sized>(alloc: &A, ops: &[Op]) -> Result<Report, Violation> {
    run(alloc, ops, None)
}

/// As [`run_ops`], and also checks that `owns_block` is true for every live block and
/// false for memory the allocator never handed out.
///
/// # Errors
///
/// The first [`Violation`] found.
pub fn run_ops_owner<A: BlockOwner + ?Sized>(alloc: &A, ops: &[Op]) -> Result<Report, Violation> {
    run(alloc, ops, Some(&|b: &Block| alloc.owns_block(b)))
}

fn run<A: Allocator + ?Sized>(
    alloc: &A,
    ops: &[Op],
    owns: Option<&dyn Fn(&Block) -> bool>,
) -> Result<Report, Violation> {
    let mut live: Vec<Live> = Vec::new();
    let mut report = Report::default();
    let mut next_fill: u8 = 1;
    // Memory the allocator never handed out: owners must disclaim it.
    let mut foreign = [0u64; 4];
    let foreign_block = Block::from_raw_parts(
        core::ptr::NonNull::from(&mut foreign).cast(),
        Layout::new::<[u64; 4]>(),
    );

    for (step, op) in ops.iter().enumerate() {
        let fail = |message: String| Violation { step, message };
        match *op {
            Op::Alloc {
                size,
                align_log2,
                zeroed,
            } => {
                let layout = layout(size, align_log2);
                let result = if zeroed {
                    alloc.allocate_zeroed_raw(layout)
                } else {
                    alloc.allocate_raw(layout)
                };
                match result {
                    Ok(block) => {
                        check_block(&block, layout).map_err(fail)?;
                        if zeroed {
                            // SAFETY: the block is valid for reads of its size (contract).
                            let bytes = unsafe { bytes_of(&block) };
                            if let Err(i) = check_fill(bytes, 0) {
                                return Err(fail(format!(
                                    "allocate_zeroed_raw({layout:?}) returned a block whose byte {i} is {:#x}",
                                    bytes[i]
                                )));
                            }
                        }
                        check_disjoint(&block, &live).map_err(fail)?;
                        let fill = next_fill;
                        next_fill = next_fill.wrapping_add(1).max(1);
                        // SAFETY: the block is valid for writes of its size (contract).
                        unsafe { fill_block(&block, fill) };
                        live.push(Live {
                            block,
                            requested: size,
                            fill,
                        });
                        report.allocations += 1;
                    }
                    Err(_) => report.failures += 1,
                }
            }
            Op::Free { index } => {
                if live.is_empty() {
                    continue;
                }
                let entry = live.swap_remove(index % live.len());
                check_contents(&entry, entry.block.size()).map_err(fail)?;
                // SAFETY: the block is live in the model, hence currently allocated.
                unsafe { alloc.deallocate_raw(entry.block) };
                report.deallocations += 1;
            }
            Op::Realloc {
                index,
                size,
                align_log2,
            } => {
                if live.is_empty() {
                    continue;
                }
                let i = index % live.len();
                let new_layout = layout(size, align_log2);
                let old = live.swap_remove(i);
                check_contents(&old, old.block.size()).map_err(fail)?;
                // SAFETY: the block is live in the model, hence currently allocated.
                match unsafe { alloc.reallocate_raw(old.block, new_layout) } {
                    Ok(block) => {
                        check_block(&block, new_layout).map_err(fail)?;
                        let kept = old.block.size().min(size);
                        let moved = Live {
                            block,
                            requested: size,
                            fill: old.fill,
                        };
                        check_contents(&moved, kept).map_err(|m| {
                            fail(format!(
                                "contents lost by reallocate_raw to {new_layout:?}: {m}"
                            ))
                        })?;
                        check_disjoint(&block, &live).map_err(fail)?;
                        // SAFETY: the block is valid for writes of its size (contract).
                        unsafe { fill_block(&block, moved.fill) };
                        live.push(moved);
                        report.reallocations += 1;
                    }
                    Err(_) => {
                        check_contents(&old, old.block.size()).map_err(|m| {
                            fail(format!("a failed reallocate_raw changed the block: {m}"))
                        })?;
                        live.push(old);
                        report.failures += 1;
                    }
                }
            }
        }
        if let Some(owns) = owns {
            for entry in live.iter().filter(|e| !e.block.is_empty()) {
                if !owns(&entry.block) {
                    return Err(fail(format!(
                        "owns_block is false for live block {:?}",
                        entry.block
                    )));
                }
            }
            if owns(&foreign_block) {
                return Err(fail(String::from(
                    "owns_block is true for memory the allocator never handed out",
                )));
            }
        }
    }

    let step = ops.len();
    for entry in live.drain(..) {
        check_contents(&entry, entry.block.size())
            .map_err(|message| Violation { step, message })?;
        // SAFETY: the block is live in the model, hence currently allocated.
        unsafe { alloc.deallocate_raw(entry.block) };
        report.deallocations += 1;
    }
    Ok(report)
}

fn layout(size: usize, align_log2: u8) -> Layout {
    Layout::from_size_align(size, 1 << align_log2).expect("generated layouts are valid")
}

fn check_block(block: &Block, layout: Layout) -> Result<(), String> {
    if block.size() < layout.size() {
        return Err(format!(
            "block {block:?} is smaller than the requested {layout:?}"
        ));
    }
    if block.align() != layout.align() {
        return Err(format!(
            "block {block:?} does not report the requested {layout:?}"
        ));
    }
    if block.addr() % layout.align() != 0 {
        return Err(format!(
            "block {block:?} is not aligned as requested by {layout:?}"
        ));
    }
    Ok(())
}

fn check_disjoint(block: &Block, live: &[Live]) -> Result<(), String> {
    if block.is_empty() {
        return Ok(());
    }
    let (start, end) = (block.addr(), block.addr() + block.size());
    for other in live.iter().filter(|e| !e.block.is_empty()) {
        let (o_start, o_end) = (other.block.addr(), other.block.addr() + other.block.size());
        if start < o_end && o_start < end {
            return Err(format!(
                "block {block:?} overlaps live block {:?}",
                other.block
            ));
        }
    }
    Ok(())
}

/// Checks that the first `len` bytes of the block still hold its fill pattern.
fn check_contents(entry: &Live, len: usize) -> Result<(), String> {
    // SAFETY: the block is live, valid for reads of its size, which is at least `len`
    // (callers pass at most the block's size) and was fully written by `fill_block`.
    let bytes = unsafe { &bytes_of(&entry.block)[..len] };
    match check_fill(bytes, entry.fill) {
        Ok(()) => Ok(()),
        Err(i) => Err(format!(
            "byte {i} of block {:?} (requested {} bytes) is {:#x}, expected {:#x}: \
             another block overlaps it, or the allocator wrote into it",
            entry.block, entry.requested, bytes[i], entry.fill
        )),
    }
}

/// Checks that every byte is `fill`; the error is the index of the first that is not.
fn check_fill(bytes: &[u8], fill: u8) -> Result<(), usize> {
    // Compare whole chunks first (a `memcmp`, fast even under Miri), then find the byte.
    let pattern = [fill; 256];
    if bytes
        .chunks(pattern.len())
        .all(|chunk| chunk == &pattern[..chunk.len()])
    {
        return Ok(());
    }
    Err(bytes.iter().position(|&b| b != fill).unwrap_or(0))
}

/// # Safety
///
/// `block` is valid for reads of `block.size()` initialised bytes.
unsafe fn bytes_of(block: &Block) -> &[u8] {
    // SAFETY: forwarded from the caller.
    unsafe { core::slice::from_raw_parts(block.as_ptr(), block.size()) }
}

/// # Safety
///
/// `block` is valid for writes of `block.size()` bytes.
unsafe fn fill_block(block: &Block, fill: u8) {
    // SAFETY: forwarded from the caller.
    unsafe { block.as_ptr().write_bytes(fill, block.size()) }
}

/// A failing sequence, shrunk to a minimal one.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The minimal failing sequence.
    pub ops: Vec<Op>,
    /// What it breaks.
    pub violation: Violation,
    /// How many sequences passed before it was found.
    pub passed: u64,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "allocator contract violated after {} passing sequences",
            self.passed
        )?;
        writeln!(f, "{}", self.violation)?;
        writeln!(f, "minimal sequence ({} ops):", self.ops.len())?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "  {i:3}: {op:?}")?;
        }
        Ok(())
    }
}

/// The property-test driver: how many sequences, how long, and what to check.
///
/// Defaults: 10,000 sequences of up to 100 operations; under Miri, 20 sequences of up to
/// 40 operations.
///
/// The environment variable `ALLOC_CORE_CONFORMANCE_TESTS`, when set to a number, caps the
/// number of sequences of every run (for slow runners such as valgrind, where the point is
/// memory errors, not volume).
///
/// # Examples
///
/// ```
/// use alloc_core::{testing::Conformance, Heap};
///
/// let report = Conformance::new().tests(100).max_ops(50).check(|| Heap);
/// assert!(report.allocations > 0);
/// ```
#[derive(Clone, Debug)]
pub struct Conformance {
    tests: u64,
    max_ops: usize,
}

impl Default for Conformance {
    fn default() -> Self {
        Self::new()
    }
}

impl Conformance {
    /// The default driver (see the type's docs).
    #[must_use]
    pub fn new() -> Self {
        Self {
            tests: if cfg!(miri) { 20 } else { 10_000 },
            max_ops: 100,
        }
    }

    /// Runs `n` sequences (under Miri, at most 20 of them, to stay fast).
    #[must_use]
    pub fn tests(mut self, n: u64) -> Self {
        self.tests = if cfg!(miri) { n.min(20) } else { n };
        self
    }

    /// Generates sequences of up to `n` operations.
    #[must_use]
    pub fn max_ops(mut self, n: usize) -> Self {
        self.max_ops = n.max(1);
        self
    }

    /// Checks allocators made by `make` (a fresh one per sequence).
    ///
    /// # Panics
    ///
    /// With the minimal failing sequence, if the allocator breaks its contract.
    pub fn check<A: Allocator, F: FnMut() -> A>(&self, mut make: F) -> Report {
        self.check_with(|ops| run_ops(&make(), ops))
    }

    /// As [`check`](Self::check), with the [`BlockOwner`] checks too.
    ///
    /// # Panics
    ///
    /// With the minimal failing sequence, if the allocator breaks its contract.
    pub fn check_owner<A: BlockOwner, F: FnMut() -> A>(&self, mut make: F) -> Report {
        self.check_with(|ops| run_ops_owner(&make(), ops))
    }

    /// Runs `property` on generated sequences; it sets up the allocator and calls
    /// [`run_ops`] or [`run_ops_owner`] (or its own checks). Returns the summed reports.
    ///
    /// # Panics
    ///
    /// With the minimal failing sequence, if `property` returns a violation.
    pub fn check_with<F>(&self, property: F) -> Report
    where
        F: FnMut(&[Op]) -> Result<Report, Violation>,
    {
        match self.quicktest(property) {
            Ok(report) => report,
            Err(counterexample) => panic!("{counterexample}"),
        }
    }

    /// As [`check_with`](Self::check_with), returning the counterexample instead of
    /// panicking: for testing the kit itself, or reporting in another way.
    ///
    /// # Errors
    ///
    /// The minimal failing sequence, if `property` fails on any generated sequence.
    pub fn quicktest<F>(&self, mut property: F) -> Result<Report, Counterexample>
    where
        F: FnMut(&[Op]) -> Result<Report, Violation>,
    {
        let mut generator = Gen::new(self.max_ops);
        let mut total = Report::default();
        for passed in 0..env_cap(self.tests) {
            let ops = Vec::<Op>::arbitrary(&mut generator);
            match property(&ops) {
                Ok(r) => {
                    total.allocations += r.allocations;
                    total.reallocations += r.reallocations;
                    total.deallocations += r.deallocations;
                    total.failures += r.failures;
                }
                Err(violation) => {
                    let (ops, violation) = shrink(ops, violation, &mut property);
                    return Err(Counterexample {
                        ops,
                        violation,
                        passed,
                    });
                }
            }
        }
        Ok(total)
    }
}

/// `tests`, capped by the `ALLOC_CORE_CONFORMANCE_TESTS` environment variable if it is set
/// to a number.
fn env_cap(tests: u64) -> u64 {
    std::env::var("ALLOC_CORE_CONFORMANCE_TESTS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(tests, |cap| tests.min(cap))
}

/// Greedy shrinking: keep taking the first smaller candidate that still fails.
fn shrink<F>(mut ops: Vec<Op>, mut violation: Violation, property: &mut F) -> (Vec<Op>, Violation)
where
    F: FnMut(&[Op]) -> Result<Report, Violation>,
{
    // Bounded, so a pathological case still ends.
    'outer: for _ in 0..1_000 {
        for candidate in ops.shrink() {
            if let Err(v) = property(&candidate) {
                ops = candidate;
                violation = v;
                continue 'outer;
            }
        }
        break;
    }
    (ops, violation)
}

#[cfg(test)]
mod tests {
    use super::{Conformance, Op, layout, run_ops};
    use crate::Heap;
    use alloc::vec::Vec;
    use quickcheck::{Arbitrary, Gen};

    /// Every shrink candidate of an operation is a different, valid operation (its layout
    /// can be built), no larger in any field, and of the same kind or simpler (a
    /// reallocation may become an allocation of its layout, never the reverse): shrinking
    /// terminates and stays valid.
    #[test]
    fn op_shrink_candidates_are_valid_and_smaller() {
        let mut g = Gen::new(100);
        for _ in 0..if cfg!(miri) { 20 } else { 2_000 } {
            let op = Op::arbitrary(&mut g);
            for candidate in op.shrink().take(64) {
                assert_ne!(candidate, op);
                match (op, candidate) {
                    (
                        Op::Alloc {
                            size, align_log2, ..
                        },
                        Op::Alloc {
                            size: s,
                            align_log2: a,
                            ..
                        },
                    ) => {
                        assert!(s <= size && a <= align_log2, "{op:?} -> {candidate:?}");
                        let _ = layout(s, a);
                    }
                    (Op::Free { index }, Op::Free { index: i }) => assert!(i <= index),
                    (
                        Op::Realloc {
                            size, align_log2, ..
                        },
                        Op::Alloc {
                            size: s,
                            align_log2: a,
                            zeroed: false,
                        },
                    ) => assert!(s == size && a == align_log2, "{op:?} -> {candidate:?}"),
                    (
                        Op::Realloc {
                            index,
                            size,
                            align_log2,
                        },
                        Op::Realloc {
                            index: i,
                            size: s,
                            align_log2: a,
                        },
                    ) => {
                        assert!(i <= index && s <= size && a <= align_log2);
                        let _ = layout(s, a);
                    }
                    _ => panic!("shrinking changed the kind of {op:?} to {candidate:?}"),
                }
            }
        }
    }

    /// Every shrunk sequence (fewer operations, or smaller ones) still runs: frees and
    /// reallocations of blocks that are gone pick a live block modulo the count.
    #[test]
    fn shrunk_sequences_stay_valid() {
        let mut g = Gen::new(40);
        for _ in 0..if cfg!(miri) { 2 } else { 100 } {
            let ops = Vec::<Op>::arbitrary(&mut g);
            for candidate in ops.shrink().take(if cfg!(miri) { 3 } else { 40 }) {
                assert!(candidate.len() <= ops.len());
                run_ops(&Heap, &candidate).unwrap();
            }
        }
    }

    #[test]
    fn the_default_volume_is_ten_thousand_sequences() {
        let kit = Conformance::new();
        let expected = if cfg!(miri) { 20 } else { 10_000 };
        assert_eq!(kit.tests, expected);
        assert_eq!(
            Conformance::new().tests(50).tests,
            if cfg!(miri) { 20 } else { 50 }
        );
    }
}

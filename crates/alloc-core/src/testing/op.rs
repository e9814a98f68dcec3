//! The operations of a generated sequence ([`Op`]), how quickcheck generates and shrinks
//! them, and the layout an operation asks for.

use alloc::boxed::Box;

use quickcheck::{Arbitrary, Gen};

/// One step of a generated sequence.
///
/// Indices pick a live block modulo the number of live blocks (an index into nothing is a
/// no-op), so every sequence, and every shrunk sequence, is valid.
///
/// # Examples
///
/// A sequence written by hand (the kit generates them at random):
///
/// ```
/// use alloc_core::{testing::{run_ops, Op}, Heap};
///
/// let ops = [
///     Op::Alloc { size: 24, align_log2: 3, zeroed: true },
///     Op::Realloc { index: 0, size: 100, align_log2: 3 },
///     Op::Free { index: 7 }, // 7 modulo one live block: the reallocated one
///     Op::Free { index: 0 }, // no live block: nothing to do
/// ];
/// let report = run_ops(&Heap, &ops).unwrap();
/// assert_eq!((report.allocations, report.reallocations, report.deallocations), (1, 1, 1));
/// ```
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

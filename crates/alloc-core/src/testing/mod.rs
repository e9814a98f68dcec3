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

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use quickcheck::{Arbitrary, Gen};

use crate::{Allocator, BlockOwner};

mod checks;
mod model;
mod op;
mod reentry;
pub use checks::{assert_usable, panic_message};
pub use model::{run_ops, run_ops_owner};
pub use op::Op;
pub use reentry::{Hostile, Reentry, run_ops_owner_reentrant, run_ops_reentrant};

/// What a run did: how many requests succeeded and failed.
///
/// # Examples
///
/// Failures are allowed (an allocator may refuse a request); the report counts them.
///
/// ```
/// use alloc_core::{testing::{run_ops, Op}, Allocator, AllocatorError, Block, Heap};
/// use core::alloc::Layout;
///
/// /// The heap, refusing requests over 64 bytes.
/// struct Small;
/// // SAFETY: every block comes from `Heap` and goes back to it.
/// unsafe impl Allocator for Small {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         if layout.size() > 64 { Err(AllocatorError::TooLarge) } else { Heap.allocate_raw(layout) }
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         // SAFETY: a block of `Heap` (the caller's contract).
///         unsafe { Heap.deallocate_raw(block) }
///     }
/// }
///
/// let ops = [
///     Op::Alloc { size: 16, align_log2: 0, zeroed: false },
///     Op::Alloc { size: 100, align_log2: 0, zeroed: false },
/// ];
/// let report = run_ops(&Small, &ops).unwrap();
/// assert_eq!((report.allocations, report.failures, report.deallocations), (1, 1, 1));
/// ```
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
    /// Operations the hostile code of the [re-entrancy mode](Reentry) performed through
    /// the allocator from inside its own calls (0 outside that mode).
    pub reentrant: usize,
}

/// A broken promise: which step of the sequence, and what went wrong.
///
/// # Examples
///
/// ```
/// use alloc_core::{testing::{run_ops, Op}, Allocator, AllocatorError, Block};
/// use core::{alloc::Layout, cell::UnsafeCell, ptr::NonNull};
///
/// /// Broken on purpose: every request gets the same 64 bytes.
/// struct OneBuffer(UnsafeCell<[u64; 8]>);
///
/// // SAFETY: it is not: blocks overlap, which is what the kit must catch. The memory it
/// // hands out is valid and initialised, so the demonstration itself is defined behaviour.
/// unsafe impl Allocator for OneBuffer {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         if layout.size() > 64 || layout.align() > 8 {
///             return Err(AllocatorError::OutOfMemory);
///         }
///         let ptr = NonNull::new(self.0.get().cast::<u8>()).unwrap();
///         Ok(Block::from_raw_parts(ptr, layout))
///     }
///     unsafe fn deallocate_raw(&self, _block: Block) {}
/// }
///
/// let alloc = OneBuffer(UnsafeCell::new([0; 8]));
/// let ops = [
///     Op::Alloc { size: 8, align_log2: 3, zeroed: false },
///     Op::Alloc { size: 8, align_log2: 3, zeroed: false },
/// ];
/// let violation = run_ops(&alloc, &ops).unwrap_err();
/// assert_eq!(violation.step, 1);
/// assert!(violation.message.contains("overlaps"), "{violation}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Index of the operation in the sequence (`ops.len()` for the final clean-up,
    /// `usize::MAX` for a panic outside the steps: while building or dropping the allocator).
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

/// A failing sequence, shrunk to a minimal one.
///
/// # Examples
///
/// An owner that claims every block, caught and shrunk:
///
/// ```
/// use alloc_core::testing::{run_ops_owner, Conformance};
/// # use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
/// # use core::{alloc::Layout, cell::Cell, ptr::NonNull};
/// #
/// # /// Bump allocation over 4 KiB from the heap (never reuses; frees are no-ops).
/// # struct Bump { start: NonNull<u8>, top: Cell<usize> }
/// # const REGION: Layout = match Layout::from_size_align(4096, 8) { Ok(l) => l, Err(_) => panic!() };
/// #
/// # impl Bump {
/// #     fn new() -> Self {
/// #         Bump { start: Heap.allocate_raw(REGION).unwrap().ptr(), top: Cell::new(0) }
/// #     }
/// # }
/// # impl Drop for Bump {
/// #     fn drop(&mut self) {
/// #         // SAFETY: allocated in `new` with this layout.
/// #         unsafe { Heap.deallocate_raw(Block::from_raw_parts(self.start, REGION)) }
/// #     }
/// # }
/// # // SAFETY: blocks are disjoint parts of the region, aligned as asked, valid until drop.
/// # unsafe impl Allocator for Bump {
/// #     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
/// #         if layout.size() == 0 {
/// #             return Ok(Block::empty(layout));
/// #         }
/// #         if layout.align() > 8 {
/// #             return Err(AllocatorError::UnsupportedAlignment);
/// #         }
/// #         let offset = self.top.get().next_multiple_of(layout.align());
/// #         if layout.size() > REGION.size() - offset.min(REGION.size()) {
/// #             return Err(AllocatorError::OutOfMemory);
/// #         }
/// #         self.top.set(offset + layout.size());
/// #         // SAFETY: `offset + size` is within the region.
/// #         let ptr = unsafe { self.start.add(offset) };
/// #         Ok(Block::from_raw_parts(ptr, layout))
/// #     }
/// #     unsafe fn deallocate_raw(&self, _block: Block) {}
/// # }
/// # // SAFETY: true exactly for non-empty blocks inside the region, which are ours.
/// # unsafe impl BlockOwner for Bump {
/// #     fn owns_block(&self, block: &Block) -> bool {
/// #         let start = self.start.as_ptr().addr();
/// #         !block.is_empty() && (start..start + REGION.size()).contains(&block.addr())
/// #     }
/// # }
///
/// /// `Bump` (of [`Conformance::check_owner`]'s example) claiming every block: a lie.
/// struct ClaimsAll(Bump);
/// // SAFETY: forwards to `Bump`, which keeps the contract.
/// unsafe impl Allocator for ClaimsAll {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         self.0.allocate_raw(layout)
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         // SAFETY: forwarded (the caller's contract).
///         unsafe { self.0.deallocate_raw(block) }
///     }
/// }
/// // SAFETY: it is not (`true` for foreign blocks): the kit only asks, nothing routes by it.
/// unsafe impl BlockOwner for ClaimsAll {
///     fn owns_block(&self, _block: &Block) -> bool {
///         true
///     }
/// }
///
/// let found = Conformance::new()
///     .tests(100)
///     .quicktest(|ops| run_ops_owner(&ClaimsAll(Bump::new()), ops))
///     .unwrap_err();
/// assert!(found.violation.message.contains("never handed out"), "{found}");
/// assert!(found.ops.len() <= 1, "shrunk: {found}");
/// ```
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The minimal failing sequence.
    pub ops: Vec<Op>,
    /// The minimal hostile script run from inside the allocator's calls (empty outside the
    /// [re-entrancy mode](Reentry)).
    pub hostile: Vec<Op>,
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
        if !self.hostile.is_empty() {
            writeln!(
                f,
                "hostile script, run from inside the allocator's calls ({} ops):",
                self.hostile.len()
            )?;
            for (i, op) in self.hostile.iter().enumerate() {
                writeln!(f, "  {i:3}: {op:?}")?;
            }
        }
        Ok(())
    }
}

/// The most sequences a [`Conformance`] run makes under Miri.
///
/// # Examples
///
/// ```
/// assert!(alloc_core::testing::MIRI_TESTS >= 1);
/// ```
pub const MIRI_TESTS: u64 = 10;

/// The most operations per sequence under Miri.
///
/// # Examples
///
/// ```
/// assert!(alloc_core::testing::MIRI_MAX_OPS >= 1);
/// ```
pub const MIRI_MAX_OPS: usize = 40;

/// The property-test driver: how many sequences, how long, and what to check.
///
/// Defaults: 10,000 sequences of up to 100 operations; under Miri, at most
/// [`MIRI_TESTS`] sequences of at most [`MIRI_MAX_OPS`] operations whatever is asked
/// (Miri is thousands of times slower; it is there to find undefined behaviour on each
/// path, which a few sequences reach, while the native runs bring the volume).
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
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::Conformance, Heap};
    ///
    /// let report = Conformance::new().check(|| Heap);
    /// assert!(report.allocations > 0 && report.deallocations > 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            tests: if cfg!(miri) { MIRI_TESTS } else { 10_000 },
            max_ops: if cfg!(miri) { MIRI_MAX_OPS } else { 100 },
        }
    }

    /// Runs `n` sequences (under Miri, at most [`MIRI_TESTS`] of them, to stay fast).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::Conformance, Heap};
    ///
    /// let mut made = 0;
    /// Conformance::new().tests(10).check(|| { made += 1; Heap });
    /// assert_eq!(made, 10); // a fresh allocator per sequence
    /// ```
    #[must_use]
    pub fn tests(mut self, n: u64) -> Self {
        self.tests = if cfg!(miri) { n.min(MIRI_TESTS) } else { n };
        self
    }

    /// Generates sequences of up to `n` operations (under Miri, at most
    /// [`MIRI_MAX_OPS`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::testing::{run_ops, Conformance};
    /// use alloc_core::Heap;
    ///
    /// let mut longest = 0;
    /// Conformance::new().tests(50).max_ops(5).check_with(|ops| {
    ///     longest = longest.max(ops.len());
    ///     run_ops(&Heap, ops)
    /// });
    /// assert!(longest <= 5);
    /// ```
    #[must_use]
    pub fn max_ops(mut self, n: usize) -> Self {
        self.max_ops = if cfg!(miri) { n.min(MIRI_MAX_OPS) } else { n }.max(1);
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
    ///
    /// # Examples
    ///
    /// A small owner of your own, checked:
    ///
    /// ```
    /// use alloc_core::testing::Conformance;
    /// use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
    /// use core::{alloc::Layout, cell::Cell, ptr::NonNull};
    ///
    /// /// Bump allocation over 4 KiB from the heap (never reuses; frees are no-ops).
    /// struct Bump { start: NonNull<u8>, top: Cell<usize> }
    /// const REGION: Layout = match Layout::from_size_align(4096, 8) { Ok(l) => l, Err(_) => panic!() };
    ///
    /// impl Bump {
    ///     fn new() -> Self {
    ///         Bump { start: Heap.allocate_raw(REGION).unwrap().ptr(), top: Cell::new(0) }
    ///     }
    /// }
    /// impl Drop for Bump {
    ///     fn drop(&mut self) {
    ///         // SAFETY: allocated in `new` with this layout.
    ///         unsafe { Heap.deallocate_raw(Block::from_raw_parts(self.start, REGION)) }
    ///     }
    /// }
    /// // SAFETY: blocks are disjoint parts of the region, aligned as asked, valid until drop.
    /// unsafe impl Allocator for Bump {
    ///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
    ///         if layout.size() == 0 {
    ///             return Ok(Block::empty(layout));
    ///         }
    ///         if layout.align() > 8 {
    ///             return Err(AllocatorError::UnsupportedAlignment);
    ///         }
    ///         let offset = self.top.get().next_multiple_of(layout.align());
    ///         if layout.size() > REGION.size() - offset.min(REGION.size()) {
    ///             return Err(AllocatorError::OutOfMemory);
    ///         }
    ///         self.top.set(offset + layout.size());
    ///         // SAFETY: `offset + size` is within the region.
    ///         let ptr = unsafe { self.start.add(offset) };
    ///         Ok(Block::from_raw_parts(ptr, layout))
    ///     }
    ///     unsafe fn deallocate_raw(&self, _block: Block) {}
    /// }
    /// // SAFETY: true exactly for non-empty blocks inside the region, which are ours.
    /// unsafe impl BlockOwner for Bump {
    ///     fn owns_block(&self, block: &Block) -> bool {
    ///         let start = self.start.as_ptr().addr();
    ///         !block.is_empty() && (start..start + REGION.size()).contains(&block.addr())
    ///     }
    /// }
    ///
    /// let report = Conformance::new().tests(200).check_owner(Bump::new);
    /// assert!(report.allocations > 0 && report.failures > 0); // it runs out: allowed
    /// ```
    pub fn check_owner<A: BlockOwner, F: FnMut() -> A>(&self, mut make: F) -> Report {
        self.check_with(|ops| run_ops_owner(&make(), ops))
    }

    /// Runs `property` on generated sequences; it sets up the allocator and calls
    /// [`run_ops`] or [`run_ops_owner`] (or its own checks). Returns the summed reports.
    ///
    /// # Panics
    ///
    /// With the minimal failing sequence, if `property` returns a violation.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::{run_ops, Conformance}, Heap};
    ///
    /// let heap = &Heap;
    /// let report = Conformance::new().tests(50).check_with(|ops| run_ops(&heap, ops));
    /// assert_eq!(report.allocations, report.deallocations); // every block given back
    /// ```
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
    ///
    /// # Examples
    ///
    /// See [`Counterexample`] for a failing run; a passing one returns the summed report:
    ///
    /// ```
    /// use alloc_core::{testing::{run_ops, Conformance}, Heap};
    ///
    /// let report = Conformance::new().tests(20).quicktest(|ops| run_ops(&Heap, ops)).unwrap();
    /// assert!(report.allocations > 0);
    /// ```
    pub fn quicktest<F>(&self, mut property: F) -> Result<Report, Counterexample>
    where
        F: FnMut(&[Op]) -> Result<Report, Violation>,
    {
        self.drive(|ops: &Vec<Op>| property(ops))
            .map_err(|(ops, violation, passed)| Counterexample {
                ops,
                hostile: Vec::new(),
                violation,
                passed,
            })
    }

    /// The [re-entrancy mode](Reentry): checks the allocator that `make` builds around a
    /// [`Reentry`] (its parts wrapped with [`Reentry::wrap`], or its loggers, factories or
    /// callbacks calling [`Reentry::hook`]) while hostile code allocates, frees and
    /// reallocates through it from inside its own calls. Panics with a minimal
    /// [`Counterexample`] (sequence and hostile script) on failure.
    ///
    /// # Panics
    ///
    /// If a sequence breaks the contract or panics; the message shows both minimal
    /// sequences.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::{Conformance, Reentry}, Heap};
    ///
    /// let report = Conformance::new().tests(100).check_reentrant(|r: &Reentry| r.wrap(Heap));
    /// assert!(report.reentrant > 0);
    /// ```
    pub fn check_reentrant<A: Allocator, F: FnMut(&Reentry) -> A>(&self, mut make: F) -> Report {
        self.check_reentrant_with(|ops, hostile| {
            let reentry = Reentry::new();
            let alloc = make(&reentry);
            run_ops_reentrant(&alloc, &reentry, ops, hostile)
        })
    }

    /// As [`check_reentrant`](Self::check_reentrant), with the owner checks of
    /// [`run_ops_owner`] (`owns_block` runs with the hooks live as well).
    ///
    /// # Panics
    ///
    /// As [`check_reentrant`](Self::check_reentrant).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::{Conformance, Reentry}, Heap};
    ///
    /// // `&mut A` is an owner when `A` is; here a wrapped heap inside a test owner would go.
    /// let report = Conformance::new().tests(10).check_reentrant(|r: &Reentry| r.wrap(Heap));
    /// assert_eq!(report.failures, 0);
    /// ```
    pub fn check_owner_reentrant<A: BlockOwner, F: FnMut(&Reentry) -> A>(
        &self,
        mut make: F,
    ) -> Report {
        self.check_reentrant_with(|ops, hostile| {
            let reentry = Reentry::new();
            let alloc = make(&reentry);
            run_ops_owner_reentrant(&alloc, &reentry, ops, hostile)
        })
    }

    /// The re-entrancy mode with a custom property of the sequence and the hostile script
    /// (for set-ups [`check_reentrant`](Self::check_reentrant) cannot express: borrowed
    /// parents, shared state). Panics with the minimal counterexample.
    ///
    /// # Panics
    ///
    /// As [`check_reentrant`](Self::check_reentrant).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::{run_ops_reentrant, Conformance, Reentry}, Heap};
    ///
    /// let reentry = Reentry::new();
    /// let heap = reentry.wrap(Heap);
    /// Conformance::new().tests(10).check_reentrant_with(|ops, hostile| {
    ///     run_ops_reentrant(&heap, &reentry, ops, hostile)
    /// });
    /// ```
    pub fn check_reentrant_with<F>(&self, property: F) -> Report
    where
        F: FnMut(&[Op], &[Op]) -> Result<Report, Violation>,
    {
        match self.quicktest_reentrant(property) {
            Ok(report) => report,
            Err(counterexample) => panic!("{counterexample}"),
        }
    }

    /// As [`check_reentrant_with`](Self::check_reentrant_with), returning the
    /// counterexample instead of panicking.
    ///
    /// # Errors
    ///
    /// The minimal failing sequence and hostile script.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::{run_ops_reentrant, Conformance, Reentry}, Heap};
    ///
    /// let report = Conformance::new()
    ///     .tests(20)
    ///     .quicktest_reentrant(|ops, hostile| {
    ///         let reentry = Reentry::new();
    ///         run_ops_reentrant(&reentry.wrap(Heap), &reentry, ops, hostile)
    ///     })
    ///     .unwrap();
    /// assert!(report.allocations > 0);
    /// ```
    pub fn quicktest_reentrant<F>(&self, mut property: F) -> Result<Report, Counterexample>
    where
        F: FnMut(&[Op], &[Op]) -> Result<Report, Violation>,
    {
        self.drive(|(ops, hostile): &(Vec<Op>, Vec<Op>)| property(ops, hostile))
            .map_err(|((ops, hostile), violation, passed)| Counterexample {
                ops,
                hostile,
                violation,
                passed,
            })
    }

    /// Generates inputs, runs `property` on each (a panic counts as a violation), and
    /// shrinks the first failing input.
    fn drive<I, F>(&self, mut property: F) -> Result<Report, (I, Violation, u64)>
    where
        I: Arbitrary,
        F: FnMut(&I) -> Result<Report, Violation>,
    {
        let mut generator = Gen::new(self.max_ops);
        let mut total = Report::default();
        // A panic outside the steps (building or dropping the allocator) is a violation too.
        let mut checked = |input: &I| {
            catch_panic(|| Ok(property(input))).unwrap_or_else(|message| {
                Err(Violation {
                    step: usize::MAX,
                    message: format!("outside the sequence's steps: {message}"),
                })
            })
        };
        for passed in 0..env_cap(self.tests) {
            let input = I::arbitrary(&mut generator);
            match checked(&input) {
                Ok(r) => {
                    total.allocations += r.allocations;
                    total.reallocations += r.reallocations;
                    total.deallocations += r.deallocations;
                    total.failures += r.failures;
                    total.reentrant += r.reentrant;
                }
                Err(violation) => {
                    let (input, violation) = shrink(input, violation, &mut checked);
                    return Err((input, violation, passed));
                }
            }
        }
        Ok(total)
    }
}

/// Runs `f`, turning a panic into an error that names it (so that a panicking allocator is
/// reported at its step and shrunk to a minimal sequence like any other failure).
fn catch_panic<T, F: FnOnce() -> Result<T, String>>(f: F) -> Result<T, String> {
    match std::panic::catch_unwind(core::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| String::from(*s))
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| String::from("(a panic without a message)"));
            Err(format!("panicked: {message}"))
        }
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
fn shrink<I, F>(mut ops: I, mut violation: Violation, property: &mut F) -> (I, Violation)
where
    I: Arbitrary,
    F: FnMut(&I) -> Result<Report, Violation>,
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
mod tests;

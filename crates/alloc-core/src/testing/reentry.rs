//! The re-entrancy mode of the conformance kit: hostile code that runs *inside* the calls a
//! composite makes into its parts, and allocates, frees and reallocates through the very
//! composite that is in the middle of the call.
//!
//! A composite calls user code all the time: an inner allocator, a parent, a logger, a
//! factory, a callback. Safe user code there may use the composite again (a logger that
//! formats a `String` through the global allocator it is logging; a box of the composite
//! dropped inside a callback). A composite that keeps a reference into its own structure
//! across such a call can reach undefined behaviour from safe code. This mode makes that
//! happen on purpose, at generated points, and checks everything the normal mode checks
//! for the blocks of both the sequence and the hostile code.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use super::Op;
use super::model::Model;
use crate::{Allocator, AllocatorError, Block, BlockOwner};

/// What the hostile code needs of the composite under test: the allocator operations,
/// behind an object-safe trait so that one [`Reentry`] serves any composite type.
trait Target {
    fn allocate(&self, layout: Layout, zeroed: bool) -> Result<Block, AllocatorError>;
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    unsafe fn deallocate(&self, block: Block);
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    unsafe fn reallocate(&self, block: Block, layout: Layout) -> Result<Block, AllocatorError>;
}

impl<A: Allocator + ?Sized> Target for A {
    fn allocate(&self, layout: Layout, zeroed: bool) -> Result<Block, AllocatorError> {
        if zeroed {
            self.allocate_zeroed_raw(layout)
        } else {
            self.allocate_raw(layout)
        }
    }
    unsafe fn deallocate(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate_raw(block) }
    }
    unsafe fn reallocate(&self, block: Block, layout: Layout) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.reallocate_raw(block, layout) }
    }
}

// SAFETY: forwards every operation to the allocator behind the trait object, which keeps
// the contract.
unsafe impl Allocator for dyn Target + '_ {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.allocate(layout, false)
    }
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.allocate(layout, true)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate(block) }
    }
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.reallocate(block, new_layout) }
    }
}

/// A boxed reference to the composite under test, seen through `Target`, with its lifetime
/// erased: see [`Reentry::arm`] for why that is sound.
type ErasedTarget = NonNull<dyn Target + 'static>;

struct State {
    /// The composite under test while a run is on; `None` otherwise (hooks do nothing).
    target: Cell<Option<ErasedTarget>>,
    /// Set while hostile code runs: hooks reached from inside it do nothing (no unbounded
    /// recursion).
    busy: Cell<bool>,
    /// The hostile script and the position of the next step.
    script: RefCell<Box<[Op]>>,
    next: Cell<usize>,
    /// The hostile code's own blocks, checked like the sequence's.
    model: RefCell<Model>,
    /// The first problem the hostile code found, reported after the current step.
    violation: RefCell<Option<String>>,
}

/// The handle of the re-entrancy mode: give it to the parts of a composite (an inner
/// allocator wrapped with [`wrap`](Self::wrap), or a logger, factory or callback that calls
/// [`hook`](Self::hook)), then run the composite with
/// [`Conformance::check_reentrant`](super::Conformance::check_reentrant) or
/// [`run_ops_reentrant`].
///
/// Each time a hook runs during a run, the hostile code performs the next operation of its
/// own generated script ([`Op`]s: allocate, free or reallocate one of *its* blocks)
/// **through the composite under test**, from inside the composite's call. Its blocks are
/// checked like the sequence's (alignment, size, contents, no overlap among them; an
/// overlap with the sequence's blocks shows as damaged contents). Hooks reached from the
/// hostile code itself do nothing, so the recursion is one level deep, and outside a run
/// (while the composite is built or dropped) hooks do nothing.
///
/// A `Reentry` is a cheap handle (`Clone` shares it); it is neither `Send` nor `Sync`.
///
/// # Examples
///
/// A heap whose every call is re-entered:
///
/// ```
/// use alloc_core::{testing::{Conformance, Reentry}, Heap};
///
/// let report = Conformance::new().tests(200).check_reentrant(|reentry: &Reentry| reentry.wrap(Heap));
/// assert!(report.reentrant > 0, "the hostile code ran");
/// ```
#[derive(Clone)]
pub struct Reentry {
    state: Rc<State>,
}

impl fmt::Debug for Reentry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reentry")
            .field("armed", &self.state.target.get().is_some())
            .field("next", &self.state.next.get())
            .finish_non_exhaustive()
    }
}

impl Default for Reentry {
    fn default() -> Self {
        Self::new()
    }
}

impl Reentry {
    /// A handle with an empty script (hooks do nothing until a run gives it one).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::testing::Reentry;
    ///
    /// let reentry = Reentry::new();
    /// reentry.hook(); // no run is on: nothing happens
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Rc::new(State {
                target: Cell::new(None),
                busy: Cell::new(false),
                script: RefCell::new(Box::new([])),
                next: Cell::new(0),
                model: RefCell::new(Model::default()),
                violation: RefCell::new(None),
            }),
        }
    }

    /// Wraps `inner` so that every call into it (allocate, free, reallocate, `owns_block`)
    /// runs a hook before and after: put it where a composite keeps a part (its inner
    /// allocator, its parent, the instances its factory makes).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::Reentry, Allocator, Heap};
    ///
    /// let reentry = Reentry::new();
    /// let heap = reentry.wrap(Heap);
    /// assert_eq!(*heap.allocate(3u8).unwrap(), 3);
    /// ```
    #[must_use]
    pub fn wrap<A>(&self, inner: A) -> Hostile<A> {
        Hostile {
            inner,
            reentry: self.clone(),
        }
    }

    /// Runs the next step of the hostile script through the composite under test, if a
    /// run is on and no hostile code is running already. Call it from any user code a
    /// composite runs: a logger, a factory, a callback.
    ///
    /// # Examples
    ///
    /// A hook in a closure the test calls itself (a logger or factory would call it from
    /// inside the composite):
    ///
    /// ```
    /// use alloc_core::{testing::{run_ops_reentrant, Op, Reentry}, Heap};
    ///
    /// let reentry = Reentry::new();
    /// let alloc = Op::Alloc { size: 8, align_log2: 3, zeroed: false };
    /// let report = run_ops_reentrant(&reentry.wrap(Heap), &reentry, &[alloc], &[alloc, alloc]).unwrap();
    /// // One step of the sequence: the wrapped heap's hooks ran the hostile script's two.
    /// assert_eq!((report.allocations, report.reentrant), (1, 2));
    /// ```
    pub fn hook(&self) {
        let state = &*self.state;
        if state.busy.get() {
            return;
        }
        let Some(target) = state.target.get() else {
            return;
        };
        let step = state.next.get();
        let Some(&op) = state.script.borrow().get(step) else {
            return;
        };
        state.next.set(step + 1);
        state.busy.set(true);
        let _done = ResetBusy(&state.busy);
        // SAFETY: `target` is set only by `arm`, to a composite that outlives the `Armed`
        // guard, which clears it when dropped (also on unwind); it is still set, so the
        // guard is alive and so is the composite. `State` is not `Sync` (and `Reentry` not
        // `Send`), so no other thread can see the pointer.
        let target = unsafe { target.as_ref() };
        let result = state.model.borrow_mut().apply(target, op);
        if let Err(message) = result {
            let mut slot = state.violation.borrow_mut();
            if slot.is_none() {
                *slot = Some(format!(
                    "hostile step {step} ({op:?}), run from inside a call of the allocator: {message}"
                ));
            }
        }
    }

    /// Starts a run on `target` with a fresh hostile `script`: hooks use `target` until the
    /// returned guard is dropped.
    pub(super) fn arm<'a, A: Allocator + ?Sized>(&'a self, target: &'a A) -> Armed<'a> {
        *self.state.script.borrow_mut() = script_of(&[]);
        self.state.next.set(0);
        *self.state.model.borrow_mut() = Model::default();
        *self.state.violation.borrow_mut() = None;
        // `&A` is sized even where `A` is not, so it can be seen as a `dyn Target`; boxed,
        // so that the pointer stays valid wherever the guard moves.
        let boxed: Box<dyn Target + 'a> = Box::new(target);
        let target = NonNull::from(Box::leak(boxed));
        // SAFETY: only the lifetime changes (same pointer, same vtable). The erased pointer
        // is dereferenced only while it is stored (by `hook` and `finish`), and the `Armed`
        // guard, which cannot outlive `'a`, removes it (and frees the box) when dropped,
        // before the borrow of `target` ends.
        let erased: ErasedTarget = unsafe { core::mem::transmute(target) };
        self.state.target.set(Some(erased));
        Armed {
            reentry: self,
            _target: PhantomData,
        }
    }
}

/// Clears the busy flag when the hostile step ends, also on unwind.
struct ResetBusy<'a>(&'a Cell<bool>);

impl Drop for ResetBusy<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

fn script_of(ops: &[Op]) -> Box<[Op]> {
    ops.into()
}

/// A run in progress: hooks are live until it is dropped.
pub(super) struct Armed<'a> {
    reentry: &'a Reentry,
    _target: PhantomData<&'a ()>,
}

impl Armed<'_> {
    /// Gives the hostile code its script.
    pub(super) fn set_script(&self, script: &[Op]) {
        *self.reentry.state.script.borrow_mut() = script_of(script);
    }

    /// The hostile code's first violation since the last call, if any.
    pub(super) fn take_violation(&self) -> Result<(), String> {
        match self.reentry.state.violation.borrow_mut().take() {
            Some(message) => Err(message),
            None => Ok(()),
        }
    }

    /// Ends the run: gives back (and checks) the hostile code's blocks, with hooks off.
    /// Returns how many hostile operations ran.
    pub(super) fn finish(self) -> Result<usize, String> {
        let state = &*self.reentry.state;
        let Some(target) = state.target.get() else {
            return Ok(0);
        };
        state.busy.set(true);
        let _done = ResetBusy(&state.busy);
        // SAFETY: as in `Reentry::hook`: the guard (`self`) is alive, so is the target.
        let target = unsafe { target.as_ref() };
        let mut model = state.model.borrow_mut();
        // Counted before the clean-up, which runs outside the allocator's calls.
        let r = model.report;
        model.free_all(target)?;
        Ok(r.allocations + r.deallocations + r.reallocations + r.failures)
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if let Some(target) = self.reentry.state.target.take() {
            // SAFETY: made by `Box::leak` in `arm` and taken out of the state just now, so
            // this is the only owner; no hook is running (hooks run inside calls made
            // during the run, which have returned, or unwound, before the guard drops).
            drop(unsafe { Box::from_raw(target.as_ptr()) });
        }
    }
}

/// An allocator (or [`BlockOwner`]) whose every call runs a [`Reentry`] hook before and
/// after it: made by [`Reentry::wrap`].
///
/// # Examples
///
/// ```
/// use alloc_core::{testing::Reentry, Allocator, Heap};
///
/// let reentry = Reentry::new();
/// let heap = reentry.wrap(Heap);
/// assert_eq!(*heap.inner(), Heap);
/// ```
#[derive(Debug)]
pub struct Hostile<A> {
    inner: A,
    reentry: Reentry,
}

impl<A> Hostile<A> {
    /// The wrapped allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{testing::Reentry, Heap};
    ///
    /// assert_eq!(*Reentry::new().wrap(Heap).inner(), Heap);
    /// ```
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

// SAFETY: every block comes from `inner` and goes back to it unchanged; the hooks run
// hostile code that uses only the public, safe-to-call operations of the composite under
// test (with blocks that composite handed to the hostile code), never `inner` directly.
unsafe impl<A: Allocator> Allocator for Hostile<A> {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.reentry.hook();
        let result = self.inner.allocate_raw(layout);
        self.reentry.hook();
        result
    }

    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.reentry.hook();
        let result = self.inner.allocate_zeroed_raw(layout);
        self.reentry.hook();
        result
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        self.reentry.hook();
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.deallocate_raw(block) };
        self.reentry.hook();
    }

    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        self.reentry.hook();
        // SAFETY: forwarded from the caller.
        let result = unsafe { self.inner.reallocate_raw(block, new_layout) };
        self.reentry.hook();
        result
    }
}

// SAFETY: forwards to `inner`'s answer (the hook runs before it and changes none of
// `inner`'s blocks except through the composite's own, contract-keeping operations).
unsafe impl<A: BlockOwner> BlockOwner for Hostile<A> {
    fn owns_block(&self, block: &Block) -> bool {
        self.reentry.hook();
        self.inner.owns_block(block)
    }
}

/// As [`run_ops`](super::run_ops), with the re-entrancy mode: while the sequence `ops`
/// runs on `alloc`, every hook of `reentry` (in `alloc`'s parts) performs the next step of
/// `hostile` through `alloc`. At the end the sequence's blocks, then the hostile code's,
/// are checked and given back.
///
/// # Errors
///
/// The first [`Violation`](super::Violation), of the sequence or of the hostile code (at
/// the step of the sequence during which the hostile code found it).
///
/// # Examples
///
/// ```
/// use alloc_core::{testing::{run_ops_reentrant, Op, Reentry}, Heap};
///
/// let reentry = Reentry::new();
/// let heap = reentry.wrap(Heap);
/// let ops = [Op::Alloc { size: 8, align_log2: 3, zeroed: false }, Op::Free { index: 0 }];
/// let hostile = [Op::Alloc { size: 16, align_log2: 4, zeroed: true }, Op::Free { index: 0 }];
/// let report = run_ops_reentrant(&heap, &reentry, &ops, &hostile).unwrap();
/// assert_eq!(report.reentrant, 2);
/// ```
pub fn run_ops_reentrant<A: Allocator + ?Sized>(
    alloc: &A,
    reentry: &Reentry,
    ops: &[Op],
    hostile: &[Op],
) -> Result<super::Report, super::Violation> {
    super::model::run(alloc, ops, None, Some((reentry, hostile)))
}

/// As [`run_ops_reentrant`], with the owner checks of
/// [`run_ops_owner`](super::run_ops_owner) (`owns_block` is called with hooks live too).
///
/// # Errors
///
/// The first [`Violation`](super::Violation).
///
/// # Examples
///
/// ```
/// use alloc_core::{testing::{run_ops_owner_reentrant, Op, Reentry}, Allocator, AllocatorError, Block, BlockOwner, Heap};
/// use core::alloc::Layout;
///
/// let reentry = Reentry::new();
/// // A small owner: the heap, remembering nothing, claims nothing (so no live block may be
/// // checked): the sequence only allocates zero-size blocks.
/// struct Owner;
/// // SAFETY: forwards to `Heap`.
/// unsafe impl Allocator for Owner {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> { Heap.allocate_raw(layout) }
///     // SAFETY: forwarded.
///     unsafe fn deallocate_raw(&self, block: Block) { unsafe { Heap.deallocate_raw(block) } }
/// }
/// // SAFETY: claims nothing, which is true of foreign memory.
/// unsafe impl BlockOwner for Owner { fn owns_block(&self, _: &Block) -> bool { false } }
///
/// let owner = reentry.wrap(Owner);
/// let ops = [Op::Alloc { size: 0, align_log2: 0, zeroed: false }];
/// let report = run_ops_owner_reentrant(&owner, &reentry, &ops, &[]).unwrap();
/// assert_eq!(report.allocations, 1);
/// ```
pub fn run_ops_owner_reentrant<A: BlockOwner + ?Sized>(
    alloc: &A,
    reentry: &Reentry,
    ops: &[Op],
    hostile: &[Op],
) -> Result<super::Report, super::Violation> {
    super::model::run(
        alloc,
        ops,
        Some(&|b: &Block| alloc.owns_block(b)),
        Some((reentry, hostile)),
    )
}

//! `Proxy`: the conformance kit through proxies, exact counts, exact traces, loggers that
//! allocate through the proxy they log, and loggers that panic.

use alloc_compose::{
    AllocatorExt, AtomicCounters, Counters, Counts, Event, FnLogger, NoLog, Null, Proxy,
    ProxyLogger, Trace,
};
use alloc_core::testing::{Report, Violation, run_ops, run_ops_owner};
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::support::{Bump, Pool, kit};

fn bytes(n: usize) -> Layout {
    Layout::from_size_align(n, 8).unwrap()
}

#[test]
fn proxies_pass_the_conformance_kit() {
    kit(300).check(|| Heap.proxy(Counters::new()));
    kit(300).check_owner(|| Pool::new(64, 8).proxy(Trace::new()));
    // Nested: a proxy around a fallback, proxies on both sides of a fallback, a proxy
    // around a proxy.
    kit(300).check(|| {
        Pool::new(64, 4)
            .with_fallback(Heap)
            .proxy(AtomicCounters::new())
    });
    kit(300).check_owner(|| {
        Pool::new(64, 4)
            .proxy(Counters::new())
            .with_fallback(Bump::new(2048).proxy(NoLog))
    });
    kit(300).check(|| {
        Bump::new(1024)
            .with_fallback(Heap)
            .proxy(NoLog)
            .proxy((Counters::new(), Trace::new()))
    });
}

/// Compares what the logger counted with what the conformance kit did.
fn compare(counts: Counts, report: Report, step: usize) -> Result<Report, Violation> {
    let expected = Counts {
        allocations: report.allocations,
        deallocations: report.deallocations,
        reallocations: report.reallocations,
        failures: report.failures,
        bytes_live: 0,
        peak_bytes: counts.peak_bytes,
    };
    if counts == expected {
        Ok(report)
    } else {
        Err(Violation {
            step,
            message: format!("counted {counts:?}, performed {report:?}"),
        })
    }
}

#[test]
fn counts_match_the_operations_performed_exactly() {
    // Random sequences through a chain that spills, fails (the pool side refuses large
    // and over-aligned requests; the end is `Null`) and trims (the pool returns whole
    // slots; the proxy returns exactly what was asked, so bytes add up to zero).
    let report = kit(500).check_with(|ops| {
        let alloc = Pool::new(64, 4)
            .with_fallback(Bump::new(1024).with_fallback(Null))
            .proxy(Counters::new());
        let report = run_ops_owner(&alloc, ops)?;
        compare(alloc.logger().counts(), report, ops.len())
    });
    assert!(
        report.failures > 0 && report.reallocations > 0,
        "{report:?}"
    );

    kit(300).check_with(|ops| {
        let alloc = Pool::new(64, 4)
            .with_fallback(Heap)
            .proxy(AtomicCounters::new());
        let report = run_ops(&alloc, ops)?;
        compare(alloc.logger().counts(), report, ops.len())
    });
}

#[test]
fn counts_of_a_known_sequence() {
    let alloc = Pool::new(64, 2).with_fallback(Null).proxy(Counters::new());
    let a = alloc.allocate_raw(bytes(10)).unwrap(); // live 10
    let b = alloc.allocate_zeroed_raw(bytes(40)).unwrap(); // live 50
    assert!(alloc.allocate_raw(bytes(8)).is_err()); // pool full, Null fails
    // SAFETY: `a` is currently allocated by `alloc`.
    let a = unsafe { alloc.reallocate_raw(a, bytes(64)) }.unwrap(); // live 104
    // SAFETY: as above.
    assert!(unsafe { alloc.reallocate_raw(a, bytes(65)) }.is_err()); // too large
    // SAFETY: both are currently allocated by `alloc`.
    unsafe {
        alloc.deallocate_raw(b); // live 64
        alloc.deallocate_raw(a); // live 0
    }
    let empty = alloc.allocate_raw(bytes(0)).unwrap();
    // SAFETY: an empty block.
    unsafe { alloc.deallocate_raw(empty) };
    assert_eq!(
        alloc.logger().counts(),
        Counts {
            allocations: 3,
            deallocations: 3,
            reallocations: 1,
            failures: 2,
            bytes_live: 0,
            peak_bytes: 104,
        }
    );
    alloc.logger().reset();
    assert_eq!(alloc.logger().counts(), Counts::default());
}

#[test]
fn blocks_are_trimmed_to_the_requested_size() {
    let alloc = Pool::new(64, 2).proxy(Counters::new());
    assert_eq!(alloc.inner().allocate_raw(bytes(10)).unwrap().size(), 64);
    let b = alloc.allocate_raw(bytes(10)).unwrap();
    assert_eq!(b.size(), 10);
    assert!(alloc.owns_block(&b));
    // SAFETY: `b` is currently allocated by `alloc`.
    let b = unsafe { alloc.reallocate_raw(b, bytes(20)) }.unwrap();
    assert_eq!(b.size(), 20);
    assert_eq!(alloc.logger().counts().bytes_live, 20);
    // SAFETY: as above; the pool accepts the trimmed block, which fits its slot.
    unsafe { alloc.deallocate_raw(b) };
    assert_eq!(alloc.inner().live(), 1); // the slot taken directly above
}

#[test]
fn the_trace_records_every_operation_in_order() {
    let alloc = Pool::new(64, 1).with_fallback(Null).proxy(Trace::new());
    let a = alloc.allocate_raw(bytes(8)).unwrap();
    let failed = alloc.allocate_zeroed_raw(bytes(8)).unwrap_err();
    // SAFETY: `a` is currently allocated by `alloc`.
    let b = unsafe { alloc.reallocate_raw(a, bytes(32)) }.unwrap();
    // SAFETY: as above.
    let too_large = unsafe { alloc.reallocate_raw(b, bytes(128)) }.unwrap_err();
    // SAFETY: as above.
    unsafe { alloc.deallocate_raw(b) };
    assert_eq!(
        alloc.logger().take(),
        [
            Event::Allocated {
                block: a,
                zeroed: false
            },
            Event::AllocationFailed {
                layout: bytes(8),
                zeroed: true,
                error: AllocatorError::OutOfMemory
            },
            Event::Reallocated { old: a, new: b },
            Event::ReallocationFailed {
                old: b,
                new_layout: bytes(128),
                error: AllocatorError::TooLarge
            },
            Event::Deallocated { block: b },
        ]
    );
    assert_eq!(
        (failed, too_large),
        (AllocatorError::OutOfMemory, AllocatorError::TooLarge)
    );
    let line = Event::ReallocationFailed {
        old: b,
        new_layout: bytes(128),
        error: too_large,
    }
    .to_string();
    assert_eq!(
        line,
        format!(
            "reallocate 32 B align 8 at {:#x} failed (to 128 B align 8): request is larger \
             than this allocator can serve",
            b.addr()
        )
    );
}

#[test]
fn a_printing_trace_keeps_nothing() {
    let alloc = Heap.proxy(Trace::printing());
    drop(alloc.allocate(1u8).unwrap());
    assert!(alloc.logger().is_empty());
}

/// A logger that allocates, through the proxy it logs, a record of each top-level
/// allocation (and counts everything, nested operations included).
#[derive(Default)]
struct Recorder<'a> {
    target: Cell<Option<&'a dyn Allocator>>,
    depth: Cell<u32>,
    records: RefCell<Vec<Block>>,
    counters: Counters,
}

impl ProxyLogger for Recorder<'_> {
    fn log(&self, event: &Event) {
        self.counters.log(event);
        let Some(target) = self.target.get() else {
            return;
        };
        if self.depth.get() > 0 {
            return;
        }
        if let Event::Allocated { block, .. } = event {
            self.depth.set(1);
            // Allocating through the proxy from inside its logger.
            let record = target.allocate_raw(bytes(16)).unwrap();
            // SAFETY: `record` is valid for 16 bytes.
            unsafe { record.as_ptr().cast::<usize>().write(block.size()) };
            self.records.borrow_mut().push(record);
            self.depth.set(0);
        }
    }
}

#[test]
fn a_logger_may_allocate_through_the_proxy_it_logs() {
    let alloc = Pool::new(64, 8)
        .with_fallback(Heap)
        .proxy(Recorder::default());
    alloc.logger().target.set(Some(&alloc));
    let values: Vec<_> = (0..5u32).map(|i| alloc.allocate(i).unwrap()).collect();
    drop(values);
    let records = alloc.logger().records.take();
    assert_eq!(records.len(), 5);
    for record in records {
        // SAFETY: each record holds the size written above.
        assert_eq!(unsafe { record.as_ptr().cast::<usize>().read() }, 4);
        // SAFETY: allocated through `alloc` by the logger; not logged-and-recorded again
        // (deallocations allocate no record).
        unsafe { alloc.deallocate_raw(record) };
    }
    let counts = alloc.logger().counters.counts();
    assert_eq!((counts.allocations, counts.deallocations), (10, 10));
    assert_eq!(counts.bytes_live, 0);
    assert_eq!(alloc.inner().main().live(), 0);
}

/// Which events make [`Panicky`] panic.
type Trigger = fn(&Event) -> bool;

/// Panics on the chosen kind of event.
#[derive(Default)]
struct Panicky {
    on: Cell<Option<Trigger>>,
}

impl ProxyLogger for Panicky {
    fn log(&self, event: &Event) {
        if self.on.get().is_some_and(|on| on(event)) {
            panic!("logger panicked on {event}");
        }
    }
}

fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(f))
}

#[test]
fn a_panicking_logger_leaves_the_allocator_consistent() {
    let alloc = Pool::new(64, 2).proxy(Panicky::default());
    let pool = alloc.inner();

    // On a successful allocation: the block is given back before the panic continues.
    alloc
        .logger()
        .on
        .set(Some(|e| matches!(e, Event::Allocated { .. })));
    assert!(catch(|| alloc.allocate_raw(bytes(8))).is_err());
    assert!(catch(|| alloc.allocate_zeroed_raw(bytes(8))).is_err());
    assert_eq!(pool.live(), 0);

    // On a deallocation: the block is freed all the same.
    alloc.logger().on.set(None);
    let a = alloc.allocate_raw(bytes(8)).unwrap();
    alloc
        .logger()
        .on
        .set(Some(|e| matches!(e, Event::Deallocated { .. })));
    // SAFETY: `a` is currently allocated by `alloc`.
    assert!(catch(|| unsafe { alloc.deallocate_raw(a) }).is_err());
    assert_eq!(pool.live(), 0);

    // On failures: the failed request changed nothing.
    alloc.logger().on.set(None);
    let a = alloc.allocate_raw(bytes(8)).unwrap();
    // SAFETY: `a` is valid for 8 bytes.
    unsafe { a.as_ptr().write_bytes(0x77, 8) };
    alloc.logger().on.set(Some(|e| {
        matches!(
            e,
            Event::AllocationFailed { .. } | Event::ReallocationFailed { .. }
        )
    }));
    assert!(catch(|| alloc.allocate_raw(bytes(100))).is_err());
    // SAFETY: `a` is currently allocated by `alloc`.
    assert!(catch(|| unsafe { alloc.reallocate_raw(a, bytes(100)) }).is_err());
    assert_eq!(pool.live(), 1);
    // SAFETY: `a` is still allocated, with its contents.
    assert_eq!(unsafe { a.as_ptr().read() }, 0x77);

    // Everything still works: both slots can be used and freed.
    alloc.logger().on.set(None);
    let b = alloc.allocate_raw(bytes(8)).unwrap();
    assert!(alloc.allocate_raw(bytes(8)).is_err());
    // SAFETY: both are currently allocated by `alloc`.
    unsafe {
        alloc.deallocate_raw(a);
        alloc.deallocate_raw(b);
    }
    assert_eq!(pool.live(), 0);
}

const ABORT_CHILD: &str = "ALLOC_COMPOSE_TEST_ABORT_CHILD";

/// A logger panicking after a successful reallocation aborts the process: the caller's
/// old block is gone, so letting the panic unwind could free it twice. Checked in a child
/// process (an abort cannot be caught), so not under Miri.
#[test]
#[cfg_attr(miri, ignore = "spawns a process")]
fn a_logger_panicking_after_a_reallocation_aborts() {
    if std::env::var_os(ABORT_CHILD).is_some() {
        let alloc = Heap.proxy(FnLogger(|e: &Event| {
            if let Event::Reallocated { .. } = e {
                panic!("logger panicked on {e}");
            }
        }));
        let a = alloc.allocate_raw(bytes(8)).unwrap();
        // SAFETY: `a` is currently allocated by `alloc`.
        let _ = catch(|| unsafe { alloc.reallocate_raw(a, bytes(16)) });
        // Not reached: the process aborted.
        std::process::exit(0);
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "proxy::a_logger_panicking_after_a_reallocation_aborts",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ABORT_CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the child did not abort: {stderr}"
    );
    assert!(
        stderr.contains("logger panicked on reallocate")
            && stderr.contains("unwinding could free it twice"),
        "{stderr}"
    );
}

#[test]
fn loggers_can_be_shared_and_combined() {
    let shared = Counters::new();
    let a = Heap.proxy(&shared);
    let b = Null.with_fallback(Heap).proxy(&shared);
    drop(a.allocate(1u8).unwrap());
    drop(b.allocate(1u16).unwrap());
    assert_eq!(shared.counts().allocations, 2);
    assert_eq!(shared.counts().peak_bytes, 2);

    let both = Heap.proxy((Counters::new(), std::rc::Rc::new(Trace::new())));
    drop(both.allocate(1u8).unwrap());
    assert_eq!(both.logger().0.counts().deallocations, 1);
    assert_eq!(both.logger().1.len(), 2);
    let boxed: Box<dyn ProxyLogger> = Box::new(Counters::new());
    let dynamic = Heap.proxy(boxed);
    drop(dynamic.allocate(1u8).unwrap());
}

#[test]
fn atomic_counters_count_across_threads() {
    let counters = AtomicCounters::new();
    let threads = if cfg!(miri) { 2 } else { 4 };
    let per_thread = if cfg!(miri) { 10 } else { 1000 };
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let alloc = Heap.proxy(&counters);
                let mut kept = Vec::new();
                for i in 0..per_thread {
                    kept.push(alloc.allocate(i).unwrap());
                }
            });
        }
    });
    let counts = counters.counts();
    let total = threads * per_thread;
    assert_eq!((counts.allocations, counts.deallocations), (total, total));
    assert_eq!(counts.bytes_live, 0);
    assert!(counts.peak_bytes >= per_thread * 8 && counts.peak_bytes <= total * 8);
}

static_assertions::assert_impl_all!(Proxy<Heap, AtomicCounters>: Send, Sync);
static_assertions::assert_impl_all!(Proxy<Heap, Counters>: Send);
static_assertions::assert_not_impl_any!(Proxy<Heap, Counters>: Sync);
static_assertions::assert_impl_all!(Proxy<Heap, NoLog>: Send, Sync, Copy);
static_assertions::assert_impl_all!(Event: Send, Sync, Copy);
const _: () = assert!(
    size_of::<Proxy<Heap, NoLog>>() == 0,
    "a proxy with no logger around a zero-size allocator is zero-size"
);

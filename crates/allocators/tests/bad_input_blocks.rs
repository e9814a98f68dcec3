//! The bad-input rows of `docs/bad-input.md` for issue 17's building blocks (`Affix`,
//! `Quantizer`, `Bitmapped`, `Tlsf`): one test per row, named after the row, each checking
//! the four; every answer is a clear error or a panic naming the problem, and the allocator
//! serves requests afterwards.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use alloc_core::testing::{assert_usable, panic_message};
use allocators::AllocatorError::{OutOfMemory, SizeOverflow, TooLarge, UnsupportedAlignment};
use allocators::{Affix, Allocator, Bitmapped, Block, FreeList, Heap, Quantizer, Tlsf};
use core::alloc::Layout;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Each block over a parent that can serve the request (`Heap`), and its name.
fn each(mut f: impl FnMut(&str, &dyn Allocator)) {
    f("Affix", &Affix::<_, u64, u32>::new(Heap));
    f("Quantizer", &Quantizer::new(Heap));
    f("Bitmapped", &Bitmapped::new(64, 64).unwrap());
    f("Tlsf", &Tlsf::new_in(Heap, 1 << 16).unwrap());
}

#[test]
fn zero_size_requests() {
    each(|name, a| {
        let b = a.allocate_raw(layout(0, 64)).unwrap();
        assert!(b.is_empty() && b.addr() % 64 == 0, "{name}");
        // SAFETY: empty blocks may be given to any allocator.
        unsafe { a.deallocate_raw(b) };
        assert_usable(name, a);
    });
}

#[test]
fn isize_max_and_overflowing_sizes() {
    let huge = layout(isize::MAX as usize - 8, 1);
    let expect = [
        ("Affix", SizeOverflow),
        ("Quantizer", SizeOverflow),
        ("Bitmapped", TooLarge),
        ("Tlsf", TooLarge),
    ];
    let mut i = 0;
    each(|name, a| {
        assert_eq!(
            (name, a.allocate_raw(huge)),
            (expect[i].0, Err(expect[i].1))
        );
        i += 1;
        assert_usable(name, a);
    });
}

#[test]
fn over_aligned_requests() {
    each(|name, a| {
        for shift in 13..=20 {
            let l = layout(100, 1 << shift);
            match a.allocate_raw(l) {
                Ok(b) => {
                    assert_eq!(b.addr() % l.align(), 0, "{name}");
                    // SAFETY: allocated just above.
                    unsafe { a.deallocate_raw(b) };
                }
                Err(e) => assert_eq!((name, e), ("Bitmapped", UnsupportedAlignment)),
            }
        }
        assert_usable(name, a);
    });
}

#[test]
fn exhaustion() {
    // Over fixed memory: a free list of 4 blocks under the wrappers, 64 blocks, 4 KiB.
    let pool = || FreeList::new(64, 4).unwrap();
    let region = Heap.allocate_raw(layout(4096, 16)).unwrap();
    let tlsf = Tlsf::new();
    // SAFETY: the region is valid and used only by `tlsf`, dropped before it is freed.
    unsafe { tlsf.add_region(region.ptr(), region.size()) };
    let subjects: [(&str, Box<dyn Allocator>); 3] = [
        ("Affix", Box::new(Affix::<_, u64>::new(pool()))),
        ("Quantizer", Box::new(Quantizer::new(pool()))),
        ("Bitmapped", Box::new(Bitmapped::new(64, 64).unwrap())),
    ];
    let mut all: Vec<(&str, &dyn Allocator)> = subjects.iter().map(|(n, a)| (*n, &**a)).collect();
    all.push(("Tlsf", &tlsf));
    for (name, a) in all {
        let mut live = Vec::new();
        let e = loop {
            match a.allocate_raw(layout(40, 8)) {
                Ok(b) => live.push(b),
                Err(e) => break e,
            }
        };
        assert_eq!((name, e), (name, OutOfMemory));
        for b in live {
            // SAFETY: allocated above.
            unsafe { a.deallocate_raw(b) };
        }
        assert_usable(name, a);
    }
    drop(tlsf);
    // SAFETY: allocated by `Heap` above; its user is gone.
    unsafe { Heap.deallocate_raw(region) };
}

#[test]
fn freeing_a_foreign_block() {
    let mut word = [0u64; 4];
    let foreign = Block::from_raw_parts(core::ptr::NonNull::from(&mut word).cast(), layout(32, 8));
    let bitmapped = Bitmapped::new(64, 8).unwrap();
    // SAFETY: none: the bad input under test, refused before anything is touched.
    let m = panic_message(|| unsafe { bitmapped.deallocate_raw(foreign) });
    assert!(
        m.contains("Bitmapped::deallocate_raw") && m.contains("does not own"),
        "{m}"
    );
    let tlsf = Tlsf::new_in(Heap, 4096).unwrap();
    // SAFETY: as above.
    let m = panic_message(|| unsafe { tlsf.deallocate_raw(foreign) });
    assert!(m.contains("not a block of this heap"), "{m}");
    // The wrappers pass the block to their inner allocator, which refuses it.
    let affix = Affix::<_, u64>::new(Bitmapped::new(64, 8).unwrap());
    // SAFETY: as above (a `u64` prefix has no destructor: nothing runs before the check).
    let m = panic_message(|| unsafe { affix.deallocate_raw(foreign) });
    assert!(m.contains("Bitmapped::deallocate_raw"), "{m}");
    let q = Quantizer::new(Bitmapped::new(64, 8).unwrap());
    // SAFETY: as above.
    let m = panic_message(|| unsafe { q.deallocate_raw(foreign) });
    assert!(m.contains("Bitmapped::deallocate_raw"), "{m}");
    assert_usable("Bitmapped", &bitmapped);
    assert_usable("Tlsf", &tlsf);
}

#[test]
fn double_free() {
    fn twice(a: &dyn Allocator) -> String {
        let keep = a.allocate_raw(layout(64, 8)).unwrap();
        let b = a.allocate_raw(layout(64, 8)).unwrap();
        let after = a.allocate_raw(layout(64, 8)).unwrap();
        // SAFETY: the first free is correct.
        unsafe { a.deallocate_raw(b) };
        // SAFETY: none: the double free under test, refused before anything is touched.
        let m = panic_message(|| unsafe { a.deallocate_raw(b) });
        // SAFETY: both still allocated.
        unsafe {
            a.deallocate_raw(keep);
            a.deallocate_raw(after);
        }
        m
    }
    let m = twice(&Bitmapped::new(64, 8).unwrap());
    assert!(m.contains("not allocated with this size"), "{m}");
    let m = twice(&Tlsf::new_in(Heap, 4096).unwrap());
    assert!(m.contains("not allocated (a double free"), "{m}");
    let m = twice(&Affix::<_, u64>::new(Bitmapped::new(64, 8).unwrap()));
    assert!(m.contains("Bitmapped::deallocate_raw"), "{m}");
    let m = twice(&Quantizer::new(Tlsf::new_in(Heap, 4096).unwrap()));
    assert!(m.contains("Tlsf::deallocate_raw"), "{m}");
}

#[test]
fn reallocating_to_zero() {
    each(|name, a| {
        let b = a.allocate_raw(layout(40, 8)).unwrap();
        // SAFETY: `b` is currently allocated by `a`.
        let e = unsafe { a.reallocate_raw(b, layout(0, 8)) }.unwrap();
        assert!(e.is_empty(), "{name}");
        assert_usable(name, a);
    });
}

#[test]
fn reallocating_to_larger_than_capacity() {
    let huge = layout(isize::MAX as usize - 8, 1);
    let expect = [SizeOverflow, SizeOverflow, TooLarge, TooLarge];
    let mut i = 0;
    each(|name, a| {
        let b = a.allocate_raw(layout(40, 8)).unwrap();
        // SAFETY: `b` is currently allocated by `a`; on error it stays so.
        let r = unsafe { a.reallocate_raw(b, huge) };
        assert_eq!((name, r), (name, Err(expect[i])));
        i += 1;
        // SAFETY: still allocated.
        unsafe { a.deallocate_raw(b) };
        assert_usable(name, a);
    });
}

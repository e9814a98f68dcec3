//! `Tlsf` over a parent that grows it in small chunks, over one fixed region, and under a
//! `Quantizer`, driven by arbitrary operations and checked by the conformance kit.
#![no_main]

use alloc_compose::Quantizer;
use alloc_core::{Allocator, Heap};
use alloc_tlsf::Tlsf;
use allocators_fuzz::{Input, check, run_ops, run_ops_owner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    let chunk = 128 + usize::from(input.u16());
    let ops = input.ops();
    match setup % 3 {
        0 => {
            let a = Tlsf::new_in(Heap, chunk).unwrap();
            check("Tlsf<Heap>", &ops, run_ops_owner(&a, &ops));
        }
        1 => {
            // One region, never grown: exhaustion on long sequences.
            let region = Heap
                .allocate_raw(core::alloc::Layout::from_size_align(chunk * 4, 16).unwrap())
                .unwrap();
            let a = Tlsf::new();
            // SAFETY: the region is valid for its size and used only by the heap, which is
            // dropped before the region is given back below.
            unsafe { a.add_region(region.ptr(), region.size()) };
            check("Tlsf over a region", &ops, run_ops_owner(&a, &ops));
            drop(a);
            // SAFETY: allocated by `Heap` above, no longer used.
            unsafe { Heap.deallocate_raw(region) };
        }
        _ => {
            let a = Quantizer::new(Tlsf::new_in(Heap, chunk).unwrap());
            check("Quantizer<Tlsf>", &ops, run_ops(&a, &ops));
        }
    }
});

//! Issue 17's building blocks, Affix, Quantizer and Bitmapped, alone and composed, driven
//! by arbitrary operations and checked by the conformance kit.
#![no_main]

use alloc_compose::{Affix, Bitmapped, Multiple, Quantizer, SizeClassRounding};
use alloc_core::Heap;
use allocators_fuzz::{Input, check, run_ops, run_ops_owner};
use libfuzzer_sys::fuzz_target;

/// A 32-byte-aligned affix: more alignment than most requests.
#[derive(Default)]
#[repr(align(32))]
struct Wide(#[allow(dead_code)] u64);

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    let shift = u32::from(input.byte() % 10);
    let blocks = 1 + usize::from(input.u16()) % 2048;
    let ops = input.ops();
    match setup % 6 {
        0 => {
            let a = Affix::<_, u64, u32>::new(Heap);
            check("Affix<Heap, u64, u32>", &ops, run_ops(&a, &ops));
        }
        1 => {
            let a = Affix::<_, Wide, u8>::new(Heap);
            check("Affix<Heap, Wide, u8>", &ops, run_ops(&a, &ops));
        }
        2 => {
            let a = Quantizer::with_rounding(Heap, SizeClassRounding);
            check("Quantizer<Heap, SizeClassRounding>", &ops, run_ops(&a, &ops));
        }
        3 => {
            let a = Bitmapped::new(1 << shift, blocks).unwrap();
            check("Bitmapped", &ops, run_ops_owner(&a, &ops));
        }
        4 => {
            let a = Quantizer::with_rounding(
                Bitmapped::new(1 << shift, blocks).unwrap(),
                Multiple::<48>,
            );
            check(
                "Quantizer<Bitmapped, Multiple<48>>",
                &ops,
                run_ops_owner(&a, &ops),
            );
        }
        _ => {
            let a = Affix::<_, u16, u64>::new(Bitmapped::new(1 << shift, blocks).unwrap());
            check("Affix<Bitmapped, u16, u64>", &ops, run_ops_owner(&a, &ops));
        }
    }
});

//! `Pages` (one mapping per block), `Protected` (the electric fence, as an owner) and the
//! page-protected mode of `Guard` (`Guard::new(Protected::new())`), driven by arbitrary
//! operations and checked by the conformance kit. A fault (a guard page touched, a freed
//! page used) is a finding, as a sanitizer report is.
#![no_main]

use alloc_compose::Guard;
use alloc_pages::{Pages, Protected};
use allocators_fuzz::{Input, check, run_ops, run_ops_owner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    let ops = input.ops();
    match setup % 3 {
        0 => check("Pages", &ops, run_ops(&Pages, &ops)),
        1 => check("Protected", &ops, run_ops_owner(&Protected::new(), &ops)),
        _ => {
            let a = Guard::new(Protected::new());
            check("Guard<Protected>", &ops, run_ops_owner(&a, &ops))
        }
    };
});

//! The allocator-api2 bridge on `Heap`: both versions, same behaviour.

use alloc_core::Heap;

#[test]
fn heap_serves_api2_02_collections() {
    let mut v: allocator_api2_02::vec::Vec<u32, Heap> = allocator_api2_02::vec::Vec::new_in(Heap);
    v.extend(0..1000);
    v.shrink_to_fit();
    assert_eq!(v.iter().sum::<u32>(), 499_500);
    let b = allocator_api2_02::boxed::Box::new_in([1u8; 100], Heap);
    assert_eq!(b.len(), 100);
}

#[test]
fn heap_serves_api2_04_collections() {
    let mut v: allocator_api2_04::vec::Vec<u32, Heap> = allocator_api2_04::vec::Vec::new_in(Heap);
    v.extend(0..1000);
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v.iter().sum::<u32>(), 45);
}

#[test]
fn grow_zeroed_zeroes_the_new_bytes() {
    use allocator_api2_02::alloc::Allocator as _;
    use core::alloc::Layout;
    let old = Layout::from_size_align(8, 8).unwrap();
    let new = Layout::from_size_align(64, 8).unwrap();
    let p = Heap.allocate(old).unwrap().cast::<u8>();
    // SAFETY: `p` is valid for 8 bytes.
    unsafe { p.as_ptr().write_bytes(0xAB, 8) };
    // SAFETY: `p` was allocated by `Heap` with `old`.
    let grown = unsafe { Heap.grow_zeroed(p, old, new) }.unwrap();
    // SAFETY: `grown` is valid for 64 initialised bytes.
    let bytes = unsafe { grown.as_ref() };
    assert!(bytes[..8].iter().all(|&b| b == 0xAB));
    assert!(bytes[8..].iter().all(|&b| b == 0));
    // SAFETY: allocated above with `new`.
    unsafe { Heap.deallocate(grown.cast(), new) };
}

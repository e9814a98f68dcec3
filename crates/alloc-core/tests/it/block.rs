//! `Block`'s size limit (issue 13, case 3): a valid `Layout` of 2^58 bytes or more cannot be
//! described by a two-word block on 64-bit targets; every build refuses it with a panic
//! (it used to be a `debug_assert!`, so release builds packed the size into the alignment
//! bits and `Block::layout` built an invalid `Layout`). Run in debug and release by
//! `cargo xtask ci`, and under Miri.

use alloc_core::Block;
use core::alloc::Layout;
use core::ptr::NonNull;

#[test]
fn the_largest_describable_size_round_trips() {
    let layout = Layout::from_size_align(Block::MAX_SIZE, 1).unwrap();
    let block = Block::from_raw_parts(NonNull::dangling(), layout);
    assert_eq!(block.size(), Block::MAX_SIZE);
    assert_eq!(block.layout(), layout);
}

#[cfg(target_pointer_width = "64")]
#[test]
#[should_panic(expected = "a block cannot be 2^58 bytes")]
fn a_layout_of_2_pow_58_bytes_panics_in_every_build() {
    let layout = Layout::from_size_align(1 << 58, 1).unwrap();
    let block = Block::from_raw_parts(NonNull::dangling(), layout);
    // Unreachable: before the fix, release builds got here with a corrupted block.
    panic!(
        "a 2^58-byte block was built: {block:?}, layout {:?}",
        block.layout()
    );
}

#[cfg(target_pointer_width = "64")]
#[test]
fn no_valid_layout_above_the_limit_builds_a_block() {
    // The largest valid layouts, at several alignments: each is refused, none is
    // silently described with another size or alignment.
    for align_log2 in [0u32, 3, 12, 40] {
        let align = 1usize << align_log2;
        let size = (isize::MAX as usize + 1) - align;
        let layout = Layout::from_size_align(size, align).unwrap();
        let built = std::panic::catch_unwind(|| {
            Block::from_raw_parts(NonNull::<u8>::dangling().cast(), layout).layout()
        });
        assert!(built.is_err(), "{layout:?} was accepted as {built:?}");
    }
}

#[test]
fn the_unchecked_constructor_agrees_below_the_limit() {
    let mut x = [0u64; 4];
    let ptr = NonNull::from(&mut x).cast::<u8>();
    let layout = Layout::new::<[u64; 4]>();
    // SAFETY: 32 bytes is below `Block::MAX_SIZE`.
    let unchecked = unsafe { Block::from_raw_parts_unchecked(ptr, layout) };
    assert_eq!(unchecked, Block::from_raw_parts(ptr, layout));
}

//! The size classes of the per-thread cache: pure arithmetic, no pointers.
//!
//! 36 classes from 16 bytes to 16 KiB: steps of 16 bytes up to 128, then four classes per
//! power of two (160, 192, 224, 256, 320, ...), so a request wastes at most 25 % (and at
//! most 15 bytes below 128). Every class block is [`ALIGN`]-aligned; the class of a size
//! is found in O(1) with one leading-zero count.
#![forbid(unsafe_code)]

/// How many classes there are.
pub(crate) const NUM_CLASSES: usize = 36;
/// The largest size a class serves; larger requests go to the backing allocator.
pub(crate) const MAX_SIZE: usize = 16 * 1024;
/// The alignment of every class block; more aligned requests go to the backing allocator.
pub(crate) const ALIGN: usize = 16;
/// A thread keeps at most this many bytes per class (and at least [`MIN_COUNT`] blocks).
/// 32 KiB rather than 16: with 16, the classes of 1-16 KiB kept 2-16 blocks and moved a
/// batch every few calls; 32 made larson 8-4,096 B 20-27 % faster at 1, 2 and 4 threads
/// and the crossing-frees benchmark at 2 threads twice as fast, for 1.14-1.17 x
/// mimalloc's peak bytes on larson 8-4,096 B (was 1.12-1.17; the small classes are
/// capped by [`MAX_COUNT`] either way).
pub(crate) const CLASS_BYTES: usize = 32 * 1024;
/// The most blocks a thread keeps per class.
pub(crate) const MAX_COUNT: usize = 256;
/// The fewest blocks a thread may keep per class (the largest classes).
pub(crate) const MIN_COUNT: usize = 2;

/// The block size of class `c` (`c < NUM_CLASSES`), computed.
const fn computed_size(c: usize) -> usize {
    if c < 8 {
        16 * (c + 1)
    } else {
        let group = (c - 8) / 4;
        let step = (c - 8) % 4;
        (128 << group) + (step + 1) * (32 << group)
    }
}

/// Every class's block size and capacity, computed at compile time: the hot paths read a
/// table instead of shifting for the size and dividing for the capacity (a 16-bit division
/// on every free was 10-15 % of a free's time in the one-thread benchmark).
const TABLE: [(u32, u32); NUM_CLASSES] = {
    let mut table = [(0, 0); NUM_CLASSES];
    let mut c = 0;
    while c < NUM_CLASSES {
        table[c] = (computed_size(c) as u32, computed_capacity(c) as u32);
        c += 1;
    }
    table
};

/// The block size of class `c` (`c < NUM_CLASSES`).
#[inline(always)]
pub(crate) const fn class_size(c: usize) -> usize {
    TABLE[c].0 as usize
}

/// The class of a request of `size` bytes, `1 <= size <= MAX_SIZE`: the smallest class
/// whose blocks hold `size` bytes.
#[inline(always)]
pub(crate) const fn class_of(size: usize) -> usize {
    debug_assert!(size >= 1 && size <= MAX_SIZE);
    if size <= 128 {
        // `size.div_ceil(16) - 1`, in two instructions instead of five (`size >= 1`).
        (size - 1) >> 4
    } else {
        let top = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize; // 7..=13
        let group = top - 7;
        let step = (size - 1 - (128 << group)) >> (5 + group);
        8 + 4 * group + step
    }
}

/// How many blocks a thread keeps at most in class `c`: [`CLASS_BYTES`] worth, clamped to
/// [`MIN_COUNT`]..=[`MAX_COUNT`], rounded down to an even number (a full stack is two
/// batches exactly, so a flush can cut it at a mark: see `local::ClassCache`).
#[inline(always)]
pub(crate) const fn capacity(c: usize) -> usize {
    TABLE[c].1 as usize
}

/// [`capacity`], computed.
const fn computed_capacity(c: usize) -> usize {
    let n = CLASS_BYTES / computed_size(c);
    let n = if n > MAX_COUNT {
        MAX_COUNT
    } else if n < MIN_COUNT {
        MIN_COUNT
    } else {
        n
    };
    n & !1
}

/// How many blocks move at once between a thread's cache and the depot or the backing
/// allocator: half the capacity (exactly: capacities are even), so a thread that alternates around the limit does not
/// move a batch on every call.
#[inline(always)]
pub(crate) const fn batch(c: usize) -> usize {
    capacity(c) / 2
}

/// The unit of the depot's limit: the bytes of a batch of the classes of 128 bytes and up
/// (half of [`CLASS_BYTES`]). A smaller class's batches are smaller (128 blocks: 2 KiB for
/// the 16-byte class), so the depot counts its limit in these units, not in batches: with
/// a limit of 16 batches, the 16-byte class kept 32 KiB while the 128-byte class kept
/// 256 KiB, and a program that frees many small blocks at once sent most of them back to
/// the backing allocator one by one (regex's test suite: 436 thousand blocks).
pub(crate) const DEPOT_UNIT: usize = CLASS_BYTES / 2;

/// The bytes of a batch of class `c`.
#[inline]
pub(crate) const fn batch_bytes(c: usize) -> usize {
    batch(c) * class_size(c)
}

/// How many full batches of class `c` the depot keeps when its limit is `units` of
/// [`DEPOT_UNIT`] bytes: at most `units * DEPOT_UNIT` bytes, in whole batches
/// (saturating: `usize::MAX` is no limit).
#[inline]
pub(crate) const fn depot_batches(units: usize, c: usize) -> usize {
    units.saturating_mul(DEPOT_UNIT) / batch_bytes(c)
}

/// The most bytes one thread can keep cached for one cache instance.
pub(crate) const MAX_CACHED_PER_THREAD: usize = {
    let mut total = 0;
    let mut c = 0;
    while c < NUM_CLASSES {
        total += capacity(c) * class_size(c);
        c += 1;
    }
    total
};

const _: () = assert!(
    class_size(NUM_CLASSES - 1) == MAX_SIZE,
    "the last class is MAX_SIZE"
);
const _: () = assert!(
    class_size(0) >= 2 * core::mem::size_of::<usize>(),
    "two links fit a block"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_the_computed_sizes_and_capacities() {
        for c in 0..NUM_CLASSES {
            assert_eq!(class_size(c), computed_size(c));
            assert_eq!(capacity(c), computed_capacity(c));
            let clamped = (CLASS_BYTES / class_size(c)).clamp(MIN_COUNT, MAX_COUNT);
            assert_eq!(capacity(c), clamped & !1);
            assert_eq!(capacity(c), 2 * batch(c));
        }
        assert_eq!(
            (class_size(8), class_size(12), class_size(NUM_CLASSES - 1)),
            (160, 320, MAX_SIZE)
        );
    }

    #[test]
    fn the_depot_keeps_the_same_bytes_of_every_class() {
        for c in 0..NUM_CLASSES {
            assert!(batch_bytes(c) <= DEPOT_UNIT, "class {c}");
            let kept = depot_batches(16, c) * batch_bytes(c);
            // 16 units, less than one batch of rounding.
            assert!(kept <= 16 * DEPOT_UNIT && kept + batch_bytes(c) > 16 * DEPOT_UNIT);
            assert_eq!(depot_batches(0, c), 0);
            assert!(depot_batches(usize::MAX, c) >= usize::MAX / DEPOT_UNIT);
        }
        // The classes of 128 bytes and up: 16 batches; the 16-byte class: 128 of 2 KiB.
        assert_eq!((depot_batches(16, 7), depot_batches(16, 0)), (16, 128));
    }

    #[test]
    fn classes_increase_and_are_aligned() {
        for c in 1..NUM_CLASSES {
            assert!(class_size(c) > class_size(c - 1));
            assert_eq!(class_size(c) % ALIGN, 0);
            assert!(batch(c) >= 1);
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "an exhaustive check of safe arithmetic (the module forbids unsafe): nothing for Miri to find; it runs natively"
    )]
    fn class_of_is_the_smallest_class_that_fits() {
        for size in 1..=MAX_SIZE {
            let c = class_of(size);
            assert!(class_size(c) >= size, "size {size} class {c}");
            assert!(c == 0 || class_size(c - 1) < size, "size {size} class {c}");
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "an exhaustive check of safe arithmetic (the module forbids unsafe): nothing for Miri to find; it runs natively"
    )]
    fn waste_is_bounded() {
        for size in 129..=MAX_SIZE {
            assert!(
                class_size(class_of(size)) * 4 <= size * 5 + 4 * 32,
                "size {size}"
            );
        }
    }
}

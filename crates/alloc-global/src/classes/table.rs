//! The size classes and the geometry of their chunks: pure arithmetic, computed at compile
//! time, apart from pointers (so it is easy to test and to reason about).
#![forbid(unsafe_code)]

use core::alloc::Layout;

use alloc_core::AllocatorError;

/// log2 of the chunk map's granule: every chunk is a whole number of granules, aligned to
/// its own size, and the map has one entry per granule.
pub(crate) const MAP_SHIFT: u32 = 14;
/// The chunk map's granule (16 KiB), also the smallest chunk.
pub(crate) const GRANULE: usize = 1 << MAP_SHIFT;
/// The chunk of the classes up to [`SMALL_MAX`] bytes: 16 KiB (at least 15 blocks).
pub(crate) const SMALL_CHUNK: usize = GRANULE;
/// The chunk of the larger classes: 64 KiB (at least 15 blocks).
pub(crate) const LARGE_CHUNK: usize = 4 * GRANULE;
/// The largest class carved from small chunks. A program that uses a few blocks of many
/// small classes holds a quarter of what 64 KiB chunks would make it hold (the peak is
/// rounded up to a chunk per class), while the classes above keep chunks large enough that
/// a header wastes at most one block in 16 and the parent is called less often.
pub(crate) const SMALL_MAX: usize = 1024;
/// The bytes at the start of a chunk reserved for its header (the bitmap follows).
pub(crate) const HEADER_BYTES: usize = 64;

/// The block sizes: multiples of 8 up to 32, then four steps per doubling up to 4 KiB
/// (at most 25 % of a block unused, rounding included, above 32 bytes).
pub(crate) const SIZES: [usize; 30] = [
    8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896,
    1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
];

/// The number of classes.
pub(crate) const CLASSES: usize = SIZES.len();

/// The largest block (and alignment) the classes serve.
pub(crate) const MAX_SIZE: usize = SIZES[CLASSES - 1];

/// Where the blocks of one class lie in a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Block size.
    pub(crate) size: usize,
    /// Chunk size and alignment: [`SMALL_CHUNK`] or [`LARGE_CHUNK`].
    pub(crate) chunk: usize,
    /// Block alignment: the largest power of two dividing `size`.
    pub(crate) align: usize,
    /// Offset of block 0 from the chunk start (after the header and the bitmap).
    pub(crate) offset: usize,
    /// Blocks per chunk.
    pub(crate) count: usize,
    /// 64-bit words of the allocation bitmap (one bit per block).
    pub(crate) words: usize,
    /// `ceil(2^32 / size)`: `(offset * recip) >> 32` is `offset / size` for every offset
    /// inside a chunk (below 2^16, with `size` at most 2^12), without a division.
    pub(crate) recip: u64,
}

const fn geometry(size: usize) -> Geometry {
    let chunk = if size <= SMALL_MAX {
        SMALL_CHUNK
    } else {
        LARGE_CHUNK
    };
    let align = 1 << size.trailing_zeros();
    let words = (chunk / size).div_ceil(64);
    let offset = (HEADER_BYTES + words * 8).next_multiple_of(align);
    Geometry {
        size,
        chunk,
        align,
        offset,
        count: (chunk - offset) / size,
        words,
        recip: (1u64 << 32).div_ceil(size as u64),
    }
}

/// The geometry of every class.
pub(crate) const GEOMETRY: [Geometry; CLASSES] = {
    let mut out = [geometry(8); CLASSES];
    let mut i = 0;
    while i < CLASSES {
        out[i] = geometry(SIZES[i]);
        i += 1;
    }
    out
};

/// The layout of a chunk of each class: its size, aligned to its size.
pub(crate) const CHUNK_LAYOUTS: [Layout; CLASSES] = {
    let mut out = [Layout::new::<u8>(); CLASSES];
    let mut i = 0;
    while i < CLASSES {
        out[i] = match Layout::from_size_align(GEOMETRY[i].chunk, GEOMETRY[i].chunk) {
            Ok(layout) => layout,
            Err(_) => panic!("valid chunk layout"),
        };
        i += 1;
    }
    out
};

/// `LOOKUP[(size + 7) / 8]`: the smallest class whose blocks hold `size` bytes.
const LOOKUP: [u8; MAX_SIZE / 8 + 1] = {
    let mut out = [0u8; MAX_SIZE / 8 + 1];
    let mut slot = 0;
    let mut class = 0;
    while slot < out.len() {
        while SIZES[class] < slot * 8 {
            class += 1;
        }
        out[slot] = class as u8;
        slot += 1;
    }
    out
};

/// The class for a non-empty request of `size` bytes aligned to `align` (a power of two):
/// the smallest class whose blocks are large and aligned enough.
///
/// # Errors
///
/// `UnsupportedAlignment` above 4 KiB alignment, `TooLarge` above 4 KiB.
#[inline]
pub(crate) fn class_of(size: usize, align: usize) -> Result<usize, AllocatorError> {
    if align > MAX_SIZE {
        return Err(AllocatorError::UnsupportedAlignment);
    }
    let wanted = if size > align { size } else { align };
    if wanted > MAX_SIZE {
        return Err(AllocatorError::TooLarge);
    }
    let mut class = LOOKUP[wanted.div_ceil(8)] as usize;
    // Terminates: `align` itself is a class (a power of two up to 4 KiB) at or after it.
    while GEOMETRY[class].align < align {
        class += 1;
    }
    Ok(class)
}

// The bitmap covers every block, blocks fit the chunk, a chunk holds at least 15 blocks of
// any class (a header wastes at most one block in 16), chunks are whole granules of the map
// (at most 2^16 bytes, for `recip`), and a class index fits below a granule's alignment.
const _: () = {
    let mut i = 0;
    while i < CLASSES {
        let g = GEOMETRY[i];
        assert!(g.words * 64 >= g.count, "bitmap too small");
        assert!(
            g.offset + g.count * g.size <= g.chunk,
            "blocks overflow the chunk"
        );
        assert!(
            g.chunk.is_power_of_two() && g.chunk >= GRANULE && g.chunk <= 1 << 16,
            "chunks are whole granules"
        );
        assert!(g.offset % g.align == 0, "misaligned first block");
        assert!(
            g.count >= 15 && g.count < 1 << 16,
            "chunk holds too few or too many blocks"
        );
        assert!(
            SIZES[i] % 8 == 0,
            "classes are multiples of 8 (room for a free-list link)"
        );
        i += 1;
    }
    assert!(
        CLASSES <= GRANULE,
        "class indices fit in a chunk pointer's low bits"
    );
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(
        miri,
        ignore = "an exhaustive check of safe arithmetic (the module forbids unsafe): nothing for Miri to find; it runs natively"
    )]
    fn every_request_gets_the_smallest_fitting_class() {
        for align_log2 in 0..=13 {
            let align = 1usize << align_log2;
            for size in 1..=MAX_SIZE + 1 {
                let got = class_of(size, align);
                let expected = (0..CLASSES)
                    .find(|&c| SIZES[c] >= size && GEOMETRY[c].align >= align)
                    .ok_or(if align > MAX_SIZE {
                        AllocatorError::UnsupportedAlignment
                    } else {
                        AllocatorError::TooLarge
                    });
                assert_eq!(got, expected, "size {size} align {align}");
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "two million divisions: natively only")]
    fn the_reciprocal_divides_exactly_inside_a_chunk() {
        for g in GEOMETRY {
            for offset in 0..g.chunk as u64 {
                assert_eq!((offset * g.recip) >> 32, offset / g.size as u64, "{g:?}");
            }
        }
    }

    #[test]
    fn geometry_of_the_extremes() {
        // 8 bytes: a 16 KiB chunk, a 64-byte header and a 256-byte bitmap first.
        assert_eq!(GEOMETRY[0].count, (SMALL_CHUNK - 64 - 256) / 8);
        // 1 KiB, the last small class: 15 blocks after a header padded to 1 KiB.
        let k = SIZES.iter().position(|&s| s == SMALL_MAX).unwrap();
        assert_eq!((GEOMETRY[k].chunk, GEOMETRY[k].count), (SMALL_CHUNK, 15));
        assert_eq!(GEOMETRY[k + 1].chunk, LARGE_CHUNK);
        assert_eq!(
            (GEOMETRY[CLASSES - 1].offset, GEOMETRY[CLASSES - 1].count),
            (4096, 15)
        );
    }
}

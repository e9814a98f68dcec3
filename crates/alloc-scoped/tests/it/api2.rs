//! The allocator-api2 bridge: `Vec` and hashbrown's `HashMap` in a `Scoped`.

#[cfg(feature = "allocator-api2-02")]
mod v02 {
    use alloc_scoped::Scoped;
    use allocator_api2_02::vec::Vec;

    #[test]
    fn vec_grows_in_place_and_gives_everything_back() {
        let alloc = Scoped::new(64 * 1024).unwrap();
        let mut v: Vec<u64, &Scoped> = Vec::new_in(&alloc);
        for i in 0..1000 {
            v.push(i);
        }
        assert_eq!(v.iter().sum::<u64>(), 499_500);
        // Growing the most recent block in place wastes nothing: exactly the capacity.
        assert_eq!(alloc.used(), v.capacity() * 8);
        v.truncate(10);
        v.shrink_to_fit();
        assert_eq!(alloc.used(), 80);
        assert_eq!(v.iter().sum::<u64>(), 45);
        drop(v);
        assert_eq!(alloc.used(), 0);
    }

    #[test]
    fn vecs_in_scopes() {
        let alloc = Scoped::new(64 * 1024).unwrap();
        let total = alloc
            .scope(|s| {
                let mut a: Vec<u32, _> = Vec::new_in(s);
                let mut b: Vec<u32, _> = Vec::new_in(s);
                // Alternating growth: only one can be the most recent block.
                for i in 0..500 {
                    a.push(i);
                    b.push(2 * i);
                }
                a.iter().chain(b.iter()).map(|&x| u64::from(x)).sum::<u64>()
            })
            .unwrap();
        assert_eq!(total, 3 * 124_750);
        assert_eq!(alloc.used(), 0);
    }

    #[test]
    fn a_vec_can_own_its_scoped() {
        // Moving the allocator into the Vec (and the Vec around) keeps the elements.
        let mut v: Vec<String, Scoped> = Vec::new_in(Scoped::new(4096).unwrap());
        for i in 0..100 {
            v.push(i.to_string());
        }
        let moved = Box::new(v);
        assert_eq!(moved[99], "99");
        assert_eq!(
            moved.allocator().used(),
            moved.capacity() * size_of::<String>()
        );
    }

    #[test]
    fn hashbrown_map() {
        let alloc = Scoped::new(256 * 1024).unwrap();
        let mut map = hashbrown::HashMap::new_in(&alloc);
        for i in 0..1000u32 {
            map.insert(i, i * i);
        }
        assert_eq!(map[&999], 998_001);
        map.retain(|k, _| k % 2 == 0);
        assert_eq!(map.len(), 500);
        drop(map);
        alloc
            .scope(|s| {
                let mut set = hashbrown::HashSet::new_in(s);
                set.extend(["a", "b", "a"]);
                assert_eq!(set.len(), 2);
            })
            .unwrap();
    }

    #[test]
    fn boxes_and_zero_sized_types() {
        let alloc = Scoped::new(1024).unwrap();
        let b = allocator_api2_02::boxed::Box::new_in([7u8; 100], &alloc);
        assert_eq!(b[99], 7);
        let unit = allocator_api2_02::boxed::Box::new_in((), &alloc);
        assert_eq!(*unit, ());
        let mut zsts: Vec<(), &Scoped> = Vec::new_in(&alloc);
        zsts.extend([(); 1000]);
        assert_eq!(zsts.len(), 1000);
        assert_eq!(alloc.used(), 100);
    }
}

#[cfg(feature = "allocator-api2-04")]
mod v04 {
    use alloc_scoped::{Buffer, Scoped};
    use allocator_api2_04::vec::Vec;
    use core::mem::MaybeUninit;

    #[test]
    fn vec_in_a_scoped_and_in_a_buffer() {
        let alloc = Scoped::new(64 * 1024).unwrap();
        let mut v: Vec<u16, &Scoped> = Vec::new_in(&alloc);
        v.extend(0..1000);
        assert_eq!(v.iter().map(|&x| u32::from(x)).sum::<u32>(), 499_500);
        drop(v);
        assert_eq!(alloc.used(), 0);

        let mut memory = [MaybeUninit::<u8>::uninit(); 64];
        let buffer = Buffer::new(&mut memory);
        let mut v: Vec<u8, &Buffer<'_>> = Vec::new_in(&buffer);
        v.extend_from_slice(b"hello");
        assert_eq!(&v[..], b"hello");
    }
}

//! A memory-mapped file of plain old data every worker process opens, read and written in place at
//! byte offsets: the raw access the engine region ([`super::engine`]) and the prefix caches
//! ([`super::prefix`]) share. Callers lay out their own structures and guard them with their own
//! cross-process lock ([`super::lock`]).

use memmap2::MmapRaw;
use std::fs::File;
use std::io;

pub struct Region {
    map: MmapRaw,
}

// SAFETY: the mapped bytes are only touched under the owner's cross-process spinlock (or through
// atomics).
#[allow(unsafe_code)]
unsafe impl Sync for Region {}
#[allow(unsafe_code)]
unsafe impl Send for Region {}

impl Region {
    /// Map `file` (already sized) for reading and writing, shared with every process that maps it.
    pub fn map(file: &File) -> io::Result<Region> {
        Ok(Region { map: MmapRaw::map_raw(file)? })
    }

    /// The `T` at `offset`: callers keep offsets within the mapped size and aligned for `T`, and
    /// hold their lock for anything but atomics.
    #[allow(unsafe_code, clippy::mut_from_ref)]
    pub fn at<T>(&self, offset: usize) -> &mut T {
        debug_assert!(offset + size_of::<T>() <= self.map.len());
        // SAFETY: in bounds and aligned (the caller's layout); exclusive access by the caller's lock.
        unsafe { &mut *self.map.as_mut_ptr().add(offset).cast::<T>() }
    }

    /// `len` values of `T` from `offset`, on the same terms as [`Region::at`].
    #[allow(unsafe_code, clippy::mut_from_ref)]
    pub fn array<T>(&self, offset: usize, len: usize) -> &mut [T] {
        debug_assert!(offset + len * size_of::<T>() <= self.map.len());
        // SAFETY: as for `at`.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(offset).cast::<T>(), len) }
    }
}

//! The region's plain-old-data layout: the header, each replica's head, its request slots and the
//! byte offsets of its arrays, and the raw access to them (callers hold the lock, except for the
//! header's atomics).

use super::{Counters, SharedEngine, ITERATION_BOUNDS, MAX_REPLICAS};
use crate::shm::lock::Guard;
use std::sync::atomic::{AtomicU32, AtomicU64};

#[repr(C)]
pub(super) struct Header {
    pub(super) magic: AtomicU64,
    pub(super) lock: AtomicU32,
    _pad: u32,
    pub(super) locked_at: AtomicU64,
    /// Requests cancelled so far (their clients left), readable without the lock: a pacer that
    /// sees it move asks again about the requests it holds (see [`SharedEngine::cancellations`]).
    pub(super) cancellations: AtomicU64,
    pub(super) layout: u64,
    pub(super) now: f64,
    /// When each lane of the server's front end (one per replica) is next free (seconds, shared
    /// clock).
    pub(super) frontend: [f64; MAX_REPLICAS],
    pub(super) counters: Counters,
    pub(super) iteration_buckets: [u64; ITERATION_BOUNDS.len() + 1],
}

#[repr(C)]
pub(super) struct ReplicaHead {
    pub(super) step_end: f64,
    pub(super) due: f64,
    pub(super) steps: u64,
    pub(super) free_blocks: u32,
    pub(super) waiting_head: u32,
    pub(super) waiting_len: u32,
    pub(super) running_len: u32,
    pub(super) work_len: u32,
    /// The free slots are a ring (oldest freed first), so a finished request's record (its finish
    /// time, under the next generation) stays readable for a while: see [`SharedEngine::settle`].
    pub(super) free_head: u32,
    pub(super) free_len: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct Slot {
    pub(super) arrival: f64,
    pub(super) first_token: f64,
    pub(super) finish: f64,
    pub(super) generation: u32,
    pub(super) live: u32,
    /// Index in the loaded engine while a replica is loaded.
    pub(super) local: u32,
    pub(super) prompt: u32,
    pub(super) cached: u32,
    pub(super) max_output: u32,
    pub(super) computed: u32,
    pub(super) generated: u32,
    pub(super) blocks: u32,
    pub(super) preemptions: u32,
}

/// Byte offsets of one replica's arrays from the replica's start.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    pub(super) seqs: usize,
    pub(super) slots: usize,
    pub(super) waiting: usize,
    pub(super) running: usize,
    pub(super) work: usize,
    pub(super) free: usize,
    pub(super) records: usize,
    pub(super) stride: usize,
}

pub(super) fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

impl Layout {
    pub(super) fn new(seqs: usize, waiting: usize) -> Layout {
        let slots = seqs + waiting;
        let waiting_at = align8(size_of::<ReplicaHead>());
        let running = waiting_at + align8(4 * slots);
        let work = running + align8(4 * seqs);
        let free = work + align8(8 * seqs);
        let records = free + align8(4 * slots);
        let stride = records + slots * size_of::<Slot>();
        Layout { seqs, slots, waiting: waiting_at, running, work, free, records, stride }
    }
}

impl Slot {
    pub(super) const fn zero() -> Slot {
        Slot {
            arrival: 0.0,
            first_token: 0.0,
            finish: 0.0,
            generation: 0,
            live: 0,
            local: 0,
            prompt: 0,
            cached: 0,
            max_output: 0,
            computed: 0,
            generated: 0,
            blocks: 0,
            preemptions: 0,
        }
    }
}

impl SharedEngine {
    #[allow(clippy::mut_from_ref)]
    pub(super) fn at<T>(&self, offset: usize) -> &mut T {
        self.map.at(offset)
    }

    #[allow(clippy::mut_from_ref)]
    pub(super) fn array<T>(&self, offset: usize, len: usize) -> &mut [T] {
        self.map.array(offset, len)
    }

    #[allow(clippy::mut_from_ref)]
    pub(super) fn header(&self) -> &mut Header {
        self.at(0)
    }

    pub(super) fn base(&self, replica: usize) -> usize {
        align8(size_of::<Header>()) + replica * self.layout.stride
    }

    #[allow(clippy::mut_from_ref)]
    pub(super) fn head(&self, r: usize) -> &mut ReplicaHead {
        self.at(self.base(r))
    }

    #[allow(clippy::mut_from_ref)]
    pub(super) fn u32s(&self, r: usize, field: usize, len: usize) -> &mut [u32] {
        self.array(self.base(r) + field, len)
    }

    #[allow(clippy::mut_from_ref)]
    pub(super) fn work(&self, r: usize) -> &mut [[u32; 2]] {
        self.array(self.base(r) + self.layout.work, self.layout.seqs)
    }

    #[allow(clippy::mut_from_ref)]
    pub(super) fn records(&self, r: usize) -> &mut [Slot] {
        self.array(self.base(r) + self.layout.records, self.layout.slots)
    }

    pub(super) fn lock(&self) -> Guard<'_> {
        let h = self.header();
        crate::shm::lock::acquire(&h.lock, &h.locked_at)
    }

    pub(super) fn initialise(&self, fingerprint: u64) {
        let h = self.header();
        h.layout = fingerprint;
        h.now = 0.0;
        h.frontend = [0.0; MAX_REPLICAS];
        h.counters = Counters::default();
        h.iteration_buckets = [0; ITERATION_BOUNDS.len() + 1];
        let n = self.layout.slots;
        for r in 0..self.dep.replicas as usize {
            *self.head(r) = ReplicaHead {
                step_end: f64::NAN,
                due: f64::NAN,
                steps: 0,
                free_blocks: self.dep.kv_blocks,
                waiting_head: 0,
                waiting_len: 0,
                running_len: 0,
                work_len: 0,
                free_head: 0,
                free_len: n as u32,
            };
            let free = self.u32s(r, self.layout.free, n);
            for (i, f) in free.iter_mut().enumerate() {
                *f = (n - 1 - i) as u32;
            }
            for s in self.records(r).iter_mut() {
                *s = Slot { arrival: 0.0, first_token: f64::NAN, finish: f64::NAN, ..Slot::zero() };
            }
        }
    }
}

//! The cross-process spinlock of the shared regions that need one (the engine's replicas, the prefix
//! caches): a lock word holding the holder's pid and the time it was taken, both in the mapped file.
//!
//! Critical sections last microseconds, so a waiter spins (yielding now and then) rather than sleeps.
//! A waiter takes the lock over from a holder whose process is gone or that held it longer than
//! [`STEAL_AFTER_NS`], so a killed worker cannot wedge the server.
//!
//! The holder's pid is read once per process ([`process_id`]): `getpid` is a system call (glibc no
//! longer caches it), and a request of the engine model takes these locks several times.

use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A lock held longer than this (ns) is taken over; critical sections last microseconds.
pub const STEAL_AFTER_NS: u64 = 1_000_000_000;

/// Held until dropped.
pub struct Guard<'a>(&'a AtomicU32);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}

fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// This process's pid, once read (0: not yet; a forked child's is cleared by [`forget_on_fork`]).
static PID: AtomicU32 = AtomicU32::new(0);

/// This process's pid (at least 1), read once: a forked child forgets its parent's, so it is always
/// the caller's own.
pub fn process_id() -> u32 {
    let cached = PID.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    forget_on_fork();
    let pid = std::process::id().max(1);
    PID.store(pid, Ordering::Relaxed);
    pid
}

/// Registers (once per process image) a fork handler that clears [`PID`] in the child.
#[cfg(unix)]
fn forget_on_fork() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    extern "C" fn child() {
        PID.store(0, Ordering::Relaxed);
    }
    #[allow(unsafe_code)]
    extern "C" {
        fn pthread_atfork(
            prepare: Option<extern "C" fn()>,
            parent: Option<extern "C" fn()>,
            child: Option<extern "C" fn()>,
        ) -> i32;
    }
    REGISTERED.call_once(|| {
        // SAFETY: `pthread_atfork` (POSIX, in the C library every process links) only records the
        // handler; `child` stores to an atomic, which is async-signal-safe.
        #[allow(unsafe_code)]
        unsafe {
            pthread_atfork(None, None, Some(child));
        }
    });
}

#[cfg(not(unix))]
fn forget_on_fork() {}

/// Take the lock `word` (0 when free, else the holder's pid), recording when in `locked_at`.
pub fn acquire<'a>(word: &'a AtomicU32, locked_at: &AtomicU64) -> Guard<'a> {
    let me = process_id();
    let mut spins: u32 = 0;
    loop {
        if word.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            locked_at.store(super::ratelimit::now_ns(), Ordering::Relaxed);
            return Guard(word);
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) {
            std::thread::yield_now();
        }
        if spins.is_multiple_of(1024) {
            let holder = word.load(Ordering::Relaxed);
            let held = super::ratelimit::now_ns().saturating_sub(locked_at.load(Ordering::Relaxed));
            let stale = holder != 0 && (!alive(holder) || held > STEAL_AFTER_NS);
            if stale && word.compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                locked_at.store(super::ratelimit::now_ns(), Ordering::Relaxed);
                return Guard(word);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_holder_is_taken_over_and_release_frees() {
        let (word, at) = (AtomicU32::new(u32::MAX - 1), AtomicU64::new(super::super::ratelimit::now_ns()));
        let g = acquire(&word, &at);
        assert_eq!(word.load(Ordering::Relaxed), std::process::id().max(1));
        drop(g);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }
}

//! The simulated deployment: block hashes of a prompt, per-worker radix prefix caches, the KV-aware
//! router, the cluster that queues and batches requests, the latency schedule of a reply, and the
//! pacing queues that play it on the wall clock.

pub mod block_hash;
pub mod cluster;
pub mod pacing;
pub mod radix;
pub mod router;
pub mod schedule;

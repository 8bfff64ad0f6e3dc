//! The simulated deployment: block hashes of a prompt, per-worker radix prefix caches, the KV-aware
//! router, the cluster that queues and batches requests, the latency schedule of a reply, the pacing
//! queues that play it on the wall clock, and the engine model (continuous batching with a physical
//! step cost) that `fakeai simulate` runs on a virtual clock.

pub mod block_hash;
pub mod cluster;
pub mod engine;
pub mod pacing;
pub mod radix;
pub mod router;
pub mod schedule;

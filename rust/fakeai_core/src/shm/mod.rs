//! State shared by every worker process through memory-mapped files: the counter [`table`], the
//! latency histograms and request metrics stored in it, the server-wide rate limits, the attempts
//! per request id of deterministic retries, the pieces behind learned token ids, and the engine model's
//! replicas.

pub mod attempts;
pub mod engine;
pub mod histogram;
pub mod lock;
pub mod metrics;
pub mod prefix;
pub mod ratelimit;
pub mod region;
pub mod table;
pub mod vocab;

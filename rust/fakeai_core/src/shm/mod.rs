//! State shared by every worker process through memory-mapped files: the counter [`table`], the
//! latency histograms and request metrics stored in it, and the server-wide rate limits.

pub mod engine;
pub mod histogram;
pub mod metrics;
pub mod ratelimit;
pub mod table;

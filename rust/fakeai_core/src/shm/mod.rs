//! State shared by every worker process through one memory-mapped file: the counter [`table`], the
//! latency histograms and request metrics stored in it, and the server-wide rate limits.

pub mod histogram;
pub mod metrics;
pub mod ratelimit;
pub mod table;

//! State shared by every worker process through one memory-mapped file: the counter [`table`], the
//! latency histograms and request metrics stored in it, the server-wide rate limits, the attempts
//! per request id of deterministic retries, and the pieces behind learned token ids.

pub mod attempts;
pub mod histogram;
pub mod metrics;
pub mod ratelimit;
pub mod table;
pub mod vocab;

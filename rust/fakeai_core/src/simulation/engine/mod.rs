//! The engine model: one simulated deployment running continuous batching with a physical step cost.
//!
//! [`deployment`] checks a model x GPU x precision x TP x replicas x scheduler-limits description and
//! derives the KV capacity; [`cost`] prices one step (roofline of bytes and FLOPs plus overheads, with
//! coefficients fitted to measurements); [`scheduler`] is one replica's vLLM-style step planning;
//! [`engine`] runs replicas event by event on a simulated clock; [`workload`] drives it offline
//! (closed loop, Poisson, traces) for `fakeai simulate`; [`time_windows`] measures a closed loop as
//! GenAI-Perf does.

pub mod cost;
pub mod deployment;
#[allow(clippy::module_inception)]
pub mod engine;
pub mod hardware;
pub mod models;
pub mod request;
pub mod scheduler;
pub mod time_windows;
pub mod workload;

#[cfg(test)]
mod tests;

pub use cost::{Coefficients, CostModel, StepLoad};
pub use deployment::{Deployment, KvPolicy, Rejected, Spec};
pub use engine::Engine;
pub use workload::{Level, Summary, TraceEntry};

//! Simulated deployments.

pub mod engine;

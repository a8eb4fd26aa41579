//! Training: the loop, optimizers, learning-rate schedules, metrics and checkpoints.

pub mod checkpoint;
pub mod config;
pub mod health;
pub mod metrics;
pub mod optimizer;
pub mod plot;
pub mod trainer;

pub use config::{OptimizerKind, Schedule, TrainConfig};
pub use trainer::{evaluate, predict, RunOptions, Summary, Trainer};

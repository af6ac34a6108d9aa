//! `food-classifier serve` end to end: the real binary on loopback, spoken to over plain TCP.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/model_files.rs"]
mod model_files;

mod api;
mod harness;
mod limits;

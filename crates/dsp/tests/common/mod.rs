//! Helpers shared by the DSP integration tests (from `timbre-testkit`).
#![allow(unused_imports)]

pub use timbre_testkit::{allocations_during, random_blocks, CountingAllocator, TestRng};

//! The Tiny Timbre engine.

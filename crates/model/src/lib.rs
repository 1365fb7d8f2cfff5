//! The Tiny Timbre model: file format and streaming inference.

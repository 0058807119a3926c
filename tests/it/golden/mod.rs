//! The renderer's output and the hand-written backend trees: golden files, parity with the
//! original n3x, the real validators, the build progress parsers.

mod backend_trees;
mod outputs;
mod parity;
mod progress;
mod validators;

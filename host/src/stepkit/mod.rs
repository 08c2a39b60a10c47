//! Step projects (issue 17): a directory with a `step.toml` manifest, the step's source in
//! Python, JavaScript, TypeScript or Rust, its test cases as data, and the WIT the host speaks.
//! `flowhost step new|build|test` are thin CLI wrappers over this module.

pub mod build;
pub mod cases;
pub mod fresh;
pub mod manifest;
pub mod mocks;
pub mod read;
pub mod templates;

pub use manifest::{Language, Manifest};

//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use n3x::profile::Profiles;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped profiles, loaded and validated.
pub fn shipped() -> Profiles {
    Profiles::load(&repo().join("profiles")).expect("the shipped profiles are valid")
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The body of a networkd file: everything after its two header comment lines.
pub fn body(text: &str) -> &str {
    let mut rest = text;
    for _ in 0..2 {
        assert!(
            rest.starts_with('#'),
            "expected a header comment line in:\n{text}"
        );
        rest = &rest[rest.find('\n').unwrap() + 1..];
    }
    rest
}

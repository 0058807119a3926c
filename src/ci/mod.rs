//! The CI pipeline n3x plans: [`plan`] makes it from the profiles (checks, image builds
//! grouped by what shares a build, VM tests sharded over runners, the merged JUnit, the
//! release on a tag), [`github`] and [`gitlab`] spell it for those engines, [`command`] is
//! `n3x ci generate` and `n3x ci --check`. Pure like the renderer: same profiles, same bytes.

pub mod command;
pub mod github;
pub mod gitlab;
pub mod plan;
pub mod yaml;

use crate::profile::Profiles;
use crate::render::RenderedFile;

/// Every workflow file, with its path in the repository.
pub fn render(p: &Profiles) -> Vec<RenderedFile> {
    [
        (github::CI_FILE, github::ci(p)),
        (github::RELEASE_FILE, github::release(p)),
        (gitlab::FILE, gitlab::render(p)),
    ]
    .into_iter()
    .map(|(path, contents)| RenderedFile {
        path: path.into(),
        contents,
        mode: 0o644,
    })
    .collect()
}

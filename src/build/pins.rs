//! The k3s release pin, kept in agreement across the three places that name it:
//! `profiles/cluster.yaml` (`k3s.version`, `k3s.sha256`), the ISAR recipe
//! (`kas/meta-n3x/recipes-core/k3s/k3s.inc`) and the NixOS systems
//! (`nixos/rendered/variants.json`, which `n3x render --all` writes). `n3x validate` runs
//! [`check`] on the repository of the profiles it validates.

use std::path::Path;

use crate::profile::Profiles;

/// The ISAR recipe's include file that pins k3s, relative to the repository.
pub const RECIPE: &str = "kas/meta-n3x/recipes-core/k3s/k3s.inc";
/// The NixOS side's rendered variants, relative to the repository.
pub const NIXOS: &str = "nixos/rendered/variants.json";

/// Every disagreement between the profiles' pin and the recipe or the NixOS side of `repo`,
/// one message each (`file:line: what; fix`). A tree without the file is not checked.
pub fn check(p: &Profiles, repo: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let pin = &p.cluster.k3s;
    if let Ok(text) = std::fs::read_to_string(repo.join(RECIPE)) {
        let wanted = [
            ("K3S_VERSION", Some(pin.version.as_str())),
            ("K3S_SHA256_AMD64", pin.sha256.amd64.as_deref()),
            ("K3S_SHA256_ARM64", pin.sha256.arm64.as_deref()),
        ];
        for (var, want) in wanted {
            let Some(want) = want else { continue };
            match assignment(&text, var) {
                Some((_, value)) if value == want => {}
                Some((line, value)) => problems.push(format!(
                    "{RECIPE}:{line}: {var} is \"{value}\", profiles/cluster.yaml pins \"{want}\"\n  fix: set {var} to \"{want}\" (or change the pin in profiles/cluster.yaml)"
                )),
                None => problems.push(format!(
                    "{RECIPE}: no {var}; profiles/cluster.yaml pins \"{want}\"\n  fix: add {var} ?= \"{want}\""
                )),
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(repo.join(NIXOS)) {
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let sha = serde_json::to_value(&pin.sha256).unwrap_or_default();
        if doc["k3sVersion"] != pin.version.as_str() || doc["k3sSha256"] != sha {
            problems.push(format!(
                "{NIXOS}: the NixOS systems pin k3s {} {}, profiles/cluster.yaml pins {} {}\n  fix: n3x render --all",
                doc["k3sVersion"], doc["k3sSha256"], pin.version, sha
            ));
        }
    }
    problems
}

/// The value of the first `VAR = "value"` (or `?=`, `??=`) assignment in a BitBake file,
/// with its 1-based line number.
fn assignment<'a>(text: &'a str, var: &str) -> Option<(usize, &'a str)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let rest = line.trim_start().strip_prefix(var)?;
        let rest = rest.trim_start();
        let rest = ["??=", "?=", "="]
            .iter()
            .find_map(|op| rest.strip_prefix(op))?;
        let value = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
        Some((i + 1, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_found_with_their_line() {
        let text = "# K3S_VERSION\nK3S_VERSION = \"v1\"\nK3S_SHA256_AMD64 ?= \"ab\"\n";
        assert_eq!(assignment(text, "K3S_VERSION"), Some((2, "v1")));
        assert_eq!(assignment(text, "K3S_SHA256_AMD64"), Some((3, "ab")));
        assert_eq!(assignment(text, "K3S_SHA256_ARM64"), None);
    }
}

//! The variant matrix: expanding `profiles/matrix.yaml` into variants, their IDs, kas overlay
//! chains, build commands and artifact names. Pure: same profiles, same answers.

use serde::Serialize;

use crate::profile::{OverlayRule, Profiles};

/// One buildable (machine, variant) of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variant {
    /// `role[-feature][-profile][-node]`; repeats across machines.
    pub id: String,
    /// The machine.
    pub machine: String,
    /// The image role.
    pub role: String,
    /// A feature overlay.
    pub feature: Option<String>,
    /// A test overlay.
    pub test_overlay: Option<String>,
    /// The network profile (none for a base image).
    pub profile: Option<String>,
    /// The cluster node (none for a base image).
    pub node: Option<String>,
    /// Published in a release.
    pub release: bool,
}

impl Variant {
    /// The unique key of the variant, `<id>@<machine>`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.id, self.machine)
    }
}

/// One file a variant's build produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Artifact type (`wic`, `vmlinuz`, …).
    pub kind: String,
    /// What BitBake writes (shared by every variant of the same recipe and machine).
    pub isar_name: String,
    /// The unique name the file is copied to before the next build can overwrite it.
    pub unique_name: String,
}

/// `role[-feature][-profile][-node]`, the original's `mkVariantId`.
pub fn variant_id(
    role: &str,
    feature: Option<&str>,
    profile: Option<&str>,
    node: Option<&str>,
) -> String {
    let mut parts = vec![role];
    parts.extend(feature);
    parts.extend(profile);
    parts.extend(node);
    parts.join("-")
}

/// Every variant of the matrix, in the order of `matrix.yaml` (profiles outer, nodes inner).
pub fn variants(p: &Profiles) -> Vec<Variant> {
    let mut out = Vec::new();
    for spec in &p.matrix.variants {
        let profiles: Vec<Option<&String>> = if spec.profiles.is_empty() {
            vec![None]
        } else {
            spec.profiles.iter().map(Some).collect()
        };
        let nodes: Vec<Option<&String>> = if spec.nodes.is_empty() {
            vec![None]
        } else {
            spec.nodes.iter().map(Some).collect()
        };
        for profile in &profiles {
            for node in &nodes {
                out.push(Variant {
                    id: variant_id(
                        &spec.role,
                        spec.feature.as_deref(),
                        profile.map(String::as_str),
                        node.map(String::as_str),
                    ),
                    machine: spec.machine.clone(),
                    role: spec.role.clone(),
                    feature: spec.feature.clone(),
                    test_overlay: spec.test_overlay.clone(),
                    profile: profile.cloned(),
                    node: node.cloned(),
                    release: spec.release,
                });
            }
        }
    }
    out
}

/// Variants matching the optional filters, in matrix order.
pub fn select<'a>(all: &'a [Variant], machine: Option<&str>, id: Option<&str>) -> Vec<&'a Variant> {
    all.iter()
        .filter(|v| machine.is_none_or(|m| v.machine == m))
        .filter(|v| id.is_none_or(|i| v.id == i))
        .collect()
}

fn placeholder_value<'a>(p: &'a Profiles, v: &'a Variant, name: &str) -> Option<&'a str> {
    match name {
        "kas_machine" => p.machines.get(&v.machine).map(|m| m.kas_machine.as_str()),
        "kas_image" => p.matrix.roles.get(&v.role).map(|r| r.kas_image.as_str()),
        "feature" => v.feature.as_deref(),
        "test_overlay" => v.test_overlay.as_deref(),
        "profile" => v.profile.as_deref(),
        "node" => v.node.as_deref(),
        _ => None,
    }
}

/// The kas overlay chain of a variant: `kas/<overlay>.yml` files in the order they apply.
pub fn overlay_chain(p: &Profiles, v: &Variant) -> Vec<String> {
    let mut chain = Vec::new();
    for rule in &p.matrix.overlay_order {
        let overlay = match rule {
            OverlayRule::ForRoles { overlay, roles } => {
                if !roles.contains(&v.role) {
                    continue;
                }
                Some(overlay.clone())
            }
            OverlayRule::Template(t) => expand(t, |ph| placeholder_value(p, v, ph)),
        };
        if let Some(o) = overlay {
            chain.push(format!("kas/{o}.yml"));
        }
    }
    chain
}

/// Fills `{placeholders}`; `None` if any has no value.
fn expand<'a>(template: &str, value: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        out.push_str(&rest[..open]);
        out.push_str(value(&rest[open + 1..close])?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The argv that builds a variant with kas-container (run from the repository root).
pub fn kas_container_argv(p: &Profiles, v: &Variant) -> Vec<String> {
    vec![
        "kas-container".into(),
        "--isar".into(),
        "build".into(),
        overlay_chain(p, v).join(":"),
    ]
}

/// The files a variant's build produces, with BitBake's name and the unique name.
pub fn artifacts(p: &Profiles, v: &Variant) -> Vec<Artifact> {
    let (Some(machine), Some(role)) = (p.machines.get(&v.machine), p.matrix.roles.get(&v.role))
    else {
        return Vec::new();
    };
    machine
        .artifacts
        .iter()
        .filter(|a| a.feature.is_none() || a.feature == v.feature)
        .map(|a| Artifact {
            kind: a.kind.clone(),
            isar_name: format!(
                "n3x-image-{}-{}-{}{}",
                role.recipe, p.matrix.distro, v.machine, a.suffix
            ),
            unique_name: format!("isar-{}-{}{}", v.id, v.machine, a.suffix),
        })
        .collect()
}

/// Release asset names of a variant (empty unless it is released).
pub fn release_assets(p: &Profiles, v: &Variant) -> Vec<String> {
    if !v.release {
        return Vec::new();
    }
    let Some(machine) = p.machines.get(&v.machine) else {
        return Vec::new();
    };
    machine
        .release
        .iter()
        .map(|ext| format!("n3x-{}-{}-{}{ext}", v.id, v.machine, p.matrix.version))
        .collect()
}

/// The Nix attribute path of the variant in the artifact registry:
/// `machine.(feature or role)[.profile."node"]`.
pub fn nix_attr_path(v: &Variant) -> String {
    let mut parts = vec![
        v.machine.clone(),
        v.feature.clone().unwrap_or_else(|| v.role.clone()),
    ];
    parts.extend(v.profile.clone());
    parts.extend(v.node.clone());
    parts
        .iter()
        .map(|s| nix_attr_name(s))
        .collect::<Vec<_>>()
        .join(".")
}

/// A Nix attribute name, quoted unless it is plain letters, digits and `_` (names with `-`
/// are quoted as the original's registry paths show them: `"server-1"`).
pub fn nix_attr_name(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{s}\"")
    }
}

/// Helpers for the unit tests of modules that plan builds of the shipped matrix.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Variant, variants};
    use crate::profile::Profiles;

    pub(crate) use crate::profile::shipped;

    /// The shipped variant with this key (`<id>@<machine>`).
    pub fn variant(p: &Profiles, key: &str) -> Variant {
        variants(p)
            .into_iter()
            .find(|v| v.key() == key)
            .unwrap_or_else(|| panic!("no variant {key}"))
    }
}

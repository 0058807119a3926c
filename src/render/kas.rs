//! The rendered kas overlays: `kas/network/<profile>.yml` selects a profile's files for an
//! image, `kas/node/<node>.yml` the node identity. Both add the `n3x-node-config` recipe, which
//! installs the files rendered for that (profile, node) pair.

use crate::profile::NetworkProfile;

/// The kas configuration format version the overlays are written for.
pub const KAS_HEADER_VERSION: u32 = 14;

/// `kas/network/<profile>.yml`.
pub fn network_overlay(header: &str, profile: &NetworkProfile) -> String {
    format!(
        "{header}# {desc}\n# Follow it with a kas/node/<node>.yml overlay to choose the node.\n\n\
         header:\n  version: {KAS_HEADER_VERSION}\n\n\
         local_conf_header:\n  network-profile: |\n    \
         IMAGE_INSTALL:append = \" n3x-node-config\"\n    \
         N3X_PROFILE = \"{name}\"\n",
        desc = profile.description.replace('\n', " "),
        name = profile.name,
    )
}

/// `kas/node/<node>.yml`.
pub fn node_overlay(header: &str, node: &str) -> String {
    format!(
        "{header}# Node identity: installs the files rendered for `{node}` under the chosen profile.\n\n\
         header:\n  version: {KAS_HEADER_VERSION}\n\n\
         local_conf_header:\n  node-identity: |\n    \
         N3X_NODE = \"{node}\"\n"
    )
}

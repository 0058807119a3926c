//! The `sw-description` of an n3x update bundle (libconfig syntax, SWUpdate's default parser),
//! rendered from values only: the same inputs give the same bytes.
//!
//! Layout: a section named after the machine (the board, the first field of the target's
//! `/etc/hwrevision`) with the hardware revisions it fits, and two selections, `stable,slot-a`
//! and `stable,slot-b`: each streams the one zstd-compressed ext4 payload into its slot's
//! partition with the `raw` handler and sets the GRUB environment so the next boot tries that
//! slot (SWUpdate adds `ustate=1`). The target installs the selection of the slot it is NOT
//! running (`n3x-ota` on the image chooses it).

/// The payload's name inside the bundle.
pub const PAYLOAD_NAME: &str = "rootfs.ext4.zst";

/// The selection that writes slot `slot` (`A` or `B`).
pub fn selection(slot: char) -> String {
    format!("stable,slot-{}", slot.to_ascii_lowercase())
}

/// The GPT partition name of slot `slot`: `APP` (A), `APP_b` (B).
pub fn partition(slot: char) -> &'static str {
    if slot == 'B' { "APP_b" } else { "APP" }
}

/// What a bundle's `sw-description` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwDescription {
    /// The software version (`/etc/n3x-release` of the payload says the same).
    pub version: String,
    /// The board: the machine (`qemuamd64`).
    pub board: String,
    /// The hardware revision the bundle fits (`n3x-1`).
    pub hw_compat: String,
    /// The variant the payload was built as, for the description.
    pub variant: String,
    /// sha256 of the compressed payload as stored in the bundle.
    pub payload_sha256: String,
    /// Size of the uncompressed ext4 image (what lands at the start of the slot).
    pub raw_size: u64,
    /// sha256 of the uncompressed ext4 image.
    pub raw_sha256: String,
}

/// Whether `s` may stand inside a libconfig string and a board section name without quoting
/// trouble: letters, digits and `.-_+~`.
pub fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_+~".contains(c))
}

/// Whether `s` is a libconfig setting name (a board section): `[A-Za-z][-A-Za-z0-9_]*`.
pub fn setting_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The `sw-description` text.
pub fn render(d: &SwDescription) -> String {
    let slot = |s: char| {
        format!(
            "\t\t\tslot-{lower} = {{\n\
             \t\t\t\timages: ( {{\n\
             \t\t\t\t\tfilename = \"{PAYLOAD_NAME}\";\n\
             \t\t\t\t\tdevice = \"/dev/disk/by-partlabel/{part}\";\n\
             \t\t\t\t\ttype = \"raw\";\n\
             \t\t\t\t\tcompressed = \"zstd\";\n\
             \t\t\t\t\tinstalled-directly = true;\n\
             \t\t\t\t\tsha256 = \"{zsha}\";\n\
             \t\t\t\t\tproperties: {{ n3x-raw-size = \"{size}\"; n3x-raw-sha256 = \"{rsha}\"; }};\n\
             \t\t\t\t}} );\n\
             \t\t\t\tbootenv: ( {{ name = \"n3x_slot\"; value = \"{s}\"; }}, {{ name = \"n3x_tries\"; value = \"0\"; }} );\n\
             \t\t\t}};\n",
            lower = s.to_ascii_lowercase(),
            part = partition(s),
            zsha = d.payload_sha256,
            size = d.raw_size,
            rsha = d.raw_sha256,
        )
    };
    format!(
        "software =\n{{\n\
         \tversion = \"{version}\";\n\
         \tdescription = \"n3x {variant} for {board}, version {version}\";\n\
         \t{board} = {{\n\
         \t\thardware-compatibility: [ \"{hw}\" ];\n\
         \t\tstable = {{\n{a}{b}\t\t}};\n\
         \t}};\n\
         }}\n",
        version = d.version,
        variant = d.variant,
        board = d.board,
        hw = d.hw_compat,
        a = slot('A'),
        b = slot('B'),
    )
}

/// Reads back what [`render`] wrote (the board, version, revision and payload checksums), for
/// `n3x ota apply`'s preflight. `None` when the text is not an n3x `sw-description`.
pub fn parse(text: &str) -> Option<SwDescription> {
    let quoted = |key: &str| {
        let at = text.find(&format!("{key} = \""))? + key.len() + 4;
        Some(text[at..].split('"').next()?.to_string())
    };
    let hw_at = text.find("hardware-compatibility: [ \"")? + 27;
    let board = text
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with("= {") && !l.starts_with("stable") && !l.starts_with("slot-"))?
        .trim_end_matches("= {")
        .trim()
        .to_string();
    let description = quoted("description")?;
    Some(SwDescription {
        version: quoted("version")?,
        variant: description
            .strip_prefix("n3x ")?
            .split(" for ")
            .next()?
            .to_string(),
        board,
        hw_compat: text[hw_at..].split('"').next()?.to_string(),
        payload_sha256: quoted("sha256")?,
        raw_size: quoted("n3x-raw-size")?.parse().ok()?,
        raw_sha256: quoted("n3x-raw-sha256")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SwDescription {
        SwDescription {
            version: "0.0.3".into(),
            board: "qemuamd64".into(),
            hw_compat: "n3x-1".into(),
            variant: "base-swupdate".into(),
            payload_sha256: "a".repeat(64),
            raw_size: 4096,
            raw_sha256: "b".repeat(64),
        }
    }

    #[test]
    fn both_slots_stream_the_one_payload_into_their_own_partition_and_flip_the_slot() {
        let text = render(&sample());
        assert!(text.contains("\tqemuamd64 = {\n\t\thardware-compatibility: [ \"n3x-1\" ];"));
        for (slot, part) in [("a", "APP"), ("b", "APP_b")] {
            let at = text.find(&format!("slot-{slot} = {{")).unwrap();
            let section = &text[at..];
            let section = &section[..section.find("\t\t\t};").unwrap()];
            assert!(section.contains(&format!("device = \"/dev/disk/by-partlabel/{part}\";")));
            assert!(section.contains(&format!(
                "{{ name = \"n3x_slot\"; value = \"{}\"; }}",
                slot.to_uppercase()
            )));
            assert!(section.contains("installed-directly = true;"));
        }
        assert_eq!(text.matches(&"a".repeat(64)).count(), 2);
        assert_eq!(render(&sample()), text, "deterministic");
    }

    #[test]
    fn what_is_rendered_parses_back() {
        assert_eq!(parse(&render(&sample())), Some(sample()));
        assert_eq!(parse("software = { }"), None);
    }

    #[test]
    fn names_that_would_break_the_syntax_are_refused() {
        assert!(plain("0.0.2") && plain("n3x-1"));
        assert!(!plain("1\"; x") && !plain(""));
        assert!(setting_name("qemuamd64") && setting_name("jetson-orin-nano"));
        assert!(!setting_name("9board") && !setting_name("a b"));
        assert_eq!(selection('B'), "stable,slot-b");
    }
}

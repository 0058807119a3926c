//! Finds the line and column of a field path in a YAML file, so that a rule broken by a value
//! (not by the syntax) can still point at the place to fix.
//!
//! This is a small indentation-aware scan for the block and flow styles the shipped profiles
//! use, not a YAML parser: when it cannot find the place it returns `None` and the message
//! names the field path alone.

use std::fmt;

/// One step of a field path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path to a field, such as `nodes.server-1.addresses.cluster` or `variants[3].machine`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// The empty path (the whole file).
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.into()));
        FieldPath(segs)
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        FieldPath(segs)
    }
}

/// Builds a path from dotted keys: `path!["nodes", name, "addresses"]`.
#[macro_export]
macro_rules! path {
    ($($seg:expr),* $(,)?) => {{
        let p = $crate::profile::locate::FieldPath::root();
        $(let p = p.key($seg);)*
        p
    }};
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

struct Line<'a> {
    indent: usize,
    text: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.lines()
        .map(|raw| {
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            Line { indent, text: raw }
        })
        .collect()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Column (0-based byte offset) where `key:` starts in `s`, if `s` begins a mapping entry for it.
fn key_at_start(s: &str, key: &str) -> bool {
    let unquoted = s.strip_prefix(key).is_some_and(|r| r.starts_with(':'));
    let dq = format!("\"{key}\":");
    let sq = format!("'{key}':");
    unquoted || s.starts_with(&dq) || s.starts_with(&sq)
}

/// Finds `key:` inside a flow mapping on one line, returning its byte offset.
fn key_in_flow(s: &str, key: &str) -> Option<usize> {
    let mut search = 0;
    while let Some(found) = s[search..].find(key) {
        let at = search + found;
        let before = s[..at].trim_end().chars().last();
        let after = &s[at + key.len()..];
        if matches!(before, Some('{') | Some(',')) && after.starts_with(':') {
            return Some(at);
        }
        search = at + key.len();
    }
    None
}

/// Returns the 1-based (line, column) where the value at `path` is written in `text`.
pub fn locate(text: &str, path: &FieldPath) -> Option<(usize, usize)> {
    let all = lines(text);
    // The block that holds the children of the current node: line range and the indent the
    // children are deeper than. `inline` is set when the current node's value is a flow
    // collection on one line.
    let mut start = 0usize;
    let mut end = all.len();
    let mut parent_indent: isize = -1;
    let mut found: Option<(usize, usize)> = None;
    let mut inline: Option<(usize, usize)> = None; // (line index, byte offset where flow text starts)

    for (si, seg) in path.0.iter().enumerate() {
        if let Some((li, off)) = inline {
            let s = &all[li].text[off..];
            match seg {
                Seg::Key(k) => {
                    let at = key_in_flow(s, k)?;
                    found = Some((li, off + at));
                    inline = Some((li, off + at + k.len() + 1));
                }
                Seg::Index(_) => return found.map(|(l, c)| (l + 1, c + 1)),
            }
            continue;
        }
        // The children's indent: the first non-blank line deeper than the parent.
        let child = (start..end).find(|&i| {
            !is_blank_or_comment(all[i].text) && all[i].indent as isize > parent_indent
        })?;
        let child_indent = all[child].indent;
        let mut hit = None;
        let mut item = 0usize;
        for (i, line) in all.iter().enumerate().take(end).skip(child) {
            if is_blank_or_comment(line.text) {
                continue;
            }
            if (line.indent as isize) <= parent_indent {
                break;
            }
            if line.indent != child_indent {
                continue;
            }
            let content = &line.text[line.indent..];
            match seg {
                Seg::Key(k) => {
                    if key_at_start(content, k) {
                        hit = Some((i, line.indent));
                        break;
                    }
                }
                Seg::Index(n) => {
                    if content.starts_with("- ") || content == "-" {
                        if item == *n {
                            hit = Some((i, line.indent + 2));
                            break;
                        }
                        item += 1;
                    }
                }
            }
        }
        let (li, col) = hit?;
        found = Some((li, col));
        let rest = &all[li].text[col..];
        match seg {
            Seg::Key(k) => {
                let value_off = col + k.len() + 1;
                let value = all[li].text[value_off..].trim_start();
                if value.starts_with('{') || value.starts_with('[') {
                    let off = all[li].text.len() - value.len();
                    inline = Some((li, off));
                } else {
                    start = li + 1;
                    end = block_end(&all, li, all[li].indent);
                    parent_indent = all[li].indent as isize;
                }
            }
            Seg::Index(_) => {
                // A list item: its mapping starts on the item line itself ("- name: x").
                let item_text = rest.trim_start();
                if item_text.starts_with('{') {
                    inline = Some((li, col));
                } else {
                    let end = block_end(&all, li, all[li].indent);
                    let rest = FieldPath(path.0[si + 1..].to_vec());
                    if rest.0.is_empty() {
                        break;
                    }
                    // Re-locate the rest inside the item, with its "- " turned into spaces.
                    let mut item = " ".repeat(col);
                    item.push_str(&all[li].text[col..]);
                    item.push('\n');
                    for line in &all[li + 1..end] {
                        item.push_str(line.text);
                        item.push('\n');
                    }
                    let (l, c) = locate(&item, &rest)?;
                    return Some((li + l, c));
                }
            }
        }
    }
    found.map(|(l, c)| (l + 1, c + 1))
}

fn block_end(all: &[Line<'_>], from: usize, indent: usize) -> usize {
    (from + 1..all.len())
        .find(|&i| !is_blank_or_comment(all[i].text) && all[i].indent <= indent)
        .unwrap_or(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
# comment
mode: static
networks:
  cluster:
    subnet: 192.168.1.0/24
    vlan: 5000
  storage: { subnet: 10.0.0.0/24, vlan: 100 }
nodes:
  server-1: { addresses: { cluster: 192.168.1.1 } }
  agent-1:
    addresses:
      cluster: 192.168.9.3
list:
  - name: a
    role: server
  - name: b
    role: agent
";

    #[test]
    fn finds_block_keys() {
        assert_eq!(locate(DOC, &path!["mode"]), Some((2, 1)));
        assert_eq!(
            locate(DOC, &path!["networks", "cluster", "vlan"]),
            Some((6, 5))
        );
        assert_eq!(
            locate(DOC, &path!["nodes", "agent-1", "addresses", "cluster"]),
            Some((12, 7))
        );
    }

    #[test]
    fn finds_keys_in_flow_mappings() {
        assert_eq!(
            locate(DOC, &path!["networks", "storage", "vlan"]),
            Some((7, 35))
        );
        assert_eq!(
            locate(DOC, &path!["nodes", "server-1", "addresses", "cluster"]),
            Some((9, 28))
        );
    }

    #[test]
    fn finds_list_items_and_their_keys() {
        let p = path!["list"].index(1);
        assert_eq!(locate(DOC, &p), Some((16, 5)));
        assert_eq!(locate(DOC, &p.key("role")), Some((17, 5)));
        assert_eq!(
            locate(DOC, &path!["list"].index(0).key("name")),
            Some((14, 5))
        );
    }

    #[test]
    fn unknown_paths_give_none() {
        assert_eq!(locate(DOC, &path!["nodes", "agent-9"]), None);
        assert_eq!(locate(DOC, &path!["list"].index(7)), None);
    }

    #[test]
    fn displays_paths() {
        assert_eq!(
            path!["variants"].index(3).key("machine").to_string(),
            "variants[3].machine"
        );
    }
}

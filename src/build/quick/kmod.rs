//! Kernel modules for the initramfs: which `.ko` files a set of modules needs, read from the
//! kernel's own `modules.dep`.

use std::collections::{BTreeMap, BTreeSet};

/// A parsed `modules.dep`: every module's path (relative to `/lib/modules/<version>/`) and the
/// paths it depends on.
#[derive(Debug, Clone, Default)]
pub struct ModulesDep {
    deps: BTreeMap<String, Vec<String>>,
    by_name: BTreeMap<String, String>,
}

/// A module's name as modprobe compares it: the file name without `.ko[.*]`, `-` as `_`.
pub fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

impl ModulesDep {
    /// Parses the text of `modules.dep`.
    pub fn parse(text: &str) -> ModulesDep {
        let mut dep = ModulesDep::default();
        for line in text.lines() {
            let Some((module, needs)) = line.split_once(':') else {
                continue;
            };
            let module = module.trim().to_string();
            dep.by_name.insert(module_name(&module), module.clone());
            dep.deps.insert(
                module,
                needs.split_whitespace().map(str::to_string).collect(),
            );
        }
        dep
    }

    /// The paths of `names` and everything they depend on, sorted. Names that are no module
    /// (built into the kernel, or unknown) are returned as the second value.
    pub fn closure<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> (BTreeSet<String>, Vec<String>) {
        let mut found = BTreeSet::new();
        let mut missing = Vec::new();
        let mut todo: Vec<String> = Vec::new();
        for name in names {
            match self.by_name.get(&module_name(name)) {
                Some(path) => todo.push(path.clone()),
                None => missing.push(name.to_string()),
            }
        }
        while let Some(path) = todo.pop() {
            if found.insert(path.clone()) {
                todo.extend(self.deps.get(&path).into_iter().flatten().cloned());
            }
        }
        (found, missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/drivers/block/virtio_blk.ko:
kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/net/8021q/8021q.ko: kernel/net/802/garp.ko kernel/net/802/mrp.ko
kernel/net/802/garp.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/802/mrp.ko:
kernel/net/802/stp.ko: kernel/net/llc/llc.ko
kernel/net/llc/llc.ko:
kernel/crypto/crc32c_generic.ko.xz:
";

    #[test]
    fn the_closure_follows_every_dependency_once() {
        let dep = ModulesDep::parse(DEP);
        let (paths, missing) = dep.closure(["ext4", "8021q", "virtio-blk", "crc32c_generic"]);
        assert!(missing.is_empty());
        assert_eq!(paths.len(), 11);
        assert!(paths.contains("kernel/net/llc/llc.ko"));
        assert!(paths.contains("kernel/crypto/crc32c_generic.ko.xz"));
    }

    #[test]
    fn built_in_or_unknown_modules_are_reported_not_invented() {
        let dep = ModulesDep::parse(DEP);
        let (paths, missing) = dep.closure(["virtio_pci", "virtio_blk"]);
        assert_eq!(paths.len(), 1);
        assert_eq!(missing, ["virtio_pci"]);
    }
}

//! Real QEMU: the QMP client, a real quick build, clusters booted and followed to Ready, the
//! test catalog run for real. One cluster at a time ([`crate::common::vm_serial`]): they share
//! the machine's two cores, the image cache and the runtime directories, which are named by
//! profile.

mod build;
mod cluster;
mod isar;
mod ota;
mod qmp;
mod readiness;
mod scenario;

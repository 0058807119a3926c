//! Benchmark: render everything (every profile, node and variant) from the shipped profiles.
//! Target: under 5 ms. Run with `cargo bench --bench render`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use n3x::matrix;
use n3x::profile::Profiles;
use n3x::render::{self, qemu};

fn everything(p: &Profiles) -> usize {
    let mut bytes = 0;
    for f in render::render_all(p) {
        bytes += f.contents.len();
    }
    for prof in p.networks.values() {
        let plan = qemu::plan(p, prof, "qemuamd64", None).expect("plan");
        bytes += plan.nodes.len();
    }
    for v in matrix::variants(p) {
        bytes += matrix::overlay_chain(p, &v).len();
        bytes += matrix::kas_container_argv(p, &v).len();
        bytes += matrix::artifacts(p, &v).len();
        bytes += matrix::release_assets(p, &v).len();
    }
    bytes
}

fn measure(name: &str, iterations: u32, mut f: impl FnMut()) {
    for _ in 0..iterations / 10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[samples.len() * 95 / 100];
    println!(
        "{name:<52} median {:>8.3} ms   p95 {:>8.3} ms   min {:>8.3} ms   ({iterations} runs)",
        median.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3
    );
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let p = Profiles::load(&root).expect("shipped profiles load");
    let files = render::render_all(&p).len();
    println!(
        "render everything: {files} repository files, {} plans, {} variants",
        p.networks.len(),
        matrix::variants(&p).len()
    );
    measure("render everything (profiles loaded)", 500, || {
        black_box(everything(black_box(&p)));
    });
    measure("load + validate profiles from disk", 500, || {
        black_box(Profiles::load(&root).expect("load"));
    });
    measure("load + validate + render everything", 500, || {
        let p = Profiles::load(&root).expect("load");
        black_box(everything(&p));
    });
}

//! Criterion benchmarks of the episode hot paths: instantiate + reset, an `Observe` step,
//! and a fork. Run with `cargo xtask bench` (needs `cargo xtask build-envs` first).

use std::path::Path;

use codegym_host::{Host, HostConfig, ToolCall};
use criterion::{Criterion, criterion_group, criterion_main};

fn episodes(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/envs/binary-search.wasm");
    let host = Host::new(HostConfig::default()).expect("host");
    let env = host.load(&path).expect("run `cargo xtask build-envs` first");
    let config = env.sample_config(1, 50).expect("config");
    let mut limits = env.limits();
    limits.max_steps = u32::MAX;
    limits.fuel_per_episode = u64::MAX;

    c.bench_function("instantiate_reset", |b| b.iter(|| env.start(&config).expect("start")));

    let observe = ToolCall::new("Observe", "{}");
    let mut episode = env.start_with(&config, limits).expect("start");
    c.bench_function("step_observe", |b| b.iter(|| episode.step(&observe)));

    let get = ToolCall::new("Get", r#"{"index":3}"#);
    c.bench_function("step_get", |b| b.iter(|| episode.step(&get)));

    c.bench_function("cached_load", |b| b.iter(|| host.load(&path).expect("load")));
}

criterion_group!(benches, episodes);
criterion_main!(benches);

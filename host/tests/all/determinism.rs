//! Determinism with components that would differ: NaN bits (`tests/envs/nan-bits`) and
//! relaxed SIMD (`tests/envs/relaxed-simd`). The host gives the pinned results — canonical
//! NaNs, the relaxed-simd proposal's deterministic semantics — in every configuration, and
//! a bare wasmtime without those settings shows what they pin on this CPU. The browser's
//! side: the NaN rewrite of `cargo xtask web`, run in an engine that does not canonicalise,
//! gives the host's observations byte for byte.

use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Config, Engine, Store};

use codegym_componentize::{CANONICAL_F32_NAN, canonicalize_nans, uses_relaxed_simd};

use crate::{component, host_with, load};

/// Tool calls of `nan-bits`: 0 / 0, a signalling NaN with a payload against 1, x86's
/// negative NaN against 2, in every tool.
const NAN_CALLS: &[(&str, &str)] = &[
    ("F32", r#"{"a":0,"b":0}"#),
    ("F32", r#"{"a":2141192193,"b":1065353216}"#),
    ("F32", r#"{"a":4290772992,"b":1073741824}"#),
    ("F64", r#"{"a":0,"b":0}"#),
    ("F64", r#"{"a":9219994337134247937,"b":4607182418800017408}"#),
    ("F32x4", r#"{"a":2141192193,"b":1065353216}"#),
    ("F32x4", r#"{"a":0,"b":0}"#),
    ("F64x2", r#"{"a":9219994337134247937,"b":4607182418800017408}"#),
];

/// The host's observations of `NAN_CALLS`, of one `nan-bits` episode.
fn host_observations(
    configure: impl FnOnce(&mut codegym_host::HostConfig),
    calls: &[(&str, &str)],
    env: &str,
) -> Vec<String> {
    let (host, _cache) = host_with(configure);
    let env = load(&host, "test-envs", env);
    let config = env.sample_config(0, 0).expect("config");
    let mut episode = env.start(&config).expect("start");
    calls.iter().map(|(tool, arguments)| episode.step(&crate::call(tool, arguments)).observation).collect()
}

/// The observations of `calls` in one episode of `component` (config `{seed 0}`) in a bare
/// wasmtime configured by `configure`, driven through the component's exports directly.
fn bare_observations(
    component: &[u8],
    configure: impl FnOnce(&mut Config),
    calls: &[(&str, &str)],
) -> Vec<String> {
    let mut config = Config::new();
    configure(&mut config);
    let engine = Engine::new(&config).expect("engine");
    let component = Component::new(&engine, component).expect("compiles");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &component).expect("instantiates");
    let interface =
        instance.get_export_index(&mut store, None, "codegym:env/environment@0.1.0").expect("the interface");
    let mut call = |name: &str, params: &[Val]| -> Val {
        let index = instance.get_export_index(&mut store, Some(&interface), name).expect(name);
        let func = instance.get_func(&mut store, index).expect(name);
        let mut results = [Val::Bool(false)];
        func.call(&mut store, params, &mut results).expect(name);
        results[0].clone()
    };
    let Val::String(config) = call("sample-config", &[Val::U64(0), Val::U32(0)]) else { panic!("a config") };
    call("reset", &[Val::String(config)]);
    calls
        .iter()
        .map(|(tool, arguments)| {
            let step = call("step", &[Val::String((*tool).into()), Val::String((*arguments).into())]);
            let Val::Record(fields) = step else { panic!("a step record: {step:?}") };
            match fields.into_iter().find(|(name, _)| name == "observation") {
                Some((_, Val::String(observation))) => observation,
                other => panic!("no observation: {other:?}"),
            }
        })
        .collect()
}

fn read(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(component(dir, name)).expect("read the component")
}

/// The hexadecimal value of `key=0x…` in `observation`.
fn field(observation: &str, key: &str) -> String {
    let start = observation.find(&format!("{key}=0x")).unwrap_or_else(|| panic!("{key} in {observation}"));
    observation[start + key.len() + 1..].split([' ', ',', ']']).next().unwrap_or_default().to_owned()
}

#[test]
fn nan_results_are_canonical_in_every_host_configuration() {
    let pooled = host_observations(|_| {}, NAN_CALLS, "nan-bits");
    let on_demand = host_observations(|config| config.pool_size = 0, NAN_CALLS, "nan-bits");
    assert_eq!(pooled, on_demand);
    let canonical = format!("0x{CANONICAL_F32_NAN:08x}");
    assert_eq!(field(&pooled[0], "div"), canonical, "0 / 0: {}", pooled[0]);
    // A signalling NaN with a payload: every NaN result is the canonical one (Rust's `min`
    // and `max` return the other operand).
    assert_eq!(
        pooled[1],
        "add=0x7fc00000 sub=0x7fc00000 mul=0x7fc00000 div=0x7fc00000 min=0x3f800000 max=0x3f800000 \
         sqrt=0x7fc00000 ceil=0x7fc00000 floor=0x7fc00000 trunc=0x7fc00000 nearest=0x7fc00000 \
         promote=0x7ff8000000000000"
    );
    assert_eq!(field(&pooled[2], "div"), canonical, "x86's negative NaN / 2");
    assert_eq!(field(&pooled[3], "div"), "0x7ff8000000000000");
    assert_eq!(
        pooled[5],
        "add=[0x7fc00000, 0x7fc00000, 0x7fc00000, 0x40000000] div=[0x7fc00000, 0x7fc00000, 0x7fc00000, 0x3f800000] \
         min=[0x7fc00000, 0x7fc00000, 0x7fc00000, 0x3f800000] max=[0x7fc00000, 0x7fc00000, 0x7fc00000, 0x3f800000] \
         sqrt=[0x7fc00000, 0x3f800000, 0x7fc00000, 0x3f800000] nearest=[0x7fc00000, 0x3f800000, 0x7fc00000, 0x3f800000] \
         demote=[0x7fc00000, 0x3f800000, 0x00000000, 0x00000000]"
    );

    // What the canonicalisation pins: the same component in a wasmtime that does not.
    let native = bare_observations(&read("test-envs", "nan-bits"), |_| {}, NAN_CALLS);
    assert_ne!(native, pooled, "without canonicalisation some NaN's bits differ");
    if cfg!(target_arch = "x86_64") {
        assert_eq!(field(&native[0], "div"), "0xffc00000", "x86's own 0 / 0");
    }
}

#[test]
fn the_browser_rewrite_gives_the_hosts_nan_bits_in_an_engine_that_does_not_canonicalise() {
    let original = read("test-envs", "nan-bits");
    let rewritten = canonicalize_nans(&original).expect("rewrite");
    assert_ne!(rewritten, original);
    let host = host_observations(|_| {}, NAN_CALLS, "nan-bits");
    assert_eq!(bare_observations(&rewritten, |_| {}, NAN_CALLS), host);
    // The host itself is unaffected by the rewrite: same observations.
    let (pinned_host, _cache) = host_with(|_| {});
    let env = pinned_host.load_bytes(&rewritten).expect("loads");
    let mut episode = env.start(&env.sample_config(0, 0).expect("config")).expect("start");
    let again: Vec<String> = NAN_CALLS
        .iter()
        .map(|(tool, arguments)| episode.step(&crate::call(tool, arguments)).observation)
        .collect();
    assert_eq!(again, host);
}

/// Tool calls of `relaxed-simd` with inputs where CPUs may differ, and the observations the
/// proposal's deterministic semantics define for them.
const RELAXED: &[(&str, &str, &str)] = &[
    // NaN, +∞, 3e9, -2.5 → as `i32x4.trunc_sat_f32x4_s` (x86's cvttps2dq: 0x80000000 each).
    (
        "Trunc",
        r#"{"lanes":[2143289344,2139095040,1328730206,3223322624]}"#,
        "[0, 2147483647, 2147483647, -2]",
    ),
    // Indices 16 and up are out of range → 0, as `i8x16.swizzle` (x86's pshufb uses the
    // low four bits unless the top one is set).
    (
        "Swizzle",
        r#"{"table":[10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25],"indices":[0,1,15,16,17,31,127,128,255,2,3,4,5,6,7,8]}"#,
        "[10, 11, 25, 0, 0, 0, 0, 0, 0, 12, 13, 14, 15, 16, 17, 18]",
    ),
    // (1 + 2^-12)² − (1 + 2^-11) fused is 2^-24; rounded twice it is 0.
    (
        "Madd",
        r#"{"a":[1065355264,1065355264,1065355264,1065355264],"b":[1065355264,1065355264,1065355264,1065355264],"c":[3212840960,3212840960,3212840960,3212840960]}"#,
        "[0x33800000, 0x33800000, 0x33800000, 0x33800000]",
    ),
    // As `f32x4.min`/`max`: NaNs propagate (canonical), -0 < +0 (x86's minps returns an
    // operand by position).
    (
        "MinMax",
        r#"{"a":[2141192193,1065353216,2147483648,0],"b":[1065353216,2141192193,0,2147483648]}"#,
        "min=[0x7fc00000, 0x7fc00000, 0x80000000, 0x80000000] max=[0x7fc00000, 0x7fc00000, 0x00000000, 0x00000000]",
    ),
    // Bit by bit, as `v128.bitselect` (x86's blendv goes by each lane's top bit).
    (
        "Laneselect",
        r#"{"a":[2863311530,2863311530,2863311530,2863311530],"b":[1431655765,1431655765,1431655765,1431655765],"mask":[2147483648,2147483647,4294967295,0]}"#,
        "[0xd5555555, 0x2aaaaaaa, 0xaaaaaaaa, 0x55555555]",
    ),
    // Saturating, as `i16x8.q15mulr_sat_s` (x86's pmulhrsw wraps -1 · -1 to -32768).
    (
        "Q15mulr",
        r#"{"a":[-32768,16384,-16384,32767,1,0,0,0],"b":[-32768,16384,16384,32767,1,0,0,0]}"#,
        "[32767, 8192, -8192, 32766, 0, 0, 0, 0]",
    ),
    // Both operands signed (x86's pmaddubsw reads one as unsigned).
    (
        "Dot",
        r#"{"a":[-1,2,-3,4,127,-128,0,1,0,0,0,0,0,0,0,0],"b":[3,4,5,6,1,1,7,7,0,0,0,0,0,0,0,0]}"#,
        "[5, 9, -1, 7, 0, 0, 0, 0]",
    ),
];

#[test]
fn relaxed_simd_gives_its_deterministic_semantics_in_every_host_configuration() {
    let calls: Vec<(&str, &str)> = RELAXED.iter().map(|(tool, arguments, _)| (*tool, *arguments)).collect();
    let expected: Vec<&str> = RELAXED.iter().map(|(_, _, observation)| *observation).collect();
    let pooled = host_observations(|_| {}, &calls, "relaxed-simd");
    assert_eq!(pooled, expected);
    assert_eq!(host_observations(|config| config.pool_size = 0, &calls, "relaxed-simd"), expected);

    // The same component where wasmtime lowers relaxed SIMD natively (its default).
    let native = bare_observations(
        &read("test-envs", "relaxed-simd"),
        |config| {
            config.cranelift_nan_canonicalization(true).relaxed_simd_deterministic(false);
        },
        &calls,
    );
    let differing: Vec<&str> = calls
        .iter()
        .zip(native.iter().zip(&pooled))
        .filter(|(_, (n, p))| n != p)
        .map(|((tool, _), _)| *tool)
        .collect();
    eprintln!("relaxed SIMD lowered natively on this CPU differs in {differing:?}");
    if cfg!(target_arch = "x86_64") {
        // cvttps2dq (SSE2, every x86-64 CPU): NaN and out-of-range lanes become i32::MIN.
        assert_eq!(native[0], "[-2147483648, -2147483648, -2147483648, -2]");
        assert!(differing.contains(&"Trunc") && differing.contains(&"MinMax"), "{differing:?}");
    }
}

#[test]
fn relaxed_simd_is_found_in_the_components_that_use_it() {
    assert!(uses_relaxed_simd(&read("test-envs", "relaxed-simd")).expect("parse"));
    assert!(!uses_relaxed_simd(&read("test-envs", "nan-bits")).expect("parse"));
    assert!(!uses_relaxed_simd(&read("envs", "binary-search")).expect("parse"));
}

#[test]
fn oracle_episodes_replay_byte_for_byte_on_another_host() {
    let (host, _cache) = host_with(|_| {});
    let (other, _other_cache) = host_with(|config| config.pool_size = 0);
    for name in ["nan-bits", "relaxed-simd"] {
        let env = load(&host, "test-envs", name);
        let elsewhere = load(&other, "test-envs", name);
        for seed in 0..5 {
            let job = codegym_host::Job::sampled(env.clone(), seed, 0);
            let (oracle, _) =
                codegym_host::run_episode(&job, &mut codegym_host::OraclePolicy::default(), env.limits())
                    .expect("oracle episode");
            assert_eq!(oracle.outcome, codegym_host::Outcome::Solved, "{name} seed {seed}");
            let calls = oracle.steps.iter().map(|step| step.call.clone()).collect();
            let job = codegym_host::Job::sampled(elsewhere.clone(), seed, 0);
            let (replayed, _) =
                codegym_host::run_episode(&job, &mut codegym_host::ScriptedPolicy::new(calls), env.limits())
                    .expect("replayed episode");
            assert_eq!(replayed.steps, oracle.steps, "{name} seed {seed}");
        }
    }
}

#[test]
fn the_engine_has_no_threads_so_no_shared_memory_to_race_on() {
    // wasmtime is built without its `threads` feature: a core module may not even declare a
    // shared memory or an atomic wait, so a component has one thread of execution.
    let (host, _cache) = host_with(|_| {});
    for wat in [
        "(module (memory 1 1 shared))",
        "(module (memory 1 1) (func (result i32) i32.const 0 i32.const 0 i64.const 0 memory.atomic.wait32))",
    ] {
        let error = wasmtime::Module::new(host.engine(), wat).expect_err(wat);
        assert!(format!("{error:#}").contains("threads"), "{wat}: {error:#}");
    }
    assert!(wasmtime::Module::new(host.engine(), "(module (memory 1 1))").is_ok());
}

//! The compile cache trusts nothing on disk blindly: artifacts carry a digest, the directory
//! and its files must be this user's alone, and every refusal is reported, never a crash.
//!
//! An artifact file is `codegym\x01`, the blake3 of the component it was compiled from (32
//! bytes), the payload's length (8, little endian), the payload's blake3 (32), then the
//! payload (wasmtime's serialized component).

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codegym_host::{CacheOutcome, Env, Host, HostConfig, OraclePolicy, Outcome};

use crate::{component, host_with};

const HEADER: usize = 80;
const DIGEST: std::ops::Range<usize> = 48..80;

/// Load binary-search with a fresh host (a new engine, nothing in memory) caching in `dir`.
fn fresh_load(dir: &Path) -> Env {
    fresh_load_of(dir, "binary-search")
}

fn fresh_load_of(dir: &Path, name: &str) -> Env {
    let config = HostConfig { cache_dir: Some(dir.to_owned()), pool_size: 16, ..HostConfig::default() };
    let host = Host::new(config).expect("host");
    host.load(&component("envs", name)).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// The oracle still solves an episode of `env`.
fn assert_works(env: &Env) {
    let job = codegym_host::Job::sampled(env.clone(), 3, 50);
    let (trajectory, _) =
        codegym_host::run_episode(&job, &mut OraclePolicy::default(), env.limits()).expect("episode");
    assert_eq!(trajectory.outcome, Outcome::Solved);
}

/// The cache's only artifact.
fn artifact(dir: &Path) -> PathBuf {
    let files = listing(dir);
    assert_eq!(files.len(), 1, "one artifact: {files:?}");
    dir.join(&files[0])
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("cache dir")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `payload` under a header that vouches for it as compiled from binary-search.
fn with_matching_header(payload: &[u8]) -> Vec<u8> {
    let source = blake3::hash(&std::fs::read(component("envs", "binary-search")).expect("component"));
    let mut file = b"codegym\x01".to_vec();
    file.extend(source.as_bytes());
    file.extend(u64::try_from(payload.len()).expect("length").to_le_bytes());
    file.extend(blake3::hash(payload).as_bytes());
    file.extend(payload);
    file
}

fn flip(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 0xff;
    bytes
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").mode() & 0o7777
}

#[test]
fn a_first_load_compiles_and_stores_a_private_artifact_that_the_next_host_loads() {
    let (host, cache) = host_with(|_| {});
    let env = host.load(&component("envs", "binary-search")).expect("load");
    assert_eq!(env.cache_outcome(), &CacheOutcome::Compiled);
    let artifact = artifact(cache.path());
    assert_eq!(mode(&artifact), 0o600, "{}", artifact.display());
    let name = artifact.file_name().expect("name").to_string_lossy().into_owned();
    // <blake3 of the component>-<blake3 of the engine's compatibility hash>.cwasm, in hex.
    let (source, rest) = name.split_once('-').expect("two keys");
    assert_eq!(source, env.hash());
    let engine = rest.strip_suffix(".cwasm").expect("extension");
    assert!(engine.len() == 64 && engine.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");

    let again = fresh_load(cache.path());
    assert_eq!(again.cache_outcome(), &CacheOutcome::Hit);
    assert_works(&again);
    assert_eq!(listing(cache.path()), [name], "no lock or temporary file is left behind");
}

#[test]
fn flipped_bytes_inside_an_artifact_are_recompiled_and_reported() {
    let (host, cache) = host_with(|_| {});
    host.load(&component("envs", "binary-search")).expect("fill the cache");
    let artifact = artifact(cache.path());
    let good = std::fs::read(&artifact).expect("read");
    let middle = HEADER + (good.len() - HEADER) / 2;
    let mut bad = good.clone();
    for byte in &mut bad[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    std::fs::write(&artifact, &bad).expect("corrupt");

    let env = fresh_load(cache.path());
    match env.cache_outcome() {
        CacheOutcome::Recompiled { reason } => {
            assert!(reason.contains("digest mismatch"), "{reason}");
            assert!(reason.contains(&artifact.display().to_string()), "{reason}");
        }
        other => panic!("expected a recompile, got {other:?}"),
    }
    assert_works(&env);
    // The cache holds a good artifact again.
    assert_eq!(std::fs::read(&artifact).expect("read"), good, "compiling is deterministic");
    assert_eq!(fresh_load(cache.path()).cache_outcome(), &CacheOutcome::Hit);
}

#[test]
fn every_damaged_or_foreign_artifact_is_recompiled_with_its_reason() {
    // Another component's artifact, with a header as valid as ours.
    let other = tempfile::tempdir().expect("temp dir");
    fresh_load_of(other.path(), "peak-element");
    let other_artifact = std::fs::read(artifact(other.path())).expect("read");

    type Damage = fn(Vec<u8>, &[u8]) -> Vec<u8>;
    let cases: [(&str, Damage, &str); 9] = [
        ("a flipped payload byte", |good, _| flip(good, HEADER + 1000), "digest mismatch"),
        ("a flipped digest byte", |good, _| flip(good, DIGEST.start + 3), "digest mismatch"),
        ("a flipped length byte", |good, _| flip(good, 41), "truncated or overlong"),
        ("no header (wasmtime's bytes alone)", |good, _| good[HEADER..].to_vec(), "no codegym header"),
        (
            "a file cut inside the digest",
            |good, _| good[..60].to_vec(),
            "truncated (60 bytes) before the header's digest",
        ),
        ("an empty file", |_, _| Vec::new(), "truncated (0 bytes) before the header's magic"),
        ("a file cut inside the payload", |good, _| good[..good.len() / 2].to_vec(), "truncated or overlong"),
        ("another component's artifact", |_, other| other.to_vec(), "compiled from another component"),
        // A writer who can put files in the directory can also write a matching digest: the
        // digest then passes and wasmtime itself must refuse the bytes, cleanly. (A crafted
        // artifact that wasmtime accepts would run: only the directory checks keep others
        // from writing one.)
        (
            "garbage under a matching digest",
            |_, _| with_matching_header(&[0x7f; 4096]),
            "wasmtime refused it",
        ),
    ];
    for (damage, apply, expected) in cases {
        let cache = tempfile::tempdir().expect("temp dir");
        fresh_load(cache.path());
        let artifact = artifact(cache.path());
        let good = std::fs::read(&artifact).expect("read");
        std::fs::write(&artifact, apply(good.clone(), &other_artifact)).expect("damage");
        let env = fresh_load(cache.path());
        match env.cache_outcome() {
            CacheOutcome::Recompiled { reason } => assert!(reason.contains(expected), "{damage}: {reason}"),
            other => panic!("{damage}: expected a recompile, got {other:?}"),
        }
        assert_works(&env);
        assert_eq!(std::fs::read(&artifact).expect("read"), good, "{damage}: stored afresh");
        assert_eq!(listing(cache.path()).len(), 1, "{damage}");
    }
}

#[test]
fn a_cache_dir_others_can_write_is_neither_read_nor_written() {
    for dir_mode in [0o777, 0o770, 0o720, 0o702] {
        let (host, cache) = host_with(|_| {});
        host.load(&component("envs", "binary-search")).expect("fill the cache");
        // A garbage artifact: reading it would mean recompiling and replacing it.
        let artifact = artifact(cache.path());
        std::fs::write(&artifact, b"garbage").expect("write");
        set_mode(cache.path(), dir_mode);
        let env = fresh_load(cache.path());
        match env.cache_outcome() {
            CacheOutcome::Bypassed { reason } => {
                assert!(reason.contains("writable by group or others"), "{dir_mode:o}: {reason}");
                assert!(reason.contains(&format!("mode {dir_mode:o}")), "{dir_mode:o}: {reason}");
            }
            other => panic!("{dir_mode:o}: expected the cache to be bypassed, got {other:?}"),
        }
        assert_works(&env);
        assert_eq!(std::fs::read(&artifact).expect("read"), b"garbage", "{dir_mode:o}: not replaced");
        assert_eq!(listing(cache.path()).len(), 1, "{dir_mode:o}: nothing new written");
        assert_eq!(mode(cache.path()), dir_mode, "{dir_mode:o}: left as it was");
    }
}

#[test]
fn a_cache_dir_owned_by_another_user_is_neither_read_nor_written() {
    let cache = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::chown(cache.path(), Some(1234), None).expect("chown (the tests run as root)");
    let env = fresh_load(cache.path());
    match env.cache_outcome() {
        CacheOutcome::Bypassed { reason } => assert!(reason.contains("owned by uid 1234"), "{reason}"),
        other => panic!("expected the cache to be bypassed, got {other:?}"),
    }
    assert_works(&env);
    assert!(listing(cache.path()).is_empty(), "nothing written");
}

#[test]
fn an_artifact_not_ours_alone_is_left_alone() {
    type Spoil = fn(&Path);
    let cases: [(&str, Spoil, &str); 3] = [
        (
            "owned by another user",
            |path| std::os::unix::fs::chown(path, Some(1234), None).expect("chown"),
            "owned by uid 1234",
        ),
        ("writable by others", |path| set_mode(path, 0o666), "writable by group or others (mode 666"),
        ("writable by the group", |path| set_mode(path, 0o620), "writable by group or others (mode 620"),
    ];
    for (spoiled, spoil, expected) in cases {
        let cache = tempfile::tempdir().expect("temp dir");
        fresh_load(cache.path());
        let artifact = artifact(cache.path());
        let before = std::fs::read(&artifact).expect("read");
        spoil(&artifact);
        let env = fresh_load(cache.path());
        match env.cache_outcome() {
            CacheOutcome::Bypassed { reason } => assert!(reason.contains(expected), "{spoiled}: {reason}"),
            other => panic!("{spoiled}: expected the cache to be bypassed, got {other:?}"),
        }
        assert_works(&env);
        assert_eq!(std::fs::read(&artifact).expect("read"), before, "{spoiled}: untouched");
        assert_eq!(listing(cache.path()).len(), 1, "{spoiled}: nothing new written");
    }
}

#[test]
fn a_missing_cache_dir_is_created_private_with_its_parents() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("a/b/codegym");
    let env = fresh_load(&dir);
    assert_eq!(env.cache_outcome(), &CacheOutcome::Compiled);
    for created in [root.path().join("a"), root.path().join("a/b"), dir.clone()] {
        assert_eq!(mode(&created), 0o700, "{}", created.display());
    }
    assert_eq!(fresh_load(&dir).cache_outcome(), &CacheOutcome::Hit);
}

#[test]
fn a_cache_dir_that_cannot_be_one_is_bypassed() {
    let root = tempfile::tempdir().expect("temp dir");
    let file = root.path().join("file");
    std::fs::write(&file, b"").expect("write");
    let cases = [(file.clone(), "is not a directory"), (file.join("codegym"), "Not a directory")];
    for (dir, expected) in cases {
        let env = fresh_load(&dir);
        match env.cache_outcome() {
            CacheOutcome::Bypassed { reason } => {
                assert!(reason.contains(expected), "{}: {reason}", dir.display())
            }
            other => panic!("{}: expected the cache to be bypassed, got {other:?}", dir.display()),
        }
        assert_works(&env);
    }
}

#[test]
fn without_a_cache_dir_nothing_is_cached() {
    let (host, _cache) = host_with(|config| config.cache_dir = None);
    let env = host.load(&component("envs", "binary-search")).expect("load");
    assert_eq!(env.cache_outcome(), &CacheOutcome::Disabled);
}

/// One compiler per artifact, across processes: while another process (`flock(1)`) holds an
/// artifact's compile lock, a load waits for it rather than compiling, and then uses the
/// artifact that process stored. Unlocked, the load would find nothing and compile.
#[test]
fn a_load_waits_for_the_process_holding_the_compile_lock_and_uses_its_artifact() {
    let (host, cache) = host_with(|_| {});
    host.load(&component("envs", "binary-search")).expect("fill the cache");
    let artifact = artifact(cache.path());
    let aside = tempfile::tempdir().expect("temp dir");
    let saved = aside.path().join("saved.cwasm");
    std::fs::rename(&artifact, &saved).expect("take the artifact out");
    let lock = artifact.with_extension("lock");

    // Holds the lock until told to store the artifact (atomically, mode kept), then exits.
    let mut holder = Command::new("flock")
        .arg(&lock)
        .args(["sh", "-c", r#"read _ && cp -p "$0" "$1.tmp" && mv "$1.tmp" "$1""#])
        .arg(&saved)
        .arg(&artifact)
        .stdin(Stdio::piped())
        .spawn()
        .expect("flock(1) from util-linux");
    let holder_pid = holder.id().to_string();
    wait_for_flock(|fields| fields.get(4) == Some(&holder_pid.as_str()), "the holder's lock");
    let inode = std::fs::metadata(&lock).expect("lock file").ino().to_string();

    let dir = cache.path().to_owned();
    let loader = std::thread::spawn(move || fresh_load(&dir));
    wait_for_flock(
        |fields| fields.get(1) == Some(&"->") && inode_of(fields) == inode,
        "the load to wait on the lock",
    );
    assert!(!loader.is_finished(), "the load waits while the lock is held");

    holder.stdin.take().expect("stdin").write_all(b"go\n").expect("tell the holder");
    assert!(holder.wait().expect("holder").success(), "the holder stored the artifact");
    let env = loader.join().expect("the load");
    assert_eq!(env.cache_outcome(), &CacheOutcome::Hit, "the waiting load used the stored artifact");
    assert_works(&env);
    assert_eq!(listing(cache.path()), [artifact.file_name().expect("name").to_string_lossy()]);
}

/// Poll `/proc/locks` (for at most 60 s) until a line's fields satisfy `wanted`.
fn wait_for_flock(wanted: impl Fn(&[&str]) -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let locks = std::fs::read_to_string("/proc/locks").expect("/proc/locks");
        if locks.lines().any(|line| wanted(&line.split_whitespace().collect::<Vec<_>>())) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}:\n{locks}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The inode in a `/proc/locks` line's `MAJOR:MINOR:INODE` field (the one before the range).
fn inode_of(fields: &[&str]) -> String {
    let device = fields.iter().rev().nth(2).copied().unwrap_or_default();
    device.rsplit(':').next().unwrap_or_default().to_owned()
}

//! End-to-end figures for `codegym bench`: what a user of the host actually gets.

use std::path::Path;
use std::time::{Duration, Instant};

use codegym_core::ToolCall;
use serde::Serialize;

use crate::summary::{Summary, percentile};
use crate::{Env, Error, Host, HostConfig};

#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Live episodes stepped round-robin for the throughput figure.
    pub throughput_episodes: usize,
    pub threads: usize,
    /// How long the throughput loop runs.
    pub duration: Duration,
    /// Episodes held alive at once for the memory figure.
    pub live_episodes: usize,
    pub samples: usize,
    /// Difficulty of the benchmarked task config.
    pub difficulty: u32,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            throughput_episodes: 1000,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            duration: Duration::from_secs(2),
            live_episodes: 100_000,
            samples: 10_000,
            difficulty: 50,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub env: String,
    pub difficulty: u32,
    pub config_bytes: usize,
    pub instantiate_reset_us_p50: f64,
    pub instantiate_reset_us_p99: f64,
    pub step_us_p50: f64,
    pub step_us_p99: f64,
    pub steps_per_sec: f64,
    pub threads: usize,
    pub throughput_episodes: usize,
    pub live_episodes: usize,
    /// Why `live_episodes` is fewer than asked for (a system limit met), if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_limit: Option<String>,
    pub rss_bytes_per_episode: f64,
    pub rss_bytes_total: u64,
    /// Proportional set size per episode: like RSS, but a page shared by N mappings (the
    /// component's read-only data, mapped copy-on-write into every instance) counts 1/N.
    pub pss_bytes_per_episode: f64,
    pub cached_load_ms: f64,
    /// With `--corpus`: every environment's instantiate + reset p50 at this difficulty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corpus_starts: Option<CorpusStarts>,
}

/// Instantiate + reset p50 of each environment of a corpus, summarised over environments.
#[derive(Debug, Serialize)]
pub struct CorpusStarts {
    pub envs: usize,
    pub instantiate_reset_us_p50: Summary,
    pub slowest_env: String,
}

/// Each env's instantiate + reset p50 (µs) on its config for seed 1 at `difficulty`.
pub fn corpus_starts(envs: &[Env], difficulty: u32, samples: usize) -> Result<CorpusStarts, Error> {
    let mut p50s = Vec::with_capacity(envs.len());
    for env in envs {
        let config = env.sample_config(1, difficulty)?;
        let times = time_n(samples, || env.start(&config).map(drop))?;
        p50s.push((percentile(&times, 0.5) * 1e6, env.name().to_owned()));
    }
    let values: Vec<f64> = p50s.iter().map(|(us, _)| *us).collect();
    let slowest =
        p50s.into_iter().max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, name)| name).unwrap_or_default();
    Ok(CorpusStarts {
        envs: envs.len(),
        instantiate_reset_us_p50: Summary::of(&values),
        slowest_env: slowest,
    })
}

/// Measure the environment at `path`, each figure on a host built from `config`: the memory
/// figure on a host of its own, sized for `live_episodes` and dropped before the rest, so
/// whatever limit the live episodes met (`vm.max_map_count`, memory) is released for the
/// figures after it; the others on a host sized for the throughput episodes.
pub fn bench(config: &HostConfig, path: &Path, options: &BenchOptions) -> Result<BenchReport, Error> {
    let live = {
        let host = Host::new(sized(config, options.live_episodes))?;
        let env = host.load(path)?; // compiles and fills the cache if needed
        let config = env.sample_config(1, options.difficulty)?;
        live(&env, &config, options.live_episodes)?
    };
    let host = Host::new(sized(config, options.throughput_episodes))?;
    let env = host.load(path)?;
    let cached_load_ms = percentile(&time_n(20, || host.load(path).map(drop))?, 0.5) * 1e3;
    let config = env.sample_config(1, options.difficulty)?;
    let observe = ToolCall::new("Observe", "{}");
    let mut unlimited = env.limits();
    unlimited.max_steps = u32::MAX;
    unlimited.fuel_per_episode = u64::MAX;

    let start_times = time_n(options.samples, || env.start(&config).map(drop))?;
    let mut episode = env.start_with(&config, unlimited)?;
    let step_times = time_n(options.samples, || {
        episode.step(&observe);
        Ok(())
    })?;
    drop(episode);

    let (steps_per_sec, threads) = throughput(&env, &config, options)?;
    Ok(BenchReport {
        env: env.name().to_owned(),
        difficulty: options.difficulty,
        config_bytes: config.len(),
        instantiate_reset_us_p50: percentile(&start_times, 0.5) * 1e6,
        instantiate_reset_us_p99: percentile(&start_times, 0.99) * 1e6,
        step_us_p50: percentile(&step_times, 0.5) * 1e6,
        step_us_p99: percentile(&step_times, 0.99) * 1e6,
        steps_per_sec,
        threads,
        throughput_episodes: options.throughput_episodes,
        live_episodes: live.episodes,
        live_limit: live.limit,
        rss_bytes_per_episode: live.rss_bytes as f64 / live.episodes.max(1) as f64,
        rss_bytes_total: live.rss_bytes,
        pss_bytes_per_episode: live.pss_bytes as f64 / live.episodes.max(1) as f64,
        cached_load_ms,
        corpus_starts: None,
    })
}

/// `config` with a pool for `episodes` live episodes plus oracle and scratch instances.
fn sized(config: &HostConfig, episodes: usize) -> HostConfig {
    let pool_size = u32::try_from(episodes.saturating_add(64)).unwrap_or(u32::MAX);
    HostConfig { pool_size, ..config.clone() }
}

/// Seconds per run of `f`, `n` times.
fn time_n(n: usize, mut f: impl FnMut() -> Result<(), Error>) -> Result<Vec<f64>, Error> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        f()?;
        times.push(started.elapsed().as_secs_f64());
    }
    Ok(times)
}

/// `Observe` steps per second over all threads, each stepping its share of the live
/// episodes round-robin, and the threads that ran. Episodes run to the step limit (CodeGym's
/// 256) and are replaced by fresh ones, as in a rollout; the restarts count against the time.
/// Timing starts once every thread has started its episodes. Threads the system refuses
/// (a resource limit) are left out rather than failing the figure, unless none starts.
fn throughput(env: &Env, config: &str, options: &BenchOptions) -> Result<(f64, usize), Error> {
    let threads = options.threads.max(1);
    let per_thread = options.throughput_episodes.div_ceil(threads);
    let limits = env.limits();
    let counts = std::thread::scope(|scope| -> Result<Vec<(u64, f64)>, Error> {
        let (ready_tx, ready) = std::sync::mpsc::channel::<()>();
        let mut workers = Vec::with_capacity(threads);
        for index in 0..threads {
            let (go_tx, go) = std::sync::mpsc::channel::<()>();
            let ready_tx = ready_tx.clone();
            let spawned = std::thread::Builder::new().name(format!("codegym-bench-{index}")).spawn_scoped(
                scope,
                move || -> Result<(u64, f64), Error> {
                    let observe = ToolCall::new("Observe", "{}");
                    let episodes: Result<Vec<_>, _> =
                        (0..per_thread).map(|_| env.start_with(config, limits)).collect();
                    // Even when starting failed, so the others are not kept waiting.
                    let _ = ready_tx.send(());
                    let _ = go.recv();
                    let mut episodes = episodes?;
                    let started = Instant::now();
                    let deadline = started + options.duration;
                    let mut steps = 0u64;
                    while Instant::now() < deadline {
                        for episode in &mut episodes {
                            if episode.step(&observe).done {
                                *episode = env.start_with(config, limits)?;
                            }
                        }
                        steps += episodes.len() as u64;
                    }
                    Ok((steps, started.elapsed().as_secs_f64()))
                },
            );
            match spawned {
                Ok(worker) => workers.push((worker, go_tx)),
                Err(error) if workers.is_empty() => return Err(Error::Thread(error)),
                Err(_) => break,
            }
        }
        drop(ready_tx);
        for _ in &workers {
            let _ = ready.recv();
        }
        for (_, go) in &workers {
            let _ = go.send(());
        }
        workers.into_iter().map(|(worker, _)| worker.join().unwrap_or(Ok((0, 0.0)))).collect()
    })?;
    let steps: u64 = counts.iter().map(|(steps, _)| steps).sum();
    let seconds = counts.iter().map(|(_, seconds)| *seconds).fold(0.0, f64::max);
    Ok((steps as f64 / seconds.max(1e-9), counts.len()))
}

/// What [`live`] measured.
struct Live {
    episodes: usize,
    rss_bytes: u64,
    pss_bytes: u64,
    /// Why fewer than the episodes asked for are live, if they are.
    limit: Option<String>,
}

/// Start `count` episodes and keep them alive; returns how many started and the RSS and PSS
/// they added. Stops early (reporting what it reached and why) when instances cannot be
/// created; every episode is dropped before it returns.
fn live(env: &Env, config: &str, count: usize) -> Result<Live, Error> {
    let before = rss_bytes();
    let pss_before = pss_bytes();
    let mut episodes = Vec::with_capacity(count);
    let observe = ToolCall::new("Observe", "{}");
    let mut limit = None;
    for _ in 0..count {
        match env.start(config) {
            Ok(mut episode) => {
                episode.step(&observe);
                episodes.push(episode);
            }
            Err(Error::Instantiate(error)) if !episodes.is_empty() => {
                let map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap_or_default();
                limit = Some(format!(
                    "stopped at {} live episodes: {error:#}. Each live episode maps ~4 memory regions; \
                     vm.max_map_count is {} (raise it with `sysctl -w vm.max_map_count=1048576`)",
                    episodes.len(),
                    map_count.trim()
                ));
                break;
            }
            Err(error) => return Err(error),
        }
    }
    let rss_bytes = rss_bytes().saturating_sub(before);
    let pss_bytes = pss_bytes().saturating_sub(pss_before);
    Ok(Live { episodes: episodes.len(), rss_bytes, pss_bytes, limit })
}

/// Resident set size of this process, from `/proc/self/statm` (0 where unavailable).
pub(crate) fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Proportional set size of this process, from `/proc/self/smaps_rollup` (0 where
/// unavailable).
fn pss_bytes() -> u64 {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let kib = rollup
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    kib * 1024
}

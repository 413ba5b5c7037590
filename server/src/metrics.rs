//! Counters and a step-latency histogram, rendered in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [25e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 50e-3, 0.25, 1.0];

#[derive(Default)]
pub(crate) struct Metrics {
    pub sessions_created: AtomicU64,
    pub sessions_expired: AtomicU64,
    pub steps: AtomicU64,
    pub faults: AtomicU64,
    pub parse_errors: AtomicU64,
    latency: Histogram,
}

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Metrics {
    /// Record one step request's latency (from receipt to durable acknowledgement).
    pub fn observe_step(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&bound| seconds <= bound).unwrap_or(BUCKETS.len());
        self.latency.counts[bucket].fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.latency.sum_nanos.fetch_add(nanos, Relaxed);
    }

    /// The text of `/metrics`; with a replica name, `codegym_replica_info{replica="NAME"} 1`
    /// says which replica answered (through a proxy every replica has the same address).
    pub fn render(&self, live_sessions: usize, replica: Option<&str>) -> String {
        let mut out = String::new();
        if let Some(replica) = replica {
            let name = "codegym_replica_info";
            let _ =
                writeln!(out, "# HELP {name} This server's replica name (the prefix of its session ids).");
            let _ = writeln!(out, "# TYPE {name} gauge\n{name}{{replica=\"{replica}\"}} 1");
        }
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        metric("codegym_sessions_live", "gauge", "Sessions held in memory.", live_sessions as u64);
        let created = self.sessions_created.load(Relaxed);
        metric("codegym_sessions_created_total", "counter", "Sessions created (forks included).", created);
        let expired = self.sessions_expired.load(Relaxed);
        metric(
            "codegym_sessions_expired_total",
            "counter",
            "Sessions dropped after their idle TTL.",
            expired,
        );
        metric("codegym_steps_total", "counter", "Tool calls run by episodes.", self.steps.load(Relaxed));
        metric("codegym_faults_total", "counter", "Tool calls that faulted.", self.faults.load(Relaxed));
        let parse = self.parse_errors.load(Relaxed);
        metric("codegym_parse_errors_total", "counter", "Text steps that held no valid call.", parse);

        let name = "codegym_step_seconds";
        let _ = writeln!(out, "# HELP {name} Step latency, from request to durable acknowledgement.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (index, count) in self.latency.counts.iter().enumerate() {
            cumulative += count.load(Relaxed);
            match BUCKETS.get(index) {
                Some(bound) => _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}"),
                None => _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}"),
            }
        }
        let sum = self.latency.sum_nanos.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
        out
    }
}

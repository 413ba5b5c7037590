use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Per-episode resource limits. Each one, when hit, is reported as its own
/// [`crate::FaultKind`] or [`crate::Outcome`], never as a host crash.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) for one call into the component.
    pub fuel_per_step: u64,
    /// Fuel for the whole episode, `reset` included; running out ends the episode.
    pub fuel_per_episode: u64,
    /// Largest linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Tool calls before the episode ends with [`crate::Outcome::StepLimit`] (CodeGym's T_max).
    pub max_steps: u32,
    /// Largest observation or task statement, in bytes.
    pub max_output_bytes: usize,
    /// Wall-clock backstop for one call, enforced with epoch interruption.
    #[serde(with = "millis")]
    pub step_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel_per_step: 50_000_000,
            fuel_per_episode: 2_000_000_000,
            memory_bytes: 64 << 20,
            max_steps: 256,
            max_output_bytes: 64 << 10,
            step_timeout: Duration::from_secs(2),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

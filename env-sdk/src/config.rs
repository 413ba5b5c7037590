//! Seeded, portable randomness for task configurations.

use rand::SeedableRng;

/// The generator behind `sample_config`: PCG64 (MCG variant) is small, fast and gives the
/// same stream on every platform, so a `(seed, difficulty)` pair names one config forever
/// (as long as `Cargo.lock` pins `rand`).
pub type ConfigRng = rand_pcg::Pcg64Mcg;

/// A generator for one `(seed, difficulty)` pair.
pub fn config_rng(seed: u64, difficulty: u32) -> ConfigRng {
    // Mix the difficulty in so that the same seed at two difficulties gives unrelated tasks.
    let mixed = seed ^ u64::from(difficulty).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ConfigRng::seed_from_u64(mixed)
}

/// Linear interpolation from `easy` (difficulty 0) to `hard` (difficulty 100).
///
/// ```
/// assert_eq!(codegym_env_sdk::scale(50, 10, 30), 20);
/// assert_eq!(codegym_env_sdk::scale(500, 10, 30), 30); // clamped
/// ```
pub fn scale(difficulty: u32, easy: usize, hard: usize) -> usize {
    let d = difficulty.min(100) as usize;
    if hard >= easy { easy + (hard - easy) * d / 100 } else { easy - (easy - hard) * d / 100 }
}

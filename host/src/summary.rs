//! Small descriptive statistics shared by benchmarks, cards and corpus statistics.

use serde::Serialize;

/// Mean, median, 90th percentile and range of a sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// Summarise `values` (all zeros for an empty sample).
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            count: sorted.len(),
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            median: quantile(&sorted, 0.5),
            p90: quantile(&sorted, 0.9),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        }
    }
}

/// The `q`-quantile of an ascending sample by nearest rank (0 for an empty one).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let index = (sorted.len().saturating_sub(1) as f64 * q).round() as usize;
    sorted.get(index).copied().unwrap_or(0.0)
}

/// The `q`-quantile of an unsorted sample.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile(&sorted, q)
}

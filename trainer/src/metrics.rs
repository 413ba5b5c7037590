//! Per-step training metrics: a line on stdout, `metrics.jsonl`, `metrics.csv`, and the
//! learning curve `curve.png` (plotters' bitmap backend, no fonts: the axes carry ticks but
//! no text, the numbers are in the CSV).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("plotting {path}: {message}")]
    Plot { path: PathBuf, message: String },
}

/// One training step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    pub step: u64,
    pub episodes: usize,
    pub mean_reward: f64,
    /// Episodes solved, in %.
    pub pass_rate: f64,
    pub mean_tool_calls: f64,
    pub mean_turns: f64,
    pub parse_errors: u64,
    /// Tokens generated per episode, on average.
    pub mean_response_tokens: f64,
    pub loss: f64,
    pub grad_norm: f64,
    pub lr: f64,
    pub clip_fraction: f64,
    pub kl: f64,
    /// Sequences trained on (non-zero advantage) and their generated tokens.
    pub trained_sequences: usize,
    pub trained_tokens: usize,
    /// The optimizer step was skipped: every group's rewards were equal.
    pub skipped: bool,
    pub generation_tokens_per_s: f64,
    /// All tokens (prompt and generated) through forward and backward, per second.
    pub training_tokens_per_s: f64,
    /// Time in the environments as a share of the rollout's, in %.
    pub env_time_pct: f64,
    pub rollout_secs: f64,
    pub update_secs: f64,
}

const CSV_HEADER: &str = "step,episodes,mean_reward,pass_rate,mean_tool_calls,mean_turns,parse_errors,\
mean_response_tokens,loss,grad_norm,lr,clip_fraction,kl,trained_sequences,trained_tokens,skipped,\
generation_tokens_per_s,training_tokens_per_s,env_time_pct,rollout_secs,update_secs";

impl StepMetrics {
    fn csv_row(&self) -> String {
        format!(
            "{},{},{:.6},{:.3},{:.4},{:.4},{},{:.3},{:.6},{:.6},{:e},{:.5},{:.6},{},{},{},{:.2},{:.2},{:.4},{:.4},{:.4}",
            self.step,
            self.episodes,
            self.mean_reward,
            self.pass_rate,
            self.mean_tool_calls,
            self.mean_turns,
            self.parse_errors,
            self.mean_response_tokens,
            self.loss,
            self.grad_norm,
            self.lr,
            self.clip_fraction,
            self.kl,
            self.trained_sequences,
            self.trained_tokens,
            self.skipped,
            self.generation_tokens_per_s,
            self.training_tokens_per_s,
            self.env_time_pct,
            self.rollout_secs,
            self.update_secs,
        )
    }

    /// The line printed per step.
    pub fn summary(&self) -> String {
        format!(
            "step {:>4}  reward {:.3}  pass {:5.1}%  calls {:.2}  resp {:.1} tok  loss {:+.4}  gnorm {:.3}  \
             lr {:.1e}  gen {:.0} tok/s  train {:.0} tok/s  env {:.2}%{}",
            self.step,
            self.mean_reward,
            self.pass_rate,
            self.mean_tool_calls,
            self.mean_response_tokens,
            self.loss,
            self.grad_norm,
            self.lr,
            self.generation_tokens_per_s,
            self.training_tokens_per_s,
            self.env_time_pct,
            if self.skipped { "  (no signal: step skipped)" } else { "" },
        )
    }
}

/// Appends metrics to `DIR/metrics.jsonl` and `DIR/metrics.csv` (a resumed run continues
/// them), keeping the steps in memory for the curve.
pub struct MetricsLog {
    dir: PathBuf,
    jsonl: BufWriter<File>,
    csv: BufWriter<File>,
    history: Vec<StepMetrics>,
}

impl MetricsLog {
    /// Opens the log in `dir`, keeping the steps up to `resume_from` already there (a
    /// resumed run continues its files; a fresh run, `resume_from` 0, starts them anew).
    pub fn open(dir: &Path, resume_from: u64) -> Result<Self, MetricsError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| MetricsError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let jsonl_path = dir.join("metrics.jsonl");
        let csv_path = dir.join("metrics.csv");
        let history: Vec<StepMetrics> = match std::fs::read_to_string(&jsonl_path) {
            Ok(text) => text
                .lines()
                .filter_map(|line| serde_json::from_str::<StepMetrics>(line).ok())
                .filter(|m| m.step <= resume_from)
                .collect(),
            Err(_) => Vec::new(),
        };
        let create = |path: &Path| File::create(path).map(BufWriter::new).map_err(io(path));
        let mut jsonl = create(&jsonl_path)?;
        let mut csv = create(&csv_path)?;
        writeln!(csv, "{CSV_HEADER}").map_err(io(&csv_path))?;
        for metrics in &history {
            writeln!(jsonl, "{}", serde_json::to_string(metrics).unwrap_or_default())
                .map_err(io(&jsonl_path))?;
            writeln!(csv, "{}", metrics.csv_row()).map_err(io(&csv_path))?;
        }
        Ok(Self { dir: dir.to_owned(), jsonl, csv, history })
    }

    pub fn history(&self) -> &[StepMetrics] {
        &self.history
    }

    /// Records a step in both files (flushed, so a crash loses nothing) and redraws the curve.
    pub fn record(&mut self, metrics: StepMetrics) -> Result<(), MetricsError> {
        let jsonl_path = self.dir.join("metrics.jsonl");
        let csv_path = self.dir.join("metrics.csv");
        let line = serde_json::to_string(&metrics).unwrap_or_default();
        writeln!(self.jsonl, "{line}")
            .and_then(|()| self.jsonl.flush())
            .map_err(|source| MetricsError::Io { path: jsonl_path, source })?;
        writeln!(self.csv, "{}", metrics.csv_row())
            .and_then(|()| self.csv.flush())
            .map_err(|source| MetricsError::Io { path: csv_path, source })?;
        self.history.push(metrics);
        plot_curve(&self.history, &self.dir.join("curve.png"))
    }
}

/// Mean of `values`, 0 for none.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

/// Mean reward over the first and the last quarter of the steps (at least one step each).
pub fn quarter_means(history: &[StepMetrics]) -> (f64, f64) {
    let rewards: Vec<f64> = history.iter().map(|m| m.mean_reward).collect();
    let quarter = (rewards.len() / 4).max(1).min(rewards.len());
    (mean(&rewards[..quarter]), mean(&rewards[rewards.len() - quarter..]))
}

/// Mean reward per step (blue) and its running mean over 5 steps (red), reward axis 0..=1
/// with ticks every 0.1 (light grid) and 0.5 (dark); one vertical tick every 10 steps.
pub fn plot_curve(history: &[StepMetrics], path: &Path) -> Result<(), MetricsError> {
    use plotters::prelude::*;

    let plot_error = |message: String| MetricsError::Plot { path: path.to_owned(), message };
    let root = BitMapBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(e.to_string()))?;
    let steps = history.last().map_or(1, |m| m.step.max(1));
    let max_reward = history.iter().map(|m| m.mean_reward).fold(1.0f64, f64::max);
    let area = root.margin(20, 20, 20, 20);
    let (width, height) = area.dim_in_pixel();
    let x = |step: f64| (step / steps as f64 * f64::from(width.saturating_sub(1))) as i32;
    let y = |reward: f64| ((1.0 - reward / max_reward) * f64::from(height.saturating_sub(1))) as i32;
    for tenth in 0..=10 {
        let level = f64::from(tenth) / 10.0 * max_reward;
        let color = if tenth % 5 == 0 { RGBColor(150, 150, 150) } else { RGBColor(225, 225, 225) };
        area.draw(&PathElement::new(vec![(0, y(level)), (x(steps as f64), y(level))], color))
            .map_err(|e| plot_error(e.to_string()))?;
    }
    for step in (0..=steps).step_by(10) {
        let px = x(step as f64);
        area.draw(&PathElement::new(vec![(px, y(0.0)), (px, y(0.0) + 6)], BLACK))
            .map_err(|e| plot_error(e.to_string()))?;
    }
    let points: Vec<(i32, i32)> = history.iter().map(|m| (x(m.step as f64), y(m.mean_reward))).collect();
    area.draw(&PathElement::new(points, BLUE.stroke_width(2))).map_err(|e| plot_error(e.to_string()))?;
    let running: Vec<(i32, i32)> = history
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let window = &history[i.saturating_sub(4)..=i];
            (x(m.step as f64), y(mean(&window.iter().map(|w| w.mean_reward).collect::<Vec<_>>())))
        })
        .collect();
    area.draw(&PathElement::new(running, RED.stroke_width(2))).map_err(|e| plot_error(e.to_string()))?;
    root.present().map_err(|e| plot_error(e.to_string()))
}

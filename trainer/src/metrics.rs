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

/// Mean reward per step (blue) and its running mean over 5 steps (red). The reward axis
/// runs from 0 to the larger of 1 and the highest reward, with a grid line every tenth
/// (darker at the middle and the top); steps carry a labelled tick at round intervals.
/// Labels are drawn as seven-segment digits, so no font is needed.
pub fn plot_curve(history: &[StepMetrics], path: &Path) -> Result<(), MetricsError> {
    use plotters::prelude::*;

    let plot_error =
        |e: DrawingAreaErrorKind<_>| MetricsError::Plot { path: path.to_owned(), message: e.to_string() };
    let (width, height) = (800i32, 480i32);
    let root = BitMapBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    // The plot's box inside the image: room for labels on the left and below.
    let (left, top, right, bottom) = (50, 15, width - 20, height - 35);
    let steps = history.last().map_or(1, |m| m.step.max(1));
    let max_reward = history.iter().map(|m| m.mean_reward).fold(1.0f64, f64::max);
    let x = |step: f64| left + (step / steps as f64 * f64::from(right - left)) as i32;
    let y = |reward: f64| bottom - (reward / max_reward * f64::from(bottom - top)) as i32;
    let line = |points: Vec<(i32, i32)>, style: ShapeStyle| root.draw(&PathElement::new(points, style));
    for tenth in 0..=10 {
        let level = f64::from(tenth) / 10.0 * max_reward;
        let color = if tenth % 5 == 0 { RGBColor(150, 150, 150) } else { RGBColor(225, 225, 225) };
        line(vec![(left, y(level)), (right, y(level))], color.into()).map_err(plot_error)?;
        if tenth % 5 == 0 {
            let label = format!("{level:.1}");
            draw_label(&root, &label, left - 8 - label_width(&label), y(level) - 6).map_err(plot_error)?;
        }
    }
    line(vec![(left, top), (left, bottom)], BLACK.into()).map_err(plot_error)?;
    let spacing = tick_spacing(steps);
    for step in (0..=steps).step_by(usize::try_from(spacing).unwrap_or(1)) {
        let px = x(step as f64);
        line(vec![(px, bottom), (px, bottom + 6)], BLACK.into()).map_err(plot_error)?;
        let label = step.to_string();
        draw_label(&root, &label, px - label_width(&label) / 2, bottom + 12).map_err(plot_error)?;
    }
    let points: Vec<(i32, i32)> = history.iter().map(|m| (x(m.step as f64), y(m.mean_reward))).collect();
    line(points, BLUE.stroke_width(2)).map_err(plot_error)?;
    let running: Vec<(i32, i32)> = history
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let window: Vec<f64> = history[i.saturating_sub(4)..=i].iter().map(|w| w.mean_reward).collect();
            (x(m.step as f64), y(mean(&window)))
        })
        .collect();
    line(running, RED.stroke_width(2)).map_err(plot_error)?;
    root.present().map_err(plot_error)
}

/// 1, 2 or 5 times a power of ten, so that `steps` gets at most 10 ticks.
fn tick_spacing(steps: u64) -> u64 {
    let mut unit = 1;
    loop {
        for factor in [1, 2, 5] {
            if steps / (unit * factor) <= 10 {
                return unit * factor;
            }
        }
        unit *= 10;
    }
}

/// Pixels per segment unit of the digits: a digit is 2 units wide and 4 high.
const GLYPH_SCALE: i32 = 3;

fn label_width(text: &str) -> i32 {
    i32::try_from(text.len()).unwrap_or(0) * 3 * GLYPH_SCALE
}

/// A stroke from one point to another, in glyph units.
type Segment = ((i32, i32), (i32, i32));

/// The segments of a seven-segment digit, in units of a 2 × 4 box (y down).
fn segments(c: char) -> &'static [Segment] {
    const A: Segment = ((0, 0), (2, 0));
    const B: Segment = ((2, 0), (2, 2));
    const C: Segment = ((2, 2), (2, 4));
    const D: Segment = ((0, 4), (2, 4));
    const E: Segment = ((0, 2), (0, 4));
    const F: Segment = ((0, 0), (0, 2));
    const G: Segment = ((0, 2), (2, 2));
    const DOT: Segment = ((1, 4), (1, 4));
    match c {
        '0' => &[A, B, C, D, E, F],
        '1' => &[B, C],
        '2' => &[A, B, G, E, D],
        '3' => &[A, B, G, C, D],
        '4' => &[F, G, B, C],
        '5' => &[A, F, G, C, D],
        '6' => &[A, F, G, E, D, C],
        '7' => &[A, B, C],
        '8' => &[A, B, C, D, E, F, G],
        '9' => &[A, B, C, D, F, G],
        '.' => &[DOT],
        _ => &[],
    }
}

fn draw_label<DB: plotters::prelude::DrawingBackend>(
    area: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    x: i32,
    y: i32,
) -> Result<(), plotters::prelude::DrawingAreaErrorKind<DB::ErrorType>> {
    use plotters::prelude::*;
    for (i, c) in text.chars().enumerate() {
        let origin = x + i32::try_from(i).unwrap_or(0) * 3 * GLYPH_SCALE;
        for &((x0, y0), (x1, y1)) in segments(c) {
            let from = (origin + x0 * GLYPH_SCALE, y + y0 * GLYPH_SCALE);
            // A dot is a segment of length 0: give it a pixel of height.
            let to = (origin + x1 * GLYPH_SCALE, y + y1 * GLYPH_SCALE - i32::from(x0 == x1 && y0 == y1));
            area.draw(&PathElement::new(vec![from, to], BLACK.stroke_width(2)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_at_most_ten() {
        let spacings: Vec<u64> = [1, 10, 11, 25, 100, 101, 250, 999, 5000].map(tick_spacing).to_vec();
        assert_eq!(spacings, [1, 1, 2, 5, 10, 10, 50, 100, 500]);
    }

    #[test]
    fn quarters_of_a_short_history_have_a_step_each() {
        let history: Vec<StepMetrics> = [0.0, 0.5, 1.0]
            .iter()
            .map(|&r| StepMetrics { mean_reward: r, ..StepMetrics::default() })
            .collect();
        assert_eq!(quarter_means(&history), (0.0, 1.0));
        assert_eq!(quarter_means(&[]), (0.0, 0.0));
    }
}

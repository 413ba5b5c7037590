//! `codegym.make`: one environment, one episode at a time, Gymnasium-style.

use std::path::PathBuf;

use codegym_core::{ActionFormat, TrajectoryStep, render_prompt, render_tools};
use codegym_host::{Episode, Limits, OracleSession};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::{Deserialize, Serialize};

use crate::action::{Action, Turn, act};
use crate::convert::{self, to_python};
use crate::errors::{CodeGymError, EpisodeError, episode_error};
use crate::registry;

/// How episodes of an environment start: seeds, difficulty, limits.
#[derive(Clone)]
pub(crate) struct Starter {
    pub env: codegym_host::Env,
    pub difficulty: u32,
    pub limits: Limits,
}

impl Starter {
    pub(crate) fn new(
        env: codegym_host::Env,
        difficulty: u32,
        limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        check_difficulty(difficulty)?;
        let limits = match limits {
            None => env.limits(),
            Some(overrides) => overridden(env.limits(), overrides)?,
        };
        Ok(Self { env, difficulty, limits })
    }

    /// An episode on `config`, or on the config sampled from `(seed, difficulty)`.
    pub(crate) fn start(
        &self,
        seed: u64,
        difficulty: u32,
        config: Option<&str>,
    ) -> Result<Episode, codegym_host::Error> {
        let config = match config {
            Some(config) => config.to_owned(),
            None => self.env.sample_config(seed, difficulty)?,
        };
        self.env.start_with(&config, self.limits)
    }
}

fn check_difficulty(difficulty: u32) -> PyResult<()> {
    if difficulty > 100 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "difficulty must be 0..=100, not {difficulty}"
        )));
    }
    Ok(())
}

/// `base` with the fields of `overrides` (a dict of `Limits` fields, e.g. `{"max_steps": 20}`).
fn overridden(base: Limits, overrides: &Bound<'_, PyAny>) -> PyResult<Limits> {
    let mut merged = serde_json::to_value(base).map_err(|error| CodeGymError::new_err(error.to_string()))?;
    let given: serde_json::Map<String, serde_json::Value> = convert::from_python(overrides, "limits")?;
    let known: Vec<String> =
        merged.as_object().map(|fields| fields.keys().cloned().collect()).unwrap_or_default();
    for (key, value) in given {
        if !known.contains(&key) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown limit `{key}`; known: {known:?}"
            )));
        }
        merged[key] = value;
    }
    serde_json::from_value(merged)
        .map_err(|error| pyo3::exceptions::PyValueError::new_err(format!("invalid limits: {error}")))
}

/// A sandboxed environment, Gymnasium-style: `reset()` starts an episode, `step(action)`
/// plays one turn. Made by `codegym.make`.
#[pyclass(module = "codegym")]
pub(crate) struct Env {
    starter: Starter,
    /// As `make` was given it (`None`: found again wherever the object is unpickled).
    env_dir: Option<PathBuf>,
    /// The seed `reset()` uses when given none: `make`'s seed, then one more per reset.
    next_seed: u64,
    episode: Option<Live>,
}

/// The episode under way and what its trajectory needs.
struct Live {
    episode: Episode,
    seed: u64,
    difficulty: u32,
    steps: Vec<TrajectoryStep>,
}

impl Live {
    fn fork(&self) -> Result<Self, codegym_host::Error> {
        Ok(Self {
            episode: self.episode.fork()?,
            seed: self.seed,
            difficulty: self.difficulty,
            steps: self.steps.clone(),
        })
    }
}

/// Make environment `name` of `env_dir` (default `$CODEGYM_ENVS`, else `./target/envs`).
/// `seed` is the first episode's (each `reset()` without a seed takes the next one),
/// `difficulty` 0..=100; `limits` overrides the host's limits (fields of
/// `codegym_host::Limits`, e.g. `{"max_steps": 20}`).
#[pyfunction]
#[pyo3(signature = (name, seed=0, difficulty=50, env_dir=None, limits=None))]
pub(crate) fn make(
    py: Python<'_>,
    name: &str,
    seed: u64,
    difficulty: u32,
    env_dir: Option<PathBuf>,
    limits: Option<&Bound<'_, PyAny>>,
) -> PyResult<Env> {
    let env = py.detach(|| registry::load(env_dir.as_deref(), name))?;
    Ok(Env { starter: Starter::new(env, difficulty, limits)?, env_dir, next_seed: seed, episode: None })
}

/// An episode as a pickle carries it: enough to replay it exactly.
#[derive(Serialize, Deserialize)]
struct Saved {
    seed: u64,
    difficulty: u32,
    config: String,
    /// Every call the environment received, faulted ones included, with what it answered.
    steps: Vec<TrajectoryStep>,
}

/// Unpickle an [`Env`] (see `Env.__reduce__`): make it again and replay its episode, checking
/// every reply against the pickled one.
#[pyfunction]
pub(crate) fn _rebuild(py: Python<'_>, state: &Bound<'_, PyDict>) -> PyResult<Env> {
    let field = |key: &str| {
        state.get_item(key)?.ok_or_else(|| EpisodeError::new_err(format!("a pickled Env without `{key}`")))
    };
    let name: String = field("name")?.extract()?;
    let env_dir: Option<PathBuf> = field("env_dir")?.extract()?;
    let limits = field("limits")?;
    let mut env = make(
        py,
        &name,
        field("next_seed")?.extract()?,
        field("difficulty")?.extract()?,
        env_dir,
        Some(&limits),
    )?;
    let hash: String = field("hash")?.extract()?;
    if env.starter.env.hash() != hash {
        return Err(EpisodeError::new_err(format!(
            "environment `{name}` is not the build that was pickled (component {hash}, here {})",
            env.starter.env.hash()
        )));
    }
    if let Some(saved) = state.get_item("episode")? {
        let saved: Saved = convert::from_python(&saved, "pickled episode")?;
        let starter = &env.starter;
        let live = py.detach(|| replay_saved(starter, saved))?;
        env.episode = Some(live);
    }
    Ok(env)
}

fn replay_saved(starter: &Starter, saved: Saved) -> PyResult<Live> {
    let mut episode = starter.env.start_with(&saved.config, starter.limits).map_err(episode_error)?;
    for (index, step) in saved.steps.iter().enumerate() {
        if !episode.step(&step.call).matches(step) {
            return Err(EpisodeError::new_err(format!(
                "the pickled episode does not replay: step {index} ({}) answered differently",
                step.call.name
            )));
        }
    }
    Ok(Live { episode, seed: saved.seed, difficulty: saved.difficulty, steps: saved.steps })
}

impl Env {
    fn live(&mut self) -> PyResult<&mut Live> {
        self.episode.as_mut().ok_or_else(|| EpisodeError::new_err("no episode: call reset() first"))
    }
}

#[pymethods]
impl Env {
    /// The environment's name.
    #[getter]
    fn name(&self) -> &str {
        self.starter.env.name()
    }

    /// The tools: `[{"name", "description", "parameters": JSON Schema}]`.
    #[getter]
    fn tools<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::tools(py, &self.starter.env)
    }

    /// Name, version, category, description, content hash and tools.
    #[getter]
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        convert::env_info(py, &self.starter.env)
    }

    /// The limits episodes run under.
    #[getter]
    fn limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.starter.limits)
    }

    /// Start an episode: on `seed` (default: the next seed), or on `options["config"]` (a
    /// dict or its JSON text) as given; `options["difficulty"]` overrides `make`'s.
    /// Returns `(task, info)` with `info = {"seed", "difficulty", "config"}`.
    #[pyo3(signature = (seed=None, options=None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seed: Option<u64>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<(String, Bound<'py, PyDict>)> {
        let mut difficulty = self.starter.difficulty;
        let mut config = None;
        if let Some(options) = options {
            for (key, value) in options.iter() {
                match key.extract::<&str>()? {
                    "difficulty" => {
                        difficulty = value.extract()?;
                        check_difficulty(difficulty)?;
                    }
                    "config" => {
                        config = Some(match value.extract::<String>() {
                            Ok(text) => text,
                            Err(_) => convert::to_json(&value, "config")?,
                        })
                    }
                    other => {
                        return Err(pyo3::exceptions::PyValueError::new_err(format!(
                            "unknown reset option `{other}`; known: difficulty, config"
                        )));
                    }
                }
            }
        }
        let seed = seed.unwrap_or(self.next_seed);
        self.next_seed = seed.wrapping_add(1);
        // The last episode's instance goes back to the pool before the next one starts.
        self.episode = None;
        let starter = &self.starter;
        let episode =
            py.detach(|| starter.start(seed, difficulty, config.as_deref())).map_err(episode_error)?;
        let task = episode.task().to_owned();
        let info = PyDict::new(py);
        info.set_item("seed", seed)?;
        info.set_item("difficulty", difficulty)?;
        info.set_item("config", &episode.log().config)?;
        self.episode = Some(Live { episode, seed, difficulty, steps: Vec::new() });
        Ok((task, info))
    }

    /// Play one turn: a tool call `{"name", "arguments"}` or a model's raw output
    /// `{"text", "format"}`. Returns `(observation, reward, terminated, truncated, info)`,
    /// `info = {"steps", "outcome", "fault", "parse_error"}`; faults and tool errors are
    /// observations (the call rolled back), never exceptions.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<(String, f32, bool, bool, Bound<'py, PyDict>)> {
        let action = Action::from_python(action)?;
        let live = self.live()?;
        // A call after the end is answered (with an error) but is no step of the episode.
        let over = live.episode.is_done();
        let turn = py.detach(|| act(&mut live.episode, action));
        let info = convert::step_info(py, &turn)?;
        let (terminated, truncated) = (turn.terminated(), turn.truncated());
        let Turn { observation, reward, done, fault, call, .. } = turn;
        if let Some(call) = call.filter(|_| !over) {
            live.steps.push(TrajectoryStep { call, observation: observation.clone(), reward, done, fault });
        }
        Ok((observation, reward, terminated, truncated, info))
    }

    /// The episode's opening chat messages in `format` (`codegym`, `hermes`,
    /// `openai-tools`), as OpenAI's wire format has them.
    #[pyo3(signature = (format="codegym"))]
    fn prompt<'py>(&mut self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        let format = parse_format(format)?;
        let info = self.starter.env.info().clone();
        let live = self.live()?;
        to_python(py, &render_prompt(&info, live.episode.task(), format).messages)
    }

    /// The OpenAI function-tool definitions to send with each request in format
    /// `openai-tools`.
    fn openai_tools<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &render_tools(self.starter.env.info(), ActionFormat::OpenAiTools))
    }

    /// An independent copy of this environment and its episode (same state, counters and
    /// trajectory so far), e.g. for the members of a GRPO group.
    fn fork(&self, py: Python<'_>) -> PyResult<Env> {
        let episode = match &self.episode {
            None => None,
            Some(live) => Some(py.detach(|| live.fork()).map_err(episode_error)?),
        };
        Ok(Env {
            starter: self.starter.clone(),
            env_dir: self.env_dir.clone(),
            next_seed: self.next_seed,
            episode,
        })
    }

    /// The action log: `{"config", "calls": [{"name", "arguments"}]}`, enough to rebuild
    /// the episode's state exactly.
    fn log<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let live = self.live()?;
        to_python(py, live.episode.log())
    }

    /// The episode so far as a trajectory (the format of `codegym rollout --out`), which
    /// `codegym.replay` and `codegym replay` re-run byte for byte.
    fn trajectory<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let live = self.live()?;
        let trajectory = live.episode.trajectory(live.seed, live.difficulty, "python", live.steps.clone());
        to_python(py, &trajectory)
    }

    /// The environment's own oracle for the current task, in a sandbox of its own (it sees
    /// only the task and the observations you pass it).
    fn oracle(&mut self, py: Python<'_>) -> PyResult<Oracle> {
        let env = self.starter.env.clone();
        let task = self.live()?.episode.task().to_owned();
        let session = py.detach(|| env.oracle(&task)).map_err(episode_error)?;
        Ok(Oracle { session })
    }

    /// Give the episode's instance back now (it is also given back when the object goes).
    fn close(&mut self) {
        self.episode = None;
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &mut self,
        _kind: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) {
        self.close();
    }

    /// Pickling carries what `make` was given and the episode's calls (not the sandbox's
    /// memory): unpickling makes the environment again, wherever the pickle is loaded, and
    /// replays the calls, checking each reply, so the copy is exact.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyDict>,))> {
        let state = PyDict::new(py);
        state.set_item("name", self.starter.env.name())?;
        state.set_item("hash", self.starter.env.hash())?;
        state.set_item("env_dir", &self.env_dir)?;
        state.set_item("difficulty", self.starter.difficulty)?;
        state.set_item("limits", to_python(py, &self.starter.limits)?)?;
        state.set_item("next_seed", self.next_seed)?;
        if let Some(live) = &self.episode {
            let saved = Saved {
                seed: live.seed,
                difficulty: live.difficulty,
                config: live.episode.log().config.clone(),
                steps: live.steps.clone(),
            };
            state.set_item("episode", to_python(py, &saved)?)?;
        }
        let rebuild = py.import("codegym._codegym")?.getattr("_rebuild")?;
        Ok((rebuild, (state,)))
    }

    fn __repr__(&self) -> String {
        format!("codegym.Env({:?}, difficulty={})", self.starter.env.name(), self.starter.difficulty)
    }
}

pub(crate) fn parse_format(format: &str) -> PyResult<ActionFormat> {
    format.parse().map_err(|error| pyo3::exceptions::PyValueError::new_err(format!("{error}")))
}

/// An environment's oracle: `next(observation)` gives its next call, `None` when finished.
#[pyclass(module = "codegym")]
pub(crate) struct Oracle {
    session: OracleSession,
}

#[pymethods]
impl Oracle {
    /// The oracle's next call (`{"name", "arguments"}`, arguments as JSON text) after
    /// `observation` (the last step's; `""` before the first), or `None` when it is done or
    /// faulted (see `fault`).
    #[pyo3(signature = (observation=""))]
    fn next<'py>(&mut self, py: Python<'py>, observation: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let session = &mut self.session;
        match py.detach(|| session.next(observation)) {
            None => Ok(None),
            Some(call) => to_python(py, &call).map(Some),
        }
    }

    /// Why the oracle stopped early (a fault name), if it did.
    #[getter]
    fn fault(&self) -> Option<&'static str> {
        self.session.fault().map(|fault| fault.as_str())
    }
}

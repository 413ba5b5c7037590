//! `codegym.make_vec`: many episodes stepped as one batch, envpool-style, on worker threads
//! with the GIL released; synchronous `step` or asynchronous `send`/`recv`.
//!
//! Auto-reset is Gymnasium's *next-step* mode: the step after an episode ends resets that
//! environment (its action is ignored) and returns the new task with reward 0 and
//! `info["reset"]` set. Environment `i`'s `k`-th episode runs on seed
//! `seeds[i] + k * num_envs`, so the default seeds (`seed + i`) never repeat.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};

use codegym_host::Episode;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;

use crate::action::{Action, Turn, act};
use crate::convert::{self, to_python};
use crate::env::Starter;
use crate::errors::{CodeGymError, EpisodeError};
use crate::registry;

/// Below this many environments a batch runs on the calling thread: handing it to the
/// worker pool costs more than it saves.
const INLINE_BATCH: usize = 32;

struct Slot {
    starter: Starter,
    episode: Option<Episode>,
    /// The seed of this environment's next episode.
    next_seed: u64,
    /// The last episode ended (or could not start): the next step resets.
    needs_reset: bool,
}

impl Slot {
    /// Start the next episode; the task, or why it could not start.
    fn reset(&mut self, stride: u64) -> Result<String, String> {
        self.episode = None;
        let seed = self.next_seed;
        self.next_seed = seed.wrapping_add(stride);
        let started = self.starter.start(seed, self.starter.difficulty, None);
        match started {
            Ok(episode) => {
                let task = episode.task().to_owned();
                self.episode = Some(episode);
                self.needs_reset = false;
                Ok(task)
            }
            Err(error) => {
                self.needs_reset = true;
                Err(format!("Error: the episode could not start: {error}"))
            }
        }
    }
}

/// What one environment did in a batch.
enum Out {
    Turn(Turn),
    /// Auto-reset: the new episode's task.
    Reset(String),
    /// The new episode could not start (e.g. its reset faulted); retried at the next step.
    Failed(String),
}

struct Batch {
    ids: Vec<usize>,
    outs: Vec<Out>,
}

type Slots = Arc<Vec<Mutex<Slot>>>;

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `work(id, item)` for each id and its item, in order; on the worker threads when the
/// batch is large.
fn each<T: Send, R: Send>(ids: &[usize], items: Vec<T>, work: impl Fn(usize, T) -> R + Sync) -> Vec<R> {
    if ids.len() < INLINE_BATCH {
        ids.iter().zip(items).map(|(&id, item)| work(id, item)).collect()
    } else {
        ids.par_iter().zip(items.into_par_iter()).with_min_len(8).map(|(&id, item)| work(id, item)).collect()
    }
}

/// Step each `(id, action)` (resetting first an environment whose episode ended).
fn run(slots: &[Mutex<Slot>], stride: u64, ids: &[usize], actions: Vec<Action>) -> Vec<Out> {
    each(ids, actions, |id, action| {
        let mut slot = lock(&slots[id]);
        if slot.needs_reset {
            return match slot.reset(stride) {
                Ok(task) => Out::Reset(task),
                Err(error) => Out::Failed(error),
            };
        }
        let episode = slot.episode.as_mut().expect("a slot that needs no reset has an episode");
        let turn = act(episode, action);
        if turn.done {
            slot.needs_reset = true;
        }
        Out::Turn(turn)
    })
}

/// A batch of sandboxed episodes. Made by `codegym.make_vec`.
#[pyclass(module = "codegym")]
pub(crate) struct VecEnv {
    slots: Slots,
    names: Vec<String>,
    in_flight: Vec<bool>,
    pending: usize,
    sender: Sender<Batch>,
    receiver: Mutex<Receiver<Batch>>,
}

/// `num_envs` environments: `names` one name for all or a list of one per environment,
/// `seeds` a first seed (environment `i` gets `seed + i`) or a list, `difficulty` 0..=100,
/// `env_dir` and `limits` as for `make`. `reset()` starts the first episodes (a `step`
/// before it starts them too, as auto-resets).
#[pyfunction]
#[pyo3(signature = (names, num_envs=None, seeds=None, difficulty=50, env_dir=None, limits=None))]
pub(crate) fn make_vec(
    py: Python<'_>,
    names: &Bound<'_, PyAny>,
    num_envs: Option<usize>,
    seeds: Option<&Bound<'_, PyAny>>,
    difficulty: u32,
    env_dir: Option<PathBuf>,
    limits: Option<&Bound<'_, PyAny>>,
) -> PyResult<VecEnv> {
    let names: Vec<String> = match names.extract::<String>() {
        Ok(name) => vec![name; num_envs.unwrap_or(1)],
        Err(_) => names.extract()?,
    };
    let count = names.len();
    if num_envs.is_some_and(|n| n != count) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{count} names for num_envs={}",
            num_envs.unwrap_or_default()
        )));
    }
    if count == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err("make_vec needs at least one environment"));
    }
    let seeds = match seeds {
        None => (0..count as u64).collect(),
        Some(seeds) => seed_list(seeds, count)?,
    };
    let mut starters: Vec<Starter> = Vec::with_capacity(count);
    for name in &names {
        match starters.iter().find(|starter| starter.env.name() == name) {
            Some(same) => starters.push(same.clone()),
            None => {
                let env = py.detach(|| registry::load(env_dir.as_deref(), name))?;
                starters.push(Starter::new(env, difficulty, limits)?);
            }
        }
    }
    let slots: Vec<Mutex<Slot>> = starters
        .into_iter()
        .zip(seeds)
        .map(|(starter, seed)| {
            Mutex::new(Slot { starter, episode: None, next_seed: seed, needs_reset: true })
        })
        .collect();
    let (sender, receiver) = channel();
    let vec = VecEnv {
        slots: Arc::new(slots),
        names,
        in_flight: vec![false; count],
        pending: 0,
        sender,
        receiver: Mutex::new(receiver),
    };
    Ok(vec)
}

/// `count` seeds from an int (the first; then one more each) or a list of them.
fn seed_list(seeds: &Bound<'_, PyAny>, count: usize) -> PyResult<Vec<u64>> {
    let seeds: Vec<u64> = match seeds.extract::<u64>() {
        Ok(first) => (0..count as u64).map(|i| first.wrapping_add(i)).collect(),
        Err(_) => seeds.extract()?,
    };
    if seeds.len() != count {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{} seeds for {count} environments",
            seeds.len()
        )));
    }
    Ok(seeds)
}

impl VecEnv {
    fn stride(&self) -> u64 {
        self.slots.len() as u64
    }

    fn actions(&self, actions: &Bound<'_, PyAny>, count: usize) -> PyResult<Vec<Action>> {
        let actions: Vec<Bound<'_, PyAny>> = actions.extract()?;
        if actions.len() != count {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "{} actions for {count} environments",
                actions.len()
            )));
        }
        actions.iter().map(Action::from_python).collect()
    }

    fn all_ids(&self) -> Vec<usize> {
        (0..self.slots.len()).collect()
    }

    fn idle(&self) -> PyResult<()> {
        if self.pending > 0 {
            return Err(CodeGymError::new_err(format!(
                "{} sent batches not received yet: recv() them first",
                self.pending
            )));
        }
        Ok(())
    }
}

/// A batch's results, column by column, as Python gets them.
#[derive(Default)]
struct Columns {
    observations: Vec<String>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    steps: Vec<u32>,
    outcome: Vec<Option<&'static str>>,
    fault: Vec<Option<&'static str>>,
    parse_error: Vec<bool>,
    reset: Vec<bool>,
    error: Vec<Option<String>>,
}

impl Columns {
    fn push(&mut self, out: Out) {
        let (observation, error) = match out {
            Out::Turn(turn) => {
                self.rewards.push(turn.reward);
                self.terminated.push(turn.terminated());
                self.truncated.push(turn.truncated());
                self.steps.push(turn.steps);
                self.outcome.push(turn.outcome.map(|outcome| outcome.as_str()));
                self.fault.push(turn.fault.map(|fault| fault.as_str()));
                self.parse_error.push(turn.parse_error);
                self.reset.push(false);
                self.error.push(None);
                self.observations.push(turn.observation);
                return;
            }
            Out::Reset(task) => (task, None),
            Out::Failed(why) => (why.clone(), Some(why)),
        };
        self.rewards.push(0.0);
        self.terminated.push(error.is_some());
        self.truncated.push(false);
        self.steps.push(0);
        self.outcome.push(None);
        self.fault.push(None);
        self.parse_error.push(false);
        self.reset.push(error.is_none());
        self.error.push(error);
        self.observations.push(observation);
    }
}

/// `(observations, rewards, terminated, truncated, infos)` of a batch, infos as one dict of
/// lists (Gymnasium's vector convention): `steps`, `outcome`, `fault`, `parse_error`,
/// `reset` (this step auto-reset the environment), `error` (why a new episode could not
/// start; that environment reports `terminated` and tries again at its next step) and
/// `env_id`.
fn outputs<'py>(py: Python<'py>, batch: Batch) -> PyResult<Bound<'py, PyAny>> {
    let mut columns = Columns::default();
    for out in batch.outs {
        columns.push(out);
    }
    let infos = PyDict::new(py);
    infos.set_item("steps", columns.steps)?;
    infos.set_item("outcome", columns.outcome)?;
    infos.set_item("fault", columns.fault)?;
    infos.set_item("parse_error", columns.parse_error)?;
    infos.set_item("reset", columns.reset)?;
    infos.set_item("error", columns.error)?;
    infos.set_item("env_id", batch.ids)?;
    let tuple = (
        PyList::new(py, columns.observations)?,
        PyList::new(py, columns.rewards)?,
        PyList::new(py, columns.terminated)?,
        PyList::new(py, columns.truncated)?,
        infos,
    );
    tuple.into_pyobject(py).map(|tuple| tuple.into_any())
}

#[pymethods]
impl VecEnv {
    #[getter]
    fn num_envs(&self) -> usize {
        self.slots.len()
    }

    /// The environment of each slot.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn __len__(&self) -> usize {
        self.slots.len()
    }

    /// Start a new episode in every environment (on `seeds`, an int or a list, if given:
    /// the schedule then restarts from them). Returns `(tasks, infos)`, `infos["error"]`
    /// naming any that could not start.
    #[pyo3(signature = (seeds=None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seeds: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.idle()?;
        if let Some(seeds) = seeds {
            let seeds = seed_list(seeds, self.slots.len())?;
            for (slot, seed) in self.slots.iter().zip(seeds) {
                lock(slot).next_seed = seed;
            }
        }
        let ids = self.all_ids();
        let (slots, stride) = (self.slots.clone(), self.stride());
        let started = py.detach(|| each(&ids, vec![(); ids.len()], |id, ()| lock(&slots[id]).reset(stride)));
        let (mut tasks, mut errors) = (Vec::with_capacity(started.len()), Vec::with_capacity(started.len()));
        for started in started {
            match started {
                Ok(task) => {
                    tasks.push(task);
                    errors.push(None);
                }
                Err(error) => {
                    tasks.push(String::new());
                    errors.push(Some(error));
                }
            }
        }
        let infos = PyDict::new(py);
        infos.set_item("error", errors)?;
        infos.set_item("env_id", ids)?;
        (PyList::new(py, tasks)?, infos).into_pyobject(py).map(|tuple| tuple.into_any())
    }

    /// Step every environment with its action (a list, one per environment); see
    /// `outputs` for what comes back.
    fn step<'py>(&mut self, py: Python<'py>, actions: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.idle()?;
        let actions = self.actions(actions, self.slots.len())?;
        let ids = self.all_ids();
        let (slots, stride) = (self.slots.clone(), self.stride());
        let outs = py.detach(|| run(&slots, stride, &ids, actions));
        outputs(py, Batch { ids, outs })
    }

    /// Start stepping the environments `env_ids` (default: all) with `actions` on the
    /// worker threads and return at once; `recv()` gives the results. Several batches may
    /// be in flight if they share no environment.
    #[pyo3(signature = (actions, env_ids=None))]
    fn send(&mut self, actions: &Bound<'_, PyAny>, env_ids: Option<Vec<usize>>) -> PyResult<()> {
        let ids = env_ids.unwrap_or_else(|| self.all_ids());
        for &id in &ids {
            if id >= self.slots.len() {
                return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                    "env id {id} out of range for {} environments",
                    self.slots.len()
                )));
            }
        }
        let mut seen = vec![false; self.slots.len()];
        for &id in &ids {
            if std::mem::replace(&mut seen[id], true) {
                return Err(pyo3::exceptions::PyValueError::new_err(format!("env id {id} given twice")));
            }
            if self.in_flight[id] {
                return Err(CodeGymError::new_err(format!(
                    "env {id} is already stepping: recv() its batch first"
                )));
            }
        }
        let actions = self.actions(actions, ids.len())?;
        for &id in &ids {
            self.in_flight[id] = true;
        }
        self.pending += 1;
        let (slots, stride, sender) = (self.slots.clone(), self.stride(), self.sender.clone());
        rayon::spawn(move || {
            let outs = run(&slots, stride, &ids, actions);
            // The receiver lives as long as the VecEnv; a dropped one wants nothing.
            let _ = sender.send(Batch { ids, outs });
        });
        Ok(())
    }

    /// The next batch to finish of those `send` started (waiting for it with the GIL
    /// released), as `step` returns, with `infos["env_id"]` saying which environments.
    fn recv<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.pending == 0 {
            return Err(CodeGymError::new_err("recv() with no batch sent"));
        }
        let receiver = &self.receiver;
        let batch = py
            .detach(|| receiver.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv())
            .map_err(|_| CodeGymError::new_err("a sent batch was lost"))?;
        self.pending -= 1;
        for &id in &batch.ids {
            self.in_flight[id] = false;
        }
        outputs(py, batch)
    }

    /// Environment `env_id`'s action log (`{"config", "calls"}`) of its current episode.
    fn log<'py>(&self, py: Python<'py>, env_id: usize) -> PyResult<Bound<'py, PyAny>> {
        let slot = self
            .slots
            .get(env_id)
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err("env id out of range"))?;
        let slot = lock(slot);
        let episode =
            slot.episode.as_ref().ok_or_else(|| EpisodeError::new_err("that environment has no episode"))?;
        to_python(py, episode.log())
    }

    /// The tools of environment `env_id` (see `Env.tools`).
    #[pyo3(signature = (env_id=0))]
    fn tools<'py>(&self, py: Python<'py>, env_id: usize) -> PyResult<Bound<'py, PyAny>> {
        let slot = self
            .slots
            .get(env_id)
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err("env id out of range"))?;
        let env = lock(slot).starter.env.clone();
        convert::tools(py, &env)
    }

    fn __repr__(&self) -> String {
        format!("codegym.VecEnv(num_envs={})", self.slots.len())
    }
}

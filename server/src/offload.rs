//! Where blocking work runs: never on tokio's async workers, which must stay free to accept
//! connections, answer `/healthz` and deliver commits' acknowledgements.
//!
//! A step is a microsecond or two, but a faulting one runs to its limit (up to the
//! wall-clock backstop, 2 s by default) and then replays the episode's log into a fresh
//! instance; a few of those on the async workers would stall the whole server. So a
//! request's step (or a whole batch, in order) goes to [`StepRunner`]'s threads: as many as
//! the cores while there is work for them, more only while every one of them is stuck in
//! one job for [`STALL`] (so a healthy step waits at most about that behind each faulting
//! one), at most [`MAX_THREADS`]. A thread runs queued jobs back to back, so under load one
//! wake-up carries many steps there and one carries their replies back.
//!
//! It replaced `tokio::task::block_in_place`, which hands the worker's queue to another
//! thread on every request. Measured with `codegym bench openenv` (lock-step OpenEnv
//! steps, server pinned to one core, its CPU time per step from `/proc`, on the loaded
//! 2-core development machine): `block_in_place` cost 100 µs of server CPU per step for 1
//! session and 145 µs for 64 (the worker's role moved between threads on every step);
//! run inline (which `/healthz` cannot afford) ~62 and ~43 µs; this pool ~62 and ~42 µs.
//! `spawn_blocking` costs two wake-ups per step and grows a thread per queued step.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::sync::oneshot;

use crate::api::AppResult;
use crate::error::ApiError;

/// Most threads running steps. Well above the cores, so that healthy steps are not queued
/// behind faulting ones (the OS shares the cores between them, and each faulting one ends
/// at its backstop); well under tokio's 512 blocking threads, so that loading, starting and
/// forking always find one.
const MAX_THREADS: usize = 256;

/// How long every step thread may be in one job, with jobs waiting, before another thread
/// starts.
const STALL: Duration = Duration::from_millis(5);

/// How long a thread beyond the cores' count waits for work before it ends.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads started and not yet ended.
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
    /// Jobs taken so far: the watchdog's sign of progress.
    taken: u64,
    /// Whether the watchdog thread was started.
    watchdog: bool,
    /// Whether it waits for jobs to watch (not timing a stall).
    watchdog_asleep: bool,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled for each job queued while a thread waits, and when closing.
    work: Condvar,
    /// Signalled when jobs wait with no thread idle, and when closing.
    watch: Condvar,
    /// The threads kept however idle: the cores this process may run on.
    cores: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Jobs run outside the lock and their panics are caught, so a poisoned lock still
        // holds consistent counts.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs steps off the async workers (see the module's documentation).
pub(crate) struct StepRunner {
    shared: Arc<Shared>,
}

impl Default for StepRunner {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let shared = Shared {
            queue: Mutex::default(),
            work: Condvar::new(),
            watch: Condvar::new(),
            cores: cores.min(MAX_THREADS),
        };
        Self { shared: Arc::new(shared) }
    }
}

impl Drop for StepRunner {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
        self.shared.watch.notify_all();
    }
}

fn worker_failed(error: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the request's worker failed: {error}"))
}

impl StepRunner {
    /// Run a request's steps (one, or a batch's in order) on a step thread and wait for
    /// them.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let (done, result) = oneshot::channel();
        self.submit(Box::new(move || _ = done.send(work())))?;
        // A panicking job drops `done`.
        result.await.map_err(|_| worker_failed("it panicked"))
    }

    fn submit(&self, job: Job) -> AppResult<()> {
        let shared = &self.shared;
        let mut queue = shared.lock();
        queue.jobs.push_back(job);
        let wake = if queue.idle > 0 {
            &shared.work
        } else if queue.threads < shared.cores {
            return start_thread(shared, &mut queue).map_err(worker_failed);
        } else if !queue.watchdog {
            queue.watchdog = true;
            let watched = shared.clone();
            std::thread::Builder::new()
                .name("codegym-steps-watch".into())
                .spawn(move || watch(&watched))
                .map_err(worker_failed)?;
            return Ok(());
        } else if queue.watchdog_asleep {
            queue.watchdog_asleep = false;
            &shared.watch
        } else {
            return Ok(());
        };
        // Woken after the lock is free: on a busy core the woken thread may run at once,
        // and would only spin on the lock.
        drop(queue);
        wake.notify_one();
        Ok(())
    }
}

fn start_thread(shared: &Arc<Shared>, queue: &mut Queue) -> std::io::Result<()> {
    let worker = shared.clone();
    std::thread::Builder::new().name("codegym-steps".into()).spawn(move || work(&worker))?;
    queue.threads += 1;
    Ok(())
}

/// A step thread: take jobs until closed (or, beyond the cores' count, idle for
/// [`KEEP_ALIVE`]).
fn work(shared: &Shared) {
    let mut queue = shared.lock();
    loop {
        if let Some(job) = queue.jobs.pop_front() {
            queue.taken += 1;
            drop(queue);
            // A panic has dropped the job's reply channel, which answers its request.
            _ = catch_unwind(AssertUnwindSafe(job));
            queue = shared.lock();
            continue;
        }
        if queue.closed {
            break;
        }
        queue.idle += 1;
        let (next, waited) =
            shared.work.wait_timeout(queue, KEEP_ALIVE).unwrap_or_else(PoisonError::into_inner);
        queue = next;
        queue.idle -= 1;
        if waited.timed_out() && queue.jobs.is_empty() && queue.threads > shared.cores {
            break;
        }
    }
    queue.threads -= 1;
}

/// While jobs wait and no thread is idle: start another thread whenever none took a job
/// for [`STALL`].
fn watch(shared: &Arc<Shared>) {
    let mut queue = shared.lock();
    while !queue.closed {
        if queue.jobs.is_empty() || queue.idle > 0 {
            queue.watchdog_asleep = true;
            queue = shared.watch.wait(queue).unwrap_or_else(PoisonError::into_inner);
            queue.watchdog_asleep = false;
            continue;
        }
        let (taken, since) = (queue.taken, Instant::now());
        while !queue.closed && queue.taken == taken && since.elapsed() < STALL {
            let left = STALL.saturating_sub(since.elapsed());
            queue = shared.watch.wait_timeout(queue, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        let stalled = queue.taken == taken && !queue.jobs.is_empty() && queue.idle == 0;
        if stalled && !queue.closed && queue.threads < MAX_THREADS {
            // Without a thread now, the next stall tries again.
            _ = start_thread(shared, &mut queue);
        }
    }
}

/// Run other blocking work (loading a component, starting or forking an episode) on tokio's
/// blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(worker_failed)?
}

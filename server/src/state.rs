//! Sessions in memory: each episode behind its own lock, so different sessions step in
//! parallel; every change is made durable through the [`Store`] before it is acknowledged.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use codegym_core::{Outcome, ToolCall};
use codegym_host::{Episode, Limits, Registry, StepResult};

use crate::error::{ApiError, Error, StoreError};
use crate::metrics::Metrics;
use crate::offload::StepRunner;
use crate::store::{self, Ack, Op, SessionMeta, StepRecord, Store, StoredSession};

/// How to run a [`crate::Server`].
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// Where sessions are stored (`None`: in memory only, lost on exit).
    pub data_dir: Option<PathBuf>,
    /// Most live sessions; creating one more is refused with 429.
    pub max_sessions: usize,
    /// Sessions untouched this long are dropped.
    pub idle_ttl: Duration,
    /// Largest request body.
    pub body_limit_bytes: usize,
    /// Most requests of one WebSocket awaiting their replies; past it the socket is not
    /// read until some are answered, so a client that pipelines without reading cannot grow
    /// the server's memory without bound.
    pub ws_max_in_flight: usize,
    /// Default limits for new sessions, and the most a request may ask for.
    pub limits: Limits,
    /// This server's name among several replicas behind a proxy (1 to 16 of `a-z0-9`, see
    /// [`check_replica`]): session ids become `NAME-<16 hex digits>`, so a proxy can route
    /// each id to the replica that owns it, and ids naming another replica are unknown here.
    /// `None`: ids are the 16 hex digits alone.
    pub replica: Option<String>,
    /// A static site served at `/` beneath the API (the browser playground built by
    /// `cargo xtask web` into `target/web`): a GET that no API route matches reads a file
    /// there. `None`: such requests are JSON 404s.
    pub web_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            data_dir: None,
            max_sessions: 4096,
            idle_ttl: Duration::from_secs(3600),
            body_limit_bytes: 1 << 20,
            ws_max_in_flight: 4096,
            limits: Limits::default(),
            replica: None,
            web_dir: None,
        }
    }
}

/// The longest replica name.
const MAX_REPLICA_LEN: usize = 16;

/// Check a replica name ([`ServerConfig::replica`]): 1 to 16 characters of `a-z0-9`, so
/// that it is a safe prefix for session ids, URL paths and proxy configurations.
pub fn check_replica(name: &str) -> Result<(), Error> {
    let valid = (1..=MAX_REPLICA_LEN).contains(&name.len())
        && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
    match valid {
        true => Ok(()),
        false => Err(Error::Replica { name: name.to_owned() }),
    }
}

/// What happened to the stored sessions at startup.
#[derive(Clone, Debug, Default)]
pub struct RestoreReport {
    /// Sessions resumed by replaying their logs.
    pub restored: usize,
    /// Sessions that could not be resumed exactly, by id, with the reason; they were
    /// deleted from the store.
    pub dropped: Vec<(String, String)>,
}

/// A session's key, in memory and in the store; the replica name is not part of it, so a
/// data directory keeps its sessions' ids as long as it is served under the same name.
pub(crate) type SessionId = u64;

/// A session id as clients see it: `NAME-<16 hex digits>` on replica `NAME`, else the
/// 16 digits alone. Every id a server prints goes through here.
fn format_id(replica: Option<&str>, id: SessionId) -> String {
    match replica {
        Some(name) => format!("{name}-{id:016x}"),
        None => format!("{id:016x}"),
    }
}

/// The inverse of [`format_id`], and the only way ids are read: `None` (an unknown session)
/// for anything [`format_id`] would not print, including an id of another replica or one
/// without the prefix this replica requires (or with one when it has none).
fn parse_id(replica: Option<&str>, text: &str) -> Option<SessionId> {
    let digits = match replica {
        Some(name) => text.strip_prefix(name)?.strip_prefix('-')?,
        None => text,
    };
    let canonical =
        digits.len() == 16 && digits.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    canonical.then(|| u64::from_str_radix(digits, 16).ok()).flatten()
}

pub(crate) struct Session {
    pub id: SessionId,
    pub env: String,
    pub created_ms: u64,
    /// Milliseconds since the server's `epoch`.
    last_used: AtomicU64,
    inner: Mutex<Live>,
}

/// The mutable part of a session.
pub(crate) struct Live {
    pub episode: Episode,
    /// Every call the episode received, as stored.
    pub records: Vec<StepRecord>,
}

impl Session {
    pub fn lock(&self) -> MutexGuard<'_, Live> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) struct AppState {
    pub config: ServerConfig,
    pub registry: Registry,
    pub metrics: Metrics,
    /// Where steps run: off the async workers, a bounded number at a time.
    pub steps: StepRunner,
    sessions: RwLock<HashMap<SessionId, Arc<Session>>>,
    store: Option<Store>,
    epoch: Instant,
    ids: RandomState,
    next_id: AtomicU64,
    /// Sessions that open sockets hold (OpenEnv's: one per socket), by id: each is deleted
    /// when its socket closes, and those still held when the server stops.
    held: Mutex<HashSet<String>>,
}

/// A step's answer, before it is durable.
pub(crate) struct Stepped {
    pub result: StepResult,
    pub steps: u32,
    /// How the episode ended, once it has.
    pub outcome: Option<Outcome>,
    pub ack: Option<Ack>,
}

impl AppState {
    /// Open the store (if any) and resume every stored session by replaying its log.
    pub fn open(config: ServerConfig, registry: Registry) -> Result<(Self, RestoreReport), Error> {
        if let Some(name) = &config.replica {
            check_replica(name)?;
        }
        let (store, stored) = match &config.data_dir {
            Some(dir) => {
                let (store, stored) = Store::open(dir, config.replica.as_deref())
                    .map_err(|source| Error::Open { path: dir.clone(), source })?;
                (Some(store), stored)
            }
            None => (None, Vec::new()),
        };
        let state = Self {
            config,
            registry,
            metrics: Metrics::default(),
            steps: StepRunner::default(),
            sessions: RwLock::new(HashMap::new()),
            store,
            epoch: Instant::now(),
            ids: RandomState::new(),
            next_id: AtomicU64::new(0),
            held: Mutex::new(HashSet::new()),
        };
        let report = state.restore(stored);
        Ok((state, report))
    }

    /// A session's id as clients see it (see [`format_id`]).
    pub fn format_id(&self, id: SessionId) -> String {
        format_id(self.config.replica.as_deref(), id)
    }

    fn parse_id(&self, text: &str) -> Option<SessionId> {
        parse_id(self.config.replica.as_deref(), text)
    }

    fn restore(&self, stored: Vec<StoredSession>) -> RestoreReport {
        let mut report = RestoreReport::default();
        let mut dropped = Vec::new();
        for session in stored {
            let id = session.id;
            match self.replay(session) {
                Ok(session) => {
                    self.write_sessions().insert(id, Arc::new(session));
                    report.restored += 1;
                }
                Err(reason) => {
                    report.dropped.push((self.format_id(id), reason));
                    dropped.push(Op::Delete { id });
                }
            }
        }
        if let Some(store) = &self.store
            && !dropped.is_empty()
        {
            // Not awaited: a session dropped again after a crash is harmless.
            drop(store.submit(dropped));
        }
        report
    }

    /// Rebuild one stored session, or say why it cannot be rebuilt exactly.
    fn replay(&self, stored: StoredSession) -> Result<Session, String> {
        let meta = stored.meta;
        let records = stored.records.map_err(|index| format!("its log has no call {index}"))?;
        let env = self.registry.get(&meta.env).map_err(|error| error.to_string())?;
        if env.hash() != meta.component {
            return Err(format!(
                "the `{}` component changed (stored {}, now {})",
                meta.env,
                meta.component,
                env.hash()
            ));
        }
        let mut episode = env.start_with(&meta.config, meta.limits).map_err(|error| error.to_string())?;
        for (index, record) in records.iter().enumerate() {
            let call = record.call();
            let replayed = StepRecord::new(&call, &episode.step(&call));
            if &replayed != record {
                return Err(format!("replay diverged at call {index} ({})", call.name));
            }
        }
        Ok(Session {
            id: stored.id,
            env: meta.env,
            created_ms: meta.created_ms,
            last_used: AtomicU64::new(self.now_ms()),
            inner: Mutex::new(Live { episode, records }),
        })
    }

    fn read_sessions(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.sessions.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_sessions(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.sessions.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn live_sessions(&self) -> usize {
        self.read_sessions().len()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The session `id`, marked as used now.
    pub fn session(&self, id: &str) -> Result<Arc<Session>, ApiError> {
        let session = self
            .parse_id(id)
            .and_then(|key| self.read_sessions().get(&key).cloned())
            .ok_or_else(|| ApiError::unknown_session(id))?;
        session.last_used.store(self.now_ms(), Relaxed);
        Ok(session)
    }

    /// Refuse a new session when the server is full (checked again on insertion).
    pub fn check_capacity(&self) -> Result<(), ApiError> {
        match self.live_sessions() >= self.config.max_sessions {
            true => Err(self.full()),
            false => Ok(()),
        }
    }

    fn full(&self) -> ApiError {
        let max = self.config.max_sessions;
        let message = format!("the server holds its maximum of {max} sessions; delete some first");
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
    }

    /// Register a new session (a created or forked episode with its records) and make it
    /// durable.
    pub async fn insert(&self, env: String, live: Live) -> Result<Arc<Session>, ApiError> {
        let (session, create) = self.register(env, live)?;
        if let Some(store) = &self.store
            && let Err(error) = store::durable(store.submit(vec![create])).await
        {
            self.write_sessions().remove(&session.id);
            return Err(ApiError::storage(&error));
        }
        self.metrics.sessions_created.fetch_add(1, Relaxed);
        Ok(session)
    }

    /// Add a session to the map under a fresh id; returns it and its store record.
    fn register(&self, env: String, live: Live) -> Result<(Arc<Session>, Op), ApiError> {
        let created_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
        let meta = SessionMeta {
            env: env.clone(),
            component: live.episode.env().hash(),
            limits: *live.episode.limits(),
            config: live.episode.log().config.clone(),
            created_ms,
        };
        let records = live.records.clone();
        let mut sessions = self.write_sessions();
        if sessions.len() >= self.config.max_sessions {
            return Err(self.full());
        }
        let id = loop {
            let id = self.ids.hash_one(self.next_id.fetch_add(1, Relaxed));
            if !sessions.contains_key(&id) {
                break id;
            }
        };
        let last_used = AtomicU64::new(self.now_ms());
        let session = Arc::new(Session { id, env, created_ms, last_used, inner: Mutex::new(live) });
        sessions.insert(id, session.clone());
        Ok((session, Op::Create { id, meta, records }))
    }

    /// Run one call on a session. The write is queued while the session is locked, so the
    /// store sees each session's calls in order; the caller awaits `ack` before replying.
    pub fn step(&self, session: &Session, call: &ToolCall) -> Stepped {
        let mut live = session.lock();
        if live.episode.is_done() {
            // Changes nothing, so is not logged.
            let result = live.episode.step(call);
            return Stepped {
                result,
                steps: live.episode.steps(),
                outcome: live.episode.outcome(),
                ack: None,
            };
        }
        let result = live.episode.step(call);
        self.metrics.steps.fetch_add(1, Relaxed);
        if result.fault.is_some() {
            self.metrics.faults.fetch_add(1, Relaxed);
        }
        let record = StepRecord::new(call, &result);
        let index = u32::try_from(live.records.len()).unwrap_or(u32::MAX);
        let ack = self
            .store
            .as_ref()
            .map(|store| store.submit(vec![Op::Append { id: session.id, index, record: record.clone() }]));
        live.records.push(record);
        Stepped { result, steps: live.episode.steps(), outcome: live.episode.outcome(), ack }
    }

    /// Wait until a step is durable. If it cannot be, the session is dropped from memory:
    /// its state is ahead of what a restart would restore.
    pub async fn acknowledge(&self, session: &Session, ack: Option<Ack>) -> Result<(), ApiError> {
        let Some(ack) = ack else { return Ok(()) };
        store::durable(ack).await.map_err(|error| {
            self.write_sessions().remove(&session.id);
            ApiError::storage(&error)
        })
    }

    /// Remove a session from memory and from the store.
    pub async fn delete(&self, id: &str) -> Result<(), ApiError> {
        let key = self.parse_id(id).ok_or_else(|| ApiError::unknown_session(id))?;
        self.write_sessions().remove(&key).ok_or_else(|| ApiError::unknown_session(id))?;
        if let Some(store) = &self.store {
            store::durable(store.submit(vec![Op::Delete { id: key }]))
                .await
                .map_err(|error| ApiError::storage(&error))?;
        }
        Ok(())
    }

    fn lock_held(&self) -> MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mark session `id` as held by an open socket.
    pub fn hold(&self, id: &str) {
        self.lock_held().insert(id.to_owned());
    }

    /// Unmark session `id` (its socket is closing).
    pub fn release(&self, id: &str) {
        self.lock_held().remove(id);
    }

    /// Every session still held by a socket, unmarked.
    pub fn take_held(&self) -> Vec<String> {
        self.lock_held().drain().collect()
    }

    /// Drop the sessions idle for longer than the TTL; returns how many.
    pub fn expire(&self) -> usize {
        let ttl = u64::try_from(self.config.idle_ttl.as_millis()).unwrap_or(u64::MAX);
        let now = self.now_ms();
        let expired: Vec<SessionId> = {
            let mut sessions = self.write_sessions();
            let ids: Vec<SessionId> = sessions
                .values()
                .filter(|session| now.saturating_sub(session.last_used.load(Relaxed)) > ttl)
                .map(|session| session.id)
                .collect();
            for id in &ids {
                sessions.remove(id);
            }
            ids
        };
        if let Some(store) = &self.store
            && !expired.is_empty()
        {
            // Not awaited: an expired session that survives a crash expires again.
            drop(store.submit(expired.iter().map(|&id| Op::Delete { id }).collect()));
        }
        self.metrics.sessions_expired.fetch_add(expired.len() as u64, Relaxed);
        expired.len()
    }
}

/// Clamp requested limits to the server's: a request may tighten them, never loosen them.
pub(crate) fn clamp_limits(requested: Limits, max: Limits) -> Limits {
    let mut limits = max;
    limits.fuel_per_step = requested.fuel_per_step.min(max.fuel_per_step);
    limits.fuel_per_episode = requested.fuel_per_episode.min(max.fuel_per_episode);
    limits.memory_bytes = requested.memory_bytes.min(max.memory_bytes);
    limits.max_steps = requested.max_steps.min(max.max_steps);
    limits.max_output_bytes = requested.max_output_bytes.min(max.max_output_bytes);
    limits.step_timeout = requested.step_timeout.min(max.step_timeout);
    limits
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::storage(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::{check_replica, format_id, parse_id};

    #[test]
    fn ids_round_trip_and_name_their_replica() {
        for id in [0, 1, 0xdead_beef, u64::MAX] {
            for replica in [None, Some("a"), Some("replica012345678")] {
                assert_eq!(parse_id(replica, &format_id(replica, id)), Some(id), "{replica:?} {id}");
            }
        }
        assert_eq!(format_id(Some("b2"), 255), "b2-00000000000000ff");
        assert_eq!(format_id(None, 255), "00000000000000ff");
        for (replica, text) in [
            (Some("a"), "b-00000000000000ff"),
            (Some("a"), "00000000000000ff"),
            (Some("a"), "ab-00000000000000ff"),
            (Some("ab"), "a-00000000000000ff"),
            (Some("a"), "a-"),
            (Some("a"), "a"),
            (None, "a-00000000000000ff"),
            (None, "00000000000000FF"),
            (None, "+0000000000000ff"),
            (None, "00000000000000ff0"),
            (None, ""),
            (None, "é000000000000000"),
        ] {
            assert_eq!(parse_id(replica, text), None, "{replica:?} {text:?}");
        }
    }

    #[test]
    fn replica_names_are_short_lowercase_alphanumerics() {
        for name in ["a", "b", "r0", "0123456789abcdef"] {
            assert!(check_replica(name).is_ok(), "{name}");
        }
        for name in ["", "A", "a-b", "a_b", "a.b", "0123456789abcdefg", "é", "a b"] {
            let error = check_replica(name).expect_err(name).to_string();
            assert!(error.contains("1 to 16 characters of a-z and 0-9"), "{error}");
        }
    }
}

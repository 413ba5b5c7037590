//! Durable sessions: each session's metadata and every call it acknowledged, in redb.
//!
//! One writer thread owns the database and commits *groups* of writes: whatever requests
//! queued while the previous commit was in flight share the next transaction (and its
//! fsync), and each request's acknowledgement waits for that commit. Once a commit fails the
//! writer refuses every later write, so the stored log never skips an acknowledged call.

use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use codegym_core::{FaultKind, ToolCall};
use codegym_host::{Limits, StepResult};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::error::StoreError;

const SESSIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("sessions");
/// Keyed by (session, index of the call in the session).
const CALLS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("calls");
/// Facts about the server the database belongs to: `replica`, the name its session ids
/// carry ("" for none).
const SERVER: TableDefinition<&str, &str> = TableDefinition::new("server");

/// Most write requests committed in one transaction.
const MAX_GROUP: usize = 4096;

/// What a session is, stored when it is created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SessionMeta {
    pub env: String,
    /// Content hash of the component the session was created on.
    pub component: String,
    pub limits: Limits,
    pub config: String,
    /// Unix time in milliseconds.
    pub created_ms: u64,
}

/// One call the episode received (faulted ones included: replaying them reproduces the
/// episode's counters and fuel as well as its state), with a digest of what it answered,
/// so a replay that diverges is detected rather than silently accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepRecord {
    pub name: String,
    pub arguments: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultKind>,
    /// blake3 of the observation, reward and done flag (hex, 128 bits).
    pub digest: String,
}

impl StepRecord {
    pub fn new(call: &ToolCall, result: &StepResult) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(result.observation.as_bytes());
        hasher.update(&result.reward.to_le_bytes());
        hasher.update(&[u8::from(result.done)]);
        let digest = hasher.finalize().to_hex()[..32].to_owned();
        Self { name: call.name.clone(), arguments: call.arguments.clone(), fault: result.fault, digest }
    }

    pub fn call(&self) -> ToolCall {
        ToolCall::new(self.name.clone(), self.arguments.clone())
    }
}

/// A session as found in the database on startup.
pub(crate) struct StoredSession {
    pub id: u64,
    pub meta: SessionMeta,
    /// Calls in index order; `Err` names the first missing index, if the log has a gap.
    pub records: Result<Vec<StepRecord>, u32>,
}

/// One change to the database.
pub(crate) enum Op {
    Create { id: u64, meta: SessionMeta, records: Vec<StepRecord> },
    Append { id: u64, index: u32, record: StepRecord },
    Delete { id: u64 },
}

/// Resolves when the write is durable (or has failed).
pub(crate) type Ack = oneshot::Receiver<Result<(), String>>;

struct Request {
    ops: Vec<Op>,
    ack: oneshot::Sender<Result<(), String>>,
}

/// Handle to the writer thread.
pub(crate) struct Store {
    sender: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

impl Store {
    /// Open (or create) `dir/sessions.redb` for the server named `replica`; returns the
    /// store and every stored session. A database written under another replica name is
    /// refused: its sessions' ids would change, and every client holding one would be lost.
    pub fn open(dir: &Path, replica: Option<&str>) -> Result<(Self, Vec<StoredSession>), StoreError> {
        std::fs::create_dir_all(dir)?;
        let db = Database::create(dir.join("sessions.redb")).map_err(redb::Error::from)?;
        let txn = db.begin_write().map_err(redb::Error::from)?;
        txn.open_table(SESSIONS).map_err(redb::Error::from)?;
        txn.open_table(CALLS).map_err(redb::Error::from)?;
        {
            let mut server = txn.open_table(SERVER).map_err(redb::Error::from)?;
            let requested = replica.unwrap_or("");
            let stored = server.get("replica").map_err(redb::Error::from)?.map(|v| v.value().to_owned());
            match stored {
                Some(stored) if stored != requested => {
                    return Err(StoreError::Replica { stored, requested: requested.to_owned() });
                }
                Some(_) => {}
                None => _ = server.insert("replica", requested).map_err(redb::Error::from)?,
            }
        }
        txn.commit().map_err(redb::Error::from)?;
        let sessions = read_all(&db)?;
        let (sender, receiver) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("codegym-store".into())
            .spawn(move || write_loop(&db, &receiver))?;
        Ok((Self { sender: Some(sender), writer: Some(writer) }, sessions))
    }

    /// Queue `ops` for the next group commit; they commit together, in order.
    pub fn submit(&self, ops: Vec<Op>) -> Ack {
        let (ack, receiver) = oneshot::channel();
        if let Some(sender) = &self.sender {
            // A send error drops `ack`, so the receiver reports the writer as stopped.
            let _ = sender.send(Request { ops, ack });
        }
        receiver
    }
}

impl Drop for Store {
    /// Let the writer finish what is queued, then close the database.
    fn drop(&mut self) {
        self.sender = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Wait for a write to be durable.
pub(crate) async fn durable(ack: Ack) -> Result<(), StoreError> {
    match ack.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(StoreError::Poisoned(message)),
        Err(_) => Err(StoreError::Stopped),
    }
}

fn calls_of(id: u64) -> RangeInclusive<(u64, u32)> {
    (id, 0)..=(id, u32::MAX)
}

fn read_all(db: &Database) -> Result<Vec<StoredSession>, StoreError> {
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let sessions = txn.open_table(SESSIONS).map_err(redb::Error::from)?;
    let calls = txn.open_table(CALLS).map_err(redb::Error::from)?;
    let mut stored = Vec::new();
    for entry in sessions.iter().map_err(redb::Error::from)? {
        let (id, meta) = entry.map_err(redb::Error::from)?;
        let id = id.value();
        let meta: SessionMeta = serde_json::from_slice(meta.value())?;
        let mut records = Ok(Vec::new());
        for entry in calls.range(calls_of(id)).map_err(redb::Error::from)? {
            let (key, record) = entry.map_err(redb::Error::from)?;
            let index = key.value().1;
            if let Ok(list) = &mut records {
                if usize::try_from(index).ok() != Some(list.len()) {
                    records = Err(u32::try_from(list.len()).unwrap_or(u32::MAX));
                    continue;
                }
                list.push(serde_json::from_slice(record.value())?);
            }
        }
        stored.push(StoredSession { id, meta, records });
    }
    Ok(stored)
}

fn write_loop(db: &Database, receiver: &mpsc::Receiver<Request>) {
    let mut failed: Option<String> = None;
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let result = match &failed {
            Some(message) => Err(message.clone()),
            None => commit(db, &group).map_err(|error| error.to_string()),
        };
        if let Err(message) = &result {
            failed.get_or_insert_with(|| message.clone());
        }
        for request in group {
            let _ = request.ack.send(result.clone());
        }
    }
}

fn commit(db: &Database, group: &[Request]) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(redb::Error::from)?;
    apply(&txn, group)?;
    txn.commit().map_err(redb::Error::from)?;
    Ok(())
}

fn apply(txn: &WriteTransaction, group: &[Request]) -> Result<(), StoreError> {
    let mut sessions = txn.open_table(SESSIONS).map_err(redb::Error::from)?;
    let mut calls = txn.open_table(CALLS).map_err(redb::Error::from)?;
    for op in group.iter().flat_map(|request| &request.ops) {
        match op {
            Op::Create { id, meta, records } => {
                sessions.insert(id, serde_json::to_vec(meta)?.as_slice()).map_err(redb::Error::from)?;
                for (index, record) in records.iter().enumerate() {
                    let index = u32::try_from(index).unwrap_or(u32::MAX);
                    calls
                        .insert((*id, index), serde_json::to_vec(record)?.as_slice())
                        .map_err(redb::Error::from)?;
                }
            }
            Op::Append { id, index, record } => {
                // The session may have been deleted (or expired) while this step ran.
                if sessions.get(id).map_err(redb::Error::from)?.is_some() {
                    let record = serde_json::to_vec(record)?;
                    calls.insert((*id, *index), record.as_slice()).map_err(redb::Error::from)?;
                }
            }
            Op::Delete { id } => {
                sessions.remove(id).map_err(redb::Error::from)?;
                calls.retain_in(calls_of(*id), |_, _| false).map_err(redb::Error::from)?;
            }
        }
    }
    Ok(())
}

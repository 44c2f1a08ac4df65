//! Group commit: one writer thread drains the queue of pending batches, applies them in
//! one backend transaction, commits (fsyncs) once, then acknowledges every caller.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::backend::{Ack, Batch, Mutation};
use crate::error::{Result, StoreError};

/// Most operations folded into one commit.
const MAX_GROUP: usize = 512;

/// Applies several operations' mutations in one durable transaction.
pub(crate) trait Apply: Send + 'static {
    fn apply(&mut self, groups: &[&[Mutation]]) -> Result<()>;
}

type Job = (Batch, oneshot::Sender<Result<()>>);

/// The writer thread and its queue.
pub(crate) struct GroupCommitter {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
    failed: Arc<AtomicBool>,
}

impl GroupCommitter {
    pub(crate) fn spawn(name: &str, mut apply: Box<dyn Apply>) -> Result<GroupCommitter> {
        let (tx, rx) = mpsc::channel::<Job>();
        let failed = Arc::new(AtomicBool::new(false));
        let f2 = failed.clone();
        let handle = std::thread::Builder::new()
            .name(format!("mailstore-{name}-writer"))
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    let res = if f2.load(Ordering::SeqCst) {
                        Err(StoreError::Failed)
                    } else if jobs.iter().all(|j| j.0.muts.is_empty()) {
                        Ok(())
                    } else {
                        let groups: Vec<&[Mutation]> =
                            jobs.iter().map(|j| j.0.muts.as_slice()).collect();
                        apply.apply(&groups)
                    };
                    match res {
                        Ok(()) => {
                            for (batch, ack) in jobs {
                                batch.publish();
                                let _ = ack.send(Ok(()));
                            }
                        }
                        Err(e) => {
                            f2.store(true, Ordering::SeqCst);
                            for (_, ack) in jobs {
                                let _ = ack.send(Err(e.clone()));
                            }
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start writer thread: {e}")))?;
        Ok(GroupCommitter {
            tx: Mutex::new(Some(tx)),
            handle: Mutex::new(Some(handle)),
            failed,
        })
    }

    pub(crate) fn submit(&self, batch: Batch) -> Ack {
        let (ack, rx) = oneshot::channel();
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(tx) => {
                if let Err(mpsc::SendError((_, ack))) = tx.send((batch, ack)) {
                    let _ = ack.send(Err(StoreError::Closed));
                }
            }
            None => {
                let _ = ack.send(Err(StoreError::Closed));
            }
        }
        rx
    }

    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Stops accepting work, lets the writer finish what is queued, and joins it.
    pub(crate) fn shutdown(&self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(h) = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

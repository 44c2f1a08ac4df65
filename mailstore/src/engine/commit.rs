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
    /// Applies the rounds of operations `rounds` hands out, in order, in one transaction,
    /// until it hands out none, then commits. Every round taken must be applied (its callers
    /// are acknowledged with the commit); a backend may stop taking rounds after any one, and
    /// what it did not take stays queued for the next transaction.
    fn apply(&mut self, rounds: &mut dyn Rounds) -> Result<()>;
}

/// The operations of one transaction, handed out while it is being applied: the first
/// round is what was queued when the transaction began; each later round is what was
/// queued meanwhile, so writers that arrive during a transaction join its commit instead of
/// waiting for the next one.
pub(crate) trait Rounds {
    /// The next operations' mutations (empty: nothing more, commit).
    fn next(&mut self) -> Vec<&[Mutation]>;
}

/// [`Rounds`] over the writer's queue.
struct Pull<'a> {
    rx: &'a mpsc::Receiver<Job>,
    jobs: &'a mut Vec<Job>,
    handed: usize,
}

impl Rounds for Pull<'_> {
    fn next(&mut self) -> Vec<&[Mutation]> {
        if self.handed == self.jobs.len() {
            while self.jobs.len() < MAX_GROUP {
                match self.rx.try_recv() {
                    Ok(j) => self.jobs.push(j),
                    Err(_) => break,
                }
            }
        }
        let from = self.handed;
        self.handed = self.jobs.len();
        self.jobs[from..]
            .iter()
            .map(|j| j.0.muts.as_slice())
            .collect()
    }
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
                        apply.apply(&mut Pull {
                            rx: &rx,
                            jobs: &mut jobs,
                            handed: 0,
                        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::backend::Table;
    use bytes::Bytes;

    struct FailSecond(usize, std::sync::Arc<Mutex<Vec<usize>>>);

    impl Apply for FailSecond {
        fn apply(&mut self, rounds: &mut dyn Rounds) -> Result<()> {
            let groups = rounds.next();
            self.0 += 1;
            self.1.lock().unwrap().push(groups.len());
            if self.0 == 2 {
                Err(StoreError::Backend("disk full".into()))
            } else {
                Ok(())
            }
        }
    }

    fn batch() -> Batch {
        Batch {
            muts: vec![Mutation {
                table: Table::Meta,
                key: b"k".to_vec(),
                op: crate::engine::backend::Op::Put(Bytes::from_static(b"v")),
            }],
            events: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_failed_commit_fails_its_callers_and_poisons_the_writer() {
        let calls = std::sync::Arc::new(Mutex::new(Vec::new()));
        let c = GroupCommitter::spawn("test", Box::new(FailSecond(0, calls.clone()))).unwrap();
        assert_eq!(c.submit(batch()).await.unwrap(), Ok(()));
        assert!(!c.failed());
        assert_eq!(
            c.submit(batch()).await.unwrap(),
            Err(StoreError::Backend("disk full".into()))
        );
        assert!(c.failed());
        assert_eq!(c.submit(batch()).await.unwrap(), Err(StoreError::Failed));
        // Empty batches (barriers) never reach the backend.
        c.shutdown();
        assert_eq!(
            c.submit(Batch::default()).await.unwrap(),
            Err(StoreError::Closed)
        );
        assert_eq!(calls.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn batches_queued_while_a_transaction_is_applied_join_its_commit() {
        // The first round blocks until five more batches are queued; the next round must
        // hand out those five, in the same transaction (one commit for all six).
        struct Gate {
            started: std::sync::mpsc::Sender<()>,
            go: std::sync::mpsc::Receiver<()>,
            log: std::sync::Arc<Mutex<Vec<Vec<usize>>>>,
        }
        impl Apply for Gate {
            fn apply(&mut self, rounds: &mut dyn Rounds) -> Result<()> {
                let mut sizes = vec![rounds.next().len()];
                let _ = self.started.send(());
                let _ = self.go.recv();
                loop {
                    let n = rounds.next().len();
                    if n == 0 {
                        break;
                    }
                    sizes.push(n);
                }
                self.log.lock().unwrap().push(sizes);
                Ok(())
            }
        }
        let (started_tx, started) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(Mutex::new(Vec::new()));
        let c = GroupCommitter::spawn(
            "test",
            Box::new(Gate {
                started: started_tx,
                go: go_rx,
                log: log.clone(),
            }),
        )
        .unwrap();
        let first = c.submit(batch());
        started.recv().unwrap();
        let more: Vec<_> = (0..5).map(|_| c.submit(batch())).collect();
        go.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(()));
        for a in more {
            assert_eq!(a.await.unwrap(), Ok(()));
        }
        assert_eq!(*log.lock().unwrap(), vec![vec![1, 5]]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_batches_share_commits() {
        struct Slow(std::sync::Arc<Mutex<Vec<usize>>>);
        impl Apply for Slow {
            fn apply(&mut self, rounds: &mut dyn Rounds) -> Result<()> {
                let groups = rounds.next().len();
                self.0.lock().unwrap().push(groups);
                std::thread::sleep(std::time::Duration::from_millis(20));
                Ok(())
            }
        }
        let calls = std::sync::Arc::new(Mutex::new(Vec::new()));
        let c = std::sync::Arc::new(
            GroupCommitter::spawn("test", Box::new(Slow(calls.clone()))).unwrap(),
        );
        let acks: Vec<_> = (0..64).map(|_| c.submit(batch())).collect();
        for a in acks {
            assert_eq!(a.await.unwrap(), Ok(()));
        }
        let calls = calls.lock().unwrap();
        assert_eq!(calls.iter().sum::<usize>(), 64);
        assert!(calls.len() < 64, "batches were grouped: {calls:?}");
    }
}

//! Group commit: document writes from concurrent commits share one transaction.
//!
//! Every commit waits until its write is durable before anyone is told about
//! it. With one transaction per write, the disk sync (`fsync`) per commit is
//! the ceiling on commits per second. Here a single writer takes every write
//! that arrived while the previous transaction was being synced and commits
//! them together; each waiter hears back when its transaction is on disk. One
//! client waiting alone still gets its write committed at once.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::{DocWrite, SharedDocStore, StorageError};

/// At most this many writes go into one transaction.
const MAX_BATCH: usize = 1024;

struct Pending {
    write: DocWrite,
    done: oneshot::Sender<Result<i64, StorageError>>,
}

/// Writes a batch in one transaction (`DocStore::write_docs`).
type WriteBatchFn = dyn Fn(&[DocWrite]) -> Result<Vec<i64>, StorageError> + Send + Sync;
type WriteBatch = Arc<WriteBatchFn>;

/// The one writer of documents for a storage.
pub struct GroupCommit {
    write_batch: WriteBatch,
    /// Started on the first write, on the runtime that makes it.
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl GroupCommit {
    pub fn new(storage: SharedDocStore) -> Self {
        Self::over(Arc::new(move |writes: &[DocWrite]| {
            storage.write_docs(writes)
        }))
    }

    fn over(write_batch: WriteBatch) -> Self {
        Self {
            write_batch,
            queue: OnceLock::new(),
        }
    }

    /// Writes `write` durably, in a transaction with whatever else is
    /// waiting; returns its position (see [`DocWrite`]).
    pub async fn write(&self, write: DocWrite) -> Result<i64, StorageError> {
        let stopped = || StorageError::Task("the document writer has stopped".into());
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(Arc::clone(&self.write_batch), rx));
            tx
        });
        let (done, result) = oneshot::channel();
        queue.send(Pending { write, done }).map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

async fn run(write_batch: WriteBatch, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pending = std::mem::take(&mut batch);
        let write_batch = Arc::clone(&write_batch);
        // A panic in the storage drops the senders: the waiters get an error.
        let _ = tokio::task::spawn_blocking(move || commit(write_batch.as_ref(), pending)).await;
    }
}

fn commit(write_batch: &WriteBatchFn, pending: Vec<Pending>) {
    let (writes, waiters): (Vec<DocWrite>, Vec<_>) =
        pending.into_iter().map(|p| (p.write, p.done)).unzip();
    match write_batch(&writes) {
        Ok(positions) => {
            for (done, seq) in waiters.into_iter().zip(positions) {
                let _ = done.send(Ok(seq));
            }
        }
        // One bad write (or one another server got in before) must not fail
        // the others: each is tried on its own.
        Err(_) if writes.len() > 1 => {
            for (write, done) in writes.iter().zip(waiters) {
                let result = write_batch(std::slice::from_ref(write))
                    .map(|positions| positions.first().copied().unwrap_or_default());
                let _ = done.send(result);
            }
        }
        Err(err) => {
            if let Some(done) = waiters.into_iter().next() {
                let _ = done.send(Err(err));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::{poll_fn, Future};
    use std::sync::Mutex;
    use std::task::Poll;

    use futures_util::future::join_all;

    use super::*;
    use crate::storage::DocBytes;

    fn write(doc_id: &str) -> DocWrite {
        DocWrite::Document {
            doc_id: doc_id.into(),
            bytes: DocBytes::Append(vec![1]),
            after: 0,
        }
    }

    fn doc_ids(writes: &[DocWrite]) -> Vec<String> {
        writes
            .iter()
            .map(|w| match w {
                DocWrite::Document { doc_id, .. } => doc_id.clone(),
                DocWrite::Ticket { summary, .. } => summary.id.clone(),
            })
            .collect()
    }

    #[tokio::test]
    async fn writes_that_arrive_during_a_commit_share_the_next_one() {
        let batches = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
        // The first transaction is held open until the test lets it finish.
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let started_tx = Mutex::new(Some(started_tx));
        let released = Mutex::new(released);
        let seen = Arc::clone(&batches);
        let writer = Arc::new(GroupCommit::over(Arc::new(move |writes: &[DocWrite]| {
            if let Some(started) = started_tx.lock().unwrap().take() {
                started.send(()).unwrap();
                released.lock().unwrap().recv().unwrap();
            }
            seen.lock().unwrap().push(doc_ids(writes));
            Ok(vec![0; writes.len()])
        })));
        let first = tokio::spawn({
            let writer = Arc::clone(&writer);
            async move { writer.write(write("a")).await }
        });
        started.await.unwrap();
        // Nine more writes are queued (one poll sends them all) while "a" commits.
        let mut rest = Box::pin(join_all(
            ["b", "c", "d", "e", "f", "g", "h", "i", "j"].map(|id| writer.write(write(id))),
        ));
        poll_fn(|cx| {
            assert!(rest.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        for result in rest.await {
            result.unwrap();
        }
        assert_eq!(
            *batches.lock().unwrap(),
            vec![
                vec!["a".to_owned()],
                ["b", "c", "d", "e", "f", "g", "h", "i", "j"]
                    .map(String::from)
                    .to_vec(),
            ]
        );
    }

    #[tokio::test]
    async fn one_failing_write_fails_alone() {
        let writer = Arc::new(GroupCommit::over(Arc::new(|writes: &[DocWrite]| {
            if doc_ids(writes).iter().any(|id| id == "bad") {
                Err(StorageError::Corrupt("bad write".into()))
            } else {
                Ok(vec![7; writes.len()])
            }
        })));
        let results = join_all(["ok1", "bad", "ok2"].map(|id| writer.write(write(id)))).await;
        assert_eq!(results[0].as_ref().ok(), Some(&7));
        assert!(matches!(results[1], Err(StorageError::Corrupt(_))));
        assert_eq!(results[2].as_ref().ok(), Some(&7));
    }
}

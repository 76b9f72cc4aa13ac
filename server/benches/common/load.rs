//! Many clients repeating one operation for a while, as the creation
//! benchmarks do.

// Each bench uses part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `clients` clients for `seconds`, client `c` calling `operation(c)`
/// again and again (an operation under way when the time is up finishes);
/// how long each operation took, and the time from start until all ended.
pub async fn repeat_for<F, Fut>(
    clients: usize,
    seconds: u64,
    operation: F,
) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let operation = Arc::new(operation);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (operation, stop) = (Arc::clone(&operation), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut times = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let began = Instant::now();
                    operation(c).await;
                    times.push(began.elapsed());
                }
                times
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.expect("client"));
    }
    (times, started.elapsed())
}

//! What stands between the login form and argon2: a bound on how many
//! password verifications run at once (each takes ~19 MiB for a moment, so
//! unbounded parallel attempts exhaust memory), and a throttle on failed
//! attempts by login and by client address (a lockout window that grows with
//! each failure, capped so an attacker cannot lock a real agent out for long).
//!
//! Every attempt counts as a failure from the moment it starts, so parallel
//! attempts cannot all pass the check before the first failure is recorded; a
//! successful one takes its count back. Times are passed in (ms), so the
//! rules are tested without a clock. Each server counts on its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Password verifications that may run at once (about 19 MiB each).
pub const MAX_VERIFICATIONS: usize = 4;
/// How long an attempt waits for a verification slot before it is answered
/// "busy" (503 with `Retry-After`).
pub const VERIFICATION_WAIT: Duration = Duration::from_secs(3);

/// Failed attempts a login may have before each further one locks it.
pub const FREE_FAILURES_PER_LOGIN: u32 = 5;
/// The longest a login is locked after a failure (an attacker cannot keep a
/// real agent out for longer than this after their last guess).
pub const MAX_LOGIN_LOCK_MS: i64 = 5 * 60_000;
/// Failed attempts one address may have (over all logins) before each further one locks it.
pub const FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// The longest an address is locked after a failure.
pub const MAX_ADDRESS_LOCK_MS: i64 = 30 * 60_000;
/// Failures are forgotten this long after the last one.
pub const FORGET_AFTER_MS: i64 = 60 * 60_000;

const SWEEP_AT: usize = 50_000;

#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    count: u32,
    last_ms: i64,
}

impl Failures {
    /// Until when these failures lock (ms), if they do.
    fn locked_until(self, free: u32, max_lock_ms: i64) -> Option<i64> {
        let beyond = self.count.checked_sub(free).filter(|n| *n > 0)?;
        let lock = 1_000i64
            .checked_shl(beyond.min(30) - 1)
            .unwrap_or(i64::MAX)
            .min(max_lock_ms);
        Some(self.last_ms + lock)
    }
}

struct Table<K> {
    map: HashMap<K, Failures>,
}

impl<K> Default for Table<K> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    fn current(&self, key: &K, now_ms: i64) -> Failures {
        self.map
            .get(key)
            .copied()
            .filter(|f| now_ms - f.last_ms < FORGET_AFTER_MS)
            .unwrap_or_default()
    }

    fn set(&mut self, key: &K, failures: Failures, now_ms: i64) {
        if self.map.len() >= SWEEP_AT {
            self.map.retain(|_, f| now_ms - f.last_ms < FORGET_AFTER_MS);
        }
        if failures.count == 0 {
            self.map.remove(key);
        } else {
            self.map.insert(key.clone(), failures);
        }
    }
}

#[derive(Default)]
struct Tables {
    logins: Table<String>,
    addresses: Table<IpAddr>,
}

/// Why an attempt was not even checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Throttled {
    /// Too many failures of this login or from this address.
    Locked { retry_after_secs: u64 },
    /// Every verification slot stayed taken for `VERIFICATION_WAIT` (3 s).
    Busy { retry_after_secs: u64 },
}

impl Throttled {
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            Throttled::Locked { retry_after_secs } | Throttled::Busy { retry_after_secs } => {
                *retry_after_secs
            }
        }
    }
}

/// A verification to run on one of the guard's threads.
type Job = Box<dyn FnOnce() + Send>;

/// The guard of one server's login form.
pub struct LoginGuard {
    verifications: Arc<Semaphore>,
    /// Verifications run on [`MAX_VERIFICATIONS`] threads of their own, not
    /// on the blocking pool: each thread keeps its argon2 memory for the next
    /// verification ([`super::verify_password`]), so there are as many such
    /// buffers as these threads, not one per blocking-pool thread.
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
    tables: Mutex<Tables>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..MAX_VERIFICATIONS {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("stufe-verify-{n}"))
                .spawn(move || loop {
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => break, // the guard is gone
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(%err, "cannot start a password verification thread");
            }
        }
        Self {
            verifications: Arc::new(Semaphore::new(MAX_VERIFICATIONS)),
            jobs: Mutex::new(jobs),
            tables: Mutex::default(),
        }
    }
}

/// One attempt under way, counted as a failure until [`Attempt::succeeded`].
#[derive(Debug)]
pub struct Attempt {
    login: String,
    address: IpAddr,
}

/// Logins are compared as the login form compares them: trimmed, any case.
fn login_key(login: &str) -> String {
    login.trim().to_lowercase()
}

impl LoginGuard {
    /// Starts an attempt of `login` from `address` at `now_ms`, or says how
    /// long both must wait. The attempt counts as a failure from now on.
    pub fn begin(&self, login: &str, address: IpAddr, now_ms: i64) -> Result<Attempt, Throttled> {
        let login = login_key(login);
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let by_login = tables.logins.current(&login, now_ms);
        let by_address = tables.addresses.current(&address, now_ms);
        let until = [
            by_login.locked_until(FREE_FAILURES_PER_LOGIN, MAX_LOGIN_LOCK_MS),
            by_address.locked_until(FREE_FAILURES_PER_ADDRESS, MAX_ADDRESS_LOCK_MS),
        ]
        .into_iter()
        .flatten()
        .max()
        .filter(|until| *until > now_ms);
        if let Some(until) = until {
            let secs = u64::try_from((until - now_ms + 999) / 1000).unwrap_or(1);
            return Err(Throttled::Locked {
                retry_after_secs: secs.max(1),
            });
        }
        let failed = |f: Failures| Failures {
            count: f.count.saturating_add(1),
            last_ms: now_ms,
        };
        tables.logins.set(&login, failed(by_login), now_ms);
        tables.addresses.set(&address, failed(by_address), now_ms);
        Ok(Attempt { login, address })
    }

    /// The attempt's password was right: the login's failures are forgotten,
    /// and this attempt no longer counts against the address.
    pub fn succeeded(&self, attempt: Attempt, now_ms: i64) {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables
            .logins
            .set(&attempt.login, Failures::default(), now_ms);
        let mut by_address = tables.addresses.current(&attempt.address, now_ms);
        by_address.count = by_address.count.saturating_sub(1);
        tables.addresses.set(&attempt.address, by_address, now_ms);
    }

    /// Runs `verify` on one of the guard's verification threads (the caller
    /// holds a [`LoginGuard::verification_slot`], so one is free); None if it
    /// could not run.
    pub async fn verify<T: Send + 'static>(
        &self,
        verify: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(verify());
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .ok()?;
        answered.await.ok()
    }

    /// A slot to verify one password in, waiting at most `VERIFICATION_WAIT` (3 s).
    /// Owned, so it goes with the verification to its thread and is held
    /// until the verification ends, even if the request is dropped.
    pub async fn verification_slot(&self) -> Result<OwnedSemaphorePermit, Throttled> {
        let slots = Arc::clone(&self.verifications);
        match tokio::time::timeout(VERIFICATION_WAIT, slots.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Throttled::Busy {
                retry_after_secs: VERIFICATION_WAIT.as_secs().max(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_login_locks_after_its_free_failures_for_a_growing_capped_window() {
        let guard = LoginGuard::default();
        // From a new address each time: only the login's own count matters here.
        let mut last = 0u8;
        let mut from = || {
            last += 1;
            IpAddr::from([198, 51, 100, last])
        };
        let mut now = 0;
        for _ in 0..FREE_FAILURES_PER_LOGIN {
            guard.begin("sam", from(), now).unwrap();
        }
        // The next failure locks for 1 s, the one after for 2 s, then 4 s …
        guard.begin("sam", from(), now).unwrap();
        assert_eq!(
            guard.begin("SAM ", from(), now + 500).unwrap_err(),
            Throttled::Locked {
                retry_after_secs: 1
            },
            "the same login, as the form compares it"
        );
        now += 1_000;
        guard.begin("sam", from(), now).unwrap();
        assert!(guard.begin("sam", from(), now + 1_999).is_err());
        now += 2_000;
        let mut windows = Vec::new();
        for _ in 0..20 {
            guard.begin("sam", from(), now).unwrap();
            let Err(Throttled::Locked { retry_after_secs }) = guard.begin("sam", from(), now)
            else {
                panic!("locked after a failure beyond the free ones");
            };
            windows.push(retry_after_secs);
            now += i64::try_from(retry_after_secs).unwrap() * 1000;
        }
        assert_eq!(windows[..3], [4, 8, 16]);
        assert_eq!(*windows.last().unwrap() * 1000, MAX_LOGIN_LOCK_MS as u64);
    }

    #[test]
    fn a_right_password_clears_the_login_and_other_logins_are_not_affected() {
        let guard = LoginGuard::default();
        let from = ip("192.0.2.1");
        for _ in 0..FREE_FAILURES_PER_LOGIN - 1 {
            guard.begin("tia", from, 0).unwrap();
        }
        let attempt = guard.begin("tia", from, 0).unwrap();
        guard.succeeded(attempt, 0);
        for _ in 0..FREE_FAILURES_PER_LOGIN {
            guard.begin("tia", from, 1).unwrap();
        }
        guard.begin("sam", from, 1).unwrap();
    }

    #[test]
    fn an_address_trying_many_logins_is_locked_and_forgotten_after_an_hour() {
        let guard = LoginGuard::default();
        let from = ip("192.0.2.7");
        for n in 0..=FREE_FAILURES_PER_ADDRESS {
            guard.begin(&format!("user{n}"), from, 0).unwrap();
        }
        assert!(matches!(
            guard.begin("someone-else", from, 10),
            Err(Throttled::Locked { .. })
        ));
        assert!(guard.begin("someone-else", ip("192.0.2.8"), 10).is_ok());
        assert!(guard
            .begin("someone-else", from, FORGET_AFTER_MS + 1)
            .is_ok());
    }

    #[test]
    fn parallel_attempts_count_before_they_are_verified() {
        let guard = LoginGuard::default();
        let from = ip("192.0.2.1");
        let started: Vec<_> = (0..50)
            .map(|_| guard.begin("sam", from, 0))
            .filter(Result::is_ok)
            .collect();
        assert_eq!(started.len() as u32, FREE_FAILURES_PER_LOGIN + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn verifications_beyond_the_bound_wait_then_are_told_busy() {
        let guard = LoginGuard::default();
        let mut held = Vec::new();
        for _ in 0..MAX_VERIFICATIONS {
            held.push(guard.verification_slot().await.unwrap());
        }
        let busy = guard.verification_slot().await.unwrap_err();
        assert!(matches!(busy, Throttled::Busy { .. }));
        held.pop();
        assert!(guard.verification_slot().await.is_ok());
    }
}

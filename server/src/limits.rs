//! Limits on what one client address and one site may start: new tickets
//! (token buckets per address and per site), open sockets per address, and
//! confirmation emails per recipient. A leaf: it knows addresses, site keys
//! and times, nothing of sync or HTTP.
//!
//! Addresses are counted as they reach the server ([`crate::client_ip`]);
//! IPv6 addresses by their /64 network, which one subscriber usually holds
//! whole. Each server counts on its own (several servers on one database each
//! allow the figures below).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use stufe_shared::SiteKey;

/// The figures, from the environment (see [`crate::Config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// New tickets one address may create per hour, all at once at most
    /// (`STUFE_TICKETS_PER_ADDRESS_HOUR`, default 10).
    pub tickets_per_address_hour: u32,
    /// New tickets one site may receive per hour (`STUFE_TICKETS_PER_SITE_HOUR`, default 1000).
    pub tickets_per_site_hour: u32,
    /// Sockets one address may hold open at once (`STUFE_SOCKETS_PER_ADDRESS`, default 100).
    pub sockets_per_address: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            tickets_per_address_hour: 10,
            tickets_per_site_hour: 1_000,
            sockets_per_address: 100,
        }
    }
}

/// Confirmation emails one recipient address may get per day, all at once
/// at most (one per ticket filed with it).
pub const CONFIRMATIONS_PER_RECIPIENT_DAY: u32 = 3;

/// How many entries a table may hold before full (forgotten) ones are swept out.
const SWEEP_AT: usize = 50_000;

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: f64 = 24.0 * HOUR_MS;

/// A token bucket of `capacity` tokens refilled at `capacity` per period.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

impl Bucket {
    fn refilled(self, capacity: u32, period_ms: f64, now_ms: i64) -> Self {
        let capacity = f64::from(capacity);
        let elapsed = (now_ms - self.at_ms).max(0) as f64;
        Self {
            tokens: (self.tokens + elapsed * capacity / period_ms).min(capacity),
            at_ms: now_ms,
        }
    }

    /// Milliseconds until one token is there.
    fn wait_ms(self, capacity: u32, period_ms: f64) -> i64 {
        let missing = 1.0 - self.tokens;
        (missing * period_ms / f64::from(capacity.max(1))).ceil() as i64
    }
}

/// Token buckets by key.
#[derive(Debug)]
struct Buckets<K> {
    capacity: u32,
    period_ms: f64,
    table: HashMap<K, Bucket>,
}

impl<K: std::hash::Hash + Eq + Clone> Buckets<K> {
    /// Buckets of `capacity` tokens refilled at `capacity` per hour.
    fn new(capacity: u32) -> Self {
        Self::per(capacity, HOUR_MS)
    }

    fn per(capacity: u32, period_ms: f64) -> Self {
        Self {
            capacity,
            period_ms,
            table: HashMap::new(),
        }
    }

    fn current(&self, key: &K, now_ms: i64) -> Bucket {
        self.table
            .get(key)
            .copied()
            .unwrap_or(Bucket {
                tokens: f64::from(self.capacity),
                at_ms: now_ms,
            })
            .refilled(self.capacity, self.period_ms, now_ms)
    }

    fn take(&mut self, key: &K, mut bucket: Bucket, now_ms: i64) {
        bucket.tokens -= 1.0;
        if self.table.len() >= SWEEP_AT {
            let (capacity, period) = (self.capacity, self.period_ms);
            self.table
                .retain(|_, b| b.refilled(capacity, period, now_ms).tokens < f64::from(capacity));
        }
        self.table.insert(key.clone(), bucket);
    }
}

/// What an address is counted as: itself (IPv4), or its /64 network (IPv6).
pub fn counted_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// Why something was not started, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Whose limit it was: "this address" or "this site".
    pub whose: &'static str,
    /// Seconds until trying again can succeed.
    pub retry_after_secs: u64,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "too many new requests from {}; try again in {} s",
            self.whose, self.retry_after_secs
        )
    }
}

struct Tickets {
    by_address: Buckets<IpAddr>,
    by_site: Buckets<SiteKey>,
}

/// The limits of one server, shared by its sessions.
pub struct Limiter {
    limits: Limits,
    tickets: Mutex<Tickets>,
    sockets: Arc<Mutex<HashMap<IpAddr, u32>>>,
    /// Confirmation emails by recipient address (lower case).
    confirmations: Mutex<Buckets<String>>,
}

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            tickets: Mutex::new(Tickets {
                by_address: Buckets::new(limits.tickets_per_address_hour),
                by_site: Buckets::new(limits.tickets_per_site_hour),
            }),
            sockets: Arc::default(),
            confirmations: Mutex::new(Buckets::per(CONFIRMATIONS_PER_RECIPIENT_DAY, DAY_MS)),
        }
    }

    /// Counts a confirmation email to `recipient` at `now_ms`; false (nothing
    /// counted) when the address had its [`CONFIRMATIONS_PER_RECIPIENT_DAY`].
    pub fn confirmation_mail(&self, recipient: &str, now_ms: i64) -> bool {
        let mut buckets = self.confirmations.lock().unwrap_or_else(|p| p.into_inner());
        let key = recipient.to_lowercase();
        let bucket = buckets.current(&key, now_ms);
        if bucket.tokens < 1.0 {
            return false;
        }
        buckets.take(&key, bucket, now_ms);
        true
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Counts a new ticket from `ip` on `site` at `now_ms`, or says why not
    /// (then nothing is counted).
    pub fn new_ticket(&self, ip: IpAddr, site: &SiteKey, now_ms: i64) -> Result<(), Refused> {
        let mut tickets = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        let address = counted_as(ip);
        let by_address = tickets.by_address.current(&address, now_ms);
        let by_site = tickets.by_site.current(site, now_ms);
        let refused = |whose, bucket: Bucket, capacity| Refused {
            whose,
            retry_after_secs: u64::try_from((bucket.wait_ms(capacity, HOUR_MS) + 999) / 1000)
                .unwrap_or(1)
                .max(1),
        };
        if by_address.tokens < 1.0 {
            return Err(refused(
                "this address",
                by_address,
                self.limits.tickets_per_address_hour,
            ));
        }
        if by_site.tokens < 1.0 {
            return Err(refused(
                "this site",
                by_site,
                self.limits.tickets_per_site_hour,
            ));
        }
        tickets.by_address.take(&address, by_address, now_ms);
        tickets.by_site.take(site, by_site, now_ms);
        Ok(())
    }

    /// Counts an open socket of `ip` until the guard is dropped; None when
    /// the address holds its limit already.
    pub fn open_socket(&self, ip: IpAddr) -> Option<SocketGuard> {
        let address = counted_as(ip);
        let mut open = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= self.limits.sockets_per_address {
            return None;
        }
        *count += 1;
        Some(SocketGuard {
            address,
            sockets: Arc::clone(&self.sockets),
        })
    }
}

/// One open socket, counted while it lives.
pub struct SocketGuard {
    address: IpAddr,
    sockets: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let mut open = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn limiter(per_address: u32, per_site: u32, sockets: u32) -> Limiter {
        Limiter::new(Limits {
            tickets_per_address_hour: per_address,
            tickets_per_site_hour: per_site,
            sockets_per_address: sockets,
        })
    }

    #[test]
    fn an_address_gets_its_tickets_at_once_then_one_as_each_refills() {
        let limiter = limiter(3, 100, 10);
        let (ip, site) = ("192.0.2.1".parse().unwrap(), "demo".parse().unwrap());
        for _ in 0..3 {
            limiter.new_ticket(ip, &site, 0).unwrap();
        }
        let refused = limiter.new_ticket(ip, &site, 0).unwrap_err();
        assert_eq!(refused.whose, "this address");
        assert_eq!(refused.retry_after_secs, 1_200, "a third of an hour");
        // Another address is not affected.
        limiter
            .new_ticket("192.0.2.2".parse().unwrap(), &site, 0)
            .unwrap();
        assert!(limiter.new_ticket(ip, &site, HOUR / 3 - 1).is_err());
        limiter.new_ticket(ip, &site, HOUR / 3).unwrap();
        assert!(limiter.new_ticket(ip, &site, HOUR / 3).is_err());
    }

    #[test]
    fn a_site_is_limited_across_addresses_and_a_refusal_counts_nothing() {
        let limiter = limiter(3, 2, 10);
        let site: SiteKey = "demo".parse().unwrap();
        limiter
            .new_ticket("192.0.2.1".parse().unwrap(), &site, 0)
            .unwrap();
        limiter
            .new_ticket("192.0.2.2".parse().unwrap(), &site, 0)
            .unwrap();
        let third: IpAddr = "192.0.2.3".parse().unwrap();
        assert_eq!(
            limiter.new_ticket(third, &site, 0).unwrap_err().whose,
            "this site"
        );
        // The refused ticket used none of the address's budget of 3.
        for other in ["a", "b", "c"] {
            limiter
                .new_ticket(third, &other.parse().unwrap(), 0)
                .unwrap();
        }
        assert_eq!(
            limiter
                .new_ticket(third, &"d".parse().unwrap(), 0)
                .unwrap_err()
                .whose,
            "this address"
        );
    }

    #[test]
    fn ipv6_addresses_of_one_network_share_a_budget() {
        let limiter = limiter(1, 100, 10);
        let site: SiteKey = "demo".parse().unwrap();
        limiter
            .new_ticket("2001:db8:1:2::1".parse().unwrap(), &site, 0)
            .unwrap();
        assert!(limiter
            .new_ticket("2001:db8:1:2:ffff::9".parse().unwrap(), &site, 0)
            .is_err());
        limiter
            .new_ticket("2001:db8:1:3::1".parse().unwrap(), &site, 0)
            .unwrap();
    }

    #[test]
    fn a_recipient_gets_a_few_confirmation_mails_a_day() {
        let limiter = limiter(1, 1, 1);
        for _ in 0..CONFIRMATIONS_PER_RECIPIENT_DAY {
            assert!(limiter.confirmation_mail("jo@example.com", 0));
        }
        assert!(
            !limiter.confirmation_mail("JO@example.com", 0),
            "case does not matter"
        );
        assert!(limiter.confirmation_mail("ada@example.com", 0));
        let day = 24 * HOUR;
        let one_refilled = day / i64::from(CONFIRMATIONS_PER_RECIPIENT_DAY);
        assert!(!limiter.confirmation_mail("jo@example.com", one_refilled - 1));
        assert!(limiter.confirmation_mail("jo@example.com", one_refilled));
    }

    #[test]
    fn sockets_are_counted_while_open() {
        let limiter = limiter(1, 1, 2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let first = limiter.open_socket(ip).unwrap();
        let _second = limiter.open_socket(ip).unwrap();
        assert!(limiter.open_socket(ip).is_none());
        assert!(limiter.open_socket("192.0.2.2".parse().unwrap()).is_some());
        drop(first);
        assert!(limiter.open_socket(ip).is_some());
    }
}

//! Brute-force protection for `/v1/auth/token`: a limit per account (email)
//! and one per client address, with governor's keyed GCRA limiters, and a
//! ceiling for the whole instance that holds however many addresses an
//! attacker has. The counters are per instance: behind a load balancer each
//! instance limits on its own, so the effective limit is the sum over
//! instances.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys tracked before forgetting those that are idle.
const KEYS_BEFORE_CLEANUP: usize = 10_000;

/// A keyed limiter that tells what is left of a key's allowance.
type Keyed<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

pub struct LoginLimiter {
    per_account: Keyed<String>,
    per_address: Keyed<IpAddr>,
    per_instance: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

/// What is left to the caller of its sign-in attempts after one, by the
/// tighter of its two limits (its account's and its address's): what
/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Attempts allowed per window.
    pub limit: u32,
    /// Attempts left now.
    pub remaining: u32,
    /// Until every attempt is allowed again (or, when none is left, until
    /// the next one is).
    pub reset: Duration,
}

/// The length of the window a quota of attempts is counted over.
pub const WINDOW: Duration = Duration::from_secs(60);

impl Allowance {
    fn of(snapshot: &StateSnapshot) -> Self {
        let quota = snapshot.quota();
        let (limit, remaining) = (
            quota.burst_size().get(),
            snapshot.remaining_burst_capacity(),
        );
        Allowance {
            limit,
            remaining,
            reset: quota.replenish_interval() * limit.saturating_sub(remaining),
        }
    }

    /// The tighter of two allowances.
    fn tighter(self, other: Allowance) -> Allowance {
        if other.remaining < self.remaining {
            other
        } else {
            self
        }
    }
}

/// Why an attempt was refused, and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This account or this address has used its attempts (429): how long
    /// to wait, and the limit it reached.
    TooManyAttempts(Duration, u32),
    /// The instance has verified as many passwords as it allows per minute,
    /// from all addresses together (503: not this caller's doing).
    InstanceBusy(Duration),
}

impl LoginLimiter {
    /// Allows `per_account` attempts per minute for one email,
    /// `per_address` per minute from one address and `per_instance` per
    /// minute in all (each at least 1).
    pub fn new(per_account: u32, per_address: u32, per_instance: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        LoginLimiter {
            per_account: RateLimiter::keyed(quota(per_account)).with_middleware(),
            per_address: RateLimiter::keyed(quota(per_address)).with_middleware(),
            per_instance: RateLimiter::direct(quota(per_instance)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt: against its address and account first, then,
    /// if both allow it, against the instance's ceiling. Allowed, it
    /// answers what is left of the caller's own allowance.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<Allowance, Refusal> {
        let allowance = self.check_keyed(email, address)?;
        self.per_instance.check().map_err(|not_until| {
            Refusal::InstanceBusy(not_until.wait_time_from(self.clock.now()))
        })?;
        Ok(allowance)
    }

    fn check_keyed(&self, email: &str, address: Option<IpAddr>) -> Result<Allowance, Refusal> {
        // Forget keys whose allowance is full again, so memory stays bounded
        // whichever map grows.
        if self.per_account.len() + self.per_address.len() > KEYS_BEFORE_CLEANUP {
            self.per_account.retain_recent();
            self.per_address.retain_recent();
        }
        let refused = |not_until: governor::NotUntil<_>| {
            let limit = not_until.quota().burst_size().get();
            Refusal::TooManyAttempts(not_until.wait_time_from(self.clock.now()), limit)
        };
        let by_address = match address {
            Some(address) => Some(self.per_address.check_key(&address).map_err(refused)?),
            None => None,
        };
        let by_account = self
            .per_account
            .check_key(&email.to_lowercase())
            .map_err(refused)?;
        let allowance = Allowance::of(&by_account);
        Ok(by_address.map_or(allowance, |snapshot| {
            allowance.tighter(Allowance::of(&snapshot))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_apply_per_account_and_per_address() {
        let limiter = LoginLimiter::new(2, 3, 100);
        let here = Some(IpAddr::from([127, 0, 0, 1]));
        let first = limiter
            .check("ada@example.org", here)
            .expect("first attempt");
        assert_eq!(
            (first.limit, first.remaining),
            (2, 1),
            "the account's limit is the tighter"
        );
        assert!(first.reset > Duration::ZERO && first.reset <= WINDOW);
        let second = limiter
            .check("ADA@example.org", here)
            .expect("second attempt");
        assert_eq!((second.limit, second.remaining), (2, 0));
        let Err(Refusal::TooManyAttempts(wait, 2)) = limiter.check("ada@example.org", None) else {
            panic!("third attempt on one account");
        };
        assert!(wait > Duration::ZERO);
        assert!(
            limiter.check("bob@example.org", here).is_ok(),
            "other accounts are not affected"
        );
        assert!(
            matches!(
                limiter.check("eve@example.org", here),
                Err(Refusal::TooManyAttempts(_, 3))
            ),
            "the address has used its three"
        );
    }

    #[test]
    fn the_instance_ceiling_holds_across_addresses_and_accounts() {
        let limiter = LoginLimiter::new(5, 5, 3);
        for i in 0..3_u8 {
            assert!(
                limiter
                    .check(
                        &format!("user{i}@example.org"),
                        Some(IpAddr::from([10, 0, 0, i]))
                    )
                    .is_ok(),
                "attempt {i} is within every limit"
            );
        }
        let refused = limiter.check("user9@example.org", Some(IpAddr::from([10, 0, 0, 9])));
        let Err(Refusal::InstanceBusy(wait)) = refused else {
            panic!("a fourth attempt from a fresh address and account: {refused:?}");
        };
        assert!(wait > Duration::ZERO);
    }
}

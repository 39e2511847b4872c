//! Brute-force protection for `/v1/auth/token`: a limit per account (email)
//! and one per client address, with governor's keyed GCRA limiters. The
//! counters are per instance: behind a load balancer each instance limits
//! on its own, so the effective limit is the sum over instances.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys tracked before forgetting those that are idle.
const KEYS_BEFORE_CLEANUP: usize = 10_000;

pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl LoginLimiter {
    /// Allows `per_account` attempts per minute for one email and
    /// `per_address` per minute from one address (each at least 1).
    pub fn new(per_account: u32, per_address: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        LoginLimiter {
            per_account: RateLimiter::keyed(quota(per_account)),
            per_address: RateLimiter::keyed(quota(per_address)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; `Err(wait)` when either limit is exhausted.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        // Forget keys whose allowance is full again, so memory stays bounded
        // whichever map grows.
        if self.per_account.len() + self.per_address.len() > KEYS_BEFORE_CLEANUP {
            self.per_account.retain_recent();
            self.per_address.retain_recent();
        }
        if let Some(address) = address {
            self.per_address
                .check_key(&address)
                .map_err(|not_until| not_until.wait_time_from(self.clock.now()))?;
        }
        self.per_account
            .check_key(&email.to_lowercase())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_apply_per_account_and_per_address() {
        let limiter = LoginLimiter::new(2, 3);
        let here = Some(IpAddr::from([127, 0, 0, 1]));
        assert!(limiter.check("ada@example.org", here).is_ok());
        assert!(limiter.check("ADA@example.org", here).is_ok());
        let wait = limiter
            .check("ada@example.org", None)
            .expect_err("third attempt on one account");
        assert!(wait > Duration::ZERO);
        assert!(
            limiter.check("bob@example.org", here).is_ok(),
            "other accounts are not affected"
        );
        assert!(
            limiter.check("eve@example.org", here).is_err(),
            "the address has used its three"
        );
    }
}

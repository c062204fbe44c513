//! Rate limits: a token bucket per caller (an API key, or a client address for tracking).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimitConfig;

pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Buckets idle this long are full again and can be forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(600);

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        RateLimiter { config, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `who`; when none is left, says how long until one is.
    pub fn take(&self, who: &str, now: Instant) -> Result<(), Duration> {
        let (rate, burst) = (f64::from(self.config.per_second), f64::from(self.config.burst.max(1)));
        if rate == 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, b| now.duration_since(b.refilled) < FORGET_AFTER);
        }
        let bucket = buckets.entry(who.to_string()).or_insert(Bucket { tokens: burst, refilled: now });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::new(RateLimitConfig { per_second: 10, burst: 3 });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take("k", t0).is_ok());
        }
        let wait = limiter.take("k", t0).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100), "{wait:?}");
        assert!(limiter.take("other", t0).is_ok(), "buckets are per caller");
        assert!(limiter.take("k", t0 + Duration::from_millis(100)).is_ok());
        assert!(limiter.take("k", t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn zero_turns_limiting_off() {
        let limiter = RateLimiter::new(RateLimitConfig { per_second: 0, burst: 0 });
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| limiter.take("k", t0).is_ok()));
    }
}

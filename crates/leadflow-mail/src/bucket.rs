//! A token bucket: at most `rate` sends per second on average, `burst` at once.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    /// When `tokens` was counted, from the bucket's clock's start.
    at: Duration,
}

impl TokenBucket {
    /// Full: a burst may go at once.
    pub fn new(rate: f64, burst: u32) -> TokenBucket {
        TokenBucket { rate, burst: f64::from(burst), tokens: f64::from(burst), at: Duration::ZERO }
    }

    /// Takes a token at `now` (time since the clock's start): how long the taker waits for it
    /// (zero when one is there). Tokens taken ahead make later takers wait longer, so the rate
    /// holds however many take at once.
    pub fn take(&mut self, now: Duration) -> Duration {
        if now > self.at {
            self.tokens = (self.tokens + (now - self.at).as_secs_f64() * self.rate).min(self.burst);
            self.at = now;
        }
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // Waits until the debt is paid off.
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_goes_at_once_then_sends_wait_their_turn() {
        let mut bucket = TokenBucket::new(10.0, 3);
        assert_eq!([bucket.take(ms(0)), bucket.take(ms(0)), bucket.take(ms(0))], [ms(0); 3], "the burst");
        assert_eq!(bucket.take(ms(0)), ms(100), "the fourth waits a tenth of a second");
        assert_eq!(bucket.take(ms(0)), ms(200), "the fifth waits behind it");
        // A second on, 10 tokens came in: the debt of 2 paid, the bucket full again (3).
        assert_eq!([bucket.take(ms(1000)), bucket.take(ms(1000)), bucket.take(ms(1000))], [ms(0); 3]);
        assert_eq!(bucket.take(ms(1000)), ms(100));
    }

    #[test]
    fn over_any_stretch_the_rate_holds() {
        let mut bucket = TokenBucket::new(50.0, 5);
        // 1,000 takers at once: the last waits until 995 tokens have come in, 19.9 s.
        let last = (0..1000).map(|_| bucket.take(ms(0))).last().unwrap();
        assert!((last.as_secs_f64() - 19.9).abs() < 1e-9, "{last:?}");
    }
}

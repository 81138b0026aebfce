//! When a failed delivery is tried again: 1 s after the first failure, doubling to at most
//! 10 minutes between attempts, and given up 24 hours after it was enqueued. Exponential, so
//! that a receiver that is down is not hammered; capped, so that one back up soon hears of it.

/// The wait after the first failed attempt, ms.
pub const FIRST: i64 = 1_000;
/// The longest wait between two attempts, ms.
pub const CAP: i64 = 10 * 60 * 1_000;
/// How long after its enqueueing a delivery is still tried, ms.
pub const GIVE_UP_AFTER: i64 = 24 * 60 * 60 * 1_000;

/// The time (Unix ms) of the next attempt of a delivery enqueued at `created_at` that has now
/// failed `attempts` times, the last at `now`; `None` once it is given up.
pub fn retry_at(attempts: i64, created_at: i64, now: i64) -> Option<i64> {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let wait = FIRST.saturating_mul(1_i64 << doublings).min(CAP);
    let at = now.saturating_add(wait);
    (at.saturating_sub(created_at) <= GIVE_UP_AFTER).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_then_gives_up() {
        let waits: Vec<i64> = (1..=12).map(|n| retry_at(n, 0, 0).unwrap()).collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600].map(|s| s * 1000)
        );
        assert_eq!(retry_at(1000, 0, 0), Some(CAP));
        assert_eq!(retry_at(3, 0, GIVE_UP_AFTER - 4_000), Some(GIVE_UP_AFTER));
        assert_eq!(retry_at(3, 0, GIVE_UP_AFTER - 3_999), None);
    }
}

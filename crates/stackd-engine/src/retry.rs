//! When to retry a failed provider call: a pure, testable policy.

use std::time::{Duration, Instant};

use crate::provider::{ErrorKind, ProviderError};

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop and report the error.
    GiveUp,
}

/// The first wait; each later wait doubles, up to [`MAX_DELAY`].
pub const BASE_DELAY: Duration = Duration::from_millis(500);
/// The longest single wait.
pub const MAX_DELAY: Duration = Duration::from_secs(15);
/// How long reads (refresh, data sources) keep retrying throttling and
/// eventual-consistency errors before the plan fails.
pub const READ_BUDGET: Duration = Duration::from_secs(180);

/// Decides whether attempt number `attempt` (1-based) that failed with
/// `err`, `elapsed` into an operation allowed `budget`, is retried.
/// Throttling and eventual-consistency errors are retried until the budget
/// would be exceeded; everything else fails at once.
pub fn decide(
    err: &ProviderError,
    attempt: u32,
    elapsed: Duration,
    budget: Duration,
) -> RetryDecision {
    if !matches!(err.kind, ErrorKind::Throttled | ErrorKind::Transient) {
        return RetryDecision::GiveUp;
    }
    let exp = BASE_DELAY.saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
    let delay = exp.min(MAX_DELAY);
    if elapsed + delay > budget {
        return RetryDecision::GiveUp;
    }
    RetryDecision::RetryAfter(delay)
}

/// Calls an operation, retrying throttling and eventual-consistency
/// errors with backoff within the operation's time budget.
pub async fn with_retries<T, F, Fut>(
    budget: Duration,
    mut call: F,
    what: &(dyn std::fmt::Display + Sync),
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) => match decide(&e, attempt, start.elapsed(), budget) {
                RetryDecision::RetryAfter(delay) => {
                    tracing::info!(%what, error = %e, ?delay, attempt, "retrying");
                    // A back-off is waiting: an apply step's slot serves
                    // other steps meanwhile.
                    crate::provider::idle(tokio::time::sleep(delay)).await;
                }
                RetryDecision::GiveUp => return Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: ErrorKind) -> ProviderError {
        ProviderError::new(kind, "ec2", "DeleteVpc", "x")
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let d = decide(
            &e(ErrorKind::Permanent),
            1,
            Duration::ZERO,
            Duration::from_secs(60),
        );
        assert_eq!(d, RetryDecision::GiveUp);
        let d = decide(
            &e(ErrorKind::NotFound),
            1,
            Duration::ZERO,
            Duration::from_secs(60),
        );
        assert_eq!(d, RetryDecision::GiveUp);
    }

    #[test]
    fn transient_errors_back_off_exponentially_with_a_cap() {
        let budget = Duration::from_secs(600);
        let delays: Vec<_> = (1..=8)
            .map(|a| decide(&e(ErrorKind::Transient), a, Duration::ZERO, budget))
            .collect();
        assert_eq!(
            delays[0],
            RetryDecision::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(delays[1], RetryDecision::RetryAfter(Duration::from_secs(1)));
        assert_eq!(delays[7], RetryDecision::RetryAfter(MAX_DELAY));
    }

    #[test]
    fn retries_stop_when_the_budget_is_spent() {
        let d = decide(
            &e(ErrorKind::Throttled),
            3,
            Duration::from_secs(59),
            Duration::from_secs(60),
        );
        assert_eq!(d, RetryDecision::GiveUp);
    }
}

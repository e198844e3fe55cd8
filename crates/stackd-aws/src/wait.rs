//! Waiting for AWS objects to settle, and retrying steps inside one
//! operation, bounded by the operation's deadline.
//!
//! Both check at once first (an object is often ready already, and
//! emulators answer immediately), then back off exponentially from 1 s to
//! 10 s.

use std::future::Future;
use std::time::Duration;

use stackd_engine::provider::{ErrorKind, ProviderError};
use tokio::time::Instant;

use crate::error::EC2;

const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Past the first few quick checks, polls come every 5 to 10 s, jittered
/// so that many waits do not poll in step: an object that becomes ready is
/// noticed within seconds, not after the SDK waiters' back-off of up to
/// two minutes.
const SLOW_POLL: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(10));

/// When an operation (waits included) must be over.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + budget,
            budget,
        }
    }

    fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    fn timeout_error(&self, operation: &str, what: &str) -> ProviderError {
        ProviderError::new(
            ErrorKind::Timeout,
            EC2,
            operation,
            format!("timed out after {:?} waiting for {what}", self.budget),
        )
    }
}

/// The delays between attempts: 1 s, 2 s, 4 s, then 5 to 10 s at random.
fn next_delay(delay: Duration) -> Duration {
    let doubled = delay * 2;
    if doubled < SLOW_POLL.0 {
        return doubled;
    }
    use std::hash::BuildHasher;
    let random = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    let span = (SLOW_POLL.1 - SLOW_POLL.0).as_millis() as u64;
    SLOW_POLL.0 + Duration::from_millis(random % span.max(1))
}

/// Sleeps for `delay`, cut short by the deadline; false when no time is
/// left for another attempt. The caller's apply slot is given up while it
/// sleeps ([`stackd_engine::provider::idle`]): waiting takes no slot.
async fn pause(deadline: &Deadline, delay: Duration) -> bool {
    let remaining = deadline.remaining();
    if remaining.is_zero() {
        return false;
    }
    stackd_engine::provider::idle(tokio::time::sleep(delay.min(remaining))).await;
    true
}

/// Polls `check` until it yields a value. `check` returns `Ok(None)` for
/// "not yet"; retryable errors also mean "not yet", other errors end the
/// wait. `operation` names the API call polled, `what` the awaited state,
/// both for the timeout message.
pub(crate) async fn until<T, F, Fut>(
    deadline: &Deadline,
    operation: &str,
    what: &str,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let mut delay = FIRST_DELAY;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, "still waiting for {what}");
            }
            Err(e) => return Err(e),
        }
        if !pause(deadline, delay).await {
            return Err(deadline.timeout_error(operation, what));
        }
        delay = next_delay(delay);
    }
}

/// Runs `step` until it succeeds, retrying throttling and transient errors
/// until the deadline; the last error is returned when time runs out.
pub(crate) async fn retry<T, F, Fut>(deadline: &Deadline, mut step: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut delay = FIRST_DELAY;
    let mut missing_since: Option<Instant> = None;
    loop {
        match step().await {
            Ok(value) => return Ok(value),
            Err(mut e) if e.is_retryable() => {
                // "Not found" about an object the call refers to is
                // eventual consistency for a moment, and a mistake (a
                // cluster that does not exist) after that: not worth the
                // whole operation's deadline.
                if e.code.as_deref().is_some_and(|c| c.contains("NotFound")) {
                    let since = *missing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= CONSISTENCY_WINDOW {
                        e.kind = ErrorKind::Permanent;
                        e.message = format!(
                            "{} (still so after {} s: what it names does not exist)",
                            e.message,
                            CONSISTENCY_WINDOW.as_secs()
                        );
                        return Err(e);
                    }
                }
                tracing::debug!(error = %e, "retrying");
                if !pause(deadline, delay).await {
                    return Err(e);
                }
                delay = next_delay(delay);
            }
            Err(e) => return Err(e),
        }
    }
}

/// How long a "not found" about another object is taken for eventual
/// consistency (a resource created a moment ago, not visible yet) before
/// it is an error.
pub(crate) const CONSISTENCY_WINDOW: Duration = Duration::from_secs(120);

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn transient() -> ProviderError {
        ProviderError::new(ErrorKind::Transient, EC2, "CreateRoute", "not yet")
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_object_named_by_a_call_fails_after_the_consistency_window() {
        let start = Instant::now();
        let deadline = Deadline::after(Duration::from_secs(1200));
        let err = retry(&deadline, || async {
            Err::<(), _>(
                ProviderError::new(
                    ErrorKind::Transient,
                    "ecs",
                    "CreateService",
                    "Cluster not found.",
                )
                .with_code("ClusterNotFoundException"),
            )
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(err.message.contains("does not exist"), "{}", err.message);
        let took = start.elapsed();
        assert!(
            took >= CONSISTENCY_WINDOW && took < CONSISTENCY_WINDOW + SLOW_POLL.1 * 2,
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_ready_object_is_not_waited_for() {
        let start = Instant::now();
        let deadline = Deadline::after(Duration::from_secs(60));
        let v = until(&deadline, "DescribeVpcs", "vpc", || async { Ok(Some(7)) })
            .await
            .unwrap();
        assert_eq!(v, 7);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn polling_speeds_up_then_comes_every_five_to_ten_seconds_jittered() {
        let start = Instant::now();
        let times = std::cell::RefCell::new(Vec::new());
        let deadline = Deadline::after(Duration::from_secs(600));
        until(&deadline, "DescribeNatGateways", "nat", || {
            times.borrow_mut().push(start.elapsed());
            let n = times.borrow().len();
            async move { Ok((n == 12).then_some(())) }
        })
        .await
        .unwrap();
        let times = times.into_inner();
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(times[0], Duration::ZERO, "the first check is at once");
        assert_eq!(gaps[..3], [1, 2, 4].map(Duration::from_secs));
        for gap in &gaps[3..] {
            assert!(
                (Duration::from_secs(5)..Duration::from_secs(10)).contains(gap),
                "{gaps:?}"
            );
        }
        assert!(
            gaps[3..].windows(2).any(|w| w[0] != w[1]),
            "jittered: {gaps:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn polling_stops_at_the_deadline_with_a_timeout() {
        let deadline = Deadline::after(Duration::from_secs(5));
        let err = until(
            &deadline,
            "DescribeNatGateways",
            "nat-1 to be available",
            || async { Ok(None::<()>) },
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert!(
            err.message.contains("nat-1 to be available"),
            "{}",
            err.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_and_permanent_ones_are_not() {
        let calls = Cell::new(0);
        let deadline = Deadline::after(Duration::from_secs(60));
        let v = retry(&deadline, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Err(transient())
                } else {
                    Ok(n)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);

        let calls = Cell::new(0);
        let err = retry(&deadline, || {
            calls.set(calls.get() + 1);
            async {
                Err::<(), _>(ProviderError::new(
                    ErrorKind::Permanent,
                    EC2,
                    "CreateRoute",
                    "no",
                ))
            }
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_gives_back_the_last_error_when_time_runs_out() {
        let deadline = Deadline::after(Duration::from_secs(3));
        let err = retry(&deadline, || async { Err::<(), _>(transient()) })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Transient);
    }
}

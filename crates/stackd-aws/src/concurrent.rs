//! Bounded concurrency for APIs that read one object per call: at most
//! [`MAX_CONCURRENT_READS`] requests in flight, results in input order.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// How many per-object reads run at once where an API has no batch form.
pub(crate) const MAX_CONCURRENT_READS: usize = 8;

/// Runs the futures with at most [`MAX_CONCURRENT_READS`] in flight at once and
/// returns their outputs in input order. For APIs that read one object per
/// call; nothing is spawned, so the futures may borrow.
pub(crate) async fn bounded_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut waiting: VecDeque<(usize, F)> = futures.into_iter().enumerate().collect();
    let total = waiting.len();
    let mut running: Vec<(usize, Pin<Box<F>>)> = Vec::new();
    let mut done: Vec<Option<F::Output>> = (0..total).map(|_| None).collect();
    std::future::poll_fn(|cx| loop {
        while running.len() < MAX_CONCURRENT_READS {
            match waiting.pop_front() {
                Some((i, f)) => running.push((i, Box::pin(f))),
                None => break,
            }
        }
        let before = running.len();
        let mut k = 0;
        while k < running.len() {
            if let Poll::Ready(out) = running[k].1.as_mut().poll(cx) {
                done[running[k].0] = Some(out);
                running.swap_remove(k);
            } else {
                k += 1;
            }
        }
        if running.is_empty() && waiting.is_empty() {
            return Poll::Ready(());
        }
        if running.len() == before {
            return Poll::Pending;
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

/// Joins concurrent identical reads: a caller that asks while the read is
/// in flight shares its answer; a caller after it ended makes a new one,
/// so nothing is served older than a read that was running when asked.
/// For a read several types' refreshes make at once (every IAM role's
/// details for roles, their policies and attachments).
pub(crate) struct SingleFlight<T> {
    current: std::sync::Mutex<std::sync::Weak<Flight<T>>>,
}

type Flight<T> =
    tokio::sync::OnceCell<Result<std::sync::Arc<T>, stackd_engine::provider::ProviderError>>;

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight {
            current: std::sync::Mutex::new(std::sync::Weak::new()),
        }
    }
}

impl<T> std::fmt::Debug for SingleFlight<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SingleFlight")
    }
}

impl<T> SingleFlight<T> {
    /// The answer of the read in flight, else of `read`, started now.
    pub(crate) async fn get<F, Fut>(
        &self,
        read: F,
    ) -> Result<std::sync::Arc<T>, stackd_engine::provider::ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, stackd_engine::provider::ProviderError>>,
    {
        let flight = {
            let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            match current.upgrade() {
                Some(flight) if !flight.initialized() => flight,
                _ => {
                    let flight = std::sync::Arc::new(Flight::<T>::new());
                    *current = std::sync::Arc::downgrade(&flight);
                    flight
                }
            }
        };
        flight
            .get_or_init(|| async { read().await.map(std::sync::Arc::new) })
            .await
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn bounded_all_keeps_order_and_limits_concurrency() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let futures = (0..20u64).map(|i| {
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20 - i)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i
            }
        });
        let out = bounded_all(futures).await;
        assert_eq!(out, (0..20).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), MAX_CONCURRENT_READS);
    }

    #[tokio::test(start_paused = true)]
    async fn single_flight_joins_reads_in_flight_only() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let flight = SingleFlight::<usize>::default();
        let reads = AtomicUsize::new(0);
        let read = || async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(reads.fetch_add(1, Ordering::SeqCst))
        };
        let (a, b) = tokio::join!(flight.get(read), flight.get(read));
        assert_eq!((*a.unwrap(), *b.unwrap()), (0, 0));
        // After it ended, a new read.
        assert_eq!(*flight.get(read).await.unwrap(), 1);
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}

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
}

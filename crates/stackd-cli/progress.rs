//! Apply progress: a live status line on a terminal (what is in flight, for
//! how long, done/total), one log line per event otherwise.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stackd_engine::apply::{Event, Op, Reporter};
use stackd_spec::Address;

struct Inner {
    in_flight: BTreeMap<Address, (Op, Instant)>,
    done: usize,
    total: usize,
    live: bool,
    drawn: bool,
}

/// Reports apply events to stderr.
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

fn past(op: Op) -> &'static str {
    match op {
        Op::Create => "created",
        Op::Update => "updated",
        Op::Delete => "destroyed",
        Op::Read => "read",
    }
}

fn ing(op: Op) -> &'static str {
    match op {
        Op::Create => "creating",
        Op::Update => "updating",
        Op::Delete => "destroying",
        Op::Read => "reading",
    }
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        let live = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let inner = Arc::new(Mutex::new(Inner {
            in_flight: BTreeMap::new(),
            done: 0,
            total,
            live,
            drawn: false,
        }));
        let ticker = live.then(|| {
            let inner = inner.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if let Ok(mut i) = inner.lock() {
                        draw(&mut i);
                    }
                }
            })
        });
        Progress { inner, ticker }
    }

    /// Clears the status line.
    pub fn finish(&self) {
        if let Some(t) = &self.ticker {
            t.abort();
        }
        if let Ok(mut i) = self.inner.lock() {
            clear(&mut i);
        }
    }
}

fn clear(i: &mut Inner) {
    if i.drawn {
        eprint!("\r\x1b[2K");
        i.drawn = false;
    }
}

fn draw(i: &mut Inner) {
    clear(i);
    let now = Instant::now();
    let flying: Vec<String> = i
        .in_flight
        .iter()
        .take(4)
        .map(|(a, (_, t))| format!("{a} {}s", now.duration_since(*t).as_secs()))
        .collect();
    let more = i.in_flight.len().saturating_sub(4);
    let extra = if more > 0 {
        format!(" +{more} more")
    } else {
        String::new()
    };
    eprint!("[{}/{}] {}{}", i.done, i.total, flying.join(", "), extra);
    let _ = std::io::stderr().flush();
    i.drawn = true;
}

impl Reporter for Progress {
    fn event(&self, event: &Event) {
        let Ok(mut i) = self.inner.lock() else { return };
        clear(&mut i);
        match event {
            Event::Started { address, op } => {
                i.in_flight.insert(address.clone(), (*op, Instant::now()));
                eprintln!("{address}: {}...", ing(*op));
            }
            Event::Retrying {
                address,
                error,
                delay,
                ..
            } => {
                eprintln!(
                    "{address}: retrying in {:.1}s after: {error}",
                    delay.as_secs_f64()
                );
            }
            Event::Finished {
                address,
                op,
                elapsed,
                id,
            } => {
                i.in_flight.remove(address);
                i.done += 1;
                let id = id
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .map(|s| format!(" [id={s}]"))
                    .unwrap_or_default();
                eprintln!(
                    "{address}: {} after {:.1}s{id}",
                    past(*op),
                    elapsed.as_secs_f64()
                );
            }
            Event::Failed {
                address,
                op,
                elapsed,
                error,
            } => {
                i.in_flight.remove(address);
                i.done += 1;
                eprintln!(
                    "{address}: {} failed after {:.1}s: {error}",
                    ing(*op),
                    elapsed.as_secs_f64()
                );
            }
            Event::Output { address, line } => {
                eprintln!("{address} (local-exec): {line}");
            }
            Event::Skipped { address, why } => {
                i.done += 1;
                eprintln!("{address}: {why}");
            }
        }
        if i.live {
            draw(&mut i);
        }
    }
}

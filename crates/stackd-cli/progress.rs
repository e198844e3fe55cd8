//! Apply progress: a live status line on a terminal (what is in flight, for
//! how long, done/total), one log line per event otherwise.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::out::{err, errln};
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
        err!("\r\x1b[2K");
        i.drawn = false;
    }
}

fn draw(i: &mut Inner) {
    clear(i);
    let line = status_line(i, Instant::now(), terminal_width());
    err!("{line}");
    i.drawn = true;
}

/// The live status line, at most `width - 1` characters: a line as wide
/// as the terminal, or wider, wraps, and `\r` then redraws only its last
/// row, leaving the rest behind at every tick.
fn status_line(i: &Inner, now: Instant, width: usize) -> String {
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
    let line = format!("[{}/{}] {}{}", i.done, i.total, flying.join(", "), extra);
    let max = width.saturating_sub(1).max(1);
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The terminal's width in columns (stderr's), 80 when it cannot be told.
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ fills the winsize struct passed by pointer; it
    // lives for the whole call.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
    if rc == 0 && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
}

impl Reporter for Progress {
    fn event(&self, event: &Event) {
        let Ok(mut i) = self.inner.lock() else { return };
        clear(&mut i);
        match event {
            Event::Started { address, op } => {
                i.in_flight.insert(address.clone(), (*op, Instant::now()));
                errln!("{address}: {}...", ing(*op));
            }
            Event::Retrying {
                address,
                error,
                delay,
                ..
            } => {
                errln!(
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
                errln!(
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
                errln!(
                    "{address}: {} failed after {:.1}s: {error}",
                    ing(*op),
                    elapsed.as_secs_f64()
                );
            }
            Event::Output { address, line } => {
                errln!("{address} (local-exec): {line}");
            }
            Event::Skipped { address, why } => {
                i.done += 1;
                errln!("{address}: {why}");
            }
        }
        if i.live {
            draw(&mut i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(flying: &[&str], started: Instant) -> Inner {
        Inner {
            in_flight: flying
                .iter()
                .map(|a| (a.parse().expect("address"), (Op::Create, started)))
                .collect(),
            done: 12,
            total: 74,
            live: true,
            drawn: false,
        }
    }

    #[test]
    fn status_line_fits_the_terminal_width() {
        let now = Instant::now();
        let i = inner(
            &[
                "aws_codepipeline.service[\"backend\"]",
                "aws_codebuild_project.service[\"frontend\"]",
                "aws_ecs_task_definition.service[\"backend\"]",
                "aws_lb_listener_rule.api",
                "aws_nat_gateway.main[\"a\"]",
            ],
            now,
        );
        for width in [20, 40, 80, 200] {
            let line = status_line(&i, now, width);
            assert!(
                line.chars().count() < width,
                "{width} columns: {line:?} is {} characters",
                line.chars().count()
            );
            assert!(line.starts_with("[12/74] "), "{line}");
        }
        let wide = status_line(&i, now, 400);
        assert!(wide.ends_with(" +1 more"), "{wide}");
        assert!(!wide.contains('…'), "{wide}");
    }
}

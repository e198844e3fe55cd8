//! Writing to stdout and stderr without ever panicking.
//!
//! `println!` panics when stdout is a pipe whose reader is gone
//! (`stackd output --json | head`), and `eprintln!` does the same for
//! stderr: a panic in the middle of an apply, or in the signal handler that
//! must release the lock, is the worst time for one. Everything the CLI
//! prints goes through [`outln!`], [`out!`], [`errln!`] and [`err!`]
//! instead (clippy's `print_stdout` and `print_stderr` lints keep it so):
//!
//! - stdout: a closed pipe ends output quietly (the command's work and exit
//!   code are not affected, as `head` expects); any other write error is
//!   remembered and reported once at exit ([`finish`]), turning success
//!   into exit 1, since the output the user asked for was lost.
//! - stderr: write errors are ignored; there is nowhere left to report them.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

const OPEN: u8 = 0;
/// The reader went away (EPIPE): stop writing, say nothing.
const CLOSED: u8 = 1;
/// Another write error: stop writing, report it at exit.
const FAILED: u8 = 2;

static STDOUT: AtomicU8 = AtomicU8::new(OPEN);
static STDOUT_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// Writes to stdout; see the module documentation.
pub fn stdout_fmt(args: fmt::Arguments<'_>) {
    stdout_with(|w| w.write_fmt(args));
}

/// Writes bytes to stdout; see the module documentation.
pub fn stdout_bytes(bytes: &[u8]) {
    stdout_with(|w| w.write_all(bytes));
}

/// Flushes stdout (before waiting for input).
pub fn flush_stdout() {
    stdout_with(|_| Ok(()));
}

fn stdout_with(write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>) {
    if STDOUT.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let mut lock = io::stdout().lock();
    if let Err(e) = write(&mut lock).and_then(|()| lock.flush()) {
        note_stdout_error(&e);
    }
}

fn note_stdout_error(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        STDOUT.store(CLOSED, Ordering::Relaxed);
        return;
    }
    STDOUT.store(FAILED, Ordering::Relaxed);
    if let Ok(mut slot) = STDOUT_ERROR.lock() {
        slot.get_or_insert_with(|| e.to_string());
    }
}

/// Writes to stderr, ignoring errors.
pub fn stderr_fmt(args: fmt::Arguments<'_>) {
    let mut lock = io::stderr().lock();
    let _ = lock.write_fmt(args).and_then(|()| lock.flush());
}

/// stderr for the tracing subscriber: write errors are swallowed here,
/// because the subscriber reports a failed write with `eprintln!`, which
/// panics when stderr is a closed pipe.
pub struct QuietStderr;

impl Write for QuietStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

/// The exit code once output is done: `code`, unless stdout failed for
/// another reason than a closed pipe (then the failure is reported and a
/// successful run exits 1).
pub fn finish(code: u8) -> u8 {
    if STDOUT.load(Ordering::Relaxed) != FAILED {
        return code;
    }
    let why = STDOUT_ERROR
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_default();
    stderr_fmt(format_args!(
        "{} cannot write to standard output: {why}\n",
        crate::render::error_label()
    ));
    if code == crate::exit::OK {
        crate::exit::ERROR
    } else {
        code
    }
}

/// `println!` that never panics (see [`crate::out`]).
macro_rules! outln {
    () => { $crate::out::stdout_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stdout_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics (see [`crate::out`]).
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::stdout_fmt(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics (see [`crate::out`]).
macro_rules! errln {
    () => { $crate::out::stderr_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stderr_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that never panics (see [`crate::out`]).
macro_rules! err {
    ($($arg:tt)*) => { $crate::out::stderr_fmt(format_args!($($arg)*)) };
}

pub(crate) use {err, errln, out, outln};

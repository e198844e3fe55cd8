//! A fault-injecting HTTP proxy in front of LocalStack, on 127.0.0.1 only.
//!
//! Every request is forwarded on a fresh upstream connection (with
//! `Connection: close`, so an answer ends where the upstream closes). A
//! rule can make the proxy *lose the answer* of the n-th call of one AWS
//! operation: the request reaches LocalStack, which acts on it, and the
//! proxy then closes the client's connection without answering, as a
//! dropped connection after AWS acted would. Another rule *freezes* the
//! proxy right after it delivered an operation's answer, so a test can
//! SIGKILL stackd at exactly that point.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What to do to the n-th call of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it, then close the client connection without an answer.
    LoseAnswer,
    /// Forward it and deliver its answer, then hold every later request
    /// until [`FaultProxy::release`].
    FreezeAfterAnswer,
}

/// The answer EC2 gives a caller over its request rate (HTTP 503).
const THROTTLED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>";

#[derive(Debug)]
struct Rule {
    operation: String,
    nth: usize,
    fault: Fault,
}

#[derive(Debug, Default)]
struct Shared {
    rules: Vec<Rule>,
    /// Calls seen per operation.
    seen: HashMap<String, usize>,
    /// Every operation, in order.
    log: Vec<String>,
    /// Faults that fired, as `operation#n`.
    fired: Vec<String>,
    frozen: bool,
    /// Throttle every n-th read (Describe/Get/List) of the query protocol.
    throttle_every: Option<usize>,
    reads: usize,
    throttled: usize,
}

/// A running proxy. Threads are left behind when it is dropped (the test
/// process ends soon after).
pub struct FaultProxy {
    port: u16,
    shared: Arc<(Mutex<Shared>, Condvar)>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:4566`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared: Arc<(Mutex<Shared>, Condvar)> = Arc::default();
        let s = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (s, upstream) = (s.clone(), upstream.clone());
                std::thread::spawn(move || serve(client, &upstream, &s));
            }
        });
        FaultProxy { port, shared }
    }

    /// The endpoint URL to give stackd (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Applies `fault` to the `nth` (1-based) call of `operation`.
    pub fn on(&self, operation: &str, nth: usize, fault: Fault) {
        self.lock().rules.push(Rule {
            operation: operation.to_string(),
            nth,
            fault,
        });
    }

    /// Answers every `n`-th EC2 read (`Describe*`) with `RequestLimitExceeded`
    /// without forwarding it.
    pub fn throttle_every(&self, n: usize) {
        self.lock().throttle_every = Some(n.max(1));
    }

    /// How many reads were answered with a throttling error.
    pub fn throttled(&self) -> usize {
        self.lock().throttled
    }

    /// The faults that fired so far, as `operation#n`.
    pub fn fired(&self) -> Vec<String> {
        self.lock().fired.clone()
    }

    /// Every operation seen, in order.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// How many calls of `operation` were seen.
    pub fn count(&self, operation: &str) -> usize {
        self.lock().seen.get(operation).copied().unwrap_or(0)
    }

    /// Waits until a freeze rule fired; false on timeout.
    pub fn wait_frozen(&self, timeout: Duration) -> bool {
        let (lock, cv) = &*self.shared;
        let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |s| !s.frozen)
            .unwrap_or_else(|p| p.into_inner());
        guard.frozen
    }

    /// Lets held requests through and drops every rule.
    pub fn release(&self) {
        let mut s = self.lock();
        s.frozen = false;
        s.rules.clear();
        self.shared.1.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One HTTP/1.1 request as received.
struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The AWS operation: `Action=` of the query protocol, the JSON
    /// protocol's `X-Amz-Target`, or an S3 REST call by method and path.
    fn operation(&self) -> String {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().unwrap_or(target).to_string();
        }
        let body = String::from_utf8_lossy(&self.body);
        if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            return action.to_string();
        }
        let mut parts = self.head[0].split_whitespace();
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let segments = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .count();
        match (method, segments, query) {
            ("PUT", 1, "") => "CreateBucket".into(),
            ("PUT", 1, q) if q.starts_with("tagging") => "PutBucketTagging".into(),
            ("DELETE", 1, "") => "DeleteBucket".into(),
            _ => format!("S3 {method} {segments}"),
        }
    }
}

fn serve(client: TcpStream, upstream: &str, shared: &Arc<(Mutex<Shared>, Condvar)>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(match client.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut client = client;
    loop {
        let Some(req) = read_request(&mut reader) else {
            return;
        };
        let op = req.operation();
        let fault = {
            let (lock, cv) = &**shared;
            let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
            // A frozen proxy holds every request until released.
            while s.frozen {
                s = cv.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            let n = {
                let n = s.seen.entry(op.clone()).or_insert(0);
                *n += 1;
                *n
            };
            s.log.push(op.clone());
            if let Some(every) = s.throttle_every.filter(|_| op.starts_with("Describe")) {
                s.reads += 1;
                if s.reads % every == 0 {
                    s.throttled += 1;
                    drop(s);
                    let answer = format!(
                        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{THROTTLED}",
                        THROTTLED.len()
                    );
                    if client.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                    continue;
                }
            }
            let fault = s
                .rules
                .iter()
                .find(|r| r.operation == op && r.nth == n)
                .map(|r| r.fault);
            if fault.is_some() {
                s.fired.push(format!("{op}#{n}"));
            }
            fault
        };
        let Some(answer) = forward(&req, upstream) else {
            return;
        };
        match fault {
            Some(Fault::LoseAnswer) => {
                // AWS acted; the caller never hears of it.
                let _ = client.shutdown(std::net::Shutdown::Both);
                return;
            }
            Some(Fault::FreezeAfterAnswer) => {
                let _ = client.write_all(&answer);
                let _ = client.flush();
                let (lock, cv) = &**shared;
                lock.lock().unwrap_or_else(|p| p.into_inner()).frozen = true;
                cv.notify_all();
            }
            None => {
                if client.write_all(&answer).is_err() {
                    return;
                }
                let _ = client.flush();
            }
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    if head.is_empty() {
        return None;
    }
    let mut req = Request {
        head,
        body: Vec::new(),
    };
    if let Some(len) = req
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
        req.body = body;
    } else if req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        req.body = read_chunked(reader)?;
        // Forwarded with a length instead.
        req.head
            .retain(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding:"));
        req.head.push(format!("Content-Length: {}", req.body.len()));
    }
    Some(req)
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
                    return Some(body);
                }
            }
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Sends the request upstream on a new connection and reads the whole answer.
fn forward(req: &Request, upstream: &str) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).ok()?;
    let _ = up.set_read_timeout(Some(Duration::from_secs(120)));
    let mut out = Vec::new();
    for (i, line) in req.head.iter().enumerate() {
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&req.body);
    up.write_all(&out).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    (!answer.is_empty()).then_some(answer)
}

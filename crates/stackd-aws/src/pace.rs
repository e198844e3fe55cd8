//! Client-side pacing: every attempt of every AWS call takes a token from
//! a bucket of its service and action class before it is sent, so a large
//! apply stays inside AWS's request limits instead of provoking a storm of
//! throttled answers (each of which costs a retry, and on IAM or ELBv2
//! slows every other client of the account too).
//!
//! The buckets are sized to AWS's published limits where AWS publishes
//! them ([`DEFAULT_LIMITS`]) and conservatively elsewhere, taken at 90%
//! ([`MARGIN`]); they are
//! adaptive: a throttled answer halves the bucket's rate and empties it,
//! and each answered call gives a little of the rate back. One set of
//! buckets serves every provider of one region and profile in the process
//! (AWS counts per account and region). [`RATE_LIMITS_ENV`] changes or
//! turns them off; with `-v` stackd says when calls waited for a bucket or
//! were throttled, and sums both up at the end.
//!
//! The pacing sits in the HTTP client ([`client`]), under the SDK's own
//! retries, so retried attempts are paced too; an interceptor ([`Tag`])
//! labels each request with its service and operation for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::time::Instant;

/// Overrides the buckets: `off`, or a comma-separated list of
/// `SERVICE:CLASS=BURST/RATE`, where SERVICE is an IAM prefix (`ec2`) or
/// `*`, CLASS is `read`, `write` or one operation's name, BURST the
/// bucket's size and RATE the calls per second it refills with, e.g.
/// `off,ec2:write=100/10` (everything unpaced but EC2's writes) or
/// `iam:read=off` (see [`parse_overrides`]).
pub const RATE_LIMITS_ENV: &str = "STACKD_AWS_RATE_LIMITS";

/// A bucket's size and refill rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub burst: f64,
    pub per_second: f64,
}

const fn limit(burst: f64, per_second: f64) -> Limit {
    Limit { burst, per_second }
}

/// The buckets stackd paces itself to, keyed `service:class`: AWS's
/// published limits where there are some, conservative guesses where AWS
/// publishes none (IAM's are not published and cannot be raised).
/// Lookup goes from the operation (`ecs:RegisterTaskDefinition`) to its
/// class in its service (`ecs:write`) to the class anywhere (`*:write`,
/// which gives each service a bucket of its own of that size).
pub const DEFAULT_LIMITS: &[(&str, Limit)] = &[
    // EC2 API request throttling (token buckets per account and region):
    // non-mutating actions 100 / 20 per s; mutating actions paced to 50 / 5.
    ("ec2:read", limit(100.0, 20.0)),
    ("ec2:write", limit(50.0, 5.0)),
    // Elastic Load Balancing: 40 / 10 per s, per account, for Describe*;
    // registrations and changes lower.
    ("elasticloadbalancing:read", limit(40.0, 10.0)),
    ("elasticloadbalancing:write", limit(20.0, 5.0)),
    // ECS: RegisterTaskDefinition 20 / 1 per s; reads 50 / 20.
    ("ecs:RegisterTaskDefinition", limit(20.0, 1.0)),
    ("ecs:read", limit(50.0, 20.0)),
    ("ecs:write", limit(20.0, 5.0)),
    // IAM publishes no rates and they cannot be raised: stay well below
    // what accounts see throttled.
    ("iam:read", limit(40.0, 15.0)),
    ("iam:write", limit(20.0, 8.0)),
    // CloudWatch Logs: CreateLogGroup and PutRetentionPolicy 5 per s,
    // DescribeLogGroups 10 per s.
    ("logs:read", limit(10.0, 10.0)),
    ("logs:write", limit(5.0, 5.0)),
    // Parameter Store: GetParameter(s) 40 per s (standard throughput);
    // PutParameter and DescribeParameters far lower.
    ("ssm:GetParameters", limit(40.0, 40.0)),
    ("ssm:GetParameter", limit(40.0, 40.0)),
    ("ssm:read", limit(10.0, 10.0)),
    ("ssm:write", limit(3.0, 3.0)),
    // S3: objects 3,500 writes and 5,500 reads per second per prefix (the
    // state backend writes one object per change); bucket configuration
    // calls far lower.
    ("s3:PutObject", limit(3500.0, 3500.0)),
    ("s3:DeleteObject", limit(3500.0, 3500.0)),
    ("s3:GetObject", limit(5500.0, 5500.0)),
    ("s3:HeadObject", limit(5500.0, 5500.0)),
    ("s3:read", limit(100.0, 50.0)),
    ("s3:write", limit(50.0, 20.0)),
    // Every other service.
    ("*:read", limit(50.0, 20.0)),
    ("*:write", limit(20.0, 5.0)),
];

/// The share of AWS's limits stackd paces itself to by default: calls
/// sent a bucket's interval apart can arrive closer together, and the
/// account may have other clients.
pub const MARGIN: f64 = 0.9;

/// Whether an operation only reads (AWS's "non-mutating" actions).
pub fn is_read(operation: &str) -> bool {
    const READS: &[&str] = &[
        "Describe", "Get", "List", "Head", "BatchGet", "Lookup", "Search", "Query", "Select",
    ];
    READS.iter().any(|p| operation.starts_with(p))
}

/// The buckets' configuration: the defaults with the overrides applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// `None` entries turn pacing off for that key.
    table: HashMap<String, Option<Limit>>,
}

impl Limits {
    /// The defaults, then [`RATE_LIMITS_ENV`]'s overrides.
    pub fn from_env() -> Result<Limits, String> {
        let mut limits = Limits::defaults();
        if let Ok(spec) = std::env::var(RATE_LIMITS_ENV) {
            limits.apply(&spec)?;
        }
        Ok(limits)
    }

    /// [`DEFAULT_LIMITS`], each taken at [`MARGIN`] of AWS's figure.
    pub fn defaults() -> Limits {
        Limits {
            table: DEFAULT_LIMITS
                .iter()
                .map(|(k, l)| {
                    let paced = limit((l.burst * MARGIN).floor().max(1.0), l.per_second * MARGIN);
                    (k.to_string(), Some(paced))
                })
                .collect(),
        }
    }

    /// Applies overrides (see [`RATE_LIMITS_ENV`]).
    pub fn apply(&mut self, spec: &str) -> Result<(), String> {
        for (key, limit) in parse_overrides(spec)? {
            if key == "*" {
                self.table.values_mut().for_each(|l| *l = limit);
                self.table.insert("*:read".into(), limit);
                self.table.insert("*:write".into(), limit);
            } else {
                self.table.insert(key, limit);
            }
        }
        Ok(())
    }

    /// The key of the bucket `operation` of `service` takes from, and its
    /// limit (`None`: not paced).
    pub fn lookup(&self, service: &str, operation: &str) -> (String, Option<Limit>) {
        let class = if is_read(operation) { "read" } else { "write" };
        let by_operation = format!("{service}:{operation}");
        if let Some(limit) = self.table.get(&by_operation) {
            return (by_operation, *limit);
        }
        // A class's default limit is per service: each service has its own
        // bucket.
        let key = format!("{service}:{class}");
        let limit = self
            .table
            .get(&key)
            .or_else(|| self.table.get(&format!("*:{class}")))
            .copied()
            .flatten();
        (key, limit)
    }
}

/// Parses `off` or `KEY=BURST/RATE[,KEY=...]`, where KEY is
/// `SERVICE:CLASS` and a value may be `off`.
pub fn parse_overrides(spec: &str) -> Result<Vec<(String, Option<Limit>)>, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Ok(Vec::new());
    }
    if spec == "off" {
        return Ok(vec![("*".to_string(), None)]);
    }
    let bad = |item: &str, why: &str| {
        format!(
            "{RATE_LIMITS_ENV}: `{item}` {why}; expected `off` or a list like \
             `ec2:write=50/5,iam:read=off` (SERVICE:CLASS=BURST/RATE, CLASS read, write or an \
             operation's name)"
        )
    };
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "off" {
            out.push(("*".to_string(), None));
            continue;
        }
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| bad(item, "has no `=`"))?;
        let key = key.trim();
        if key != "*"
            && !key
                .split_once(':')
                .is_some_and(|(s, c)| !s.is_empty() && !c.is_empty())
        {
            return Err(bad(item, "does not name SERVICE:CLASS"));
        }
        let value = value.trim();
        let limit = if value == "off" {
            None
        } else {
            let (burst, rate) = value
                .split_once('/')
                .ok_or_else(|| bad(item, "has no BURST/RATE"))?;
            let number = |s: &str| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n > 0.0)
                    .ok_or_else(|| bad(item, "needs positive numbers"))
            };
            Some(limit(number(burst)?, number(rate)?))
        };
        out.push((key.to_string(), limit));
    }
    Ok(out)
}

/// One token bucket.
#[derive(Debug)]
struct Bucket {
    limit: Limit,
    /// The refill rate now: lowered by throttling, given back by answers.
    rate: f64,
    /// May go below zero: each waiting call has reserved its token.
    tokens: f64,
    at: Instant,
    calls: u64,
    waited: Duration,
    throttled: u64,
    /// When a wait was last reported, so the log says it once a while.
    reported: Option<Instant>,
}

/// The slowest a throttled bucket gets, as a fraction of its limit.
const MIN_RATE_FRACTION: f64 = 1.0 / 16.0;
/// How much of its rate each answered call gives a throttled bucket back.
const RECOVERY_FRACTION: f64 = 1.0 / 50.0;
/// Waits shorter than this are not worth a log line.
const REPORT_WAIT: Duration = Duration::from_secs(1);

impl Bucket {
    fn new(limit: Limit, now: Instant) -> Bucket {
        Bucket {
            limit,
            rate: limit.per_second,
            tokens: limit.burst,
            at: now,
            calls: 0,
            waited: Duration::ZERO,
            throttled: 0,
            reported: None,
        }
    }

    /// Takes a token; how long the caller must wait before sending.
    fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.limit.burst);
        self.at = now;
        self.tokens -= 1.0;
        self.calls += 1;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            let wait = Duration::from_secs_f64(-self.tokens / self.rate);
            self.waited += wait;
            wait
        }
    }

    /// AWS throttled a call anyway: it counts more than we think (other
    /// clients of the account): halve the rate and start from empty.
    fn throttled(&mut self) {
        self.throttled += 1;
        self.rate = (self.rate / 2.0).max(self.limit.per_second * MIN_RATE_FRACTION);
        self.tokens = self.tokens.min(0.0);
    }

    fn answered(&mut self) {
        if self.rate < self.limit.per_second {
            self.rate =
                (self.rate + self.limit.per_second * RECOVERY_FRACTION).min(self.limit.per_second);
        }
    }
}

/// The buckets of one account and region.
#[derive(Debug)]
pub struct Pacer {
    limits: Limits,
    buckets: Mutex<HashMap<String, Bucket>>,
    summarised: std::sync::atomic::AtomicBool,
}

/// What a call's bucket said.
#[derive(Clone, Debug)]
struct Ticket {
    key: String,
}

impl Pacer {
    pub fn new(limits: Limits) -> Pacer {
        Pacer {
            limits,
            buckets: Mutex::new(HashMap::new()),
            summarised: Default::default(),
        }
    }

    fn buckets(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `operation` of `service` may be sent. `None` when it is
    /// not paced.
    async fn acquire(&self, service: &str, operation: &str) -> Option<Ticket> {
        let (key, limit) = self.limits.lookup(service, operation);
        let limit = limit?;
        let now = Instant::now();
        let wait = {
            let mut buckets = self.buckets();
            let bucket = buckets
                .entry(key.clone())
                .or_insert_with(|| Bucket::new(limit, now));
            let wait = bucket.reserve(now);
            if wait >= REPORT_WAIT
                && bucket
                    .reported
                    .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(10))
            {
                bucket.reported = Some(now);
                tracing::info!(
                    bucket = %key,
                    "pacing AWS calls: {operation} waits {:.1} s for {key}'s bucket ({} burst, {:.1} per s)",
                    wait.as_secs_f64(),
                    bucket.limit.burst,
                    bucket.rate
                );
            }
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Some(Ticket { key })
    }

    fn outcome(&self, ticket: &Ticket, operation: &str, throttled: bool) {
        let mut buckets = self.buckets();
        let Some(bucket) = buckets.get_mut(&ticket.key) else {
            return;
        };
        if throttled {
            bucket.throttled();
            tracing::info!(
                bucket = %ticket.key,
                "AWS throttled {operation}: {}'s rate lowered to {:.2} per s",
                ticket.key,
                bucket.rate
            );
        } else {
            bucket.answered();
        }
    }

    /// One line per bucket that made calls wait or was throttled.
    pub fn summary(&self) -> Vec<String> {
        let buckets = self.buckets();
        let mut lines: Vec<String> = buckets
            .iter()
            .filter(|(_, b)| !b.waited.is_zero() || b.throttled > 0)
            .map(|(key, b)| {
                format!(
                    "{key}: {} calls, {:.1} s waited in all, {} throttled by AWS",
                    b.calls,
                    b.waited.as_secs_f64(),
                    b.throttled
                )
            })
            .collect();
        lines.sort();
        lines
    }

    /// Logs [`Pacer::summary`] at info level (shown with `-v`), once.
    pub fn log_summary(&self) {
        if self
            .summarised
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        for line in self.summary() {
            tracing::info!("AWS call pacing: {line}");
        }
    }
}

/// The pacer of one region and profile, shared by every provider of the
/// process that works there.
pub fn shared(region: &str, profile: Option<&str>) -> Result<Arc<Pacer>, String> {
    static PACERS: OnceLock<Mutex<HashMap<String, Arc<Pacer>>>> = OnceLock::new();
    let key = format!("{region}\u{0}{}", profile.unwrap_or(""));
    let mut pacers = PACERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(p) = pacers.get(&key) {
        return Ok(p.clone());
    }
    let pacer = Arc::new(Pacer::new(Limits::from_env()?));
    pacers.insert(key, pacer.clone());
    Ok(pacer)
}

/// The operation a request is for, attached by [`Tag`].
#[derive(Clone, Debug)]
struct Operation {
    service: &'static str,
    name: String,
}

/// Labels each request with its service (IAM prefix) and operation, for
/// the pacing HTTP client.
#[derive(Clone, Debug)]
pub struct Tag(pub &'static str);

impl Intercept for Tag {
    fn name(&self) -> &'static str {
        "StackdPaceTag"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            let op = Operation {
                service: self.0,
                name: metadata.name().to_string(),
            };
            context.request_mut().add_extension(op);
        }
        Ok(())
    }
}

/// The HTTP client every SDK client uses: the SDK's default HTTPS client
/// (hyper 1 with rustls and aws-lc, proxies from the environment), with
/// each request paced by `pacer`.
pub fn client(pacer: Arc<Pacer>) -> SharedHttpClient {
    use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
    let inner = Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        builder.build()
    });
    paced(inner, pacer)
}

/// `inner`, with each request paced by `pacer`.
pub fn paced(inner: SharedHttpClient, pacer: Arc<Pacer>) -> SharedHttpClient {
    SharedHttpClient::new(PacedClient { inner, pacer })
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    pacer: Arc<Pacer>,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Arc<Pacer>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let pacer = self.pacer.clone();
        let operation = request.extension::<Operation>().cloned();
        HttpConnectorFuture::new(async move {
            let Some(op) = operation else {
                return inner.call(request).await;
            };
            let Some(ticket) = pacer.acquire(op.service, &op.name).await else {
                return inner.call(request).await;
            };
            let mut response = inner.call(request).await?;
            let throttled = throttling_answer(&mut response).await;
            pacer.outcome(&ticket, &op.name, throttled);
            Ok(response)
        })
    }
}

/// The error codes AWS services throttle with.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "PriorRequestNotComplete",
];

/// Whether an answer is a throttling error. Error answers (400, 429, 503)
/// are small: their body is read into memory to find the code and put
/// back for the SDK to parse.
async fn throttling_answer(response: &mut HttpResponse) -> bool {
    let status = response.status().as_u16();
    if status == 429 {
        return true;
    }
    if status != 400 && status != 503 {
        return false;
    }
    let body = std::mem::replace(response.body_mut(), SdkBody::taken());
    let bytes = match body.bytes() {
        Some(b) => b.to_vec(),
        None => match ByteStream::new(body).collect().await {
            Ok(aggregated) => aggregated.to_vec(),
            Err(e) => {
                // Leave the SDK an answer whose body cannot be read, as it
                // would have found it.
                tracing::debug!(error = %e, "cannot read an error answer's body");
                *response.body_mut() = SdkBody::empty();
                return status == 503;
            }
        },
    };
    let throttled = mentions_throttling(&bytes);
    *response.body_mut() = SdkBody::from(bytes);
    throttled
}

/// Whether an error body (XML or JSON) names a throttling code.
fn mentions_throttling(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    THROTTLING_CODES.iter().any(|code| {
        [
            format!("<Code>{code}</Code>"),
            format!("\"{code}\""),
            format!("#{code}\""),
        ]
        .iter()
        .any(|needle| text.contains(needle.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_classed_by_operation_then_service_then_anywhere() {
        let limits = Limits::defaults();
        // AWS's figures, at the margin.
        assert_eq!(
            limits.lookup("ecs", "RegisterTaskDefinition"),
            ("ecs:RegisterTaskDefinition".into(), Some(limit(18.0, 0.9)))
        );
        assert_eq!(
            limits.lookup("ec2", "DescribeVpcs"),
            ("ec2:read".into(), Some(limit(90.0, 18.0)))
        );
        assert_eq!(
            limits.lookup("ec2", "CreateVpc"),
            ("ec2:write".into(), Some(limit(45.0, 4.5)))
        );
        // Each service has its own bucket of the default class limit.
        assert_eq!(
            limits.lookup("sqs", "CreateQueue"),
            ("sqs:write".into(), Some(limit(18.0, 4.5)))
        );
        assert_eq!(limits.lookup("sns", "GetTopicAttributes").0, "sns:read");
    }

    #[test]
    fn overrides_change_turn_off_and_are_checked() {
        let mut limits = Limits::defaults();
        limits.apply("ec2:write=100/10, iam:read=off").unwrap();
        assert_eq!(
            limits.lookup("ec2", "CreateVpc").1,
            Some(limit(100.0, 10.0))
        );
        assert_eq!(limits.lookup("iam", "GetRole").1, None);
        limits.apply("off").unwrap();
        assert_eq!(limits.lookup("ecs", "RegisterTaskDefinition").1, None);
        assert_eq!(limits.lookup("sqs", "CreateQueue").1, None);
        for bad in [
            "ec2:write",
            "ec2=1/1",
            "ec2:write=1",
            "ec2:write=0/1",
            "ec2:write=a/b",
        ] {
            let err = Limits::defaults().apply(bad).unwrap_err();
            assert!(err.contains(RATE_LIMITS_ENV) && err.contains(bad), "{err}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_its_burst_through_then_paces_at_its_rate() {
        let mut limits = Limits::defaults();
        limits.apply("off,ec2:write=5/2").unwrap();
        let pacer = Pacer::new(limits);
        let start = Instant::now();
        for _ in 0..5 {
            pacer.acquire("ec2", "CreateVpc").await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst goes at once");
        for _ in 0..4 {
            pacer.acquire("ec2", "CreateVpc").await.unwrap();
        }
        // Four more at two per second.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // Reads are not in that bucket (and not paced at all here).
        assert!(pacer.acquire("ec2", "DescribeVpcs").await.is_none());
        let summary = pacer.summary();
        assert_eq!(summary.len(), 1, "{summary:?}");
        assert!(
            summary[0].starts_with("ec2:write: 9 calls, 2.0 s waited"),
            "{summary:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_the_rate() {
        let mut limits = Limits::defaults();
        limits.apply("off,ssm:write=3/3").unwrap();
        let pacer = Arc::new(Pacer::new(limits));
        let start = Instant::now();
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move { p.acquire("ssm", "PutParameter").await.is_some() })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        // 3 at once, 27 more at 3 per second.
        assert_eq!(start.elapsed(), Duration::from_secs(9));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_the_rate_and_answers_give_it_back() {
        let mut limits = Limits::defaults();
        limits.apply("off,iam:write=1/4").unwrap();
        let pacer = Pacer::new(limits);
        let ticket = pacer.acquire("iam", "CreateRole").await.unwrap();
        pacer.outcome(&ticket, "CreateRole", true);
        pacer.outcome(&ticket, "CreateRole", true);
        let rate = |p: &Pacer| p.buckets()["iam:write"].rate;
        assert_eq!(rate(&pacer), 1.0);
        // Emptied: the next call waits a full token at the lowered rate.
        let start = Instant::now();
        pacer.acquire("iam", "CreateRole").await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        for _ in 0..200 {
            pacer.outcome(&ticket, "CreateRole", false);
        }
        assert_eq!(rate(&pacer), 4.0, "given back, never past the limit");
        assert!(pacer.summary()[0].contains("2 throttled by AWS"));
    }

    #[test]
    fn throttling_codes_are_found_in_xml_and_json_answers() {
        assert!(mentions_throttling(
            b"<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>"
        ));
        assert!(mentions_throttling(
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code></Error></ErrorResponse>"
        ));
        assert!(mentions_throttling(
            br#"{"__type":"com.amazonaws.ecs#ThrottlingException","message":"Rate exceeded"}"#
        ));
        assert!(mentions_throttling(br#"{"__type":"ThrottlingException"}"#));
        assert!(!mentions_throttling(
            b"<ErrorResponse><Error><Code>InvalidParameterValue</Code><Message>Throttling is not it</Message></Error></ErrorResponse>"
        ));
    }

    /// A connector answering every call with the same status and body.
    #[derive(Debug)]
    struct Answer(u16, &'static str);

    impl HttpConnector for Answer {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            let (status, body) = (self.0, self.1);
            HttpConnectorFuture::ready(Ok(HttpResponse::new(
                status.try_into().unwrap(),
                SdkBody::from(body),
            )))
        }
    }

    async fn call_through(answer: Answer, pacer: &Arc<Pacer>) -> HttpResponse {
        let connector = PacedConnector {
            inner: SharedHttpConnector::new(answer),
            pacer: pacer.clone(),
        };
        let mut request = HttpRequest::empty();
        request.add_extension(Operation {
            service: "iam",
            name: "CreateRole".into(),
        });
        connector.call(request).await.unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn the_connector_slows_a_throttled_class_and_hands_the_answer_on_whole() {
        let mut limits = Limits::defaults();
        limits.apply("off,iam:write=10/8").unwrap();
        let pacer = Arc::new(Pacer::new(limits));
        let body = "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        let response = call_through(Answer(400, body), &pacer).await;
        assert_eq!(
            response.body().bytes(),
            Some(body.as_bytes()),
            "the SDK still reads it"
        );
        assert_eq!(pacer.buckets()["iam:write"].rate, 4.0);
        let other =
            "<ErrorResponse><Error><Code>EntityAlreadyExists</Code></Error></ErrorResponse>";
        call_through(Answer(409, other), &pacer).await;
        call_through(Answer(400, other), &pacer).await;
        assert_eq!(pacer.buckets()["iam:write"].throttled, 1);
    }
}

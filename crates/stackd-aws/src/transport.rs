//! How stackd talks to AWS: bounded timeouts on every call, the SDK's
//! adaptive retries (which also slow a client down when its service
//! throttles), and one rule on top: a call that makes a new, anonymous
//! object is never sent again by the SDK after its answer was lost.
//!
//! `CreateVpc`, `AllocateAddress`, `RegisterTaskDefinition`... take no
//! idempotency token that stackd can rely on and have no unique name: when
//! the connection drops after AWS acted, sending the call again makes a
//! second object. For those ([`is_anonymous_create`]) the SDK's resend is
//! stopped by [`NoBlindResend`], the error is classified
//! [`ErrorKind::OutcomeUnknown`](stackd_engine::provider::ErrorKind), and
//! the engine looks for the object by the create token it was tagged with
//! before deciding to send the call again. Every other call is safe to
//! resend: reads, deletes, modifications, and creates of named objects or
//! of things AWS refuses twice (an attachment, a rule, a route), whose
//! "already exists" answers the resource modules recognise as success when
//! the object is the one asked for.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

/// Seconds one attempt of a call may take (connect, send, answer);
/// default [`DEFAULT_ATTEMPT_TIMEOUT`]. A whole call, retries included,
/// may take four times that.
pub const ATTEMPT_TIMEOUT_ENV: &str = "STACKD_AWS_ATTEMPT_TIMEOUT";

/// The default per-attempt timeout.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts per call (first try included) for throttling, 5xx answers and
/// dropped connections.
pub const MAX_ATTEMPTS: u32 = 8;

/// The per-attempt timeout: [`ATTEMPT_TIMEOUT_ENV`] or the default.
pub fn attempt_timeout() -> Duration {
    std::env::var(ATTEMPT_TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_ATTEMPT_TIMEOUT)
}

/// Timeouts for every client: no call waits for an answer for ever.
pub fn timeouts() -> TimeoutConfig {
    let attempt = attempt_timeout();
    TimeoutConfig::builder()
        .connect_timeout(attempt.min(Duration::from_secs(10)))
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt * 4)
        .build()
}

/// Adaptive retries: throttling, 5xx answers and dropped connections are
/// retried with backoff, and a client whose service throttles slows its
/// own sending rate down (the SDK's client-side rate limiter, one per
/// service client).
pub fn retries() -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(500))
        .with_max_backoff(Duration::from_secs(20))
}

/// Calls that create a new object with a fresh ID and no unique name, so
/// that sending them twice makes two objects.
pub fn is_anonymous_create(operation: &str) -> bool {
    const OPERATIONS: &[&str] = &[
        "CreateVpc",
        "CreateSubnet",
        "CreateInternetGateway",
        "AllocateAddress",
        "CreateNatGateway",
        "CreateRouteTable",
        "RunInstances",
        "RegisterTaskDefinition",
        "CreateKey",
    ];
    OPERATIONS.contains(&operation)
}

/// The error an anonymous create ends with when its answer was lost.
#[derive(Debug)]
pub struct AnswerLost {
    pub operation: String,
    /// What happened to the attempt (the transport error, or the status).
    pub cause: String,
}

impl std::fmt::Display for AnswerLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no usable answer to {} ({}); it may have been carried out, so it is not sent again blindly",
            self.operation, self.cause
        )
    }
}

impl std::error::Error for AnswerLost {}

/// Stops the SDK from sending an anonymous create again after an attempt
/// whose outcome is unknown (no answer, a broken answer, or a 5xx): the
/// attempt's error is replaced by [`AnswerLost`], which no retry
/// classifier retries.
#[derive(Clone, Debug, Default)]
pub struct NoBlindResend;

impl Intercept for NoBlindResend {
    fn name(&self) -> &'static str {
        "NoBlindResend"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(operation) = cfg.load::<Metadata>().map(|m| m.name().to_string()) else {
            return Ok(());
        };
        if !is_anonymous_create(&operation) {
            return Ok(());
        }
        let status = context.response().map(|r| r.status().as_u16());
        let Some(result) = context.output_or_error_mut() else {
            return Ok(());
        };
        let cause = match result {
            Err(e) if e.is_timeout_error() => "the attempt timed out".to_string(),
            Err(e) if e.is_connector_error() => format!("the connection failed: {e}"),
            Err(e) if e.is_response_error() => format!("the answer could not be read: {e}"),
            // 503 is how EC2 throttles: not carried out.
            Err(e) if e.is_operation_error() && matches!(status, Some(500 | 502 | 504)) => {
                format!("the service answered {}", status.unwrap_or_default())
            }
            _ => return Ok(()),
        };
        *result = Err(OrchestratorError::other(AnswerLost { operation, cause }));
        Ok(())
    }
}

/// True when an SDK error's sources include [`AnswerLost`].
pub fn answer_lost(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<AnswerLost>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The endpoint each service's calls go to, for messages about calls that
/// got no answer.
fn endpoints() -> &'static Mutex<HashMap<String, String>> {
    static ENDPOINTS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    ENDPOINTS.get_or_init(Default::default)
}

/// Records where `service`'s calls go: the configured endpoint URL, or
/// AWS's regional one.
pub fn record_endpoint(service: &str, configured: Option<&str>, region: &str) {
    let url = match configured {
        Some(u) => u.to_string(),
        None if service == "iam" || service == "route53" => {
            format!("https://{service}.amazonaws.com")
        }
        None if service == "cloudwatch" => format!("https://monitoring.{region}.amazonaws.com"),
        None if service == "tag" => format!("https://tagging.{region}.amazonaws.com"),
        None => format!("https://{service}.{region}.amazonaws.com"),
    };
    endpoints()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(service.to_string(), url);
}

/// Where `service`'s calls go, when known.
pub fn endpoint_of(service: &str) -> Option<String> {
    endpoints()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(service)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_that_make_a_nameless_object_are_anonymous_creates() {
        for op in [
            "CreateVpc",
            "AllocateAddress",
            "RegisterTaskDefinition",
            "CreateKey",
        ] {
            assert!(is_anonymous_create(op), "{op}");
        }
        for op in [
            "DescribeVpcs",
            "CreateSecurityGroup",
            "CreateRole",
            "CreateBucket",
            "AttachInternetGateway",
            "DeleteVpc",
        ] {
            assert!(!is_anonymous_create(op), "{op}");
        }
    }

    #[test]
    fn every_call_has_bounded_timeouts() {
        let t = timeouts();
        assert_eq!(t.operation_attempt_timeout(), Some(attempt_timeout()));
        assert_eq!(t.operation_timeout(), Some(attempt_timeout() * 4));
        assert!(t.connect_timeout().is_some());
    }

    #[test]
    fn a_lost_answer_is_found_among_an_errors_sources() {
        #[derive(Debug)]
        struct Outer(AnswerLost);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("outer")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(AnswerLost {
            operation: "CreateVpc".into(),
            cause: "reset".into(),
        });
        assert!(answer_lost(&e));
        assert!(!answer_lost(&std::fmt::Error));
    }
}

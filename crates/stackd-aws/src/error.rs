//! AWS SDK errors as [`ProviderError`]s, and how each is to be treated.
//!
//! [`classify`] is the one place deciding whether an AWS error means "gone",
//! "slow down", "try again shortly" or "give up"; the engine's retry policy
//! acts on that.

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use stackd_engine::provider::{ErrorKind, ProviderError};

/// The service name EC2 errors carry.
pub const EC2: &str = "ec2";

/// How an SDK call failed, before looking at any error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The service answered with an error code.
    Service,
    /// The request could not be sent or no answer came (connection reset,
    /// DNS, I/O).
    Dispatch,
    /// The request or the answer timed out.
    Timeout,
    /// An answer came but could not be parsed (often a truncated response).
    Response,
    /// The request could not be built (bad input or configuration).
    Construction,
}

/// Error codes meaning "slow down".
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "SlowDown",
];

/// Error codes meaning a dependency is still settling (being torn down,
/// changing state, or just created and not yet visible everywhere).
const TRANSIENT_CODES: &[&str] = &[
    "DependencyViolation",
    "IncorrectState",
    "IncorrectInstanceState",
    "InvalidGroup.InUse",
    "InvalidIPAddress.InUse",
    "Gateway.NotAttached",
    "InvalidState",
    "ResourceInUse",
    "ResourceInUseException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// True for the error codes AWS uses for an object that does not exist:
/// `InvalidVpcID.NotFound`, `NatGatewayNotFound`, `InvalidRoute.NotFound`...
pub fn is_not_found_code(code: &str) -> bool {
    code.ends_with("NotFound")
}

/// Operations that look an object up or take it away: for these, "not
/// found" means the object is gone. For every other operation a "not found"
/// code names an object the request refers to, which, right after that
/// object was created, is EC2's eventual consistency (a new route table not
/// yet visible to `CreateRoute`), so it is worth retrying.
fn reads_or_removes(operation: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "Describe",
        "Get",
        "List",
        "Delete",
        "Detach",
        "Disassociate",
        "Revoke",
        "Release",
        "Disable",
    ];
    PREFIXES.iter().any(|p| operation.starts_with(p))
}

tokio::task_local! {
    /// Set while a delete runs (see [`deleting`]).
    static DELETING: ();
}

/// Runs a resource's delete. Within it, "not found" means gone whatever
/// the operation: a write that takes something away (a policy set back to
/// its default, a group scaled to zero before it goes) that finds its
/// object, or the object it belongs to, already gone has nothing left to
/// do. Outside a delete such a code names a reference not visible yet and
/// is retried, which in a delete would wait out its whole timeout.
pub(crate) async fn deleting<F: std::future::Future>(f: F) -> F::Output {
    DELETING.scope((), f).await
}

/// True inside [`deleting`].
pub(crate) fn in_delete() -> bool {
    DELETING.try_with(|_| ()).is_ok()
}

/// Decides how an AWS error is to be treated. Transport failures reach
/// here only after the SDK's own retries: an anonymous create's answer may
/// have been lost after AWS acted (see [`crate::transport`]); anything else
/// got no answer at all.
pub fn classify(operation: &str, code: Option<&str>, failure: Failure) -> ErrorKind {
    match failure {
        Failure::Dispatch | Failure::Timeout | Failure::Response
            if crate::transport::is_anonymous_create(operation) =>
        {
            return ErrorKind::OutcomeUnknown
        }
        Failure::Dispatch | Failure::Timeout | Failure::Response => return ErrorKind::Unanswered,
        Failure::Construction => return ErrorKind::Permanent,
        Failure::Service => {}
    }
    let Some(code) = code else {
        return ErrorKind::Permanent;
    };
    if THROTTLING_CODES.contains(&code) {
        ErrorKind::Throttled
    } else if code == "Gateway.NotAttached" && operation.starts_with("Detach") {
        // Detached already (an attempt whose answer was lost): done. Sent
        // while creating a route through the gateway, the same code means
        // the attachment is not visible yet (transient, below).
        ErrorKind::NotFound
    } else if TRANSIENT_CODES.contains(&code) {
        ErrorKind::Transient
    } else if is_not_found_code(code) {
        if reads_or_removes(operation) || in_delete() {
            ErrorKind::NotFound
        } else {
            ErrorKind::Transient
        }
    } else {
        ErrorKind::Permanent
    }
}

/// Converts an SDK error of one operation.
pub fn from_sdk<E>(service: &str, operation: &str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    let failure = match &err {
        SdkError::ServiceError(_) => Failure::Service,
        SdkError::DispatchFailure(_) => Failure::Dispatch,
        SdkError::TimeoutError(_) => Failure::Timeout,
        SdkError::ResponseError(_) => Failure::Response,
        _ => Failure::Construction,
    };
    let lost = crate::transport::answer_lost(&err);
    let failure = if lost { Failure::Dispatch } else { failure };
    let code = err.code().map(str::to_string);
    let message = match (&failure, err.message()) {
        (Failure::Service, Some(m)) => m.to_string(),
        _ if lost => lost_message(&err),
        _ => failure_message(service, &err),
    };
    let request_id = err
        .as_service_error()
        .and_then(|e| e.request_id())
        .or_else(|| err.request_id())
        .map(str::to_string);
    let kind = classify(operation, code.as_deref(), failure);
    ProviderError {
        kind,
        service: service.to_string(),
        operation: operation.to_string(),
        code,
        message,
        request_id,
    }
}

/// The message of a call whose answer was lost after it was sent: the
/// [`AnswerLost`](crate::transport::AnswerLost) error's own words.
fn lost_message(err: &(dyn std::error::Error + 'static)) -> String {
    error_chain(err)
        .into_iter()
        .find(|c| c.contains("not sent again blindly"))
        .unwrap_or_else(|| "the answer was lost after the call was sent".to_string())
}

/// Why a call failed when the service gave no message of its own, in one
/// line (each cause in the SDK's error chain, by its `Display`), then a
/// `hint:` line when the cause is a common one: no credentials, an
/// endpoint that cannot be reached. Never the SDK's `Debug` dump, which
/// `DisplayErrorContext` appends.
pub fn failure_message<E, R>(service: &str, err: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let causes = error_chain(err);
    let root = causes.last().cloned().unwrap_or_default();
    let mentions = |word: &str| causes.iter().any(|c| c.to_lowercase().contains(word));
    let endpoint = endpoint_in_use(service);
    match err {
        SdkError::DispatchFailure(d) if d.is_other() && mentions("credential") => {
            let what = if mentions("no credentials") || mentions("not loaded") {
                "no AWS credentials found".to_string()
            } else {
                format!("cannot load AWS credentials: {root}")
            };
            format!(
                "{what}\nhint: configure them as for the AWS CLI: a profile (`aws configure`, or \
                 `aws sso login` with AWS_PROFILE set), or AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY in the environment"
            )
        }
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => format!(
            "cannot reach {}: {root}\nhint: {}",
            endpoint.describe(service),
            endpoint.hint()
        ),
        SdkError::TimeoutError(_) => format!(
            "no answer from {} in time: {root}\nhint: {}; {} sets the seconds one attempt may take",
            endpoint.describe(service),
            endpoint.hint(),
            crate::transport::ATTEMPT_TIMEOUT_ENV
        ),
        _ => causes.join(": "),
    }
}

/// The `Display` of an error and of each of its sources, one line each,
/// leaving out a cause that only repeats the one before it.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && out.last().is_none_or(|last| !last.contains(&text)) {
            out.push(text);
        }
        next = e.source();
    }
    out
}

/// Where requests to a service go, as configured by the environment.
enum Endpoint {
    /// `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`.
    Configured { url: String, variable: String },
    /// The service's public endpoint in the region.
    Public,
}

fn endpoint_in_use(service: &str) -> Endpoint {
    let specific = format!(
        "AWS_ENDPOINT_URL_{}",
        service.to_uppercase().replace(['-', ' '], "_")
    );
    for variable in [specific.as_str(), "AWS_ENDPOINT_URL"] {
        if let Ok(url) = std::env::var(variable) {
            if !url.is_empty() {
                return Endpoint::Configured {
                    url,
                    variable: variable.to_string(),
                };
            }
        }
    }
    Endpoint::Public
}

impl Endpoint {
    fn describe(&self, service: &str) -> String {
        match self {
            Endpoint::Configured { url, .. } => format!("the {service} endpoint {url}"),
            Endpoint::Public => match crate::transport::endpoint_of(service) {
                Some(url) => format!("the AWS {service} endpoint {url}"),
                None => format!("the AWS {service} endpoint"),
            },
        }
    }

    fn hint(&self) -> String {
        match self {
            Endpoint::Configured { url, variable } => format!(
                "{variable} sends requests to {url}: is something listening there (LocalStack: \
                 `bash localstack/start.sh`)? Unset it to use AWS itself"
            ),
            Endpoint::Public => "check the network connection, proxy settings (HTTPS_PROXY) \
                                 and the region"
                .to_string(),
        }
    }
}

/// `.ec2("CreateVpc")?` on the result of an EC2 SDK call.
pub(crate) trait Ec2Result<T> {
    fn ec2(self, operation: &str) -> Result<T, ProviderError>;
}

impl<T, E> Ec2Result<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    fn ec2(self, operation: &str) -> Result<T, ProviderError> {
        self.map_err(|e| from_sdk(EC2, operation, e))
    }
}

/// An error found by the provider itself (a malformed argument, an
/// unexpected answer), not reported by AWS.
pub(crate) fn invalid(operation: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Permanent, EC2, operation, message)
}

/// The object vanished in the middle of an operation.
pub(crate) fn gone(operation: &str, id: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::NotFound,
        EC2,
        operation,
        format!("{id} no longer exists"),
    )
}

/// True when the error has this AWS error code.
pub(crate) fn has_code(err: &ProviderError, code: &str) -> bool {
    err.code.as_deref() == Some(code)
}

/// Maps "already gone" to success, for deletes.
pub(crate) fn ignore_not_found(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    match result {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// After the object `id` was created, a later step failed. The engine must not
/// retry the create (that would make a second object), so a retryable error
/// becomes a timeout (internal retries already ran until the deadline), and
/// the message says what was left in place. Tagged objects are found again
/// by the next refresh through their ownership tags; routes, associations
/// and rules are adopted by the next create.
pub(crate) fn after_create(id: &str, mut err: ProviderError) -> ProviderError {
    if err.is_retryable() {
        err.kind = ErrorKind::Timeout;
    }
    err.message = format!(
        "{} (after creating {id}, which is left in place)",
        err.message
    );
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    /// A connection refused, or no credentials, as the SDK reports them.
    fn dispatch_failure(credentials: bool) -> SdkError<DescribeVpcsError, HttpResponse> {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        SdkError::dispatch_failure(if credentials {
            ConnectorError::other(
                "the credential provider was not enabled: no credentials found in chain. \
                 Attempted:\n  Environment: environment variable not set"
                    .into(),
                None,
            )
        } else {
            ConnectorError::io(Box::new(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "Connection refused (os error 111)",
            )))
        })
    }

    #[test]
    fn unreachable_endpoints_and_missing_credentials_are_one_line_and_a_hint() {
        for (credentials, first) in [
            (false, "cannot reach the"),
            (true, "no AWS credentials found"),
        ] {
            let msg = failure_message("ec2", &dispatch_failure(credentials));
            let lines: Vec<&str> = msg.lines().collect();
            assert_eq!(lines.len(), 2, "{msg}");
            assert!(lines[0].starts_with(first), "{msg}");
            assert!(lines[1].starts_with("hint: "), "{msg}");
            for dump in ["DispatchFailure(", "ConnectorError", "SdkBody", "Some("] {
                assert!(!msg.contains(dump), "{msg}");
            }
            let converted = from_sdk(EC2, "DescribeVpcs", dispatch_failure(credentials));
            assert_eq!(converted.message, msg);
        }
        let refused = failure_message("ec2", &dispatch_failure(false));
        assert!(refused.contains("ec2 endpoint"), "{refused}");
        assert!(refused.contains("Connection refused"), "{refused}");
    }

    #[test]
    fn not_found_codes_mean_gone_for_reads_and_deletes() {
        for (op, code) in [
            ("DescribeVpcs", "InvalidVpcID.NotFound"),
            ("DeleteNatGateway", "NatGatewayNotFound"),
            ("DeleteRoute", "InvalidRoute.NotFound"),
            ("DisassociateRouteTable", "InvalidAssociationID.NotFound"),
            ("RevokeSecurityGroupIngress", "InvalidPermission.NotFound"),
            ("ReleaseAddress", "InvalidAllocationID.NotFound"),
            ("DetachInternetGateway", "InvalidInternetGatewayID.NotFound"),
        ] {
            assert_eq!(
                classify(op, Some(code), Failure::Service),
                ErrorKind::NotFound,
                "{op} {code}"
            );
        }
    }

    #[test]
    fn not_found_of_a_referenced_object_while_creating_is_transient() {
        for (op, code) in [
            ("CreateRoute", "InvalidRouteTableID.NotFound"),
            ("AttachInternetGateway", "InvalidVpcID.NotFound"),
            ("ModifyVpcAttribute", "InvalidVpcID.NotFound"),
            ("AuthorizeSecurityGroupIngress", "InvalidGroup.NotFound"),
            ("AssociateRouteTable", "InvalidSubnetID.NotFound"),
            ("CreateTags", "InvalidID.NotFound"),
        ] {
            assert_eq!(
                classify(op, Some(code), Failure::Service),
                ErrorKind::Transient,
                "{op} {code}"
            );
        }
    }

    #[tokio::test]
    async fn within_a_delete_not_found_is_gone_whatever_the_operation() {
        // An SNS topic policy's delete sets the default policy back; the
        // topic already gone is done, not a reference to wait for.
        let in_delete = deleting(async {
            (
                classify(
                    "ModifyVpcAttribute",
                    Some("InvalidVpcID.NotFound"),
                    Failure::Service,
                ),
                crate::iam_util::reclassify("SetTopicAttributes", "NotFound", ""),
            )
        })
        .await;
        assert_eq!(in_delete, (ErrorKind::NotFound, Some(ErrorKind::NotFound)));
        assert_eq!(
            classify(
                "ModifyVpcAttribute",
                Some("InvalidVpcID.NotFound"),
                Failure::Service
            ),
            ErrorKind::Transient,
            "outside a delete, still a reference not visible yet"
        );
    }

    #[test]
    fn a_detach_of_a_gateway_already_detached_is_done_not_retried() {
        assert_eq!(
            classify(
                "DetachInternetGateway",
                Some("Gateway.NotAttached"),
                Failure::Service
            ),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify("CreateRoute", Some("Gateway.NotAttached"), Failure::Service),
            ErrorKind::Transient
        );
    }

    #[test]
    fn throttling_codes_are_throttled() {
        for code in ["RequestLimitExceeded", "Throttling", "ThrottlingException"] {
            assert_eq!(
                classify("DescribeVpcs", Some(code), Failure::Service),
                ErrorKind::Throttled
            );
        }
    }

    #[test]
    fn settling_dependencies_are_transient() {
        for code in [
            "DependencyViolation",
            "IncorrectState",
            "Gateway.NotAttached",
            "InvalidGroup.InUse",
        ] {
            assert_eq!(
                classify("DeleteVpc", Some(code), Failure::Service),
                ErrorKind::Transient
            );
        }
    }

    #[test]
    fn a_lost_answer_to_an_anonymous_create_is_an_unknown_outcome_never_a_retry() {
        for failure in [Failure::Dispatch, Failure::Timeout, Failure::Response] {
            assert_eq!(
                classify("CreateVpc", None, failure),
                ErrorKind::OutcomeUnknown
            );
            assert_eq!(
                classify("DescribeVpcs", None, failure),
                ErrorKind::Unanswered
            );
            assert_eq!(
                classify("CreateSecurityGroup", None, failure),
                ErrorKind::Unanswered
            );
        }
    }

    #[test]
    fn bad_requests_are_permanent() {
        assert_eq!(
            classify("CreateVpc", None, Failure::Construction),
            ErrorKind::Permanent
        );
        assert_eq!(
            classify("CreateVpc", Some("InvalidParameterValue"), Failure::Service),
            ErrorKind::Permanent
        );
        assert_eq!(
            classify("CreateVpc", Some("UnauthorizedOperation"), Failure::Service),
            ErrorKind::Permanent
        );
        assert_eq!(
            classify("CreateVpc", None, Failure::Service),
            ErrorKind::Permanent
        );
    }

    #[test]
    fn sdk_service_errors_keep_code_message_and_request_id() {
        let meta = ErrorMetadata::builder()
            .code("InvalidVpcID.NotFound")
            .message("The vpc ID 'vpc-1' does not exist")
            .custom("aws_request_id", "req-123")
            .build();
        let response = HttpResponse::new(400u16.try_into().unwrap(), SdkBody::empty());
        let err = SdkError::service_error(DescribeVpcsError::generic(meta), response);
        let e = from_sdk(EC2, "DescribeVpcs", err);
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.service, "ec2");
        assert_eq!(e.operation, "DescribeVpcs");
        assert_eq!(e.code.as_deref(), Some("InvalidVpcID.NotFound"));
        assert_eq!(e.message, "The vpc ID 'vpc-1' does not exist");
        assert_eq!(e.request_id.as_deref(), Some("req-123"));
        assert_eq!(
            e.to_string(),
            "ec2 DescribeVpcs: InvalidVpcID.NotFound: The vpc ID 'vpc-1' does not exist (request ID req-123)"
        );
    }

    #[tokio::test]
    async fn ec2_error_documents_are_mapped_with_their_request_id() {
        let ec2 = crate::test_support::canned_ec2(400, crate::test_support::VPC_NOT_FOUND, None);
        let err = ec2
            .describe_vpc_attribute()
            .vpc_id("vpc-1")
            .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport)
            .send()
            .await
            .ec2("DescribeVpcAttribute")
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(err.code.as_deref(), Some("InvalidVpcID.NotFound"));
        assert_eq!(err.message, "The vpc ID 'vpc-1' does not exist");
        assert_eq!(err.request_id.as_deref(), Some("req-canned"));
    }

    #[test]
    fn a_failure_after_create_is_not_retried_by_the_engine() {
        let e = ProviderError::new(ErrorKind::Transient, EC2, "ModifyVpcAttribute", "slow");
        let e = after_create("vpc-1", e);
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.message.contains("after creating vpc-1"), "{}", e.message);
    }
}

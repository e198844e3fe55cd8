//! Dry-run checks of planned creates (`stackd apply --dry-run`): what the
//! resource modules' `check` methods share.
//!
//! A check changes nothing: it only reads (Describe/Get/List/Head) and sends
//! EC2 calls with `DryRun=true`. It skips whatever depends on an argument
//! known only after apply ([`Value::Unknown`]) rather than guess. What it
//! finds is collected in [`Findings`]: referenced objects that do not exist
//! (`not_found`), names that must be unique and are taken outside the stack
//! (`name_taken`), calls the credentials may not make (`permission_denied`)
//! and calls EC2 would refuse (`rejected`).

use std::collections::BTreeMap;

use stackd_engine::provider::{
    CheckRequest, CheckedChange, ErrorKind, Finding, ProviderError, ADDRESS_TAG,
};
use stackd_spec::Value;

use crate::args::{opt_str, str_list};
use crate::error::is_not_found_code;

/// The code EC2 answers a dry run with when the call would have succeeded.
const DRY_RUN_OK: &str = "DryRunOperation";

/// Codes meaning the credentials may not make the call.
const DENIED_CODES: &[&str] = &[
    "UnauthorizedOperation",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedAccess",
];

// ---------------------------------------------------------------------------
// Arguments

/// The planned arguments of a create (or of the create half of a replace);
/// `None` for updates and deletes, which are not checked.
pub(crate) fn creating(req: &CheckRequest) -> Option<&Value> {
    match req.change {
        CheckedChange::Create => req.desired.as_ref(),
        CheckedChange::Update | CheckedChange::Delete => None,
    }
}

/// True when the argument is known now: set to a wholly known value, null,
/// or absent. False when it (or anything inside it) is known only after
/// apply.
pub(crate) fn is_known(d: &Value, key: &str) -> bool {
    d.get(key).is_none_or(Value::is_wholly_known)
}

/// True when every one of the arguments is known now.
pub(crate) fn all_known(d: &Value, keys: &[&str]) -> bool {
    keys.iter().all(|k| is_known(d, k))
}

/// A known, non-empty string argument; `None` when it is absent, null,
/// empty or known only after apply.
pub(crate) fn known_str<'a>(d: &'a Value, key: &str) -> Option<&'a str> {
    opt_str(d, key)
}

/// A list or set of strings, when wholly known (empty when unset); `None`
/// when it, or one of its items, is known only after apply.
pub(crate) fn known_list(d: &Value, key: &str) -> Option<Vec<String>> {
    is_known(d, key).then(|| str_list(d, key))
}

/// The `ClientToken` a dry-run call sends where the create sends one: any
/// token will do, since nothing is made, but one per address keeps it
/// deterministic.
pub(crate) fn dry_run_token(req: &CheckRequest) -> String {
    crate::args::client_token(&format!("dry-run:{}:{}", req.owner.id, req.address))
}

// ---------------------------------------------------------------------------
// Ownership of an existing name

/// Whose an existing object with the name a create wants is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NameOwner {
    /// Made for this address of this stack: the create adopts it (a create
    /// retried after a crash, or a replacement's old object).
    ThisResource,
    /// Another resource of this stack, named by its address tag.
    OtherResource(String),
    /// Not this stack's.
    Foreign,
}

/// EC2 tags as a map.
pub(crate) fn ec2_tag_map(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// Decides whose an existing object is from its tags.
pub(crate) fn owner(tags: &BTreeMap<String, String>, req: &CheckRequest) -> NameOwner {
    if !req.owner.owns(|k| tags.get(k).map(String::as_str)) {
        return NameOwner::Foreign;
    }
    match tags.get(ADDRESS_TAG) {
        Some(a) if *a == req.address.to_tag_value() => NameOwner::ThisResource,
        Some(a) => NameOwner::OtherResource(a.clone()),
        None => NameOwner::OtherResource("an unnamed resource".into()),
    }
}

// ---------------------------------------------------------------------------
// Findings

/// The findings of one resource's check, without the same missing object
/// reported twice (once by a look-up, once by a dry run).
#[derive(Debug, Default)]
pub(crate) struct Findings {
    items: Vec<Finding>,
    /// IDs and names already reported missing.
    missing: Vec<String>,
}

impl Findings {
    pub fn new() -> Findings {
        Findings::default()
    }

    /// Adds a finding.
    pub fn push(&mut self, finding: Finding) {
        if !self.items.contains(&finding) {
            self.items.push(finding);
        }
    }

    /// Reports a referenced object that does not exist (once per ID).
    pub fn missing(&mut self, operation: &str, what: &str, id: &str, detail: &str) {
        if self.missing.iter().any(|m| m == id) {
            return;
        }
        self.missing.push(id.to_string());
        self.push(Finding::error(
            "not_found",
            operation,
            format!("{what} {id} does not exist{detail}"),
        ));
    }

    /// Reports an object that already has the unique `name` a create wants,
    /// unless it is this resource's own (which the create adopts).
    pub fn name_in_use(
        &mut self,
        req: &CheckRequest,
        operation: &str,
        what: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) {
        match owner(tags, req) {
            NameOwner::ThisResource => {}
            // Not someone else's, but the create adopts only an object made
            // for its own address: this one is in the way unless the other
            // resource is destroyed first.
            NameOwner::OtherResource(other) => self.push(Finding::warning(
                "name_taken",
                operation,
                format!(
                    "{what} {name:?} already exists and belongs to {other} of this stack, \
                     not to {}; the create fails unless that resource is destroyed first",
                    req.address
                ),
            )),
            NameOwner::Foreign => self.push(Finding::error(
                "name_taken",
                operation,
                format!("{what} {name:?} already exists and is not this stack's"),
            )),
        }
    }

    /// The answer of a read a check makes: `None`, with a
    /// `permission_denied` finding, when the credentials may not make it
    /// (the apply would need that read as well). Other errors stop the
    /// check.
    pub fn read<T>(
        &mut self,
        action: &str,
        result: Result<T, ProviderError>,
    ) -> Result<Option<T>, ProviderError> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) if is_denied(&e) => {
                self.push(denied(action, &e));
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Records the answer of an EC2 call sent with `DryRun=true`
    /// ([`classify_dry_run`]; `made` names what a call that ignored the flag
    /// made, from its answer). A `not_found` answer about an object a
    /// look-up already reported missing is not repeated.
    pub fn dry_run<T>(
        &mut self,
        action: &str,
        result: Result<T, ProviderError>,
        made: impl FnOnce(&T) -> Option<String>,
    ) -> Result<(), ProviderError> {
        let Some(finding) = classify_dry_run(action, result, made)? else {
            return Ok(());
        };
        let repeated = finding.check == "not_found"
            && self.missing.iter().any(|id| finding.message.contains(id));
        if !repeated {
            self.push(finding);
        }
        Ok(())
    }

    pub fn into_vec(self) -> Vec<Finding> {
        self.items
    }
}

fn is_denied(e: &ProviderError) -> bool {
    e.code.as_deref().is_some_and(|c| DENIED_CODES.contains(&c))
}

fn denied(action: &str, e: &ProviderError) -> Finding {
    Finding::error(
        "permission_denied",
        action,
        format!("these credentials may not call {action}: {}", e.message),
    )
}

/// What the answer to an EC2 call sent with `DryRun=true` means:
/// `DryRunOperation` is "would succeed" (no finding); `UnauthorizedOperation`
/// a `permission_denied` error; a "not found" code a `not_found` error; any
/// other error code a `rejected` error with the code and message. Throttling,
/// transient service errors and transport failures are returned as errors
/// (the check can be retried). A call that succeeded was not a dry run at
/// all: a warning says so, naming what `made` finds in the answer.
pub(crate) fn classify_dry_run<T>(
    action: &str,
    result: Result<T, ProviderError>,
    made: impl FnOnce(&T) -> Option<String>,
) -> Result<Option<Finding>, ProviderError> {
    let e = match result {
        Ok(out) => {
            let what = made(&out)
                .map(|id| format!(" and made {id}; delete it"))
                .unwrap_or_default();
            // Something was changed by a run that promised to change
            // nothing: that fails the dry run, loudly.
            return Ok(Some(Finding::error(
                "dry_run_ignored",
                action,
                format!("the service carried out {action} although DryRun=true was set{what}"),
            )));
        }
        Err(e) => e,
    };
    let Some(code) = e.code.as_deref() else {
        return match e.kind {
            ErrorKind::Permanent => Ok(Some(rejected(action, &e))),
            _ => Err(e),
        };
    };
    if code == DRY_RUN_OK {
        Ok(None)
    } else if is_denied(&e) {
        Ok(Some(denied(action, &e)))
    } else if is_not_found_code(code) || code.starts_with("InvalidAMIID") {
        Ok(Some(Finding::error(
            "not_found",
            action,
            format!("{code}: {}", e.message),
        )))
    } else if matches!(
        e.kind,
        ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::Timeout | ErrorKind::Unanswered
    ) {
        Err(e)
    } else {
        Ok(Some(rejected(action, &e)))
    }
}

fn rejected(action: &str, e: &ProviderError) -> Finding {
    let code = e
        .code
        .as_deref()
        .map(|c| format!("{c}: "))
        .unwrap_or_default();
    Finding::error(
        "rejected",
        action,
        format!("{action} would fail: {code}{}", e.message),
    )
}

// ---------------------------------------------------------------------------
// Test support

/// Service clients answering from a function, for checks tested without a
/// network: each request is described as `"<METHOD> <URI> <body>"` and
/// recorded, and the function gives the status and body of the answer.
#[cfg(test)]
pub(crate) mod fake {
    use std::sync::{Arc, Mutex};

    use crate::context::Aws;

    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_types::body::SdkBody;

    pub(crate) type Respond = fn(&str) -> (u16, String);

    #[derive(Clone, Debug)]
    struct Routed {
        respond: Respond,
        requests: Arc<Mutex<Vec<String>>>,
    }

    impl HttpConnector for Routed {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let body = request
                .body()
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let described = format!("{} {} {body}", request.method(), request.uri());
            self.requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(described.clone());
            let (status, answer) = (self.respond)(&described);
            let mut response = HttpResponse::new(
                status.try_into().expect("valid status"),
                SdkBody::from(answer),
            );
            response
                .headers_mut()
                .insert("x-amzn-requestid", "req-fake");
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    /// Clients whose every call is answered by `respond`, and the requests
    /// they sent.
    pub(crate) fn aws(respond: Respond) -> (Aws, Arc<Mutex<Vec<String>>>) {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connector = Routed {
            respond,
            requests: requests.clone(),
        };
        let client = http_client_fn(move |_, _| SharedHttpConnector::new(connector.clone()));
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                aws_sdk_ec2::config::Credentials::for_tests(),
            ))
            .http_client(client)
            .build();
        (Aws::new(&config, "us-east-1".into()), requests)
    }

    /// EC2's error document.
    pub(crate) fn ec2_error(code: &str, message: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
             <Message>{message}</Message></Error></Errors><RequestID>req-fake</RequestID></Response>"
        )
    }

    /// The requests sent so far.
    pub(crate) fn sent(requests: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
        requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::provider::Severity;
    use stackd_engine::provider::STACK_ID_TAG;
    use stackd_spec::Address;

    fn err(kind: ErrorKind, code: Option<&str>, message: &str) -> ProviderError {
        let e = ProviderError::new(kind, "ec2", "CreateVpc", message);
        match code {
            Some(c) => e.with_code(c),
            None => e,
        }
    }

    fn classify(e: ProviderError) -> Result<Option<Finding>, ProviderError> {
        classify_dry_run::<()>("ec2:CreateVpc", Err(e), |_| None)
    }

    fn request(desired: Value) -> CheckRequest {
        CheckRequest {
            address: "aws_s3_bucket.assets".parse::<Address>().unwrap(),
            type_name: "aws_s3_bucket".into(),
            owner: stackd_engine::provider::Owner::new("prod", "prod"),
            change: CheckedChange::Create,
            desired: Some(desired),
            prior: None,
            id: None,
            planned: Default::default(),
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_dry_run_that_would_succeed_finds_nothing() {
        let e = err(
            ErrorKind::Permanent,
            Some("DryRunOperation"),
            "Request would have succeeded, but DryRun flag is set.",
        );
        assert_eq!(classify(e).unwrap(), None);
    }

    #[test]
    fn an_unauthorized_dry_run_is_a_permission_error() {
        let e = err(
            ErrorKind::Permanent,
            Some("UnauthorizedOperation"),
            "You are not authorized to perform this operation.",
        );
        let f = classify(e).unwrap().unwrap();
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.check, "permission_denied");
        assert_eq!(f.operation, "ec2:CreateVpc");
        assert!(f.message.contains("not authorized"), "{}", f.message);
    }

    #[test]
    fn other_dry_run_errors_are_rejections_or_missing_objects() {
        let f = classify(err(
            ErrorKind::Permanent,
            Some("InvalidParameterValue"),
            "bad CIDR",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(f.check, "rejected");
        assert!(
            f.message.contains("InvalidParameterValue: bad CIDR"),
            "{}",
            f.message
        );
        // EC2 classifies a missing referenced object as transient for a
        // create (eventual consistency); in a dry run it is a finding.
        let f = classify(err(
            ErrorKind::Transient,
            Some("InvalidVpcID.NotFound"),
            "The vpc ID 'vpc-1' does not exist",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(f.check, "not_found");
        let f = classify(err(
            ErrorKind::Permanent,
            Some("InvalidAMIID.Malformed"),
            "Invalid id: \"ami-x\"",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(f.check, "not_found");
    }

    #[test]
    fn throttling_and_transport_failures_are_errors_not_findings() {
        for e in [
            err(
                ErrorKind::Throttled,
                Some("RequestLimitExceeded"),
                "slow down",
            ),
            err(ErrorKind::Transient, Some("InternalError"), "oops"),
            err(ErrorKind::Transient, None, "connection reset"),
        ] {
            assert!(classify(e).is_err());
        }
    }

    #[test]
    fn a_call_that_ignored_dry_run_is_an_error_naming_what_it_made() {
        let f = classify_dry_run("ec2:CreateVpc", Ok("vpc-9"), |id| Some(id.to_string()))
            .unwrap()
            .unwrap();
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.check, "dry_run_ignored");
        assert!(f.message.contains("made vpc-9"), "{}", f.message);
    }

    #[test]
    fn a_missing_object_is_reported_once() {
        let mut f = Findings::new();
        f.missing("ec2:DescribeImages", "AMI", "ami-1", "");
        f.missing("ec2:DescribeImages", "AMI", "ami-1", "");
        f.dry_run::<()>(
            "ec2:RunInstances",
            Err(err(
                ErrorKind::Permanent,
                Some("InvalidAMIID.NotFound"),
                "The image id '[ami-1]' does not exist",
            )),
            |_| None,
        )
        .unwrap();
        // A different missing object from the dry run is still reported.
        f.dry_run::<()>(
            "ec2:RunInstances",
            Err(err(
                ErrorKind::Transient,
                Some("InvalidKeyPair.NotFound"),
                "The key pair 'ops' does not exist",
            )),
            |_| None,
        )
        .unwrap();
        let all = f.into_vec();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[0].message, "AMI ami-1 does not exist");
        assert!(all[1].message.contains("'ops'"));
    }

    #[test]
    fn denied_reads_become_findings_and_other_errors_stop_the_check() {
        let mut f = Findings::new();
        let r: Result<(), _> = Err(err(ErrorKind::Permanent, Some("AccessDenied"), "no"));
        assert_eq!(f.read("iam:GetRole", r).unwrap(), None);
        let r: Result<(), _> = Err(err(ErrorKind::Throttled, Some("Throttling"), "slow"));
        assert!(f.read("iam:GetRole", r).is_err());
        assert_eq!(f.read("iam:GetRole", Ok(3)).unwrap(), Some(3));
        let all = f.into_vec();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].check, "permission_denied");
        assert_eq!(all[0].operation, "iam:GetRole");
    }

    #[test]
    fn an_existing_name_is_taken_unless_made_for_this_address() {
        let req = request(Value::Null);
        assert_eq!(owner(&tags(&[]), &req), NameOwner::Foreign);
        assert_eq!(
            owner(&tags(&[(STACK_ID_TAG, "dev")]), &req),
            NameOwner::Foreign
        );
        assert_eq!(
            owner(
                &tags(&[
                    (STACK_ID_TAG, "prod"),
                    (ADDRESS_TAG, "aws_s3_bucket.assets")
                ]),
                &req
            ),
            NameOwner::ThisResource
        );
        assert_eq!(
            owner(
                &tags(&[(STACK_ID_TAG, "prod"), (ADDRESS_TAG, "aws_s3_bucket.logs")]),
                &req
            ),
            NameOwner::OtherResource("aws_s3_bucket.logs".into())
        );

        let mut f = Findings::new();
        f.name_in_use(&req, "s3:HeadBucket", "bucket", "x", &tags(&[]));
        f.name_in_use(
            &req,
            "s3:HeadBucket",
            "bucket",
            "x",
            &tags(&[
                (STACK_ID_TAG, "prod"),
                (ADDRESS_TAG, "aws_s3_bucket.assets"),
            ]),
        );
        f.name_in_use(
            &req,
            "s3:HeadBucket",
            "bucket",
            "x",
            &tags(&[(STACK_ID_TAG, "prod"), (ADDRESS_TAG, "aws_s3_bucket.logs")]),
        );
        let all = f.into_vec();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(
            all[0],
            Finding::error(
                "name_taken",
                "s3:HeadBucket",
                "bucket \"x\" already exists and is not this stack's"
            )
        );
        assert_eq!(all[1].severity, Severity::Warning);
        assert!(all[1].message.contains("aws_s3_bucket.logs"));
    }

    #[test]
    fn unknown_arguments_are_not_known() {
        let d = Value::map([
            ("a", Value::from("x")),
            ("e", Value::from("")),
            ("n", Value::Null),
            ("u", Value::Unknown),
            ("l", Value::from(vec!["s-1", "s-2"])),
            ("lu", Value::List(vec![Value::from("s-1"), Value::Unknown])),
        ]);
        assert_eq!(known_str(&d, "a"), Some("x"));
        assert_eq!(known_str(&d, "e"), None);
        assert_eq!(known_str(&d, "n"), None);
        assert_eq!(known_str(&d, "u"), None);
        assert!(is_known(&d, "n") && is_known(&d, "missing"));
        assert!(!is_known(&d, "u") && !is_known(&d, "lu"));
        assert!(all_known(&d, &["a", "n", "l"]));
        assert!(!all_known(&d, &["a", "u"]));
        assert_eq!(
            known_list(&d, "l"),
            Some(vec!["s-1".to_string(), "s-2".to_string()])
        );
        assert_eq!(known_list(&d, "n"), Some(vec![]));
        assert_eq!(known_list(&d, "lu"), None);
    }

    #[test]
    fn only_creates_are_checked() {
        let mut req = request(Value::Null);
        assert!(creating(&req).is_some());
        req.change = CheckedChange::Update;
        assert!(creating(&req).is_none());
    }
}

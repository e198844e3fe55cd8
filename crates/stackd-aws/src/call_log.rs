//! The call log: an SDK interceptor that records every AWS operation issued.
//!
//! When the environment variable [`CALL_LOG_ENV`] names a file, each call
//! attempt (retries included) appends one JSON line
//! `{"service":"ec2","operation":"DescribeVpcs"}`; an EC2 call sent with
//! `DryRun=true` (which changes nothing) carries `"dry_run":true` as well.
//! Tests count calls with it, and the service names are IAM action
//! prefixes, so the log can be checked against a least-privilege policy.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Names the file the call log is appended to; unset means no log.
pub const CALL_LOG_ENV: &str = "STACKD_AWS_CALL_LOG";

/// Appends a line per call attempt to the call log file.
#[derive(Clone, Debug)]
pub struct CallLog {
    path: PathBuf,
    /// The IAM action prefix of the client's service (`ec2`), which is not
    /// always the SDK's service name (`EC2`, `ElasticLoadBalancingv2`).
    service: &'static str,
    /// Serialises writes from the clients' concurrent tasks.
    lock: Arc<Mutex<()>>,
}

impl CallLog {
    /// A log for one service's client, when [`CALL_LOG_ENV`] is set.
    pub fn from_env(service: &'static str) -> Option<CallLog> {
        let path = std::env::var_os(CALL_LOG_ENV).filter(|p| !p.is_empty())?;
        Some(CallLog::to_file(path.into(), service))
    }

    /// A log appending to `path`.
    pub fn to_file(path: PathBuf, service: &'static str) -> CallLog {
        CallLog {
            path,
            service,
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// Appends one call. A log that cannot be written is reported, never
    /// allowed to fail the AWS call it describes.
    pub fn record(&self, operation: &str, dry_run: bool) {
        let line = log_line(self.service, operation, dry_run);
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(err) = append(&self.path, &line) {
            tracing::warn!(path = %self.path.display(), %err, "cannot write the AWS call log");
        }
    }
}

/// One JSON line naming a call.
fn log_line(service: &str, operation: &str, dry_run: bool) -> String {
    let mut entry = serde_json::json!({ "service": service, "operation": operation });
    if dry_run {
        entry["dry_run"] = serde_json::Value::Bool(true);
    }
    let mut line = entry.to_string();
    line.push('\n');
    line
}

/// Appends in one write so lines from several processes do not interleave.
fn append(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(line.as_bytes())
}

/// True when a query-protocol (EC2) request body asks for a dry run.
fn is_dry_run(body: Option<&[u8]>) -> bool {
    body.is_some_and(|b| b.split(|&c| c == b'&').any(|pair| pair == b"DryRun=true"))
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "StackdCallLog"
    }

    fn read_before_attempt(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "Unknown".to_string());
        self.record(&operation, is_dry_run(context.request().body().bytes()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "stackd-call-log-{}-{name}.jsonl",
            std::process::id()
        ))
    }

    #[test]
    fn each_record_appends_one_json_line() {
        let path = temp_path("append");
        let _ = std::fs::remove_file(&path);
        let log = CallLog::to_file(path.clone(), "ec2");
        log.record("DescribeVpcs", false);
        log.record("CreateVpc", false);
        log.record("CreateVpc", true);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                serde_json::json!({"service": "ec2", "operation": "DescribeVpcs"}),
                serde_json::json!({"service": "ec2", "operation": "CreateVpc"}),
                serde_json::json!({"service": "ec2", "operation": "CreateVpc", "dry_run": true}),
            ]
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn an_unwritable_log_does_not_panic() {
        let log = CallLog::to_file(PathBuf::from("/nonexistent-dir/x/calls.jsonl"), "ec2");
        log.record("DescribeVpcs", false);
    }

    #[tokio::test]
    async fn an_sdk_client_logs_each_call() {
        let path = temp_path("sdk");
        let _ = std::fs::remove_file(&path);
        let log = CallLog::to_file(path.clone(), "ec2");
        let ec2 = crate::test_support::canned_ec2(200, crate::test_support::NO_VPCS, Some(log));
        let out = ec2.describe_vpcs().send().await.unwrap();
        assert!(out.vpcs().is_empty());
        ec2.describe_vpcs().send().await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"service\":\"ec2\",\"operation\":\"DescribeVpcs\"}\n".repeat(2)
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn log_line_keeps_service_before_operation() {
        assert_eq!(
            log_line("ec2", "DescribeVpcs", false),
            "{\"service\":\"ec2\",\"operation\":\"DescribeVpcs\"}\n"
        );
    }

    #[test]
    fn only_a_dry_run_parameter_marks_a_dry_run() {
        assert!(is_dry_run(Some(
            b"Action=CreateVpc&DryRun=true&Version=2016-11-15"
        )));
        assert!(is_dry_run(Some(b"DryRun=true")));
        assert!(!is_dry_run(Some(b"Action=CreateVpc&DryRun=false")));
        assert!(!is_dry_run(Some(
            b"Action=CreateVpc&TagSpecification.1.Tag.1.Value=DryRun=true"
        )));
        assert!(!is_dry_run(None));
    }
}

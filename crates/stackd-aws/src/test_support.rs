//! Test helpers: an EC2 client that answers every request with one canned
//! HTTP response, so SDK plumbing (interceptors, error parsing) is tested
//! without a network.

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_types::body::SdkBody;

use crate::call_log::CallLog;

#[derive(Debug)]
struct Canned {
    status: u16,
    body: &'static str,
}

impl HttpConnector for Canned {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let status = self.status.try_into().expect("valid status");
        let mut response = HttpResponse::new(status, SdkBody::from(self.body));
        // EC2 sends the request ID as a header, which is where the SDK reads it.
        response
            .headers_mut()
            .insert("x-amzn-requestid", "req-canned");
        HttpConnectorFuture::ready(Ok(response))
    }
}

/// An EC2 client whose every call gets `status` and `body`.
pub(crate) fn canned_ec2(
    status: u16,
    body: &'static str,
    log: Option<CallLog>,
) -> aws_sdk_ec2::Client {
    let client = http_client_fn(move |_, _| SharedHttpConnector::new(Canned { status, body }));
    let mut config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::for_tests())
        .http_client(client);
    if let Some(log) = log {
        config = config.interceptor(log);
    }
    aws_sdk_ec2::Client::from_conf(config.build())
}

/// An empty, successful `DescribeVpcs` answer.
pub(crate) const NO_VPCS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>req-ok</requestId>
  <vpcSet/>
</DescribeVpcsResponse>"#;

/// EC2's error document for a missing VPC.
pub(crate) const VPC_NOT_FOUND: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID 'vpc-1' does not exist</Message></Error></Errors><RequestID>req-canned</RequestID></Response>"#;

//! The random provider's types and terraform_data, as real trees use them:
//! a random suffix in a bucket name, a generated password in a
//! SecureString parameter. Values are made once, kept in state, and do not
//! change on the next plan; the cloud is checked with the SDK.

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn random_values_are_made_once_and_used_by_aws_resources() {
    require_localstack();
    let stack = unique_stack("random");
    let name = stack.to_lowercase();
    let spec = copy_spec(&root().join("tests/fixtures/random-suffix"));
    std::fs::write(
        spec.path().join("terraform.tfvars"),
        format!("name = \"{name}\"\n"),
    )
    .expect("tfvars");
    let dir = spec.path().to_str().expect("utf-8");

    let plan = stdout(&run_ok(&["diff", dir, "--stack", &stack], 0));
    assert!(
        plan.contains("random_password.db will be created"),
        "{plan}"
    );
    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);

    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(spec.path().join("stackd.state.json")).expect("state"),
    )
    .expect("state JSON");
    let attrs = |address: &str| -> serde_json::Value {
        state["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} in {state}"))["attributes"]
            .clone()
    };
    let hex = attrs("random_id.suffix")["hex"]
        .as_str()
        .expect("hex")
        .to_string();
    assert_eq!(hex.len(), 8, "4 bytes: {hex}");
    let password = attrs("random_password.db")["result"]
        .as_str()
        .expect("result")
        .to_string();
    assert_eq!(password.chars().count(), 20);
    assert!(
        password
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_%@".contains(c)),
        "{password}"
    );

    // The cloud, through the SDK.
    let s3 = s3().await;
    let bucket = format!("{name}-{hex}");
    s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the bucket is named with the random suffix");
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let got = ssm
        .get_parameter()
        .name(format!("/{name}/db/password"))
        .with_decryption(true)
        .send()
        .await
        .expect("GetParameter");
    assert_eq!(
        got.parameter().and_then(|p| p.value()),
        Some(password.as_str())
    );

    // Nothing changes on the next plan, and the password is never printed.
    let again = run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);
    assert!(!stdout(&again).contains(&password));
    let output = stdout(&run_ok(
        &["output", dir, "--stack", &stack, "--name", "release"],
        0,
    ));
    assert_eq!(output.trim(), "v1");

    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert!(s3.head_bucket().bucket(&bucket).send().await.is_err());
}

//! The local provider's types as real trees use them. With AWS: a random
//! suffix in a bucket name, a generated password in a SecureString
//! parameter, a tls_private_key imported as an aws_key_pair (values made
//! once, kept in state, unchanged on the next plan; the cloud checked with
//! the SDK). Then, with no AWS at all: a tls_private_key written to
//! files by local_file, a template_file and a time_static, applied, planned
//! again with no change, repaired after a file is edited, and destroyed.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;

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

    // The key pair EC2 imported is the one tls_private_key made.
    let pairs = ec2()
        .await
        .describe_key_pairs()
        .key_names(format!("{name}-bastion"))
        .send()
        .await
        .expect("DescribeKeyPairs");
    assert_eq!(pairs.key_pairs().len(), 1, "{pairs:?}");
    let private_pem = attrs("tls_private_key.bastion")["private_key_pem"]
        .as_str()
        .expect("private key")
        .to_string();
    assert!(private_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));

    // Nothing changes on the next plan, and no secret is ever printed.
    let again = run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);
    assert!(!stdout(&again).contains(&password));
    assert!(!stdout(&again).contains("PRIVATE KEY"));

    let output = stdout(&run_ok(
        &["output", dir, "--stack", &stack, "--name", "release"],
        0,
    ));
    assert_eq!(output.trim(), "v1");

    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert!(s3.head_bucket().bucket(&bucket).send().await.is_err());
}

/// Runs the binary with an AWS endpoint nothing answers: a spec of local
/// types makes no AWS call but the caller identity an apply asks for the
/// lock's record, which fails with a warning (after 2 s, not the default
/// half minute of retries).
fn local_only(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackd"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("STACKD_AWS_ATTEMPT_TIMEOUT", "0.5")
        .env_remove("AWS_PROFILE");
    output_of(cmd, &format!("stackd {}", args.join(" ")))
}

fn exit_code(o: &Output) -> Option<i32> {
    o.status.code()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn local_types_apply_plan_clean_repair_and_destroy_without_aws() {
    let spec = copy_spec(&root().join("tests/fixtures/local-only"));
    let dir = spec.path().to_str().expect("utf-8");
    let stack = unique_stack("local");
    let out = spec.path().join("out");

    // The IAM policy of a spec without AWS resources needs nothing of them.
    let policy = local_only(&["policy", dir, "--stack", &stack]);
    assert_eq!(exit_code(&policy), Some(0), "policy");
    assert!(!stdout(&policy).contains("ec2:"), "{}", stdout(&policy));

    let apply = local_only(&["apply", dir, "--stack", &stack, "--auto-approve"]);
    assert_eq!(exit_code(&apply), Some(0), "apply");

    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(spec.path().join("stackd.state.json")).expect("state"),
    )
    .expect("state JSON");
    let attr = |address: &str, name: &str| -> String {
        state["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} in {state}"))["attributes"][name]
            .as_str()
            .unwrap_or_else(|| panic!("{address}.{name}"))
            .to_string()
    };
    let public = attr("tls_private_key.bastion", "public_key_openssh");
    assert!(
        public.starts_with("ssh-ed25519 ") && public.ends_with(" bastion\n"),
        "{public}"
    );
    assert_eq!(read(&out.join("authorized_keys")), public);
    let fingerprint = attr("tls_private_key.bastion", "public_key_fingerprint_sha256");
    let year = &attr("time_static.created", "rfc3339")[..4];
    // A relative filename is written under the spec directory.
    assert_eq!(
        read(&out.join("motd")),
        format!("Bastion key {fingerprint}, since {year}.\nport 22\nport 2222\n")
    );
    assert!(attr("tls_private_key.tls", "public_key_openssh").starts_with("ecdsa-sha2-nistp256 "));
    let private = read(&out.join("id_ed25519"));
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |f: &str| {
            std::fs::metadata(out.join(f))
                .expect("file")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("authorized_keys") & 0o077, 0, "0600");
        assert_eq!(mode("id_ed25519") & 0o077, 0, "local_sensitive_file's 0700");
    }
    // OpenSSH reads the private key it was given and finds the same public
    // key (where ssh-keygen is installed).
    if let Ok(derived) = Command::new("ssh-keygen")
        .args(["-y", "-f"])
        .arg(out.join("id_ed25519"))
        .output()
    {
        assert!(derived.status.success(), "{derived:?}");
        let derived = String::from_utf8_lossy(&derived.stdout);
        assert_eq!(
            derived.split_whitespace().take(2).collect::<Vec<_>>(),
            public.split_whitespace().take(2).collect::<Vec<_>>()
        );
    }

    // Nothing changes on the next plan, and no secret is printed.
    let again = local_only(&["diff", dir, "--stack", &stack, "--detailed-exitcode"]);
    assert_eq!(exit_code(&again), Some(0), "no changes");
    let shown = stdout(&again);
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");

    // A file edited by hand is written again.
    std::fs::write(out.join("motd"), "edited").expect("edit");
    let drift = local_only(&["diff", dir, "--stack", &stack, "--detailed-exitcode"]);
    assert_eq!(exit_code(&drift), Some(2), "the edited file is planned");
    assert!(
        stdout(&drift).contains("local_file.motd"),
        "{}",
        stdout(&drift)
    );
    let repair = local_only(&["apply", dir, "--stack", &stack, "--auto-approve"]);
    assert_eq!(exit_code(&repair), Some(0));
    assert!(read(&out.join("motd")).starts_with("Bastion key SHA256:"));
    // The key was not made again.
    assert_eq!(read(&out.join("authorized_keys")), public);

    let destroy = local_only(&["destroy", dir, "--stack", &stack, "--auto-approve"]);
    assert_eq!(exit_code(&destroy), Some(0), "destroy");
    for f in ["authorized_keys", "motd", "id_ed25519"] {
        assert!(!out.join(f).exists(), "{f} removed");
    }
}

#[test]
fn a_key_algorithm_the_provider_does_not_have_is_refused_by_validate() {
    let spec = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        spec.path().join("main.tf"),
        "resource \"tls_private_key\" \"k\" {\n  algorithm = \"DSA\"\n}\n",
    )
    .expect("spec");
    let dir = spec.path().to_str().expect("utf-8");
    let o = local_only(&["validate", dir]);
    assert_ne!(exit_code(&o), Some(0));
    let all = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(all.contains("main.tf:2"), "{all}");
    assert!(all.contains("RSA") && all.contains("ED25519"), "{all}");
}

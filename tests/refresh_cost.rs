//! A no-op diff of a 50-resource stack makes at most one Describe/List
//! chain per resource type (counted by stackd's SDK call log), and no
//! mutating call at all.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn no_op_diff_reads_once_per_type() {
    require_localstack();
    let spec = copy_spec(&root().join("tests/fixtures/fifty"));
    let dir = spec.path().to_str().expect("utf-8").to_string();
    let stack = unique_stack("fifty");
    run_ok(&["apply", &dir, "--stack", &stack, "--auto-approve"], 0);
    let state = run_ok(&["state", "list", &dir], 0);
    let resources = stdout(&state).lines().count();
    assert_eq!(resources, 50);

    let calls = no_op_diff_calls(&dir, &stack, &[]);
    let log = spec.path().join("calls.jsonl");
    let total: usize = calls.values().sum();
    println!("no-op diff of {resources} resources over 8 types: {total} AWS calls");
    for (op, n) in &calls {
        println!("  {n:>3}  {op}");
    }
    let types = 8;
    let reads: usize = calls
        .iter()
        .filter(|(op, _)| !op.ends_with("DescribeVpcAttribute"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        reads <= types,
        "{reads} Describe/List calls for {types} resource types: {calls:?}"
    );
    // EC2 has no batch form of DescribeVpcAttribute: two per VPC, one VPC here.
    assert!(calls.get("ec2:DescribeVpcAttribute").copied().unwrap_or(0) <= 2);
    let mutating: Vec<_> = calls
        .keys()
        .filter(|op| !op.contains(":Describe") && !op.contains(":List") && !op.contains(":Get"))
        .collect();
    assert!(
        mutating.is_empty(),
        "a diff must not change anything: {mutating:?}"
    );

    // `--refresh=false` reads no managed object: state's record is taken as
    // it is, so a spec change still shows and drift does not.
    let _ = std::fs::remove_file(&log);
    let out = stackd(&[
        "diff",
        &dir,
        "--stack",
        &stack,
        "--detailed-exitcode",
        "--refresh=false",
    ])
    .env("STACKD_AWS_CALL_LOG", &log)
    .output()
    .expect("run stackd");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let reads: Vec<String> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            format!("{}:{}", v["service"], v["operation"])
        })
        .filter(|op| !op.contains("GetCallerIdentity"))
        .collect();
    assert!(
        reads.is_empty(),
        "--refresh=false read the cloud: {reads:?}"
    );
    let ec2 = ec2().await;
    let vpc_id = tagged_resources(&ec2, &stack)
        .await
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .find(|id| id.starts_with("vpc-"))
        .expect("the stack's VPC");
    ec2.create_tags()
        .resources(&vpc_id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Drift")
                .value("yes")
                .build(),
        )
        .send()
        .await
        .expect("CreateTags");
    let unseen = run_ok(
        &[
            "diff",
            &dir,
            "--stack",
            &stack,
            "--detailed-exitcode",
            "--refresh=false",
        ],
        0,
    );
    assert!(!stdout(&unseen).contains("Drift"), "{}", stdout(&unseen));
    let seen = run_ok(&["diff", &dir, "--stack", &stack, "--detailed-exitcode"], 2);
    assert!(stdout(&seen).contains("Drift"), "{}", stdout(&seen));

    run_ok(&["destroy", &dir, "--stack", &stack, "--auto-approve"], 0);
}

/// Past 20 known roles, roles, their inline policies and their attachments
/// are read from the whole account in a few chains (ListRoles,
/// GetAccountAuthorizationDetails), not a call per role; changes made
/// behind stackd's back still show.
#[tokio::test(flavor = "multi_thread")]
async fn many_roles_are_read_from_the_account_at_once() {
    require_localstack();
    let dir = tempfile::tempdir().expect("temp dir");
    let stack = unique_stack("roles");
    let tag = &stack[stack.len() - 8..];
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            r#"
resource "aws_iam_role" "r" {{
  count       = 21
  name        = "many-{tag}-${{count.index}}"
  description = "role ${{count.index}}"
  assume_role_policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = "sts:AssumeRole", Principal = {{ Service = "ecs-tasks.amazonaws.com" }} }}]
  }})
  tags = {{ Index = "${{count.index}}" }}
}}

resource "aws_iam_role_policy" "p" {{
  count = 21
  name  = "read"
  role  = aws_iam_role.r[count.index].id
  policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = "s3:GetObject", Resource = "arn:aws:s3:::b${{count.index}}/*" }}]
  }})
}}

resource "aws_iam_role_policy_attachment" "a" {{
  count      = 21
  role       = aws_iam_role.r[count.index].id
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}}
"#
        ),
    )
    .expect("write the spec");
    let dir = dir.path().to_str().expect("utf-8").to_string();
    run_ok(&["apply", &dir, "--stack", &stack, "--auto-approve"], 0);

    let calls = no_op_diff_calls(&dir, &stack, &[]);
    for per_role in [
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
    ] {
        assert_eq!(calls.get(per_role), None, "{calls:?}");
    }
    // One chain (LocalStack answers in one page): the roles' details are
    // read once for the three types whose refreshes ask at the same time
    // (one, maybe two when a loaded machine starts a refresh after the
    // first read ended; three without the sharing).
    assert_eq!(calls.get("iam:ListRoles"), Some(&1), "{calls:?}");
    let details = calls.get("iam:GetAccountAuthorizationDetails").copied();
    assert!(matches!(details, Some(1 | 2)), "{calls:?}");

    // Behind stackd's back: a description, a tag, an inline policy and an
    // attachment.
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let role = |i: usize| format!("many-{tag}-{i}");
    iam.update_role()
        .role_name(role(3))
        .description("changed")
        .send()
        .await
        .expect("UpdateRole");
    iam.tag_role()
        .role_name(role(4))
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("Index")
                .value("x")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagRole");
    iam.put_role_policy()
        .role_name(role(5))
        .policy_name("read")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("PutRolePolicy");
    iam.detach_role_policy()
        .role_name(role(6))
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .expect("DetachRolePolicy");
    let drift = run_ok(&["diff", &dir, "--stack", &stack, "--detailed-exitcode"], 2);
    let text = stdout(&drift);
    for changed in [
        "aws_iam_role.r[3]",
        "aws_iam_role.r[4]",
        "aws_iam_role_policy.p[5]",
        "aws_iam_role_policy_attachment.a[6]",
    ] {
        assert!(text.contains(changed), "{changed} not in: {text}");
    }
    assert!(!text.contains("aws_iam_role.r[7]"), "{text}");
    run_ok(&["apply", &dir, "--stack", &stack, "--auto-approve"], 0);
    run_ok(&["diff", &dir, "--stack", &stack, "--detailed-exitcode"], 0);
    run_ok(&["destroy", &dir, "--stack", &stack, "--auto-approve"], 0);
}

/// SSM parameters' tags come in one Resource Groups Tagging API chain, not
/// a `ListTagsForResource` per parameter; tags changed behind stackd's back
/// still show, and a parameter whose stack tags were removed (so the
/// filtered chain does not list it) is read on its own.
#[tokio::test(flavor = "multi_thread")]
async fn parameter_tags_come_in_one_chain() {
    require_localstack();
    let dir = tempfile::tempdir().expect("temp dir");
    let stack = unique_stack("ptags");
    let tag = &stack[stack.len() - 8..];
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            r#"
resource "aws_ssm_parameter" "p" {{
  count = 4
  name  = "/ptags/{tag}/${{count.index}}"
  type  = "String"
  value = "v${{count.index}}"
  tags  = {{ Team = "web" }}
}}
"#
        ),
    )
    .expect("write the spec");
    let dir = dir.path().to_str().expect("utf-8").to_string();
    run_ok(&["apply", &dir, "--stack", &stack, "--auto-approve"], 0);
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_eq!(calls.get("ssm:ListTagsForResource"), None, "{calls:?}");
    assert_eq!(calls.get("tag:GetResources"), Some(&1), "{calls:?}");

    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let ssm_tag = |k: &str, v: &str| {
        aws_sdk_ssm::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .expect("tag")
    };
    ssm.add_tags_to_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(format!("/ptags/{tag}/1"))
        .tags(ssm_tag("Team", "data"))
        .send()
        .await
        .expect("AddTagsToResource");
    ssm.remove_tags_from_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(format!("/ptags/{tag}/2"))
        .tag_keys("stackd:stack-id")
        .send()
        .await
        .expect("RemoveTagsFromResource");
    let drift = run_ok(&["diff", &dir, "--stack", &stack, "--detailed-exitcode"], 2);
    let text = stdout(&drift);
    assert!(
        text.contains("aws_ssm_parameter.p[1]") && text.contains("\"data\""),
        "{text}"
    );
    assert!(
        text.contains("aws_ssm_parameter.p[2]") && text.contains("stackd:stack-id"),
        "{text}"
    );
    assert!(!text.contains("aws_ssm_parameter.p[3]"), "{text}");
    run_ok(&["apply", &dir, "--stack", &stack, "--auto-approve"], 0);
    run_ok(&["diff", &dir, "--stack", &stack, "--detailed-exitcode"], 0);
    run_ok(&["destroy", &dir, "--stack", &stack, "--auto-approve"], 0);
}

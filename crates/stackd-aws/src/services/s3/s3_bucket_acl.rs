//! `aws_s3_bucket_acl`: a bucket's access control list, as a canned `acl`
//! or an `access_control_policy` of grants. Its ID is Terraform's: the
//! bucket, then `,expected_bucket_owner` when given, then `,acl` when a
//! canned ACL is set (`bucket`, `bucket,123456789012`, `bucket,private`,
//! `bucket,123456789012,private`; also the import IDs).
//!
//! S3 does not store the canned ACL's name, only its grants: the live `acl`
//! is the canned ACL whose grants the bucket has (so a grant added or
//! removed outside stackd shows as a change of `acl`), or the recorded one
//! when its grants name no fixed grantee (`aws-exec-read`, `bucket-owner-*`).
//! A bucket always has an ACL: deleting the resource leaves the bucket's
//! ACL as it is, as Terraform does. The deprecated inline `acl` of
//! `aws_s3_bucket` is set with this type's [`put_acl`].
//!
//! S3 has no batch read: a refresh calls `GetBucketAcl` per known bucket,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, Grant, Grantee, Owner as S3Owner, Permission, Type,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::{is_account_id, refresh_configs, refuse_foreign_bucket, BUCKET};
use crate::args::{blocks, opt_str, s, sort_blocks};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{echo, found, invalid, required, update_id, AwsResult};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

const OP: &str = "PutBucketAcl";

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// `aws_s3_bucket_acl`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_acl",
    schema,
    handler: &S3BucketAcl,
    grants: &[g(
        &["s3:GetBucketAcl", "s3:GetBucketTagging", "s3:PutBucketAcl"],
        &[BUCKET],
    )],
    source: file!(),
};

/// The canned ACLs whose grants name only the owner and AWS's groups:
/// those a bucket's grants tell apart.
const DERIVABLE: [&str; 5] = [
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "log-delivery-write",
];

/// The canned ACLs a bucket takes.
pub(crate) const CANNED: [&str; 8] = [
    "private",
    "public-read",
    "public-read-write",
    "aws-exec-read",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
];

pub(crate) fn schema() -> ResourceSchema {
    let grantee = BlockSchema::new("grantee", Nesting::Single)
        .attr(AttrSchema::optional("email_address", AttrType::String))
        .attr(AttrSchema::computed("display_name", AttrType::String))
        .attr(AttrSchema::optional("id", AttrType::String))
        .attr(
            AttrSchema::required("type", AttrType::String).check(Check::OneOf(vec![
                "CanonicalUser",
                "AmazonCustomerByEmail",
                "Group",
            ])),
        )
        .attr(AttrSchema::optional("uri", AttrType::String));
    let grant = BlockSchema::new("grant", Nesting::Set).block(grantee).attr(
        AttrSchema::required("permission", AttrType::String).check(Check::OneOf(vec![
            "FULL_CONTROL",
            "WRITE",
            "WRITE_ACP",
            "READ",
            "READ_ACP",
        ])),
    );
    let owner = BlockSchema::new("owner", Nesting::Single)
        .required()
        .attr(AttrSchema::required("id", AttrType::String))
        .attr(AttrSchema::optional_computed("display_name", AttrType::String));
    ResourceSchema::resource("aws_s3_bucket_acl")
        .doc("The access control list of an S3 bucket.")
        .attr(
            AttrSchema::required("bucket", AttrType::String)
                .force_new()
                .doc("The bucket name."),
        )
        .attr(
            AttrSchema::optional("expected_bucket_owner", AttrType::String)
                .force_new()
                .doc("The account ID expected to own the bucket."),
        )
        .attr(
            AttrSchema::optional("acl", AttrType::String)
                .check(Check::OneOf(CANNED.to_vec()))
                .doc("A canned ACL (conflicts with access_control_policy)."),
        )
        .block(
            BlockSchema::new("access_control_policy", Nesting::Single)
                .computed_when_absent()
                .block(grant)
                .block(owner),
        )
}

/// Terraform's ID: `bucket[,expected_bucket_owner][,acl]`.
pub(crate) fn acl_id(bucket: &str, owner: Option<&str>, acl: Option<&str>) -> String {
    [Some(bucket), owner, acl]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(",")
}

/// The bucket, expected owner and canned ACL of an ID (the second part is
/// the owner when it is an account ID, the canned ACL otherwise).
pub(crate) fn split_acl_id(id: &str) -> (String, Option<String>, Option<String>) {
    let parts: Vec<&str> = id.split(',').collect();
    let own = |s: &str| Some(s.to_string());
    match parts.as_slice() {
        [bucket, owner, acl] => (bucket.to_string(), own(owner), own(acl)),
        [bucket, second] if is_account_id(second) => (bucket.to_string(), own(second), None),
        [bucket, acl] => (bucket.to_string(), None, own(acl)),
        _ => (id.to_string(), None, None),
    }
}

/// A grant as a comparable pair: (grantee, permission), the grantee being
/// its canonical ID, e-mail address or group URI.
fn grant_key(g: &Grant) -> (String, String) {
    let who = g
        .grantee()
        .map(|w| {
            w.uri()
                .or(w.id())
                .or(w.email_address())
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let what = g.permission().map(|p| p.as_str().to_string());
    (who, what.unwrap_or_default())
}

/// The canned ACL whose grants these are, for the canned ACLs whose grants
/// name only the owner and AWS's groups.
pub(crate) fn canned_of(owner_id: &str, grants: &[Grant]) -> Option<&'static str> {
    let mut have: Vec<(String, String)> = grants.iter().map(grant_key).collect();
    have.sort();
    have.dedup();
    let full = (owner_id.to_string(), "FULL_CONTROL".to_string());
    let g = |who: &str, what: &str| (who.to_string(), what.to_string());
    let patterns: [(&'static str, Vec<(String, String)>); 4] = [
        ("private", vec![]),
        ("public-read", vec![g(ALL_USERS, "READ")]),
        (
            "public-read-write",
            vec![g(ALL_USERS, "READ"), g(ALL_USERS, "WRITE")],
        ),
        ("authenticated-read", vec![g(AUTHENTICATED_USERS, "READ")]),
    ];
    let log = (
        "log-delivery-write",
        vec![g(LOG_DELIVERY, "READ_ACP"), g(LOG_DELIVERY, "WRITE")],
    );
    patterns.into_iter().chain([log]).find_map(|(name, extra)| {
        let mut want = extra;
        want.push(full.clone());
        want.sort();
        (want == have).then_some(name)
    })
}

fn grant_value(g: &Grant) -> Value {
    let grantee = g
        .grantee()
        .map(|w| {
            vec![Value::map([
                ("email_address", s(w.email_address())),
                ("display_name", s(w.display_name())),
                ("id", s(w.id())),
                ("type", Value::from(w.r#type().as_str())),
                ("uri", s(w.uri())),
            ])]
        })
        .unwrap_or_default();
    Value::map([
        ("grantee", Value::List(grantee)),
        ("permission", s(g.permission().map(|p| p.as_str()))),
    ])
}

/// The live attributes: the grants as `access_control_policy`, and the
/// canned ACL they amount to (see the module doc).
fn acl_attrs(
    bucket: &str,
    owner: Option<&S3Owner>,
    grants: &[Grant],
    args: Option<&Value>,
) -> Value {
    let owner_id = owner.and_then(S3Owner::id).unwrap_or("");
    let recorded = args.and_then(|a| opt_str(a, "acl"));
    let acl = match recorded {
        None => Value::Null,
        Some(r) if DERIVABLE.contains(&r) => {
            Value::from(canned_of(owner_id, grants).unwrap_or("(custom grants)"))
        }
        // Its grants name AWS accounts or the object writer: kept as recorded.
        Some(r) => Value::from(r),
    };
    let expected = args.and_then(|a| opt_str(a, "expected_bucket_owner"));
    let policy = Value::map([
        (
            "grant",
            Value::List(sort_blocks(grants.iter().map(grant_value).collect())),
        ),
        (
            "owner",
            Value::List(vec![Value::map([
                ("id", Value::from(owner_id)),
                ("display_name", s(owner.and_then(S3Owner::display_name))),
            ])]),
        ),
    ]);
    Value::map([
        (
            "id",
            Value::from(acl_id(bucket, expected, recorded)),
        ),
        ("bucket", Value::from(bucket)),
        (
            "expected_bucket_owner",
            echo(args, "expected_bucket_owner", Value::Null),
        ),
        ("acl", acl),
        ("access_control_policy", Value::List(vec![policy])),
    ])
}

async fn read(
    aws: &Aws,
    bucket: &str,
    owner: Option<String>,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.s3
            .get_bucket_acl()
            .bucket(bucket)
            .set_expected_bucket_owner(owner)
            .send()
            .await
            .aws(S3, "GetBucketAcl"),
    )?;
    Ok(out.map(|o| acl_attrs(bucket, o.owner(), o.grants(), args)))
}

fn grant_of(g: &Value) -> Result<Grant, ProviderError> {
    let grantee = blocks(g, "grantee")
        .first()
        .map(|w| {
            Grantee::builder()
                .r#type(Type::from(opt_str(w, "type").unwrap_or("CanonicalUser")))
                .set_id(opt_str(w, "id").map(str::to_string))
                .set_email_address(opt_str(w, "email_address").map(str::to_string))
                .set_uri(opt_str(w, "uri").map(str::to_string))
                .build()
                .map_err(|e| invalid(S3, OP, e.to_string()))
        })
        .transpose()?;
    Ok(Grant::builder()
        .set_grantee(grantee)
        .set_permission(opt_str(g, "permission").map(Permission::from))
        .build())
}

fn policy_of(p: &Value) -> Result<AccessControlPolicy, ProviderError> {
    let grants = blocks(p, "grant")
        .iter()
        .map(grant_of)
        .collect::<Result<Vec<_>, _>>()?;
    let owner = blocks(p, "owner").first().map(|o| {
        S3Owner::builder()
            .set_id(opt_str(o, "id").map(str::to_string))
            .set_display_name(opt_str(o, "display_name").map(str::to_string))
            .build()
    });
    Ok(AccessControlPolicy::builder()
        .set_grants(Some(grants))
        .set_owner(owner)
        .build())
}

/// Sets a bucket's ACL: the canned `acl` of `d`, or its
/// `access_control_policy`. Shared with `aws_s3_bucket`'s inline `acl`.
pub(crate) async fn put_acl(
    aws: &Aws,
    bucket: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let policy = blocks(d, "access_control_policy")
        .first()
        .map(policy_of)
        .transpose()?;
    let canned = opt_str(d, "acl").map(BucketCannedAcl::from);
    if canned.is_none() && policy.is_none() {
        return Err(invalid(
            S3,
            OP,
            "one of acl or access_control_policy is required",
        ));
    }
    let call = aws
        .s3
        .put_bucket_acl()
        .bucket(bucket)
        .set_acl(canned)
        .set_access_control_policy(policy)
        .set_expected_bucket_owner(super::expected_owner(d));
    retry(deadline, || async { call.clone().send().await.aws(S3, OP) }).await?;
    Ok(())
}

/// Puts the ACL and reads until S3 answers with it.
async fn put(aws: &Aws, bucket: &str, d: &Value, deadline: &Deadline) -> Result<Value, ProviderError> {
    if opt_str(d, "acl").is_some() && !blocks(d, "access_control_policy").is_empty() {
        return Err(invalid(
            S3,
            OP,
            "acl and access_control_policy conflict: set one of them",
        ));
    }
    put_acl(aws, bucket, d, deadline).await?;
    let want_acl = opt_str(d, "acl").map(str::to_string);
    let want_grants = blocks(d, "access_control_policy")
        .first()
        .map(|p| blocks(p, "grant").len());
    until(
        deadline,
        "GetBucketAcl",
        &format!("the ACL of {bucket} to apply"),
        || async {
            Ok(read(aws, bucket, super::expected_owner(d), Some(d))
                .await?
                .filter(|v| {
                    let grants = blocks(v, "access_control_policy")
                        .first()
                        .map(|p| blocks(p, "grant").len());
                    match (&want_acl, want_grants) {
                        (Some(acl), _) => opt_str(v, "acl") == Some(acl.as_str()),
                        (None, n) => grants == n,
                    }
                }))
        },
    )
    .await
}

pub(crate) struct S3BucketAcl;

#[async_trait]
impl ResourceHandler for S3BucketAcl {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        refresh_configs(&req.known, |_, _, k| async move {
            // The ID has the canned ACL an import asks for.
            let (bucket, owner, acl) = split_acl_id(&k.id);
            let args = match (opt_str(&k.attrs, "bucket"), acl) {
                (Some(_), _) => k.attrs.clone(),
                (None, acl) => Value::map([
                    ("acl", acl.map(Value::from).unwrap_or(Value::Null)),
                    (
                        "expected_bucket_owner",
                        owner.clone().map(Value::from).unwrap_or(Value::Null),
                    ),
                ]),
            };
            read(aws, &bucket, owner, Some(&args)).await
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = required(&req.desired, "bucket", S3, OP)?;
        refuse_foreign_bucket(aws, bucket, &req.owner, OP).await?;
        put(aws, bucket, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(bucket, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let (bucket, _, _) = split_acl_id(update_id(req.id.as_deref(), S3, OP)?);
        put(aws, &bucket, &req.desired, &deadline).await
    }

    /// A bucket always has an ACL: as in Terraform, deleting the resource
    /// leaves it as it is.
    async fn delete(&self, _aws: &Aws, _req: &DeleteRequest) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(who: &str, group: bool, what: &str) -> Grant {
        let grantee = if group {
            Grantee::builder().r#type(Type::Group).uri(who)
        } else {
            Grantee::builder().r#type(Type::CanonicalUser).id(who)
        };
        Grant::builder()
            .grantee(grantee.build().unwrap())
            .permission(Permission::from(what))
            .build()
    }

    #[test]
    fn ids_are_bucket_owner_and_acl() {
        assert_eq!(acl_id("b", None, None), "b");
        assert_eq!(acl_id("b", Some("123456789012"), Some("private")), "b,123456789012,private");
        assert_eq!(split_acl_id("b"), ("b".into(), None, None));
        assert_eq!(split_acl_id("b,private"), ("b".into(), None, Some("private".into())));
        assert_eq!(
            split_acl_id("b,123456789012"),
            ("b".into(), Some("123456789012".into()), None)
        );
        assert_eq!(
            split_acl_id("b,123456789012,public-read"),
            (
                "b".into(),
                Some("123456789012".into()),
                Some("public-read".into())
            )
        );
    }

    #[test]
    fn grants_give_the_canned_acl() {
        let owner = grant("o", false, "FULL_CONTROL");
        assert_eq!(canned_of("o", std::slice::from_ref(&owner)), Some("private"));
        assert_eq!(
            canned_of("o", &[owner.clone(), grant(ALL_USERS, true, "READ")]),
            Some("public-read")
        );
        assert_eq!(
            canned_of(
                "o",
                &[
                    owner.clone(),
                    grant(LOG_DELIVERY, true, "WRITE"),
                    grant(LOG_DELIVERY, true, "READ_ACP")
                ]
            ),
            Some("log-delivery-write")
        );
        assert_eq!(
            canned_of("o", &[owner, grant("someone", false, "READ")]),
            None
        );
    }

    #[test]
    fn an_acl_changed_outside_reads_as_the_new_canned_acl() {
        let d = Value::map([("bucket", Value::from("b")), ("acl", Value::from("private"))]);
        let owner = S3Owner::builder().id("o").build();
        let grants = [
            grant("o", false, "FULL_CONTROL"),
            grant(ALL_USERS, true, "READ"),
        ];
        let v = acl_attrs("b", Some(&owner), &grants, Some(&d));
        assert_eq!(v.get("acl"), Some(&Value::from("public-read")));
        assert_eq!(v.get("id"), Some(&Value::from("b,private")));
        let v = acl_attrs("b", Some(&owner), &grants[..1], Some(&d));
        assert_eq!(v.get("acl"), Some(&Value::from("private")));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}

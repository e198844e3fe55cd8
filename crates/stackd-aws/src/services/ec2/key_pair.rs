//! `aws_key_pair`: an EC2 key pair imported from a public key. The ID is
//! the key name.
//!
//! `public_key` is compared by key type and key material only: EC2 may
//! answer with a different (or no) comment after them.

use async_trait::async_trait;
use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{self, Filter, KeyPairInfo, ResourceType};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest, ADDRESS_TAG,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::KEY_PAIR;
use crate::args::{hex_digest, opt_str, req_str, s};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, has_code, ignore_not_found, invalid, Ec2Result, EC2};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, ec2_tag_map, known_str, Findings};
use crate::refresh::{address_for, filter, find_owned, known_attrs, Tagged};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{owned_by, reconcile, tag, tag_specification, tags_value};
use crate::wait::{until, Deadline};

/// The prefix of generated names, as the Terraform provider's.
const DEFAULT_NAME_PREFIX: &str = "terraform-";

impl Tagged for KeyPairInfo {
    fn tag_list(&self) -> &[types::Tag] {
        self.tags()
    }
}

/// A public key as `type material`, without a trailing comment or extra
/// whitespace: the form desired and live keys are compared in.
pub(crate) fn normalize_public_key(v: &Value) -> Value {
    match v.as_str() {
        Some(key) => {
            let fields: Vec<&str> = key.split_whitespace().take(2).collect();
            Value::from(fields.join(" "))
        }
        None => v.clone(),
    }
}

/// `aws_key_pair`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_key_pair",
    schema,
    handler: &KeyPair,
    grants: &[
        g(&["ec2:DescribeKeyPairs"], ANY),
        g(
            &[
                "ec2:CreateTags",
                "ec2:DeleteKeyPair",
                "ec2:DeleteTags",
                "ec2:ImportKeyPair",
            ],
            &[KEY_PAIR],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_key_pair")
        .doc("An EC2 key pair, imported from a public key.")
        .attr(
            AttrSchema::optional_computed("key_name", AttrType::String)
                .force_new()
                .doc("The key pair's name; generated from `key_name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("key_name_prefix", AttrType::String)
                .force_new()
                .doc("A prefix for a generated unique name."),
        )
        .attr(
            AttrSchema::required("public_key", AttrType::String)
                .force_new()
                .normalize(normalize_public_key)
                .doc("The public key material (OpenSSH format)."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The key pair's ARN."))
        .attr(
            AttrSchema::computed("fingerprint", AttrType::String)
                .doc("The MD5 (RSA) or SHA-256 (ED25519) fingerprint EC2 computed."),
        )
        .attr(AttrSchema::computed("key_pair_id", AttrType::String))
        .attr(AttrSchema::computed("key_type", AttrType::String).doc("rsa or ed25519."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

/// Live attributes. EC2 returns the public key only when asked and only
/// recently; where it does not, the recorded key stands (it cannot change
/// in place). `key_name_prefix` is not kept by EC2 either.
fn key_pair_attrs(
    loc: &Location,
    account: Option<&str>,
    key: &KeyPairInfo,
    recorded: Option<&Value>,
) -> Value {
    let name = key.key_name().unwrap_or_default();
    let recorded_str = |k: &str| recorded.and_then(|r| opt_str(r, k));
    let public_key = key
        .public_key()
        .filter(|k| !k.is_empty())
        .map(|k| k.trim())
        .or_else(|| recorded_str("public_key"));
    let prefix = recorded_str("key_name_prefix").filter(|p| name.starts_with(p));
    Value::map([
        ("id", s(Some(name))),
        ("key_name", s(Some(name))),
        ("key_name_prefix", s(prefix)),
        ("public_key", s(public_key)),
        (
            "arn",
            Value::from(loc.ec2_arn(account, &format!("key-pair/{name}"))),
        ),
        ("fingerprint", s(key.key_fingerprint())),
        ("key_pair_id", s(key.key_pair_id())),
        ("key_type", s(key.key_type().map(|t| t.as_str()))),
        ("tags_all", tags_value(key.tags())),
    ])
}

/// `DescribeKeyPairs` is not paginated. Filters, not `KeyNames=`: a name
/// that does not exist fails the whole call.
pub(crate) async fn describe_key_pairs(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<KeyPairInfo>, ProviderError> {
    let out = aws
        .ec2
        .describe_key_pairs()
        .set_filters(Some(filters))
        .include_public_key(true)
        .send()
        .await
        .ec2("DescribeKeyPairs")?;
    Ok(out.key_pairs().to_vec())
}

async fn describe_one(aws: &Aws, name: &str) -> Result<Option<KeyPairInfo>, ProviderError> {
    Ok(describe_key_pairs(aws, vec![filter("key-name", [name])])
        .await?
        .into_iter()
        .find(|k| k.key_name() == Some(name)))
}

async fn read(aws: &Aws, name: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    let Some(key) = describe_one(aws, name).await? else {
        return Ok(None);
    };
    let account = aws.account_id().await?;
    Ok(Some(key_pair_attrs(
        &aws.loc,
        Some(&account),
        &key,
        Some(recorded),
    )))
}

fn live(
    loc: &Location,
    account: Option<&str>,
    keys: Vec<KeyPairInfo>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    keys.into_iter()
        .filter_map(|k| {
            let id = k.key_name()?.to_string();
            Some(LiveResource {
                address: address_for(&id, k.tags(), known),
                attrs: key_pair_attrs(loc, account, &k, known_attrs(&id, known)),
                id,
            })
        })
        .collect()
}

/// The key name: `key_name`, else `key_name_prefix` (or `terraform-`) and
/// a suffix derived from the idempotency token, so a create retried after
/// a crash asks for the same name and finds the key it imported.
fn key_name(desired: &Value, idempotency_token: &str) -> String {
    match opt_str(desired, "key_name") {
        Some(name) => name.to_string(),
        None => {
            let prefix = opt_str(desired, "key_name_prefix").unwrap_or(DEFAULT_NAME_PREFIX);
            format!("{prefix}{}", &hex_digest(idempotency_token)[..26])
        }
    }
}

/// A key pair an earlier attempt of this create imported carries this
/// stack's and address's tags: it is adopted. Any other is a conflict.
async fn adopt(aws: &Aws, req: &ChangeRequest, name: &str) -> Result<(), ProviderError> {
    let existing = describe_one(aws, name).await?;
    let ours = existing.as_ref().is_some_and(|k| {
        owned_by(k.tags(), &req.owner)
            && tag(k.tags(), ADDRESS_TAG) == Some(req.address.to_tag_value().as_str())
    });
    if ours {
        tracing::info!(name, "adopting the key pair an earlier attempt imported");
        return Ok(());
    }
    Err(ProviderError::new(
        ErrorKind::Permanent,
        EC2,
        "ImportKeyPair",
        format!(
            "a key pair named {name:?} already exists and is not {} of stack {:?}; \
             choose another key_name or import it",
            req.address, req.owner.name
        ),
    )
    .with_code("InvalidKeyPair.Duplicate"))
}

/// The arguments `ImportKeyPair` sends.
const IMPORT_ARGS: &[&str] = &["key_name", "key_name_prefix", "public_key", "tags_all"];

/// `ImportKeyPair` for the spec (the create and its dry run send the same).
fn import_call(
    aws: &Aws,
    d: &Value,
    name: &str,
    create_token: Option<&str>,
) -> Result<
    aws_sdk_ec2::operation::import_key_pair::builders::ImportKeyPairFluentBuilder,
    ProviderError,
> {
    let public_key = req_str(d, "public_key", "ImportKeyPair")?;
    Ok(aws
        .ec2
        .import_key_pair()
        .key_name(name)
        .public_key_material(Blob::new(public_key.trim().as_bytes()))
        .set_tag_specifications(
            tag_specification(ResourceType::KeyPair, d, create_token).map(|t| vec![t]),
        ))
}

pub(crate) struct KeyPair;

#[async_trait]
impl ResourceHandler for KeyPair {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let keys = find_owned(req, "key-name", KeyPairInfo::key_name, |f| {
            describe_key_pairs(aws, f)
        })
        .await?;
        let account = if keys.is_empty() {
            None
        } else {
            Some(aws.account_id().await?)
        };
        Ok(live(&aws.loc, account.as_deref(), keys, &req.known))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = key_name(d, &req.idempotency_token);
        let imported = import_call(aws, d, &name, Some(&req.idempotency_token))?
            .send()
            .await
            .ec2("ImportKeyPair");
        match imported {
            Ok(_) => {}
            Err(e) if has_code(&e, "InvalidKeyPair.Duplicate") => adopt(aws, req, &name).await?,
            Err(e) => return Err(e),
        }
        // The import's answer lacks the key type; read the key back.
        let recorded = with_name(d, &name);
        until(
            &deadline,
            "DescribeKeyPairs",
            &format!("key pair {name} to be readable"),
            || read(aws, &name, &recorded),
        )
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// A key pair of the same name is looked up; `ImportKeyPair` is sent
    /// with `DryRun=true` once its arguments are known.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(name) = known_str(d, "key_name") {
            let existing = findings.read("ec2:DescribeKeyPairs", describe_one(aws, name).await)?;
            if let Some(Some(key)) = existing {
                let tags = ec2_tag_map(key.tags());
                findings.name_in_use(req, "ec2:DescribeKeyPairs", "key pair", name, &tags);
            }
        }
        if all_known(d, IMPORT_ARGS) {
            let name = key_name(d, &dry_run_token(req));
            let answer = import_call(aws, d, &name, None)?
                .dry_run(true)
                .send()
                .await
                .ec2("ImportKeyPair");
            findings.dry_run("ec2:ImportKeyPair", answer, |out| {
                out.key_name().map(|n| format!("key pair {n}"))
            })?;
        }
        Ok(findings.into_vec())
    }

    /// Everything but the tags forces a new key pair.
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let name = req
            .id
            .as_deref()
            .ok_or_else(|| invalid("CreateTags", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let key_pair_id = match opt_str(&prior, "key_pair_id") {
            Some(id) => id.to_string(),
            None => describe_one(aws, name)
                .await?
                .and_then(|k| k.key_pair_id().map(str::to_string))
                .ok_or_else(|| gone("DescribeKeyPairs", name))?,
        };
        reconcile(aws, &key_pair_id, &prior, &req.desired, &deadline).await?;
        read(aws, name, &with_name(&req.desired, name))
            .await?
            .ok_or_else(|| gone("DescribeKeyPairs", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_not_found(
            aws.ec2
                .delete_key_pair()
                .key_name(&req.id)
                .send()
                .await
                .ec2("DeleteKeyPair")
                .map(|_| ()),
        )
    }
}

/// The desired arguments with the name actually used.
fn with_name(desired: &Value, name: &str) -> Value {
    let mut v = desired.clone();
    if let Value::Map(m) = &mut v {
        m.insert("key_name".into(), Value::from(name));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::diff::{diff, IgnoreChanges};
    use stackd_engine::provider::STACK_ID_TAG;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGd2hSj4t6lYQ0 admin@laptop";

    fn desired() -> Value {
        Value::map([
            ("key_name", Value::from("bastion")),
            ("key_name_prefix", Value::Null),
            ("public_key", Value::from(KEY)),
            (
                "tags_all",
                Value::map([
                    (STACK_ID_TAG, Value::from("prod")),
                    (ADDRESS_TAG, Value::from("aws_key_pair.bastion")),
                ]),
            ),
        ])
    }

    fn live_key(public_key: Option<&str>) -> KeyPairInfo {
        KeyPairInfo::builder()
            .key_name("bastion")
            .key_pair_id("key-0123")
            .key_fingerprint("Kq3r...=")
            .key_type(types::KeyType::Ed25519)
            .set_public_key(public_key.map(str::to_string))
            .tags(
                types::Tag::builder()
                    .key(STACK_ID_TAG)
                    .value("prod")
                    .build(),
            )
            .tags(
                types::Tag::builder()
                    .key(ADDRESS_TAG)
                    .value("aws_key_pair.bastion")
                    .build(),
            )
            .build()
    }

    #[test]
    fn the_public_key_compares_without_its_comment() {
        assert_eq!(
            normalize_public_key(&Value::from(KEY)),
            Value::from("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGd2hSj4t6lYQ0")
        );
        assert_eq!(
            normalize_public_key(&Value::from("  ssh-rsa AAAA\n")),
            Value::from("ssh-rsa AAAA")
        );
        assert_eq!(normalize_public_key(&Value::Null), Value::Null);
    }

    #[test]
    fn a_live_key_reads_back_as_a_no_op() {
        let d = desired();
        let loc = Location::new("eu-west-1");
        // EC2 answers with its own comment (the key name) after the key.
        let k = live_key(Some(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGd2hSj4t6lYQ0 bastion\n",
        ));
        let v = key_pair_attrs(&loc, Some("123"), &k, Some(&d));
        assert!(diff(&schema(), &d, &v, &IgnoreChanges::default()).is_empty());
        assert_eq!(v.get("id"), Some(&Value::from("bastion")));
        assert_eq!(
            v.get("arn"),
            Some(&Value::from("arn:aws:ec2:eu-west-1:123:key-pair/bastion"))
        );
        assert_eq!(v.get("key_type"), Some(&Value::from("ed25519")));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
        // Without the key in the answer, the recorded key stands.
        let v = key_pair_attrs(&loc, Some("123"), &live_key(None), Some(&d));
        assert_eq!(v.get("public_key"), Some(&Value::from(KEY)));
    }

    #[test]
    fn another_key_forces_replacement() {
        let d = desired();
        let k = live_key(Some("ssh-ed25519 OTHER bastion"));
        let v = key_pair_attrs(&Location::new("eu-west-1"), Some("1"), &k, Some(&d));
        let changes = diff(&schema(), &d, &v, &IgnoreChanges::default());
        assert_eq!(changes.len(), 1);
        assert!(changes[0].forces_replacement);
    }

    #[test]
    fn generated_names_are_stable_per_create_attempt() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert("key_name".into(), Value::Null);
            m.insert("key_name_prefix".into(), Value::from("bastion-"));
        }
        let a = key_name(&d, "token-1");
        assert!(a.starts_with("bastion-"));
        assert_eq!(a, key_name(&d, "token-1"));
        assert_ne!(a, key_name(&d, "token-2"));
        assert_eq!(key_name(&desired(), "token-1"), "bastion");
        let recorded = with_name(&d, &a);
        let v = key_pair_attrs(
            &Location::new("eu-west-1"),
            None,
            &KeyPairInfo::builder().key_name(&a).build(),
            Some(&recorded),
        );
        assert_eq!(v.get("key_name_prefix"), Some(&Value::from("bastion-")));
    }
}

//! `aws_db_instance`: an RDS DB instance. Its ID, and import ID, is its
//! identifier. Creates and modifies wait until the instance is
//! `available`; a delete waits until it is gone. Most arguments change in
//! place with `ModifyDBInstance` (applied at once with `apply_immediately`,
//! else in the maintenance window, as AWS does).
//!
//! `password` is never read back (AWS does not return it): the recorded
//! value is kept, so a changed password in the spec is a change in place
//! (`MasterUserPassword`). `skip_final_snapshot`,
//! `final_snapshot_identifier` and `apply_immediately` only steer stackd
//! and are kept from the spec too. As in Terraform, destroying an instance
//! with `skip_final_snapshot = false` needs a `final_snapshot_identifier`.
//!
//! A refresh is one `DescribeDBInstances` chain for the type: instances
//! carry their tags (`TagList`), so the stack's untracked instances are
//! found too.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_rds::types::DbInstance;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, CheckedChange, DeleteRequest, Finding, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{
    adoptable, rds_tags, reconcile_tags, tag_map, DB, PARAMETER_GROUP, RDS, SNAPSHOT, SUBNET_GROUP,
};
use crate::args::{bool_or, num, opt_int, opt_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::elbv2_ecs_util::in_service;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, echo, found, invalid, made_by_this_create, name_or_generated,
    required, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::iam::RDS_SERVICE_LINKED_ROLE;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_db_instance`: its schema, its handler, and the IAM grants of every
/// call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_db_instance",
    schema,
    handler: &DbInstanceHandler,
    grants: &[
        // The service makes its service-linked role on first use in an
        // account.
        g(&["iam:CreateServiceLinkedRole"], &[RDS_SERVICE_LINKED_ROLE]),
        g(&["rds:DescribeDBInstances"], ANY),
        // An instance is created in, and moved to, subnet and parameter
        // groups: RDS checks those ARNs too.
        g(
            &["rds:CreateDBInstance", "rds:ModifyDBInstance"],
            &[DB, SUBNET_GROUP, PARAMETER_GROUP],
        ),
        g(
            &["rds:RestoreDBInstanceFromDBSnapshot"],
            &[DB, SNAPSHOT, SUBNET_GROUP, PARAMETER_GROUP],
        ),
        g(
            &[
                "rds:AddTagsToResource",
                "rds:DeleteDBInstance",
                "rds:RemoveTagsFromResource",
            ],
            &[DB],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    use AttrSchema as A;
    use AttrType::{Bool, Number, String as Str};
    ResourceSchema::resource("aws_db_instance")
        .doc("An RDS DB instance.")
        .timeouts(Timeouts {
            create_secs: 40 * 60,
            update_secs: 80 * 60,
            delete_secs: 60 * 60,
        })
        .attr(
            A::optional_computed("identifier", Str)
                .force_new()
                .doc("The instance's name; generated from `identifier_prefix` when unset."),
        )
        .attr(A::optional_computed("identifier_prefix", Str).force_new())
        .attr(
            A::optional_computed("engine", Str)
                .force_new()
                .doc("postgres, mysql, mariadb, ..."),
        )
        .attr(A::optional_computed("engine_version", Str))
        .attr(
            A::computed("engine_version_actual", Str)
                .doc("The version running (engine_version may name its major only)."),
        )
        .attr(A::required("instance_class", Str).doc("e.g. db.t3.micro"))
        .attr(A::optional_computed("allocated_storage", Number).doc("GiB"))
        .attr(A::optional("max_allocated_storage", Number).doc("Storage autoscaling limit, GiB"))
        .attr(A::optional_computed("storage_type", Str).doc("gp2, gp3, io1, standard, ..."))
        .attr(A::optional("storage_encrypted", Bool).force_new())
        .attr(A::optional_computed("kms_key_id", Str).force_new())
        .attr(A::optional_computed("db_name", Str).force_new())
        .attr(A::optional_computed("username", Str).force_new())
        .attr(
            A::optional("password", Str)
                .sensitive()
                .doc("The master password; never read back from AWS."),
        )
        .attr(A::optional_computed("port", Number))
        .attr(A::optional_computed("db_subnet_group_name", Str))
        .attr(A::optional_computed("parameter_group_name", Str))
        .attr(A::optional_computed(
            "vpc_security_group_ids",
            AttrType::set_of(Str),
        ))
        .attr(A::optional("publicly_accessible", Bool).default(false))
        .attr(A::optional_computed("multi_az", Bool))
        .attr(A::optional_computed("backup_retention_period", Number))
        .attr(A::optional_computed("backup_window", Str).doc("hh24:mi-hh24:mi, UTC"))
        .attr(A::optional_computed("maintenance_window", Str).doc("ddd:hh24:mi-ddd:hh24:mi"))
        .attr(
            A::optional("skip_final_snapshot", Bool)
                .default(false)
                .doc("Delete without a final snapshot."),
        )
        .attr(
            A::optional("final_snapshot_identifier", Str)
                .doc("The snapshot taken on destroy; needed unless skip_final_snapshot."),
        )
        .attr(
            A::optional("snapshot_identifier", Str)
                .force_new()
                .doc("Create by restoring this DB snapshot (engine, user and database come from it)."),
        )
        .attr(A::optional("deletion_protection", Bool))
        .attr(
            A::optional("apply_immediately", Bool)
                .default(false)
                .doc("Apply changes now instead of in the maintenance window."),
        )
        .attr(A::optional("auto_minor_version_upgrade", Bool).default(true))
        .attr(A::optional("copy_tags_to_snapshot", Bool).default(false))
        .attr(A::optional("performance_insights_enabled", Bool).default(false))
        .attr(A::optional("monitoring_interval", Number).default(0))
        .attr(A::computed("address", Str))
        .attr(A::computed("endpoint", Str).doc("address:port"))
        .attr(A::computed("hosted_zone_id", Str))
        .attr(A::computed("arn", Str))
        .attr(A::computed("resource_id", Str))
        .attr(A::computed("status", Str))
        .taggable()
}

/// Arguments AWS does not return, kept from the spec (or state) as they
/// were, with their defaults.
const KEPT: &[(&str, Option<bool>)] = &[
    ("identifier_prefix", None),
    ("password", None),
    ("final_snapshot_identifier", None),
    ("snapshot_identifier", None),
    ("skip_final_snapshot", Some(false)),
    ("apply_immediately", Some(false)),
];

/// The engine version as the spec wrote it when the running one is that
/// version or a newer release of it (`16` or `16.3` for 16.4, after AWS's
/// minor upgrades), as Terraform shows it; else the running one.
fn engine_version(live: Option<&str>, args: Option<&Value>) -> Value {
    let asked = args.and_then(|a| opt_str(a, "engine_version"));
    match (asked, live) {
        (Some(asked), Some(live)) if same_release(asked, live) => Value::from(asked),
        _ => s(live),
    }
}

/// True when `live` is `asked`, a patch of it (`16` and `16.4`), or a later
/// minor of the same major (`16.3` and `16.4`: AWS upgraded it).
fn same_release(asked: &str, live: &str) -> bool {
    if asked == live || live.strip_prefix(asked).is_some_and(|rest| rest.starts_with('.')) {
        return true;
    }
    let parts = |v: &str| -> Vec<u64> { v.split('.').map_while(|p| p.parse().ok()).collect() };
    let (a, l) = (parts(asked), parts(live));
    a.len() >= 2 && l.len() >= 2 && a[0] == l[0] && l[1..] >= a[1..]
}

fn instance_attrs(
    db: &DbInstance,
    tags: &BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let endpoint = db.endpoint();
    let address = endpoint.and_then(|e| e.address());
    let port = endpoint.and_then(|e| e.port()).or(db.db_instance_port());
    let security_groups = db
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
        .collect();
    let flag = |v: Option<bool>| v.map_or(Value::Null, Value::Bool);
    let mut attrs = vec![
        ("id", s(db.db_instance_identifier())),
        ("identifier", s(db.db_instance_identifier())),
        ("engine", s(db.engine())),
        ("engine_version", engine_version(db.engine_version(), args)),
        ("engine_version_actual", s(db.engine_version())),
        ("instance_class", s(db.db_instance_class())),
        ("allocated_storage", db.allocated_storage().map_or(Value::Null, num)),
        (
            "max_allocated_storage",
            db.max_allocated_storage().map_or(Value::Null, num),
        ),
        ("storage_type", s(db.storage_type())),
        ("storage_encrypted", flag(db.storage_encrypted())),
        ("kms_key_id", s(db.kms_key_id())),
        ("db_name", s(db.db_name())),
        ("username", s(db.master_username())),
        ("port", port.map_or(Value::Null, num)),
        (
            "db_subnet_group_name",
            s(db.db_subnet_group().and_then(|g| g.db_subnet_group_name())),
        ),
        (
            "parameter_group_name",
            s(db
                .db_parameter_groups()
                .first()
                .and_then(|g| g.db_parameter_group_name())),
        ),
        ("vpc_security_group_ids", set_or_null(security_groups)),
        (
            "publicly_accessible",
            Value::Bool(db.publicly_accessible().unwrap_or(false)),
        ),
        ("multi_az", flag(db.multi_az())),
        (
            "backup_retention_period",
            db.backup_retention_period().map_or(Value::Null, num),
        ),
        ("backup_window", s(db.preferred_backup_window())),
        ("maintenance_window", s(db.preferred_maintenance_window())),
        ("deletion_protection", flag(db.deletion_protection())),
        (
            "auto_minor_version_upgrade",
            Value::Bool(db.auto_minor_version_upgrade().unwrap_or(true)),
        ),
        (
            "copy_tags_to_snapshot",
            Value::Bool(db.copy_tags_to_snapshot().unwrap_or(false)),
        ),
        (
            "performance_insights_enabled",
            Value::Bool(db.performance_insights_enabled().unwrap_or(false)),
        ),
        ("monitoring_interval", num(db.monitoring_interval().unwrap_or(0))),
        ("address", s(address)),
        (
            "endpoint",
            match (address, port) {
                (Some(a), Some(p)) => Value::from(format!("{a}:{p}")),
                _ => Value::Null,
            },
        ),
        ("hosted_zone_id", s(endpoint.and_then(|e| e.hosted_zone_id()))),
        ("arn", s(db.db_instance_arn())),
        ("resource_id", s(db.dbi_resource_id())),
        ("status", s(db.db_instance_status())),
        ("tags_all", tags_attr(tags.clone())),
    ];
    for (key, default) in KEPT {
        let default = default.map_or(Value::Null, Value::Bool);
        attrs.push((key, echo(args, key, default)));
    }
    Value::map(attrs)
}

/// Every DB instance of the account and region (one paginated chain).
async fn describe_all(aws: &Aws) -> Result<Vec<DbInstance>, ProviderError> {
    aws.rds
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(RDS, "DescribeDBInstances")
}

/// One instance by identifier; `None` when there is none.
async fn describe(aws: &Aws, id: &str) -> Result<Option<DbInstance>, ProviderError> {
    Ok(found(
        aws.rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .aws(RDS, "DescribeDBInstances"),
    )?
    .and_then(|out| out.db_instances().first().cloned()))
}

/// Waits until the instance is `available`, and gives its attributes.
async fn until_available(
    aws: &Aws,
    id: &str,
    args: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    until(
        deadline,
        "DescribeDBInstances",
        &format!("DB instance {id} to be available"),
        || async {
            Ok(describe(aws, id)
                .await?
                .filter(|db| db.db_instance_status() == Some("available"))
                .map(|db| instance_attrs(&db, &tag_map(db.tag_list()), Some(args))))
        },
    )
    .await
    .map_err(|e| in_service(RDS, e))
}

fn flag(d: &Value, key: &str) -> Option<bool> {
    d.get(key).and_then(Value::as_bool)
}

fn int(d: &Value, key: &str) -> Option<i32> {
    opt_int(d, key).and_then(|n| i32::try_from(n).ok())
}

fn text(d: &Value, key: &str) -> Option<String> {
    opt_str(d, key).map(str::to_string)
}

/// The security group IDs, `None` when unset (AWS picks the VPC's default).
fn security_groups(d: &Value) -> Option<Vec<String>> {
    Some(str_list(d, "vpc_security_group_ids")).filter(|ids| !ids.is_empty())
}

/// True when the existing instance `db`, found under the identifier a
/// create wants, is this create's own (an earlier attempt whose answer was
/// lost): tagged for this address of this stack (checked by
/// [`adoptable`]) and created after this create's pending record. AWS
/// stamps the creation time once the instance is first available; one
/// without it is still being created.
fn made_by_this_attempt(db: &DbInstance, req: &ChangeRequest) -> bool {
    db.instance_create_time()
        .is_none_or(|t| made_by_this_create(t.secs(), req.pending_since.as_deref()))
}

/// A create's answer, with an instance of the same identifier taken as
/// this create's only when tagged for its address and made after its
/// pending record was written.
async fn adopt_on_conflict(
    aws: &Aws,
    req: &ChangeRequest,
    id: &str,
    op: &str,
    sent: Result<(), ProviderError>,
) -> Result<(), ProviderError> {
    match sent {
        Ok(()) => Ok(()),
        Err(e) if has_code(&e, "DBInstanceAlreadyExists") => {
            let db = describe(aws, id).await?.ok_or(e)?;
            let live = instance_attrs(&db, &tag_map(db.tag_list()), Some(&req.desired));
            adoptable(req, &schema(), &live, op, "DB instance", id)?;
            if !made_by_this_attempt(&db, req) {
                return Err(invalid(
                    RDS,
                    op,
                    format!(
                        "DB instance {id:?} already exists and was created before this \
                         create began: it is not this create's; import it, or choose \
                         another identifier"
                    ),
                ));
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Arguments `RestoreDBInstanceFromDBSnapshot` does not take: set after the
/// restore with one `ModifyDBInstance`, as the provider does.
const SET_AFTER_RESTORE: &[&str] = &[
    "password",
    "allocated_storage",
    "max_allocated_storage",
    "backup_retention_period",
    "backup_window",
    "maintenance_window",
    "monitoring_interval",
    "performance_insights_enabled",
];

/// A create from `snapshot_identifier`: the restore, a wait until the
/// instance is available, then what the restore could not set.
async fn restore(
    aws: &Aws,
    req: &ChangeRequest,
    id: &str,
    snapshot: &str,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    const OP: &str = "RestoreDBInstanceFromDBSnapshot";
    let d = &req.desired;
    let call = aws
        .rds
        .restore_db_instance_from_db_snapshot()
        .db_instance_identifier(id)
        .db_snapshot_identifier(snapshot)
        .db_instance_class(required(d, "instance_class", RDS, OP)?)
        .set_engine(text(d, "engine"))
        .set_storage_type(text(d, "storage_type"))
        .set_db_name(text(d, "db_name"))
        .set_port(int(d, "port"))
        .set_db_subnet_group_name(text(d, "db_subnet_group_name"))
        .set_db_parameter_group_name(text(d, "parameter_group_name"))
        .set_vpc_security_group_ids(security_groups(d))
        .publicly_accessible(bool_or(d, "publicly_accessible", false))
        .set_multi_az(flag(d, "multi_az"))
        .set_deletion_protection(flag(d, "deletion_protection"))
        .auto_minor_version_upgrade(bool_or(d, "auto_minor_version_upgrade", true))
        .copy_tags_to_snapshot(bool_or(d, "copy_tags_to_snapshot", false))
        .set_tags(Some(rds_tags(d)));
    let sent = retry(deadline, || async { call.clone().send().await.aws(RDS, OP) }).await;
    adopt_on_conflict(aws, req, id, OP, sent.map(|_| ())).await?;
    let restored = until_available(aws, id, d, deadline)
        .await
        .map_err(|e| after_create(id, e))?;
    let rest: Vec<String> = SET_AFTER_RESTORE
        .iter()
        .filter(|k| {
            d.get(k).is_some_and(|v| !v.is_null())
                && (**k == "password" || restored.get(k) != d.get(k))
        })
        .map(|k| k.to_string())
        .collect();
    let mut now = d.clone();
    if let Value::Map(m) = &mut now {
        m.insert("apply_immediately".into(), Value::Bool(true));
    }
    let Some(call) = modification(aws, id, &now, &rest) else {
        return Ok(restored);
    };
    retry(deadline, || async {
        call.clone()
            .send()
            .await
            .aws(RDS, "ModifyDBInstance")
            .map_err(super::in_use_is_transient)
    })
    .await
    .map_err(|e| after_create(id, e))?;
    until_available(aws, id, d, deadline)
        .await
        .map_err(|e| after_create(id, e))
}

pub(crate) struct DbInstanceHandler;

#[async_trait]
impl ResourceHandler for DbInstanceHandler {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        Ok(describe_all(aws)
            .await?
            .iter()
            .filter_map(|db| {
                let id = db.db_instance_identifier()?.to_string();
                let tags = tag_map(db.tag_list());
                let known = req.known.iter().find(|k| k.id == id);
                let ours = req.owner.owns(|k| tags.get(k).map(String::as_str));
                if known.is_none() && !ours {
                    return None;
                }
                Some(LiveResource {
                    address: address_of(&id, &tags, &req.known),
                    attrs: instance_attrs(db, &tags, known.map(|k| &k.attrs)),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateDBInstance";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let id = name_or_generated(
            d,
            "identifier",
            "identifier_prefix",
            &req.idempotency_token,
            "terraform-",
        );
        if let Some(snapshot) = text(d, "snapshot_identifier") {
            return restore(aws, req, &id, &snapshot, &deadline).await;
        }
        let call = aws
            .rds
            .create_db_instance()
            .db_instance_identifier(&id)
            .engine(required(d, "engine", RDS, OP)?)
            .set_engine_version(text(d, "engine_version"))
            .db_instance_class(required(d, "instance_class", RDS, OP)?)
            .set_allocated_storage(int(d, "allocated_storage"))
            .set_max_allocated_storage(int(d, "max_allocated_storage"))
            .set_storage_type(text(d, "storage_type"))
            .set_storage_encrypted(flag(d, "storage_encrypted"))
            .set_kms_key_id(text(d, "kms_key_id"))
            .set_db_name(text(d, "db_name"))
            .set_master_username(text(d, "username"))
            .set_master_user_password(text(d, "password"))
            .set_port(int(d, "port"))
            .set_db_subnet_group_name(text(d, "db_subnet_group_name"))
            .set_db_parameter_group_name(text(d, "parameter_group_name"))
            .set_vpc_security_group_ids(security_groups(d))
            .publicly_accessible(bool_or(d, "publicly_accessible", false))
            .set_multi_az(flag(d, "multi_az"))
            .set_backup_retention_period(int(d, "backup_retention_period"))
            .set_preferred_backup_window(text(d, "backup_window"))
            .set_preferred_maintenance_window(text(d, "maintenance_window"))
            .set_deletion_protection(flag(d, "deletion_protection"))
            .auto_minor_version_upgrade(bool_or(d, "auto_minor_version_upgrade", true))
            .copy_tags_to_snapshot(bool_or(d, "copy_tags_to_snapshot", false))
            .enable_performance_insights(bool_or(d, "performance_insights_enabled", false))
            .set_monitoring_interval(int(d, "monitoring_interval").filter(|n| *n > 0))
            .set_tags(Some(rds_tags(d)));
        // Groups and security groups created a moment ago may not be
        // visible yet.
        let sent = retry(&deadline, || async { call.clone().send().await.aws(RDS, OP) }).await;
        adopt_on_conflict(aws, req, &id, OP, sent.map(|_| ())).await?;
        until_available(aws, &id, d, &deadline)
            .await
            .map_err(|e| after_create(&id, e))
    }

    /// An instance of the same (known) identifier is looked up; a destroy
    /// without a final snapshot identifier is refused before it starts.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        if req.change == CheckedChange::Delete {
            let prior = req.prior.clone().unwrap_or(Value::Null);
            return Ok(final_snapshot_problem(&req.address.to_string(), &prior)
                .map(|msg| vec![Finding::error("final_snapshot", "DeleteDBInstance", msg)])
                .unwrap_or_default());
        }
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(id) = known_str(d, "identifier") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "rds:DescribeDBInstances";
        let mut findings = Findings::new();
        if let Some(Some(db)) = findings.read(ACTION, describe(aws, id).await)? {
            findings.name_in_use(req, ACTION, "DB instance", id, &tag_map(db.tag_list()));
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "ModifyDBInstance";
        let deadline = Deadline::after(req.timeout);
        let id = update_id(req.id.as_deref(), RDS, OP)?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        if let Some(call) = modification(aws, id, d, &req.changed) {
            retry(&deadline, || async {
                call.clone()
                    .send()
                    .await
                    .aws(RDS, OP)
                    .map_err(super::in_use_is_transient)
            })
            .await?;
        }
        if let Some(arn) = opt_str(&prior, "arn") {
            reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        }
        until_available(aws, id, d, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OP: &str = "DeleteDBInstance";
        if let Some(msg) = final_snapshot_problem(&req.address.to_string(), &req.prior) {
            return Err(invalid(RDS, OP, msg));
        }
        let deadline = Deadline::after(req.timeout);
        let skip = bool_or(&req.prior, "skip_final_snapshot", false);
        let call = aws
            .rds
            .delete_db_instance()
            .db_instance_identifier(&req.id)
            .skip_final_snapshot(skip)
            .set_final_db_snapshot_identifier(
                (!skip)
                    .then(|| text(&req.prior, "final_snapshot_identifier"))
                    .flatten(),
            );
        // An instance still modifying or backing up refuses
        // (InvalidDBInstanceState) until it is done.
        let sent = retry(&deadline, || async {
            call.clone()
                .send()
                .await
                .aws(RDS, OP)
                .map_err(super::in_use_is_transient)
        })
        .await;
        if found(sent)?.is_none() {
            return Ok(());
        }
        until(
            &deadline,
            "DescribeDBInstances",
            &format!("DB instance {} to be deleted", req.id),
            || async { Ok(describe(aws, &req.id).await?.is_none().then_some(())) },
        )
        .await
        .map_err(|e| in_service(RDS, e))
    }
}

/// Terraform's rule: a destroy takes a final snapshot unless
/// `skip_final_snapshot`, and that needs its identifier.
fn final_snapshot_problem(address: &str, prior: &Value) -> Option<String> {
    let skip = bool_or(prior, "skip_final_snapshot", false);
    (!skip && opt_str(prior, "final_snapshot_identifier").is_none()).then(|| {
        format!(
            "{address}: destroying a DB instance takes a final snapshot unless \
             skip_final_snapshot = true, and final_snapshot_identifier is not set; \
             set one of them (and apply) before destroying"
        )
    })
}

/// The `ModifyDBInstance` call for the changed arguments; `None` when only
/// tags or stackd's own settings changed.
fn modification(
    aws: &Aws,
    id: &str,
    d: &Value,
    changed: &[String],
) -> Option<aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder> {
    let has = |k: &str| changed.iter().any(|c| c == k);
    let mut call = aws
        .rds
        .modify_db_instance()
        .db_instance_identifier(id)
        .apply_immediately(bool_or(d, "apply_immediately", false));
    let mut any = false;
    macro_rules! set {
        ($key:literal, $setter:ident, $value:expr) => {
            if has($key) {
                call = call.$setter($value);
                any = true;
            }
        };
    }
    set!("engine_version", set_engine_version, text(d, "engine_version"));
    set!("instance_class", set_db_instance_class, text(d, "instance_class"));
    set!("allocated_storage", set_allocated_storage, int(d, "allocated_storage"));
    set!(
        "max_allocated_storage",
        set_max_allocated_storage,
        Some(int(d, "max_allocated_storage").unwrap_or(0))
    );
    set!("storage_type", set_storage_type, text(d, "storage_type"));
    set!("password", set_master_user_password, text(d, "password"));
    set!("port", set_db_port_number, int(d, "port"));
    set!(
        "db_subnet_group_name",
        set_db_subnet_group_name,
        text(d, "db_subnet_group_name")
    );
    set!(
        "parameter_group_name",
        set_db_parameter_group_name,
        text(d, "parameter_group_name")
    );
    set!(
        "vpc_security_group_ids",
        set_vpc_security_group_ids,
        security_groups(d)
    );
    set!(
        "publicly_accessible",
        set_publicly_accessible,
        flag(d, "publicly_accessible")
    );
    set!("multi_az", set_multi_az, flag(d, "multi_az"));
    set!(
        "backup_retention_period",
        set_backup_retention_period,
        int(d, "backup_retention_period")
    );
    set!("backup_window", set_preferred_backup_window, text(d, "backup_window"));
    set!(
        "maintenance_window",
        set_preferred_maintenance_window,
        text(d, "maintenance_window")
    );
    set!(
        "deletion_protection",
        set_deletion_protection,
        Some(bool_or(d, "deletion_protection", false))
    );
    set!(
        "auto_minor_version_upgrade",
        set_auto_minor_version_upgrade,
        flag(d, "auto_minor_version_upgrade")
    );
    set!(
        "copy_tags_to_snapshot",
        set_copy_tags_to_snapshot,
        flag(d, "copy_tags_to_snapshot")
    );
    set!(
        "performance_insights_enabled",
        set_enable_performance_insights,
        flag(d, "performance_insights_enabled")
    );
    set!(
        "monitoring_interval",
        set_monitoring_interval,
        Some(int(d, "monitoring_interval").unwrap_or(0))
    );
    any.then_some(call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::{Endpoint, Tag};

    #[test]
    fn live_instance_is_in_schema_shape_and_keeps_the_password() {
        let db = DbInstance::builder()
            .db_instance_identifier("app")
            .engine("postgres")
            .db_instance_status("available")
            .endpoint(
                Endpoint::builder()
                    .address("app.x.us-east-1.rds.amazonaws.com")
                    .port(5432)
                    .hosted_zone_id("Z2R2ITUGPM61AM")
                    .build(),
            )
            .tag_list(Tag::builder().key("Team").value("data").build())
            .build();
        let args = Value::map([
            ("password", Value::from("s3cret-pass")),
            ("skip_final_snapshot", Value::Bool(true)),
        ]);
        let v = instance_attrs(&db, &tag_map(db.tag_list()), Some(&args));
        assert_eq!(
            v.get("endpoint"),
            Some(&Value::from("app.x.us-east-1.rds.amazonaws.com:5432"))
        );
        assert_eq!(v.get("port"), Some(&Value::from(5432)));
        assert_eq!(v.get("password"), Some(&Value::from("s3cret-pass")));
        assert_eq!(v.get("skip_final_snapshot"), Some(&Value::Bool(true)));
        assert_eq!(v.get("apply_immediately"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
        assert!(schema().find_attr("password").is_some_and(|a| a.sensitive));
    }

    #[test]
    fn a_destroy_needs_a_final_snapshot_identifier_or_skip() {
        let keep = Value::map([("skip_final_snapshot", Value::Bool(false))]);
        let msg = final_snapshot_problem("aws_db_instance.app", &keep).unwrap();
        assert!(
            msg.contains("aws_db_instance.app") && msg.contains("final_snapshot_identifier"),
            "{msg}"
        );
        let named = Value::map([("final_snapshot_identifier", Value::from("app-final"))]);
        assert_eq!(final_snapshot_problem("a", &named), None);
        let skip = Value::map([("skip_final_snapshot", Value::Bool(true))]);
        assert_eq!(final_snapshot_problem("a", &skip), None);
    }

    #[test]
    fn an_instance_made_before_the_create_began_is_not_its_own() {
        let req = |since: Option<&str>| ChangeRequest {
            address: "aws_db_instance.app".parse().unwrap(),
            type_name: "aws_db_instance".into(),
            owner: stackd_engine::provider::Owner::new("s", "id"),
            desired: Value::Null,
            prior: None,
            id: None,
            changed: Vec::new(),
            timeout: std::time::Duration::from_secs(1),
            idempotency_token: "t".into(),
            pending_since: since.map(str::to_string),
        };
        let made_at = |secs: i64| {
            DbInstance::builder()
                .instance_create_time(aws_smithy_types::DateTime::from_secs(secs))
                .build()
        };
        // 2026-12-06T10:00:00Z
        let since = Some("2026-12-06T10:00:00Z");
        assert!(made_by_this_attempt(&made_at(1_796_551_260), &req(since)));
        assert!(!made_by_this_attempt(&made_at(1_700_000_000), &req(since)));
        assert!(!made_by_this_attempt(&made_at(1_796_551_260), &req(None)));
        assert!(made_by_this_attempt(&DbInstance::builder().build(), &req(since)));
    }

    #[test]
    fn an_upgraded_minor_is_the_version_asked_for() {
        assert!(same_release("16", "16.4"));
        assert!(same_release("16.3", "16.4"));
        assert!(same_release("16.3", "16.3"));
        assert!(!same_release("16.4", "16.3"));
        assert!(!same_release("15", "16.1"));
        assert!(!same_release("1", "16.1"));
        let args = Value::map([("engine_version", Value::from("16"))]);
        assert_eq!(engine_version(Some("16.4"), Some(&args)), Value::from("16"));
        assert_eq!(engine_version(Some("17.1"), Some(&args)), Value::from("17.1"));
    }

}

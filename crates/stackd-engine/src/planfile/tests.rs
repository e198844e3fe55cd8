use stackd_spec::schema::{AttrSchema, AttrType};
use stackd_spec::ResourceSchema;

use super::*;
use crate::diff::AttrChange;
use crate::plan::{PlannedOutput, Prior};

fn schemas() -> SchemaSet {
    SchemaSet::new(vec![ResourceSchema::resource("test_db")
        .attr(AttrSchema::required("name", AttrType::String))
        .attr(AttrSchema::optional("password", AttrType::String).sensitive())
        .attr(AttrSchema::optional(
            "cidrs",
            AttrType::Set(Box::new(AttrType::String)),
        ))
        .attr(AttrSchema::optional("policy", AttrType::Json))])
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn entry(addr: &str, action: Action, reasons: Vec<Reason>) -> PlanEntry {
    PlanEntry {
        address: addr.parse().unwrap(),
        action,
        reasons,
        changes: Vec::new(),
        prior: None,
        desired: None,
        dependencies: Vec::new(),
        create_before_destroy: false,
    }
}

fn plan_with_password(password: &str) -> Plan {
    let mut create = entry("test_db.new", Action::Create, vec![Reason::New]);
    create.desired = Some(map(&[
        ("name", Value::String("app".into())),
        ("password", Value::String(password.into())),
    ]));
    let mut replace = entry(
        "test_db.old",
        Action::Replace,
        vec![Reason::ForcedBy(vec!["name".into()])],
    );
    replace.prior = Some(Prior {
        id: "db-1".into(),
        attrs: Value::Null,
        dependencies: Vec::new(),
        untracked: false,
    });
    replace.changes = vec![AttrChange {
        name: "name".into(),
        before: Value::String("a".into()),
        after: Value::Unknown,
        forces_replacement: true,
        sensitive: false,
    }];
    let mut plan = Plan {
        entries: vec![create, replace],
        ..Plan::default()
    };
    plan.outputs.insert(
        "secret".into(),
        PlannedOutput {
            before: None,
            after: Value::String(password.into()),
            sensitive: true,
        },
    );
    plan
}

fn context() -> PlanContext {
    PlanContext {
        operation: "apply".into(),
        stack: "s".into(),
        prior_state: PriorStateV1 {
            backend: "stackd.state.json".into(),
            lineage: None,
            serial: 0,
        },
        spec: SpecV1 {
            dir: ".".into(),
            digest: "sha256:00".into(),
        },
        secrets: Secrets::default(),
    }
}

#[test]
fn a_plan_document_marks_unknown_and_hides_sensitive_values() {
    let doc = PlanFileV2::from_plan(&plan_with_password("hunter2"), &schemas(), context());
    let text = serde_json::to_string(&doc).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let create = &doc.resource_changes[0];
    assert_eq!(create.action, "create");
    let password = create
        .changes
        .iter()
        .find(|c| c.attribute == "password")
        .unwrap();
    assert_eq!(password.after, serde_json::json!({"sensitive": true}));
    assert!(password.sensitive);
    let replace = &doc.resource_changes[1];
    assert_eq!(replace.action, "replace");
    assert_eq!(replace.reasons[0].code, "forced_by");
    assert_eq!(replace.reasons[0].attributes, vec!["name".to_string()]);
    assert_eq!(
        replace.changes[0].after,
        serde_json::json!({"unknown": true})
    );
    assert_eq!(
        doc.output_changes["secret"].after,
        serde_json::json!({"sensitive": true})
    );
    assert_eq!(
        doc.summary,
        SummaryV1 {
            add: 1,
            replace: 1,
            changes: true,
            ..SummaryV1::default()
        }
    );
}

#[test]
fn the_digest_changes_with_a_sensitive_value_but_never_shows_it() {
    let a = plan_digest(&plan_with_password("one"), &schemas());
    let b = plan_digest(&plan_with_password("two"), &schemas());
    assert_ne!(a, b);
    assert_eq!(a, plan_digest(&plan_with_password("one"), &schemas()));
    assert!(a.starts_with("sha256:") && a.len() == 7 + 64, "{a}");
}

#[test]
fn a_saved_plan_round_trips_and_other_versions_are_refused() {
    let doc = PlanFileV2::from_plan(&plan_with_password("x"), &schemas(), context());
    let bytes = serde_json::to_vec(&doc).unwrap();
    assert_eq!(PlanFileV2::parse(&bytes, "plan.json").unwrap(), doc);

    let mut v = serde_json::to_value(&doc).unwrap();
    v["format_version"] = serde_json::json!(3);
    let err = PlanFileV2::parse(&serde_json::to_vec(&v).unwrap(), "plan.json").unwrap_err();
    assert!(err.to_string().contains("format_version 3"), "{err}");

    let err = PlanFileV2::parse(b"{\"resource_changes\": 3}", "plan.json").unwrap_err();
    assert!(err.to_string().contains("plan.json"), "{err}");
}

#[test]
fn differences_name_each_address_that_moved() {
    let saved = PlanFileV2::from_plan(&plan_with_password("x"), &schemas(), context());
    let mut plan = plan_with_password("x");
    plan.entries[1].action = Action::Update;
    plan.entries.remove(0);
    let now = PlanFileV2::from_plan(&plan, &schemas(), context());
    assert_eq!(
        differences(&saved, &now),
        vec![
            "test_db.new: planned create, now not in the plan".to_string(),
            "test_db.old: planned replace, now update".to_string(),
        ]
    );
}

/// Regression guard: a saved plan must not be refused because the cloud
/// listed a set's members, or a JSON document's keys, in another order.
#[test]
fn the_digest_ignores_set_order_and_json_layout() {
    let plan = |cidrs: &[&str], policy: &str| {
        let mut update = entry("test_db.old", Action::Update, vec![Reason::Changed]);
        update.changes = vec![
            AttrChange {
                name: "cidrs".into(),
                before: Value::List(cidrs.iter().map(|c| Value::String(c.to_string())).collect()),
                after: Value::List(vec![Value::String("10.0.0.0/8".into())]),
                forces_replacement: false,
                sensitive: false,
            },
            AttrChange {
                name: "policy".into(),
                before: Value::String(policy.into()),
                after: Value::String("{}".into()),
                forces_replacement: false,
                sensitive: false,
            },
        ];
        Plan {
            entries: vec![update],
            ..Plan::default()
        }
    };
    let a = plan_digest(
        &plan(&["1.0.0.0/8", "2.0.0.0/8"], r#"{"a":1,"b":2}"#),
        &schemas(),
    );
    let b = plan_digest(
        &plan(&["2.0.0.0/8", "1.0.0.0/8"], r#"{ "b": 2, "a": 1 }"#),
        &schemas(),
    );
    assert_eq!(a, b);
    let c = plan_digest(
        &plan(&["3.0.0.0/8", "1.0.0.0/8"], r#"{"a":1,"b":2}"#),
        &schemas(),
    );
    assert_ne!(a, c);
}

/// A sensitive variable's value that flows into a non-sensitive attribute
/// (here inside a JSON document) is still hidden.
#[test]
fn a_secret_inside_another_attribute_is_hidden() {
    let mut plan = plan_with_password("hunter2");
    if let Some(Value::Map(d)) = &mut plan.entries[0].desired {
        d.insert(
            "name".into(),
            Value::String(r#"{"env":[{"name":"DB_PASSWORD","value":"s3cr3t-value"}]}"#.into()),
        );
    }
    let mut ctx = context();
    ctx.secrets = Secrets::new(&plan, &schemas(), [&Value::String("s3cr3t-value".into())]);
    let doc = PlanFileV2::from_plan(&plan, &schemas(), ctx);
    let text = serde_json::to_string(&doc).unwrap();
    assert!(!text.contains("s3cr3t-value"), "{text}");
    let name = doc.resource_changes[0]
        .changes
        .iter()
        .find(|c| c.attribute == "name")
        .unwrap();
    assert!(name.sensitive);
    // Too short to match: not hidden everywhere it might appear.
    let short = Secrets::new(&plan, &schemas(), [&Value::String("abc".into())]);
    assert!(!short.hides(&Value::String("abcdef".into())));
}

#[test]
fn saved_plans_carry_their_variables_and_printed_documents_do_not() {
    let plan = plan_with_password("hunter22");
    let doc = PlanFileV2::from_plan(&plan, &schemas(), context());
    let printed = serde_json::to_string(&doc).unwrap();
    assert!(!printed.contains("\"variables\""), "{printed}");

    let vars = BTreeMap::from([
        ("db_password".to_string(), Value::from("hunter22")),
        ("replicas".to_string(), Value::from(3)),
        (
            "cidrs".to_string(),
            Value::List(vec![Value::from("10.0.0.0/16")]),
        ),
    ]);
    let saved = doc.with_variables(&vars);
    assert_eq!(saved.plan_digest, doc.plan_digest);
    let bytes = serde_json::to_vec(&saved).unwrap();
    let back = PlanFileV2::parse(&bytes, "plan.json").unwrap();
    let values = back.variables.expect("variables kept");
    assert_eq!(values["db_password"].value, serde_json::json!("hunter22"));
    assert_eq!(values["replicas"].value, serde_json::json!(3));
    assert_eq!(values["cidrs"].value, serde_json::json!(["10.0.0.0/16"]));
}

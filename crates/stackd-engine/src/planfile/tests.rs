use stackd_spec::schema::{AttrSchema, AttrType};
use stackd_spec::ResourceSchema;

use super::*;
use crate::diff::AttrChange;
use crate::plan::{PlannedOutput, Prior};

fn schemas() -> SchemaSet {
    SchemaSet::new(vec![ResourceSchema::resource("test_db")
        .attr(AttrSchema::required("name", AttrType::String))
        .attr(AttrSchema::optional("password", AttrType::String).sensitive())])
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
    }
}

#[test]
fn a_plan_document_marks_unknown_and_hides_sensitive_values() {
    let doc = PlanFileV1::from_plan(&plan_with_password("hunter2"), &schemas(), context());
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
    let a = plan_digest(&plan_with_password("one"));
    let b = plan_digest(&plan_with_password("two"));
    assert_ne!(a, b);
    assert_eq!(a, plan_digest(&plan_with_password("one")));
    assert!(a.starts_with("sha256:") && a.len() == 7 + 64, "{a}");
}

#[test]
fn a_saved_plan_round_trips_and_other_versions_are_refused() {
    let doc = PlanFileV1::from_plan(&plan_with_password("x"), &schemas(), context());
    let bytes = serde_json::to_vec(&doc).unwrap();
    assert_eq!(PlanFileV1::parse(&bytes, "plan.json").unwrap(), doc);

    let mut v = serde_json::to_value(&doc).unwrap();
    v["format_version"] = serde_json::json!(2);
    let err = PlanFileV1::parse(&serde_json::to_vec(&v).unwrap(), "plan.json").unwrap_err();
    assert!(err.to_string().contains("format_version 2"), "{err}");

    let err = PlanFileV1::parse(b"{\"resource_changes\": 3}", "plan.json").unwrap_err();
    assert!(err.to_string().contains("plan.json"), "{err}");
}

#[test]
fn differences_name_each_address_that_moved() {
    let saved = PlanFileV1::from_plan(&plan_with_password("x"), &schemas(), context());
    let mut plan = plan_with_password("x");
    plan.entries[1].action = Action::Update;
    plan.entries.remove(0);
    let now = PlanFileV1::from_plan(&plan, &schemas(), context());
    assert_eq!(
        differences(&saved, &now),
        vec![
            "test_db.new: planned create, now not in the plan".to_string(),
            "test_db.old: planned replace, now update".to_string(),
        ]
    );
}

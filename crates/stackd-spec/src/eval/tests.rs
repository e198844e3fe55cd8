//! Evaluator tests: the expression forms a Terraform user relies on.

use std::collections::BTreeMap;
use std::path::Path;

use super::{LocalCache, Resolver, Scope};
use crate::config::Config;
use crate::schema::{AttrSchema as A, AttrType as T, BlockSchema, Mode, Nesting};
use crate::value::Value;

/// Resources with fixed values: `aws_subnet.public` is a for_each map,
/// `aws_vpc.main` a single object whose `arn` is not known yet.
struct Fixed;

impl Resolver for Fixed {
    fn resource(&self, mode: Mode, t: &str, n: &str) -> Option<Value> {
        match (mode, t, n) {
            (Mode::Managed, "aws_vpc", "main") => Some(Value::map([
                ("id", Value::from("vpc-1")),
                ("arn", Value::Unknown),
            ])),
            (Mode::Managed, "aws_subnet", "public") => Some(Value::map([
                ("a", Value::map([("id", Value::from("subnet-a"))])),
                ("b", Value::map([("id", Value::from("subnet-b"))])),
            ])),
            (Mode::Managed, "aws_instance", "web") => Some(Value::List(vec![
                Value::map([("id", Value::from("i-0"))]),
                Value::map([("id", Value::from("i-1"))]),
            ])),
            _ => None,
        }
    }
}

fn config(src: &str) -> Config {
    let (c, d) = Config::from_sources(Path::new("spec"), vec![("spec/main.tf".into(), src.into())]);
    assert!(d.is_empty(), "{d:?}");
    c
}

/// Evaluates `local.x` of a spec.
fn eval_local(src: &str, vars: &[(&str, Value)]) -> Result<Value, String> {
    let c = config(src);
    let vars: BTreeMap<String, Value> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let locals = LocalCache::default();
    let scope = Scope::new(&c, &vars, &Fixed, &locals);
    scope.eval(&c.locals["x"].expr).map_err(|d| d.message)
}

fn x(expr: &str) -> Result<Value, String> {
    eval_local(&format!("locals {{\n  x = {expr}\n}}\n"), &[])
}

#[test]
fn references_and_indexing() {
    assert_eq!(x("aws_vpc.main.id"), Ok("vpc-1".into()));
    assert_eq!(x("aws_subnet.public[\"b\"].id"), Ok("subnet-b".into()));
    assert_eq!(x("aws_instance.web[1].id"), Ok("i-1".into()));
    assert_eq!(
        x("aws_instance.web[*].id"),
        Ok(Value::from(vec!["i-0", "i-1"]))
    );
    assert_eq!(
        x("values(aws_subnet.public)[*].id"),
        Ok(Value::from(vec!["subnet-a", "subnet-b"]))
    );
    assert_eq!(
        x("[for k, s in aws_subnet.public : s.id if k != \"a\"]"),
        Ok(Value::from(vec!["subnet-b"]))
    );
}

#[test]
fn unknowns_propagate_and_known_parts_stay_known() {
    assert_eq!(x("aws_vpc.main.arn"), Ok(Value::Unknown));
    assert_eq!(x("\"arn is ${aws_vpc.main.arn}\""), Ok(Value::Unknown));
    assert_eq!(x("length([aws_vpc.main.arn, 1])"), Ok(Value::from(2)));
    assert_eq!(x("{ a = aws_vpc.main.arn, b = 1 }.b"), Ok(Value::from(1)));
}

#[test]
fn templates_conditionals_and_operators() {
    assert_eq!(x("\"${1 + 2}-${true ? \"y\" : \"n\"}\""), Ok("3-y".into()));
    assert_eq!(
        x("\"%{ for s in [\"a\", \"b\"] }${s};%{ endfor }\""),
        Ok("a;b;".into())
    );
    assert_eq!(x("10 % 3 == 1 && !false"), Ok(Value::Bool(true)));
    assert_eq!(
        x("\"${5}\""),
        Ok(Value::from(5)),
        "a lone interpolation keeps its type"
    );
}

#[test]
fn for_expressions_build_maps_and_group() {
    assert_eq!(
        x("{ for s in [\"a\", \"bb\", \"cc\"] : length(s) => s... }"),
        Ok(Value::map([
            ("1", Value::from(vec!["a"])),
            ("2", Value::from(vec!["bb", "cc"]))
        ]))
    );
    let dup = x("{ for s in [\"a\", \"a\"] : s => 1 }").unwrap_err();
    assert!(dup.contains("duplicate key"), "{dup}");
}

#[test]
fn locals_refer_to_locals_and_variables() {
    let v = eval_local(
        "variable \"env\" {}\nlocals {\n  prefix = \"app-${var.env}\"\n  x = upper(local.prefix)\n}\n",
        &[("env", "prod".into())],
    );
    assert_eq!(v, Ok("APP-PROD".into()));
}

#[test]
fn try_and_can_catch_errors() {
    assert_eq!(
        x("try(aws_subnet.public[\"zz\"].id, \"none\")"),
        Ok("none".into())
    );
    assert_eq!(x("can(aws_subnet.public[\"zz\"])"), Ok(Value::Bool(false)));
}

#[test]
fn errors_name_what_is_wrong() {
    let e = x("aws_subnet.public[\"c\"].id").unwrap_err();
    assert!(e.contains("no element with key \"c\""), "{e}");
    let e = x("aws_vpc.main.idd").unwrap_err();
    assert!(
        e.contains("did you mean \"id\"") || e.contains("no attribute \"idd\""),
        "{e}"
    );
    let e = x("nosuchfn(1)").unwrap_err();
    assert!(e.contains("unknown function"), "{e}");
}

#[test]
fn dynamic_blocks_expand_with_their_iterator() {
    let c = config(
        r#"
resource "aws_security_group" "g" {
  dynamic "ingress" {
    for_each = [80, 443]
    iterator = port
    content {
      from_port = port.value
      to_port   = port.value
    }
  }
}
"#,
    );
    let schema = BlockSchema::new("aws_security_group", Nesting::Single).block(
        BlockSchema::new("ingress", Nesting::Set)
            .attr(A::required("from_port", T::Number))
            .attr(A::required("to_port", T::Number))
            .attr(A::optional("self", T::Bool).default(false)),
    );
    let vars = BTreeMap::new();
    let locals = LocalCache::default();
    let scope = Scope::new(&c, &vars, &Fixed, &locals);
    let v = scope
        .eval_body(&c.resources[0].body, &schema)
        .expect("evaluates");
    let ingress = v
        .get("ingress")
        .and_then(Value::as_list)
        .expect("list of blocks");
    assert_eq!(ingress.len(), 2);
    assert_eq!(ingress[0].get("from_port"), Some(&Value::from(80)));
    assert_eq!(
        ingress[1].get("self"),
        Some(&Value::Bool(false)),
        "defaults filled"
    );
}

/// `ingress = [{ ... }]` (Terraform's attributes-as-blocks) is read as
/// the blocks it stands for; `ingress = []` is no blocks (not "left
/// alone"), and a key the block does not have is an error.
#[test]
fn blocks_written_as_an_argument_are_read_as_blocks() {
    let schema = BlockSchema::new("aws_security_group", Nesting::Single).block(
        BlockSchema::new("ingress", Nesting::Set)
            .computed_when_absent()
            .attr(A::required("from_port", T::Number))
            .attr(A::required("to_port", T::Number))
            .attr(A::optional("cidr_blocks", T::list_of(T::String)))
            .attr(A::optional("self", T::Bool).default(false)),
    );
    let eval = |src: &str| {
        let c = config(src);
        let vars = BTreeMap::new();
        let locals = LocalCache::default();
        let scope = Scope::new(&c, &vars, &Fixed, &locals);
        scope.eval_body(&c.resources[0].body, &schema)
    };
    let v = eval(
        r#"
resource "aws_security_group" "g" {
  ingress = [for p in [443, 80] : {
    from_port   = p
    to_port     = p
    cidr_blocks = ["0.0.0.0/0"]
    self        = null
  }]
}
"#,
    )
    .expect("evaluates");
    let ingress = v.get("ingress").and_then(Value::as_list).expect("blocks");
    assert_eq!(ingress.len(), 2);
    let port80 = ingress
        .iter()
        .find(|b| b.get("from_port") == Some(&Value::from(80)))
        .expect("the port 80 block");
    assert_eq!(port80.get("to_port"), Some(&Value::from(80)));
    assert_eq!(
        port80.get("self"),
        Some(&Value::Bool(false)),
        "null takes the default"
    );

    let none =
        eval("resource \"aws_security_group\" \"g\" {\n  ingress = []\n}\n").expect("evaluates");
    assert_eq!(none.get("ingress"), Some(&Value::List(Vec::new())));
    let absent = eval("resource \"aws_security_group\" \"g\" {\n}\n").expect("evaluates");
    assert_eq!(absent.get("ingress"), Some(&Value::Null));

    let bad = eval(
        "resource \"aws_security_group\" \"g\" {\n  ingress = [{ from_port = 1, to_port = 2, colour = \"x\" }]\n}\n",
    )
    .expect_err("an unknown key");
    assert!(
        bad[0].message.contains("unknown key \"colour\""),
        "{:?}",
        bad[0].message
    );
    let missing =
        eval("resource \"aws_security_group\" \"g\" {\n  ingress = [{ from_port = 1 }]\n}\n")
            .expect_err("a required key missing");
    assert!(
        missing[0].message.contains("has no \"to_port\""),
        "{:?}",
        missing[0].message
    );
}

#[test]
fn templatefile_renders_with_its_variables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.tpl"),
        "host ${name}:%{ for p in ports }${p},%{ endfor }",
    )
    .unwrap();
    let (c, _) = Config::from_sources(
        dir.path(),
        vec![(
            dir.path().join("main.tf"),
            "locals {\n  x = templatefile(\"t.tpl\", { name = \"db\", ports = [1, 2] })\n}\n"
                .into(),
        )],
    );
    let vars = BTreeMap::new();
    let locals = LocalCache::default();
    let scope = Scope::new(&c, &vars, &Fixed, &locals);
    assert_eq!(
        scope.eval(&c.locals["x"].expr),
        Ok(Value::from("host db:1,2,"))
    );
}

#[test]
fn path_module_works_with_file_for_a_relative_spec_directory() {
    // `stackd apply specs/x`: the spec directory is relative to the working directory.
    let dir = tempfile::tempdir_in(".").unwrap();
    let rel = std::path::PathBuf::from(dir.path().file_name().unwrap());
    std::fs::write(rel.join("settings.yaml"), "port: 8080\n").unwrap();
    let (c, _) = Config::from_sources(
        &rel,
        vec![(
            rel.join("main.tf"),
            "locals {\n  x = yamldecode(file(\"${path.module}/settings.yaml\")).port\n}\n".into(),
        )],
    );
    let vars = BTreeMap::new();
    let locals = LocalCache::default();
    let scope = Scope::new(&c, &vars, &Fixed, &locals);
    assert_eq!(scope.eval(&c.locals["x"].expr), Ok(Value::from(8080)));
}

#[test]
fn a_deprecated_argument_is_read_as_its_modern_form() {
    fn vpc_as_domain(v: Value, args: &mut BTreeMap<String, Value>) {
        if v == Value::Bool(true) && args.get("domain").is_none_or(Value::is_null) {
            args.insert("domain".into(), Value::from("vpc"));
        }
    }
    let schema = || {
        BlockSchema::new("aws_eip", Nesting::Single)
            .attr(A::optional_computed("domain", T::String))
            .upgrade(
                A::optional("vpc", T::Bool),
                "domain = \"vpc\"",
                vpc_as_domain,
            )
    };
    for (body, domain) in [
        ("vpc = true", Some("vpc")),
        ("vpc = false", None),
        ("vpc = true\n  domain = \"standard\"", Some("standard")),
        ("domain = \"vpc\"", Some("vpc")),
    ] {
        let c = config(&format!("resource \"aws_eip\" \"e\" {{\n  {body}\n}}\n"));
        let vars = BTreeMap::new();
        let locals = LocalCache::default();
        let scope = Scope::new(&c, &vars, &Fixed, &locals);
        let v = scope
            .eval_body(&c.resources[0].body, &schema())
            .expect("evaluates");
        assert_eq!(v.get("domain").and_then(Value::as_str), domain, "{body}");
        assert_eq!(
            v.get("vpc"),
            None,
            "the deprecated argument is gone: {body}"
        );
    }
}

#[test]
fn a_number_must_fall_in_one_of_the_ranges() {
    let check = crate::schema::Check::Ranges(vec![(0, 0), (7, 30)]);
    for ok in [0, 7, 30] {
        assert!(super::run_check(&Value::from(ok), &check).is_ok(), "{ok}");
    }
    let err = super::run_check(&Value::from(3), &check).unwrap_err();
    assert_eq!(err, "3 is not 0 or 7 to 30");
}

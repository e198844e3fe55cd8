//! Validation tests: each kind of mistake, and the rendered report.

use std::path::Path;

use super::resolve_and_validate;
use crate::config::Config;
use crate::diag::render_all;
use crate::schema::{
    AttrSchema as A, AttrType as T, BlockSchema, Check, Nesting, ResourceSchema, SchemaSet,
};
use crate::vars::VarInputs;

fn schemas() -> SchemaSet {
    SchemaSet::new(vec![
        ResourceSchema::resource("aws_vpc")
            .attr(
                A::required("cidr_block", T::String)
                    .force_new()
                    .check(Check::Ipv4Cidr),
            )
            .attr(A::optional("enable_dns_hostnames", T::Bool).default(false))
            .taggable(),
        ResourceSchema::resource("aws_subnet")
            .attr(A::required("vpc_id", T::String).force_new())
            .attr(
                A::required("cidr_block", T::String)
                    .force_new()
                    .check(Check::Ipv4Cidr),
            )
            .attr(A::optional_computed("availability_zone", T::String))
            .taggable(),
        ResourceSchema::resource("aws_security_group")
            .attr(A::optional("vpc_id", T::String))
            .attr(A::optional_computed("name", T::String))
            .block(
                BlockSchema::new("ingress", Nesting::Set)
                    .attr(A::required("from_port", T::Number))
                    .attr(A::required("to_port", T::Number))
                    .attr(A::optional("security_groups", T::set_of(T::String))),
            ),
        ResourceSchema::resource("aws_db_instance")
            .attr(A::required("password", T::String).sensitive())
            .attr(A::computed("endpoint", T::String)),
        ResourceSchema::data("aws_availability_zones")
            .attr(A::computed("names", T::list_of(T::String))),
    ])
}

fn check(src: &str) -> (String, usize) {
    let (mut config, diags) =
        Config::from_sources(Path::new("spec"), vec![("spec/main.tf".into(), src.into())]);
    let (_, diags) = resolve_and_validate(&mut config, diags, &VarInputs::default(), &schemas());
    let errors = diags.iter().filter(|d| d.is_error()).count();
    (render_all(&diags, &config.sources), errors)
}

const FIVE_MISTAKES: &str = r#"
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/33"
}

resource "aws_subnet" "a" {
  vpc_id     = aws_vpc.main.id
  cidr_blok  = "10.0.1.0/24"
}

resource "aws_subnet" "b" {
  vpc_id     = aws_vpc.mian.id
  cidr_block = "10.0.2.0/24"
}

resource "aws_load_balancer" "web" {
  name = "web"
}

resource "aws_security_group" "app" {
  vpc_id = aws_vpc.main.id
  ingress {
    from_port       = 80
    to_port         = 80
    security_groups = [aws_security_group.db.id]
  }
}

resource "aws_security_group" "db" {
  vpc_id = aws_vpc.main.id
  ingress {
    from_port       = 5432
    to_port         = 5432
    security_groups = [aws_security_group.app.id]
  }
}
"#;

#[test]
fn five_mistakes_are_all_reported_with_locations() {
    let (text, errors) = check(FIVE_MISTAKES);
    insta::assert_snapshot!(text);
    // misspelled argument + the required argument it leaves missing, an
    // undefined reference, an unknown type, a cycle, a bad CIDR
    assert_eq!(errors, 6, "{text}");
    for needle in [
        "spec/main.tf:3:16",
        "did you mean \"cidr_block\"",
        "aws_vpc.mian",
        "unknown resource type \"aws_load_balancer\"",
        "dependency cycle: aws_security_group.app → aws_security_group.db → aws_security_group.app",
        "10.0.0.0/33",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn a_valid_spec_has_no_diagnostics() {
    let (text, errors) = check(
        r#"
variable "cidr" { default = "10.0.0.0/16" }
locals {
  subnets = { a = 1, b = 2 }
}
data "aws_availability_zones" "all" {}
resource "aws_vpc" "main" {
  cidr_block = var.cidr
  tags       = { Name = "main" }
}
resource "aws_subnet" "s" {
  for_each          = local.subnets
  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet(var.cidr, 8, each.value)
  availability_zone = data.aws_availability_zones.all.names[each.value - 1]
}
output "subnet_ids" { value = [for s in aws_subnet.s : s.id] }
"#,
    );
    assert_eq!(errors, 0, "{text}");
}

#[test]
fn cidr_computed_from_variables_is_checked() {
    let (text, errors) = check(
        r#"
variable "cidr" { default = "10.0.0.1/16" }
resource "aws_vpc" "main" { cidr_block = var.cidr }
"#,
    );
    assert_eq!(errors, 1, "{text}");
    assert!(text.contains("spec/main.tf:3:42"), "{text}");
}

#[test]
fn wrong_type_is_reported() {
    let (text, errors) = check(
        r#"
resource "aws_vpc" "main" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_hostnames = "sometimes"
}
"#,
    );
    assert_eq!(errors, 1, "{text}");
    assert!(text.contains("expected bool"), "{text}");
}

#[test]
fn each_outside_for_each_and_undeclared_variable_are_reported() {
    let (text, errors) = check(
        r#"
resource "aws_vpc" "main" {
  cidr_block = var.nope
  tags       = { k = each.key }
}
"#,
    );
    assert_eq!(errors, 2, "{text}");
}

#[test]
fn missing_variable_value_names_how_to_set_it() {
    let (text, errors) = check("variable \"region\" {}\n");
    assert_eq!(errors, 1);
    assert!(text.contains("STACKD_VAR_region"), "{text}");
}

const SENSITIVE_SOURCES: &str = r#"
variable "db_password" {
  default   = "not-a-secret-in-a-test"
  sensitive = true
}

resource "aws_db_instance" "main" {
  password = var.db_password
}

locals {
  url    = "postgres://app:${local.secret}@db"
  secret = var.db_password
}
"#;

#[test]
fn an_output_computed_from_a_sensitive_value_must_say_sensitive() {
    for (output, source) in [
        ("\"${var.db_password}!\"", "var.db_password"),
        ("local.url", "local.url (from var.db_password)"),
        (
            "aws_db_instance.main.password",
            "aws_db_instance.main.password",
        ),
        (
            "aws_db_instance.main",
            "aws_db_instance.main (its attribute password)",
        ),
    ] {
        let src = format!("{SENSITIVE_SOURCES}\noutput \"leak\" {{\n  value = {output}\n}}\n");
        let (report, errors) = check(&src);
        assert_eq!(errors, 1, "{output}: {report}");
        assert!(
            report.contains(&format!(
                "output \"leak\" is computed from {source}, which is sensitive"
            )),
            "{output}: {report}"
        );
        assert!(report.contains("spec/main.tf:17:"), "{output}: {report}");
    }
}

#[test]
fn an_output_marked_sensitive_or_declared_not_secret_is_accepted() {
    for output in [
        "value     = local.url\n  sensitive = true",
        "value = nonsensitive(local.url)",
        "value = aws_db_instance.main.endpoint",
        "value = length(nonsensitive(var.db_password))",
        // Whether a value is sensitive is not itself a secret.
        "value = issensitive(local.url)",
    ] {
        let src = format!("{SENSITIVE_SOURCES}\noutput \"ok\" {{\n  {output}\n}}\n");
        let (report, errors) = check(&src);
        assert_eq!(errors, 0, "{output}: {report}");
    }
}

const OLD_AND_MISSING: &str = r#"
variable "region" {}

variable "azs" {
  type = "list"
}

resource "aws_vpc" "main" {
  cidr_block  = "10.0.0.0/16"
  cidr_blokk  = "x"
  depends_on  = ["aws_subnet.a"]

  tags {
    Name = "main"
  }
}

resource "aws_load_balancer" "a" {}

resource "aws_loadbalancer" "b" {}
"#;

#[test]
fn one_pass_reports_missing_inputs_unknown_arguments_and_terraform_0_11_forms_together() {
    let (report, errors) = check(OLD_AND_MISSING);
    for needle in [
        "variable \"region\" has no value",
        "type = \"list\" (a quoted type) is Terraform 0.11 syntax; write type = list(string)",
        "unknown argument \"cidr_blokk\"",
        "depends_on = [\"aws_subnet.a\"] (a quoted reference) is Terraform 0.11 syntax",
        "write the reference without quotes: depends_on = [aws_subnet.a]",
        "\"tags\" is an argument, not a block",
        "unknown resource type \"aws_load_balancer\"",
        "unknown resource type \"aws_loadbalancer\"",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }
    assert_eq!(errors, 7, "{report}");
    assert_eq!(
        report.matches("supported resource types:").count(),
        1,
        "the supported types are listed once: {report}"
    );
    let (first, last) = (
        report.find("has no value").expect("missing input"),
        report.find("aws_loadbalancer").expect("last type"),
    );
    assert!(first < last, "sorted by line: {report}");
}

#[test]
fn an_unknown_function_is_found_even_where_nothing_can_be_evaluated() {
    let (report, errors) = check(
        r#"
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

locals {
  unused = formatt("%s", "x")
}

output "later" {
  value = nosuchfn(aws_vpc.main.id)
}

output "fine" {
  value = try(upper(aws_vpc.main.id), "")
}
"#,
    );
    assert_eq!(errors, 2, "{report}");
    assert!(report.contains("unknown function \"formatt\""), "{report}");
    assert!(report.contains("did you mean \"format\"?"), "{report}");
    assert!(report.contains("unknown function \"nosuchfn\""), "{report}");
}

/// Terraform's attributes-as-blocks form is read as the blocks it stands
/// for (the evaluator's tests check the values).
#[test]
fn a_block_written_as_a_list_argument_is_accepted() {
    let (report, errors) = check(
        r#"
resource "aws_security_group" "web" {
  ingress = [{ from_port = 80, to_port = 80 }]
}
"#,
    );
    assert_eq!(errors, 0, "{report}");
    let (report, errors) = check(
        r#"
resource "aws_security_group" "web" {
  ingress = [{ from_port = 80, to_prot = 80 }]
}
"#,
    );
    assert_eq!(errors, 1, "{report}");
    assert!(
        report.contains("item 0 has an unknown key \"to_prot\"") && report.contains("main.tf:3:13"),
        "{report}"
    );
}

#[test]
fn moved_blocks_are_checked_against_the_spec() {
    let (report, errors) = check(
        r#"
resource "aws_vpc" "core" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_vpc" "old" {
  cidr_block = "10.1.0.0/16"
}

moved {
  from = aws_vpc.main
  to   = aws_vpc.core
}

moved {
  from = aws_vpc.old
  to   = aws_vpc.core
}

moved {
  from = aws_vpc.main
  to   = aws_subnet.a
}

moved {
  from = aws_vpc.main
  to   = aws_vpc.nowhere
}

moved {
  from = module.x.aws_vpc.main
  to   = aws_vpc.core
}
"#,
    );
    for needle in [
        "moved from aws_vpc.old, which the spec still declares",
        "a move keeps the resource type",
        "moved to aws_vpc.nowhere, which the spec does not declare",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }
    // Out of a module that is gone is a move like any other.
    assert_eq!(errors, 3, "the first and last moves are fine: {report}");
}

#[test]
fn an_attribute_the_type_does_not_have_is_an_error_with_a_suggestion() {
    let (report, errors) = check(
        r#"
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "a" {
  vpc_id     = aws_vpc.main.idd
  cidr_block = aws_vpc.main.cidr_block
}

output "cidr" {
  value = aws_subnet.a.cidr_block
}

output "bad" {
  value = aws_subnet.a.subnet_arn
}
"#,
    );
    assert!(
        report.contains("aws_vpc.main has no attribute \"idd\""),
        "{report}"
    );
    assert!(
        report.contains("did you mean \"id\"?") || report.contains("did you mean"),
        "{report}"
    );
    assert!(
        report.contains("aws_subnet.a has no attribute \"subnet_arn\""),
        "{report}"
    );
    assert_eq!(errors, 2, "{report}");
}

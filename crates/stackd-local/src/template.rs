//! The `template_file` data source of Terraform's (deprecated) template
//! provider, still in many ECS trees for container definitions and user
//! data: `template` rendered with `vars` in Terraform's template syntax,
//! by the spec language's own evaluator
//! ([`stackd_spec::eval::render_template_text`]). As in the provider, the
//! variables are strings (numbers and bools arrive converted; lists and
//! maps are refused), the built-in functions are available (relative
//! paths read against the spec directory, Terraform's working directory),
//! and `id` is the SHA-256 of the result. `template_dir` (a resource
//! writing a directory of rendered files) is not served.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::Digest;
use stackd_spec::schema::{AttrSchema, AttrType, ResourceSchema};
use stackd_spec::Value;

/// The schemas of the types this module serves.
pub fn schemas() -> Vec<ResourceSchema> {
    vec![ResourceSchema::data("template_file")
        .attr(
            AttrSchema::required("template", AttrType::String)
                .doc("The template, in Terraform's template syntax (${name}, %{ if }, %{ for }); usually file(\"...\")."),
        )
        .attr(
            AttrSchema::optional("vars", AttrType::map_of(AttrType::String))
                .doc("The template's variables; strings, numbers or bools (lists and maps are refused)."),
        )
        .attr(AttrSchema::computed("rendered", AttrType::String).doc("The rendered template."))
        .doc("Renders a template with variables (the template provider's; templatefile() is the modern form).")]
}

/// True when this module serves the data source `type_name`.
pub fn serves(type_name: &str) -> bool {
    type_name == "template_file"
}

/// Reads `template_file`: `rendered` and `id` for the arguments `args`;
/// the template's relative paths (`file("x")`) are read against `dir`.
pub fn read(dir: &Path, args: &Value) -> Result<Value, String> {
    let template = args
        .get("template")
        .and_then(Value::as_str)
        .ok_or("template must be a string")?;
    let mut vars = BTreeMap::new();
    if let Some(given) = args.get("vars").and_then(Value::as_map) {
        let mut bad = Vec::new();
        for (name, value) in given {
            match value {
                Value::List(_) => bad.push(format!("{name} (list)")),
                Value::Map(_) => bad.push(format!("{name} (map)")),
                // A null is an empty string, as the provider's schema makes it.
                v => {
                    let s = v.to_template_string().unwrap_or_default();
                    vars.insert(name.clone(), Value::String(s));
                }
            }
        }
        if !bad.is_empty() {
            return Err(format!(
                "vars: cannot contain non-primitives; bad keys: {}",
                bad.join(", ")
            ));
        }
    }
    let rendered = stackd_spec::eval::render_template_text(template, &vars, dir)?;
    let id = crate::hex(&sha2::Sha256::digest(rendered.as_bytes()));
    Ok(Value::map([
        ("rendered", Value::from(rendered)),
        ("id", Value::from(id)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, vars: Value) -> Result<String, String> {
        read(
            Path::new("."),
            &Value::map([("template", Value::from(template)), ("vars", vars)]),
        )
        .map(|v| {
            v.get("rendered")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
    }

    #[test]
    fn interpolations_directives_and_functions() {
        let vars = Value::map([
            ("name", Value::from("web")),
            ("port", Value::from("8080")),
            ("debug", Value::from("true")),
        ]);
        assert_eq!(
            render("${name}:${port}", vars.clone()).as_deref(),
            Ok("web:8080")
        );
        assert_eq!(
            render(
                "%{ if debug == \"true\" }on%{ else }off%{ endif }",
                vars.clone()
            )
            .as_deref(),
            Ok("on")
        );
        assert_eq!(
            render(
                "%{ for s in split(\",\", \"a,b\") }[${upper(s)}]%{ endfor }",
                vars.clone()
            )
            .as_deref(),
            Ok("[A][B]")
        );
        // `$${` is a literal `${`, as in Terraform.
        assert_eq!(render("$${name}", vars).as_deref(), Ok("${name}"));
    }

    #[test]
    fn relative_paths_in_the_template_are_read_against_the_spec_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("part.txt"), "from a file").expect("file");
        let v = read(
            dir.path(),
            &Value::map([("template", Value::from("[${file(\"part.txt\")}]"))]),
        )
        .expect("renders");
        assert_eq!(v.get("rendered"), Some(&Value::from("[from a file]")));
    }

    #[test]
    fn id_is_the_sha256_of_the_result_and_rendering_is_stable() {
        let args = Value::map([
            ("template", Value::from("hello ${who}")),
            ("vars", Value::map([("who", Value::from("world"))])),
        ]);
        let a = read(Path::new("."), &args).expect("renders");
        assert_eq!(a, read(Path::new("."), &args).expect("renders"));
        // sha256("hello world")
        assert_eq!(
            a.get("id").and_then(Value::as_str),
            Some("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        );
    }

    #[test]
    fn numbers_and_bools_become_strings_and_collections_are_refused() {
        let vars = Value::map([("n", Value::from(3)), ("b", Value::Bool(false))]);
        assert_eq!(render("${n}-${b}", vars).as_deref(), Ok("3-false"));
        let e = render(
            "x",
            Value::map([("l", Value::List(vec![])), ("m", Value::map::<&str>([]))]),
        )
        .expect_err("non-primitives");
        assert!(e.contains("l (list)") && e.contains("m (map)"), "{e}");
    }

    #[test]
    fn a_missing_variable_or_a_bad_template_is_an_error_not_a_panic() {
        let e = render("${nope}", Value::Null).expect_err("undefined");
        assert!(e.contains("nope"), "{e}");
        let e = render("${aws_instance.x.id}", Value::Null).expect_err("no resources here");
        assert!(e.contains("aws_instance.x"), "{e}");
        let e = render("%{ if }", Value::Null).expect_err("syntax");
        assert!(e.contains("not a valid template"), "{e}");
        assert!(read(Path::new("."), &Value::Null).is_err());
    }
}

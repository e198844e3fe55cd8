//! Input variables: defaults, `terraform.tfvars` / `*.auto.tfvars`,
//! `STACKD_VAR_name`, `--var-file` and `--var name=value`, converted to
//! their declared types. Later sources win, as in Terraform.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::convert::{convert, TypeExpr};
use crate::diag::Diagnostic;
use crate::eval::{LocalCache, NothingKnown, Scope};
use crate::expr::Lowerer;
use crate::nesting::{too_deep, Start, MAX_NESTING};
use crate::value::Value;

/// Where variable values come from, besides declarations' defaults.
#[derive(Clone, Debug, Default)]
pub struct VarInputs {
    /// `--var-file` paths, in order.
    pub files: Vec<PathBuf>,
    /// `--var name=value`, in order.
    pub assignments: Vec<String>,
    /// Environment variables (normally `std::env::vars()`); `STACKD_VAR_*` are used.
    pub env: Vec<(String, String)>,
    /// A variable given no value is unknown instead of an error, as
    /// `terraform validate` takes it: the spec is checked for every value
    /// the variable could have.
    pub unset_is_unknown: bool,
}

/// Resolves every declared variable to a value, or reports why not.
pub fn resolve_vars(
    config: &mut Config,
    inputs: &VarInputs,
) -> Result<BTreeMap<String, Value>, Vec<Diagnostic>> {
    let (vars, diags) = resolve_vars_partial(config, inputs);
    if diags.is_empty() {
        Ok(vars)
    } else {
        Err(diags)
    }
}

/// [`resolve_vars`] that goes on past problems: every declared variable
/// gets a value, unknown (as if computed at apply) where it has none or
/// its value is wrong, so that validation can still check everything else
/// and report every problem in one pass.
pub fn resolve_vars_partial(
    config: &mut Config,
    inputs: &VarInputs,
) -> (BTreeMap<String, Value>, Vec<Diagnostic>) {
    // name → (value, where it came from, whether it is raw command-line or
    // environment text still to be parsed for its declared type).
    let mut raw: BTreeMap<String, (Value, String, bool)> = BTreeMap::new();
    let mut diags = Vec::new();

    for (k, v) in &inputs.env {
        if let Some(name) = k.strip_prefix("STACKD_VAR_") {
            raw.insert(
                name.to_string(),
                (
                    Value::String(v.clone()),
                    format!("environment variable {k}"),
                    true,
                ),
            );
        }
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let auto = config.dir.join("terraform.tfvars");
    if auto.is_file() {
        files.push(auto);
    }
    if let Ok(entries) = std::fs::read_dir(&config.dir) {
        let mut autos: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".auto.tfvars"))
            .collect();
        autos.sort();
        files.extend(autos);
    }
    files.extend(inputs.files.iter().cloned());
    for file in &files {
        match read_var_file(config, file) {
            Ok(values) => {
                for (k, v) in values {
                    raw.insert(k, (v, file.display().to_string(), false));
                }
            }
            Err(mut d) => diags.append(&mut d),
        }
    }
    for a in &inputs.assignments {
        match a.split_once('=') {
            Some((k, v)) => {
                raw.insert(
                    k.trim().to_string(),
                    (Value::String(v.to_string()), format!("--var {k}"), true),
                );
            }
            None => diags.push(Diagnostic::error(
                format!("--var {a:?} must have the form name=value"),
                None,
            )),
        }
    }

    let mut out = BTreeMap::new();
    for (name, (_, source, _)) in raw.iter() {
        if !config.variables.contains_key(name) && !source.starts_with("environment") {
            let mut d = Diagnostic::error(
                format!("value given for undeclared variable \"{name}\" (from {source})"),
                None,
            );
            if let Some(s) =
                crate::suggest::nearest(name, config.variables.keys().map(String::as_str))
            {
                d = d.note(format!("help: did you mean \"{s}\"?"));
            }
            diags.push(d);
        }
    }
    let empty = BTreeMap::new();
    let locals = LocalCache::default();
    let scope = Scope::new(config, &empty, &NothingKnown, &locals);
    // Where each value came from, for validation messages.
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for var in config.variables.values() {
        let ty = match &var.type_expr {
            Some(t) => match TypeExpr::from_expr(t) {
                Ok(t) => t,
                Err(e) => {
                    diags.push(Diagnostic::error(
                        format!("variable \"{}\": {e}", var.name),
                        Some(t.span),
                    ));
                    continue;
                }
            },
            None => TypeExpr::Any,
        };
        // A sensitive variable's value never appears in a message: not the
        // raw text given, nor what it parsed or converted to.
        let mut secrets = Vec::new();
        let value = match raw.get(&var.name) {
            Some((v, source, is_raw)) => {
                if var.sensitive {
                    secrets.extend(leaf_strings(v));
                }
                match if *is_raw {
                    parse_cli_value(v, &ty)
                } else {
                    Ok(v.clone())
                } {
                    Ok(v) => Some((v, source.clone())),
                    Err(e) => {
                        diags.push(
                            Diagnostic::error(
                                format!("variable \"{}\" from {source}: {e}", var.name),
                                Some(var.span),
                            )
                            .redacted(&secrets, true),
                        );
                        continue;
                    }
                }
            }
            None => match &var.default {
                Some(d) => match scope.eval(d) {
                    Ok(v) => Some((v, "its default".to_string())),
                    Err(e) => {
                        diags.push(e);
                        continue;
                    }
                },
                None => None,
            },
        };
        match value {
            Some((v, source)) => {
                if var.sensitive {
                    secrets.extend(leaf_strings(&v));
                }
                match convert(&v, &ty) {
                    Ok(v) if v.is_null() && !var.nullable => diags.push(Diagnostic::error(
                        format!("variable \"{}\" must not be null", var.name),
                        Some(var.span),
                    )),
                    Ok(v) => {
                        out.insert(var.name.clone(), v);
                        sources.insert(var.name.clone(), source);
                    }
                    Err(e) => diags.push(
                        Diagnostic::error(
                            format!("variable \"{}\" from {source}: {e}", var.name),
                            Some(var.span),
                        )
                        .redacted(&secrets, true),
                    ),
                }
            }
            // Left out of `out`: made unknown below.
            None if inputs.unset_is_unknown => {}
            None => diags.push(
                Diagnostic::error(format!("variable \"{}\" has no value", var.name), Some(var.span)).note(format!(
                    "help: give it a default, or pass --var {0}=VALUE, --var-file FILE or STACKD_VAR_{0}",
                    var.name
                )),
            ),
        }
    }
    if diags.is_empty() {
        diags.extend(check_validations(config, &out, &sources));
    }
    for name in config.variables.keys() {
        out.entry(name.clone()).or_insert(Value::Unknown);
    }
    (out, diags)
}

/// A string from the command line or environment: used as it is for string
/// and untyped variables (as Terraform does), parsed as an HCL expression for
/// anything else (`["a","b"]`, `3`). Text that is no value (`Pa55w0rd`
/// would parse as a reference) stays a string, so the type conversion says
/// what is wrong with it.
fn parse_cli_value(v: &Value, ty: &TypeExpr) -> Result<Value, String> {
    let Value::String(s) = v else {
        return Ok(v.clone());
    };
    if matches!(ty, TypeExpr::String | TypeExpr::Any) {
        return Ok(v.clone());
    }
    let scalar = matches!(ty, TypeExpr::Number | TypeExpr::Bool);
    if too_deep(s, Start::Code, MAX_NESTING).is_some() {
        return Err(crate::nesting::message());
    }
    match hcl_edit::parser::parse_expr(s) {
        Ok(e) => {
            let expr =
                Lowerer::at(crate::diag::Span::default()).lower(&e, crate::diag::Span::default());
            if !expr.references(&[]).is_empty() {
                return Ok(v.clone());
            }
            let config = Config::default();
            let empty = BTreeMap::new();
            let locals = LocalCache::default();
            Scope::new(&config, &empty, &NothingKnown, &locals)
                .eval(&expr)
                .map_err(|d| d.message)
        }
        Err(_) if scalar => Ok(v.clone()),
        Err(e) => Err(format!("cannot parse {s:?}: {}", e.message())),
    }
}

/// Every leaf of a value as the text a message could show.
fn leaf_strings(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::List(items) => stack.extend(items),
            Value::Map(m) => {
                out.extend(m.keys().cloned());
                stack.extend(m.values());
            }
            other => out.extend(other.to_template_string()),
        }
    }
    out
}

/// Runs the variables' `validation` blocks, as Terraform does when a value
/// is known: a false `condition` is an error saying `error_message`. A
/// message that would show a sensitive value is not shown.
fn check_validations(
    config: &Config,
    vars: &BTreeMap<String, Value>,
    sources: &BTreeMap<String, String>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let locals = LocalCache::default();
    let scope = Scope::new(config, vars, &NothingKnown, &locals);
    for var in config.variables.values() {
        if !vars.contains_key(&var.name) {
            continue;
        }
        let source = sources.get(&var.name).map_or("its default", String::as_str);
        for rule in &var.validations {
            let message = match crate::eval::check_condition(&scope, rule, "validation") {
                Ok(None) => continue,
                Ok(Some(message)) => message,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            diags.push(
                Diagnostic::error(
                    format!(
                        "invalid value for variable \"{}\" (from {source}): {message}",
                        var.name
                    ),
                    Some(var.span),
                )
                .note(format!(
                    "this was checked by the validation rule at {}",
                    config.sources.location(rule.span)
                )),
            );
        }
    }
    diags
}

/// Reads a `.tfvars` (HCL attributes) or `.tfvars.json` file. Its text is
/// added to the config's source map so errors point into it.
fn read_var_file(
    config: &mut Config,
    path: &Path,
) -> Result<Vec<(String, Value)>, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::error(
            format!("cannot read variables file {}: {e}", path.display()),
            None,
        )]
    })?;
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            vec![Diagnostic::error(
                format!(
                    "{}:{}:{}: invalid JSON: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ),
                None,
            )]
        })?;
        return match Value::from_json(&json) {
            Value::Map(m) => Ok(m.into_iter().collect()),
            _ => Err(vec![Diagnostic::error(
                format!("{} must hold a JSON object", path.display()),
                None,
            )]),
        };
    }
    let text = crate::diag::strip_bom(text);
    let file = config.sources.add(path.to_path_buf(), text.clone());
    if let Some(at) = too_deep(&text, Start::Code, MAX_NESTING) {
        return Err(vec![Diagnostic::error(
            crate::nesting::message(),
            Some(crate::diag::Span::char_at(file, &text, at)),
        )]);
    }
    let body = hcl_edit::parser::parse_body(&text).map_err(|e| {
        vec![Diagnostic::error(
            format!("syntax error: {}", e.message()),
            Some(crate::diag::Span::char_at(
                file,
                &text,
                e.location().offset(),
            )),
        )]
    })?;
    let lower = Lowerer::new(file);
    let empty = BTreeMap::new();
    let locals = LocalCache::default();
    let plain = Config::default();
    let scope = Scope::new(&plain, &empty, &NothingKnown, &locals);
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for a in body.attributes() {
        use hcl_edit::Span as _;
        let span = crate::diag::Span::new(file, a.value.span().unwrap_or(0..0));
        match scope.eval(&lower.lower(&a.value, span)) {
            Ok(v) => out.push((a.key.value().as_str().to_string(), v)),
            Err(d) => diags.push(d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path) -> Config {
        let src = "variable \"a\" { default = \"default\" }\nvariable \"n\" { type = number }\nvariable \"l\" {\n  type    = list(string)\n  default = []\n}\n";
        let (c, d) = Config::from_sources(dir, vec![(dir.join("main.tf"), src.into())]);
        assert!(d.is_empty());
        c
    }

    #[test]
    fn later_sources_win_and_values_are_converted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("terraform.tfvars"),
            "a = \"tfvars\"\nn = 1\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("extra.tfvars"), "n = 2\n").unwrap();
        let mut c = spec(dir.path());
        let inputs = VarInputs {
            files: vec![dir.path().join("extra.tfvars")],
            assignments: vec!["l=[\"x\", \"y\"]".into()],
            env: vec![
                ("STACKD_VAR_a".into(), "env".into()),
                ("STACKD_VAR_n".into(), "0".into()),
            ],
            ..VarInputs::default()
        };
        let vars = resolve_vars(&mut c, &inputs).expect("resolves");
        assert_eq!(
            vars["a"],
            Value::from("tfvars"),
            "a tfvars file beats the environment"
        );
        assert_eq!(
            vars["n"],
            Value::from(2),
            "--var-file beats terraform.tfvars"
        );
        assert_eq!(
            vars["l"],
            Value::from(vec!["x", "y"]),
            "--var values are parsed for non-string types"
        );
    }

    #[test]
    fn environment_and_cli_values_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = spec(dir.path());
        let inputs = VarInputs {
            files: vec![],
            assignments: vec!["n=3".into()],
            env: vec![("STACKD_VAR_a".into(), "from-env".into())],
            ..VarInputs::default()
        };
        let vars = resolve_vars(&mut c, &inputs).expect("resolves");
        assert_eq!(vars["a"], Value::from("from-env"));
        assert_eq!(vars["n"], Value::from(3));
    }

    #[test]
    fn a_wrong_type_or_an_undeclared_name_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = spec(dir.path());
        let inputs = VarInputs {
            files: vec![],
            assignments: vec!["n=three".into(), "nope=1".into()],
            env: vec![],
            ..VarInputs::default()
        };
        let diags = resolve_vars(&mut c, &inputs).unwrap_err();
        let text: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
        assert!(
            text.iter()
                .any(|m| m.contains("undeclared variable \"nope\"")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|m| m.contains("variable \"n\"")),
            "{text:?}"
        );
    }
}

#[cfg(test)]
mod optional_tests {
    use super::*;

    #[test]
    fn optional_object_attributes_take_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let src = r#"
variable "svc" {
  type = map(object({
    port     = number
    cpu      = optional(number, 256)
    name     = optional(string, "app")
    paths    = optional(list(string), [])
    env      = optional(map(string), { LOG = "info" })
    note     = optional(string)
    health   = optional(object({ path = optional(string, "/health"), code = optional(number, 200) }), {})
  }))
}
"#;
        let (mut c, diags) =
            Config::from_sources(dir.path(), vec![(dir.path().join("main.tf"), src.into())]);
        assert!(diags.is_empty(), "{diags:?}");
        let inputs = VarInputs {
            files: vec![],
            assignments: vec![r#"svc={ api = { port = 80, cpu = null }, web = { port = 81, name = "w", health = { code = 204 } } }"#.into()],
            env: vec![],
            ..VarInputs::default()
        };
        let vars = resolve_vars(&mut c, &inputs).expect("resolves");
        let api = vars["svc"].get("api").unwrap();
        assert_eq!(api.get("cpu"), Some(&Value::from(256)));
        assert_eq!(api.get("name"), Some(&Value::from("app")));
        assert_eq!(api.get("paths"), Some(&Value::List(vec![])));
        assert_eq!(
            api.get("env").and_then(|e| e.get("LOG")),
            Some(&Value::from("info"))
        );
        assert_eq!(api.get("note"), Some(&Value::Null));
        assert_eq!(
            api.get("health").and_then(|h| h.get("path")),
            Some(&Value::from("/health"))
        );
        let web = vars["svc"].get("web").unwrap();
        assert_eq!(web.get("name"), Some(&Value::from("w")));
        assert_eq!(
            web.get("health").and_then(|h| h.get("code")),
            Some(&Value::from(204))
        );
        assert_eq!(
            web.get("health").and_then(|h| h.get("path")),
            Some(&Value::from("/health"))
        );
    }
}

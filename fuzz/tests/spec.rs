//! Fuzzing the spec language: generated specs (a grammar of fragments, then
//! random mutations: look-alike characters pasted from documents, byte order
//! marks, deep nesting, huge counts, format bombs) through parsing,
//! variables and validation; generated expressions through the evaluator;
//! random values through every built-in function. The property is always
//! the same: no panic, no overflow, no runaway allocation; a value or
//! diagnostics come back. (The corpus of inputs that once crashed stackd
//! runs in the main test suite: `crates/stackd-spec/tests/fuzz_corpus.rs`.)
//!
//! Fixed seeds and bounded case counts keep this deterministic and well
//! under a minute in the dev profile. To explore further, raise the case
//! counts with `STACKD_FUZZ_CASES=N` and change `STACKD_FUZZ_SEED`.

#[path = "../../crates/stackd-spec/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{
    Config as RunnerConfig, RngAlgorithm, TestCaseError, TestRng, TestRunner,
};
use stackd_spec::config::Config;
use stackd_spec::convert::{convert, TypeExpr};
use stackd_spec::diag::render_all;
use stackd_spec::eval::{LocalCache, NothingKnown, Scope};
use stackd_spec::functions::{self, FuncContext};
use stackd_spec::vars::{resolve_vars, VarInputs};
use stackd_spec::Value;

// ----- the runner -----

fn cases(default: u32) -> u32 {
    std::env::var("STACKD_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32, salt: u8) -> TestRunner {
    let mut seed = [0x5d_u8; 32];
    if let Some(s) = std::env::var("STACKD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        seed[..8].copy_from_slice(&s.to_le_bytes());
    }
    seed[31] = salt;
    let config = RunnerConfig {
        cases,
        max_shrink_iters: 2_000,
        // Failures are reported with their minimal input; the seed is fixed,
        // so a rerun finds them again without a persistence file.
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// Runs `check` on every generated input; a panic is a failure (shrunk to
/// a small input, which the failure message shows).
fn fuzz<S: Strategy>(cases: u32, salt: u8, strategy: S, check: impl Fn(&S::Value))
where
    S::Value: std::fmt::Debug,
{
    let result = runner(cases, salt).run(&strategy, |input| {
        // Panics are the findings here: keep the hook from printing one per
        // shrinking step; the failure below names the smallest input.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        std::panic::set_hook(hook);
        outcome.map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            TestCaseError::fail(format!("panicked: {message}"))
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ----- the generators -----

/// Pieces of string literals: formats, CIDRs, escapes, and text that
/// broke stackd before (typographic quotes, no-break space, BOM, emoji).
const STRING_PIECES: &[&str] = &[
    "",
    "a",
    "web",
    "10.0.0.0/16",
    "10.0.0.1/33",
    "::/0",
    "us-east-1",
    "Pa55w0rd",
    "%d",
    "%s",
    "%v",
    "%q",
    "%5.2f",
    "%[2]s",
    "%999999999999d",
    "%.999999999f",
    "%-10s",
    "%%",
    "${",
    "$${",
    "%{",
    "%%{",
    "\\n",
    "\\\"",
    "\\u00e9",
    "“",
    "”",
    "\u{a0}",
    "Ω",
    "😀",
    "\u{feff}",
    "é",
    "\t",
    "/",
    "*",
    "{",
    "}",
    "[",
    "]",
    "a,b,c",
    "{\\\"k\\\": [1, 2]}",
    "k: v",
    "/[a-z]+/",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "1.5",
    "-0.5",
    "3",
    "8",
    "32",
    "255",
    "1024",
    "10000",
    "10001",
    "1000000000",
    "10000000",
    "1e308",
    "-1e308",
    "1e-300",
    "9007199254740993",
    "18446744073709551615",
    "0.1",
];

const REFERENCES: &[&str] = &[
    "var.s",
    "var.n",
    "var.l",
    "var.m",
    "var.secret",
    "var.nope",
    "local.a",
    "local.b",
    "local.nope",
    "each.key",
    "each.value",
    "each.valu",
    "count.index",
    "count.idx",
    "path.module",
    "terraform.workspace",
    "self",
    "aws_vpc.v.id",
    "aws_vpc.v[0].id",
    "aws_vpc.nope.id",
    "data.aws_availability_zones.all.names",
    "x",
    "module.m.out",
];

const TRAVERSALS: &[&str] = &[
    "[0]",
    "[1]",
    "[-1]",
    ".a",
    ".id",
    "[*]",
    ".*",
    "[*].id",
    "[\"k\"]",
    "[each.key]",
    "[*][*]",
    "[0][0]",
    ".value",
];

const BINARY: &[&str] = &[
    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||",
];

/// Every function the library has, and the evaluator's own.
fn function_names() -> Vec<&'static str> {
    let mut names = functions::function_names().to_vec();
    names.extend(["templatefile", "try", "can", "nope", "core::abs"]);
    names
}

fn quoted(parts: Vec<&str>) -> String {
    format!("\"{}\"", parts.concat())
}

/// HCL expression text, nested up to a few levels.
fn expr_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        select(NUMBERS).prop_map(str::to_string),
        vec(select(STRING_PIECES), 0..4).prop_map(quoted),
        select(&["true", "false", "null"][..]).prop_map(str::to_string),
        select(REFERENCES).prop_map(str::to_string),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
            vec(inner.clone(), 0..3).prop_map(|values| {
                let keys = ["a", "k", "\"x y\""];
                let items: Vec<String> = values
                    .iter()
                    .zip(keys)
                    .map(|(v, k)| format!("{k} = {v}"))
                    .collect();
                format!("{{ {} }}", items.join(", "))
            }),
            (select(function_names()), vec(inner.clone(), 0..4), any::<bool>()).prop_map(
                |(f, args, expand)| {
                    let dots = if expand && !args.is_empty() { "..." } else { "" };
                    format!("{f}({}{dots})", args.join(", "))
                }
            ),
            (inner.clone(), select(BINARY), inner.clone())
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (select(&["!", "-"][..]), inner.clone()).prop_map(|(op, a)| format!("{op}{a}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, t, f)| format!("{c} ? {t} : {f}")),
            (inner.clone(), inner.clone(), any::<bool>()).prop_map(|(coll, body, object)| {
                if object {
                    format!("{{ for k, v in {coll} : k => {body}... }}")
                } else {
                    format!("[for v in {coll} : {body} if v != null]")
                }
            }),
            (inner.clone(), select(TRAVERSALS)).prop_map(|(e, op)| format!("{e}{op}")),
            (inner.clone(), inner.clone()).prop_map(|(c, v)| format!(
                "\"a${{{v}}}%{{ if {c} }}yes%{{ else }}no%{{ endif }}%{{ for x in {c} }}${{x}}%{{ endfor }}\""
            )),
            inner.prop_map(|e| format!("({e})")),
        ]
    })
}

const TYPES: &[&str] = &[
    "string",
    "number",
    "bool",
    "list(string)",
    "map(number)",
    "set(string)",
    "any",
    "object({ a = string, b = optional(number) })",
    "tuple([string, number])",
    "list(nope)",
];

/// One top-level block of a spec.
fn block_text() -> impl Strategy<Value = String> {
    let e = expr_text;
    prop_oneof![
        (select(&["", "count = ", "for_each = "][..]), e(), e(), e()).prop_map(
            |(meta, m, cidr, tag)| {
                let meta = if meta.is_empty() { String::new() } else { format!("  {meta}{m}\n") };
                format!(
                    "resource \"aws_vpc\" \"v\" {{\n{meta}  cidr_block = {cidr}\n  tags = {{ Name = {tag} }}\n}}\n"
                )
            }
        ),
        (e(), e()).prop_map(|(vpc, cidr)| format!(
            "resource \"aws_subnet\" \"s\" {{\n  vpc_id = {vpc}\n  cidr_block = {cidr}\n  lifecycle {{\n    ignore_changes = [tags]\n  }}\n  timeouts {{ create = \"5m\" }}\n}}\n"
        )),
        (e(), e(), e()).prop_map(|(from, coll, to)| format!(
            "resource \"aws_security_group\" \"g\" {{\n  ingress {{\n    from_port = {from}\n    to_port = 80\n  }}\n  dynamic \"ingress\" {{\n    for_each = {coll}\n    content {{\n      from_port = ingress.value\n      to_port = {to}\n    }}\n  }}\n}}\n"
        )),
        (
            select(&["s", "n", "l", "m", "secret"][..]),
            select(TYPES),
            e(),
            any::<bool>(),
            e(),
            e()
        )
            .prop_map(|(name, ty, default, sensitive, cond, msg)| format!(
                "variable \"{name}\" {{\n  type = {ty}\n  default = {default}\n  sensitive = {sensitive}\n  validation {{\n    condition = {cond}\n    error_message = {msg}\n  }}\n}}\n"
            )),
        (e(), e()).prop_map(|(a, b)| format!(
            "locals {{\n  a = {a}\n  b = <<-EOT\n    text ${{{b}}}\n    %{{ if true }}x%{{ endif }}\n  EOT\n}}\n"
        )),
        e().prop_map(|v| format!("output \"o\" {{\n  value = {v}\n  sensitive = true\n}}\n")),
        (e(), any::<bool>()).prop_map(|(region, alias)| {
            let alias = if alias { "  alias = \"west\"\n" } else { "" };
            format!("provider \"aws\" {{\n{alias}  region = {region}\n  default_tags {{\n    tags = {{ team = \"web\" }}\n  }}\n}}\n")
        }),
        Just("data \"aws_availability_zones\" \"all\" {}\n".to_string()),
        e().prop_map(|c| format!(
            "resource \"aws_vpc\" \"p\" {{\n  provider = aws.west\n  cidr_block = \"10.0.0.0/16\"\n  provisioner \"local-exec\" {{\n    command = {c}\n  }}\n}}\n"
        )),
        Just("terraform {\n  required_version = \">= 1.5\"\n  backend \"s3\" {}\n}\n".to_string()),
    ]
}

/// Text that broke stackd before, to splice into generated specs.
fn nasty_text() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "“",
        "”",
        "‘",
        "’",
        "\u{a0}",
        "\u{feff}",
        "Ω",
        "😀",
        "\u{2028}",
        "\u{0}",
        "\r",
        "\t",
        "\"",
        "${",
        "%{",
        "}",
        "{",
        "(",
        ")",
        "[",
        "]",
        "<<EOT\n",
        "EOT\n",
        "#",
        "/*",
        "//",
        "\\",
        "=",
        ".",
        "*",
        "[*]",
        "...",
        "count = 1000000000\n",
        "count = -1\n",
        "count = 1.5\n",
        "format(\"%999999999999d\", 1)",
        "provider = aws.west\n",
        "\"${var.secret}\"",
        "each.valu",
        "e\u{301}",
    ];
    const OPENERS: &[&str] = &[
        "(",
        "[",
        "{a = ",
        "abs(",
        "\"${",
        "[for a in ",
        "!",
        "-",
        "true ? ",
    ];
    prop_oneof![
        6 => select(PIECES).prop_map(str::to_string),
        1 => (select(OPENERS), 1..120usize).prop_map(|(open, n)| open.repeat(n)),
        1 => (select(&["[*]", ".a", "[0]", ".*"][..]), 1..3000usize).prop_map(|(op, n)| op.repeat(n)),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(Index, String),
    /// The `n`th character that has a look-alike (a quote, a space, a
    /// dash...) replaced by it, as pasting from a document does.
    LookAlike(Index, Index),
    Delete(Index, Index),
    Duplicate(Index, Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), nasty_text()).prop_map(|(at, s)| Mutation::Insert(at, s)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(at, with)| Mutation::LookAlike(at, with)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Delete(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// A character boundary of `text` picked by `i`.
fn boundary(text: &str, i: &Index) -> usize {
    let mut at = i.index(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// ASCII characters and what a word processor turns them into.
const LOOK_ALIKES: &[(char, &[char])] = &[
    ('"', &['“', '”', '＂']),
    ('\'', &['‘', '’']),
    (' ', &['\u{a0}', '\u{2009}', '\u{3000}']),
    ('-', &['–', '—', '−']),
    ('=', &['＝']),
    ('{', &['｛']),
    ('\n', &['\u{2028}', '\u{85}']),
    ('.', &['。']),
];

fn mutate(mut text: String, mutations: &[Mutation]) -> String {
    for m in mutations {
        match m {
            Mutation::LookAlike(at, with) => {
                let candidates: Vec<(usize, &[char])> = text
                    .char_indices()
                    .filter_map(|(i, c)| {
                        LOOK_ALIKES
                            .iter()
                            .find(|(a, _)| *a == c)
                            .map(|(_, alikes)| (i, *alikes))
                    })
                    .collect();
                if candidates.is_empty() {
                    continue;
                }
                let (i, alikes) = candidates[at.index(candidates.len())];
                let c = alikes[with.index(alikes.len())];
                text.replace_range(i..i + 1, c.encode_utf8(&mut [0; 4]));
            }
            Mutation::Insert(at, s) => {
                let at = boundary(&text, at);
                text.insert_str(at, s);
            }
            Mutation::Delete(a, b) => {
                let (a, b) = (boundary(&text, a), boundary(&text, b));
                let (start, end) = (a.min(b), a.max(b));
                // At most 64 bytes, ending on a character boundary.
                let mut end = end.min(start + 64);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(start..end, "");
            }
            Mutation::Duplicate(a, b) => {
                let (a, b) = (boundary(&text, a), boundary(&text, b));
                let piece = text[a.min(b)..a.max(b)].to_string();
                text.insert_str(a.max(b), &piece);
            }
            Mutation::Truncate(at) => {
                let at = boundary(&text, at);
                text.truncate(at);
            }
        }
    }
    text
}

#[derive(Debug, Clone)]
struct SpecCase {
    bom: bool,
    text: String,
    vars: Vec<String>,
}

fn spec_case() -> impl Strategy<Value = SpecCase> {
    (
        any::<bool>(),
        vec(block_text(), 1..6),
        prop_oneof![1 => Just(Vec::new()), 3 => vec(mutation(), 1..4)],
        vec(
            select(
                &[
                    "n=Pa55w0rd",
                    "n=3",
                    "secret=Pa55w0rd!x",
                    "l=[\"a\", 1]",
                    "m={a = 1}",
                    "s=“x”",
                    "s=10.0.0.0/16",
                    "nope=1",
                    "novalue",
                ][..],
            ),
            0..3,
        ),
    )
        .prop_map(|(bom, blocks, mutations, vars)| SpecCase {
            bom: bom && mutations.len() % 2 == 1,
            text: mutate(blocks.concat(), &mutations),
            vars: vars.into_iter().map(str::to_string).collect(),
        })
}

// ----- the properties -----

/// Parses, resolves variables, validates and renders, as `stackd validate`
/// does (validation runs even after earlier errors, to reach more code).
fn check_spec(case: &SpecCase) -> usize {
    let text = if case.bom {
        format!("\u{feff}{}", case.text)
    } else {
        case.text.clone()
    };
    let dir = Path::new("/nonexistent/stackd-fuzz");
    let (mut config, mut diags) = Config::from_sources(dir, vec![(dir.join("main.tf"), text)]);
    let inputs = VarInputs {
        assignments: case.vars.clone(),
        ..VarInputs::default()
    };
    let vars = resolve_vars(&mut config, &inputs).unwrap_or_else(|d| {
        diags.extend(d);
        BTreeMap::new()
    });
    diags.extend(stackd_spec::validate::validate(
        &config,
        &support::schemas(),
        &vars,
    ));
    let rendered = render_all(&diags, &config.sources);
    if let Some(v) = vars.get("secret").and_then(Value::as_str) {
        let secret = config.variables.get("secret").is_some_and(|s| s.sensitive);
        if secret && v.len() >= 4 && !case.text.contains(v) {
            assert!(
                !rendered.contains(v),
                "a sensitive value was shown:\n{rendered}"
            );
        }
    }
    diags.len()
}

#[test]
fn generated_and_mutated_specs_never_crash_the_parser_or_validation() {
    fuzz(cases(3000), 1, spec_case(), |case| {
        check_spec(case);
    });
}

#[derive(Debug, Clone)]
struct ExprCase {
    expr: String,
    each: bool,
}

fn variables() -> BTreeMap<String, Value> {
    BTreeMap::from([
        ("s".to_string(), Value::from("10.0.0.0/16")),
        ("n".to_string(), Value::from(3)),
        ("l".to_string(), Value::from(vec!["a", "b", "c"])),
        (
            "m".to_string(),
            Value::map([("a", Value::from(1)), ("k", Value::Unknown)]),
        ),
        ("secret".to_string(), Value::from("Pa55w0rd!x")),
    ])
}

/// Evaluates generated expressions (in a local, so locals and references
/// resolve), then converts and prints the value.
#[test]
fn generated_expressions_never_crash_the_evaluator() {
    let strategy = (expr_text(), any::<bool>()).prop_map(|(expr, each)| ExprCase { expr, each });
    let prelude = "variable \"s\" {}\nvariable \"n\" {}\nvariable \"l\" {}\nvariable \"m\" {}\nvariable \"secret\" {\n  sensitive = true\n}\n";
    fuzz(cases(3000), 2, strategy, |case| {
        let src = format!(
            "{prelude}locals {{\n  a = [1, \"two\"]\n  b = local.a\n  x = {}\n}}\n",
            case.expr
        );
        let (config, _) = Config::from_sources(
            Path::new("/nonexistent/stackd-fuzz"),
            vec![("/nonexistent/stackd-fuzz/main.tf".into(), src)],
        );
        let Some(local) = config.locals.get("x") else {
            return;
        };
        let vars = variables();
        let locals = LocalCache::default();
        let scope = Scope::new(&config, &vars, &NothingKnown, &locals);
        let scope = if case.each {
            scope.for_instance(Some((Value::from("k"), Value::from(vec![1, 2]))), Some(1))
        } else {
            scope
        };
        match scope.eval(&local.expr) {
            Ok(v) => {
                let _ = v.to_json();
                let _ = v.to_string();
                for ty in [
                    TypeExpr::String,
                    TypeExpr::Number,
                    TypeExpr::Set(Box::new(TypeExpr::String)),
                ] {
                    let _ = convert(&v, &ty);
                }
            }
            Err(d) => {
                let _ = d.render(&config.sources);
                // `var.secret` is "Pa55w0rd!x"; the generator never writes
                // "!x", so the message can only have it from the variable.
                assert!(!d.message.contains("Pa55w0rd!x"), "{}", d.message);
            }
        }
    });
}

/// Values for function arguments: special numbers, odd strings, nesting.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        Just(Value::Unknown),
        any::<bool>().prop_map(Value::Bool),
        select(
            &[
                0.0,
                -0.0,
                1.0,
                -1.0,
                0.5,
                2.0,
                8.0,
                16.0,
                32.0,
                33.0,
                128.0,
                1024.0,
                1e9,
                1e15,
                1e300,
                -1e300,
                9.007_199_254_740_993e15,
                f64::MAX,
                f64::MIN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                f64::EPSILON,
                4_294_967_296.0,
                -9.3e18,
            ][..]
        )
        .prop_map(Value::Number),
        vec(select(STRING_PIECES), 0..4).prop_map(|p| Value::String(p.concat())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::List),
            vec(
                (select(&["a", "b", "", "Ω", "10.0.0.0/16"][..]), inner),
                0..4
            )
            .prop_map(|kv| {
                Value::Map(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

#[test]
fn every_function_survives_arbitrary_arguments() {
    let strategy = (select(functions::function_names()), vec(value(), 0..4));
    let ctx = FuncContext {
        base_dir: Path::new("/nonexistent/stackd-fuzz"),
        impure_unknown: false,
    };
    fuzz(cases(10000), 3, strategy, |(name, args)| {
        if let Ok(v) = functions::call(name, args, &ctx) {
            let _ = v.to_json();
        }
    });
}

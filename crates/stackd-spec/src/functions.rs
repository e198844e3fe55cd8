//! Terraform's built-in function library (`cidrsubnet`, `format`, `merge`, ...)
//! over [`Value`]s, with Terraform's semantics and error messages.
//!
//! [`call`] checks the argument count, rejects null arguments where Terraform
//! does, and answers [`Value::Unknown`] when an argument is not wholly known.
//! The few functions Terraform can still answer with partly unknown arguments
//! (`length`, `merge`, `concat`, `coalesce`, `element`, `lookup`, ...) see the
//! unknowns and decide themselves. `can`, `try`, `templatefile`,
//! `templatestring` and `issensitive` are the evaluator's, since they need
//! unevaluated expressions (`issensitive` is listed here for its name).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::limits::{MAX_FORMAT_WIDTH, MAX_STRING_LEN, MAX_VALUE_NODES};
use crate::value::{format_number, Value};

pub mod datetime;
mod encoding;
mod fileset;

/// What a function call may depend on besides its arguments.
#[derive(Debug, Clone, Copy)]
pub struct FuncContext<'a> {
    /// The directory `file()` and `fileexists()` resolve relative paths
    /// against (`path.module`).
    pub base_dir: &'a Path,
    /// Whether impure functions (`uuid`, `timestamp`) answer
    /// [`Value::Unknown`] (see [`crate::eval::Scope::impure_unknown`]).
    pub impure_unknown: bool,
}

/// A failed function call. The message names the function but not the
/// source location, which the caller adds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FuncError(pub String);

type FuncResult = Result<Value, FuncError>;

/// Calls the built-in function `name` (optionally written `core::name`).
pub fn call(name: &str, args: &[Value], ctx: &FuncContext) -> FuncResult {
    let spec =
        find_spec(name).ok_or_else(|| FuncError(format!("there is no function named {name:?}")))?;
    check_arity(spec, args.len())?;
    let call = Args {
        spec,
        vals: args,
        base_dir: ctx.base_dir,
    };
    if spec.flags & NULLS == 0 {
        if let Some(i) = args.iter().position(Value::is_null) {
            return Err(call.arg_err(i, "argument must not be null"));
        }
    }
    if spec.flags & UNKNOWNS == 0 && !args.iter().all(Value::is_wholly_known) {
        return Ok(Value::Unknown);
    }
    if spec.flags & IMPURE != 0 && ctx.impure_unknown {
        return Ok(Value::Unknown);
    }
    (spec.imp)(&call)
}

/// True when `name` (or `core::name`) is a function [`call`] knows.
pub fn is_known_function(name: &str) -> bool {
    find_spec(name).is_some()
}

/// The names of all functions, sorted (for "did you mean" suggestions).
pub fn function_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| SPECS.iter().map(|s| s.name).collect())
}

/// Parses an IPv4 CIDR block as AWS accepts it: `a.b.c.d/n` with `n` from 0
/// to 32, no leading zeros, and no host bits set (`10.0.0.1/16` is rejected,
/// naming the network address `10.0.0.0/16`).
pub fn parse_ipv4_cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let invalid = |why: String| format!("{s:?} is not a valid CIDR block: {why}");
    let (addr, len) = s.split_once('/').ok_or_else(|| {
        invalid("expected an IPv4 address and a prefix length, like \"10.0.0.0/16\"".into())
    })?;
    let ip = parse_ipv4(addr, true)
        .ok_or_else(|| invalid(format!("{addr:?} is not a valid IPv4 address")))?;
    let prefix = parse_prefix_len(len).filter(|p| *p <= 32).ok_or_else(|| {
        invalid(format!(
            "the prefix length must be from 0 to 32, got {len:?}"
        ))
    })?;
    let network = u32::from(ip) & (network_mask(32, prefix) as u32);
    if network != u32::from(ip) {
        return Err(invalid(format!(
            "host bits are set; the network address is \"{}/{prefix}\"",
            Ipv4Addr::from(network)
        )));
    }
    Ok((ip, prefix as u8))
}

// ---------------------------------------------------------------------------
// The function table

/// The implementation handles null arguments itself.
const NULLS: u8 = 1;
/// The implementation handles unknown arguments itself.
const UNKNOWNS: u8 = 2;
/// A new value at every call (`uuid`, `timestamp`): unknown while planning
/// when the caller asks (see [`FuncContext::impure_unknown`]).
const IMPURE: u8 = 4;

struct Spec {
    name: &'static str,
    /// Positional parameters; the last `optional` of them may be left out.
    params: &'static [&'static str],
    optional: usize,
    /// The repeated trailing parameter, if any.
    variadic: Option<&'static str>,
    flags: u8,
    imp: fn(&Args<'_>) -> FuncResult,
}

impl Spec {
    const fn new(
        name: &'static str,
        params: &'static [&'static str],
        imp: fn(&Args<'_>) -> FuncResult,
    ) -> Spec {
        Spec {
            name,
            params,
            optional: 0,
            variadic: None,
            flags: 0,
            imp,
        }
    }

    const fn optional(mut self, n: usize) -> Spec {
        self.optional = n;
        self
    }

    const fn variadic(mut self, name: &'static str) -> Spec {
        self.variadic = Some(name);
        self
    }

    const fn flags(mut self, flags: u8) -> Spec {
        self.flags = flags;
        self
    }
}

/// Every function, sorted by name.
static SPECS: &[Spec] = &[
    Spec::new("abs", &["num"], fn_abs),
    Spec::new("abspath", &["path"], fn_abspath),
    Spec::new("alltrue", &["list"], fn_alltrue),
    Spec::new("anytrue", &["list"], fn_anytrue),
    Spec::new("base64decode", &["str"], fn_base64decode),
    Spec::new("base64encode", &["str"], fn_base64encode),
    Spec::new("base64gzip", &["str"], encoding::fn_base64gzip),
    Spec::new("base64sha256", &["str"], fn_base64sha256),
    Spec::new("base64sha512", &["str"], fn_base64sha512),
    Spec::new("basename", &["path"], fn_basename),
    Spec::new("ceil", &["num"], fn_ceil),
    Spec::new("chomp", &["str"], fn_chomp),
    Spec::new("chunklist", &["list", "size"], fn_chunklist),
    Spec::new("cidrhost", &["prefix", "hostnum"], fn_cidrhost),
    Spec::new("cidrnetmask", &["prefix"], fn_cidrnetmask),
    Spec::new(
        "cidrsubnet",
        &["prefix", "newbits", "netnum"],
        fn_cidrsubnet,
    ),
    Spec::new("cidrsubnets", &["prefix"], fn_cidrsubnets).variadic("newbits"),
    Spec::new("coalesce", &[], fn_coalesce)
        .variadic("vals")
        .flags(NULLS | UNKNOWNS),
    Spec::new("coalescelist", &[], fn_coalescelist)
        .variadic("vals")
        .flags(NULLS | UNKNOWNS),
    Spec::new("compact", &["list"], fn_compact),
    Spec::new("concat", &[], fn_concat)
        .variadic("seqs")
        .flags(UNKNOWNS),
    Spec::new("contains", &["list", "value"], fn_contains),
    Spec::new("csvdecode", &["str"], encoding::fn_csvdecode),
    Spec::new("dirname", &["path"], fn_dirname),
    Spec::new("distinct", &["list"], fn_distinct),
    Spec::new("element", &["list", "index"], fn_element).flags(UNKNOWNS),
    Spec::new("endswith", &["str", "suffix"], fn_endswith),
    Spec::new("ephemeralasnull", &["value"], fn_identity).flags(NULLS | UNKNOWNS),
    Spec::new("file", &["path"], fn_file),
    Spec::new("filebase64", &["path"], fn_filebase64),
    Spec::new("filebase64sha256", &["path"], fn_filebase64sha256),
    Spec::new("filebase64sha512", &["path"], fn_filebase64sha512),
    Spec::new("fileexists", &["path"], fn_fileexists),
    Spec::new("filemd5", &["path"], fn_filemd5),
    Spec::new("fileset", &["path", "pattern"], fileset::fn_fileset),
    Spec::new("filesha1", &["path"], fn_filesha1),
    Spec::new("filesha256", &["path"], fn_filesha256),
    Spec::new("filesha512", &["path"], fn_filesha512),
    Spec::new("flatten", &["list"], fn_flatten),
    Spec::new("floor", &["num"], fn_floor),
    Spec::new("format", &["format"], fn_format)
        .variadic("args")
        .flags(NULLS),
    Spec::new("formatdate", &["format", "time"], datetime::fn_formatdate),
    Spec::new("formatlist", &["format"], fn_formatlist)
        .variadic("args")
        .flags(NULLS | UNKNOWNS),
    Spec::new("indent", &["spaces", "str"], fn_indent),
    Spec::new("index", &["list", "value"], fn_index),
    Spec::new("issensitive", &["value"], fn_issensitive).flags(NULLS | UNKNOWNS),
    Spec::new("join", &["separator"], fn_join).variadic("lists"),
    Spec::new("jsondecode", &["str"], fn_jsondecode),
    Spec::new("jsonencode", &["val"], fn_jsonencode).flags(NULLS),
    Spec::new("keys", &["inputMap"], fn_keys).flags(UNKNOWNS),
    Spec::new("length", &["value"], fn_length).flags(UNKNOWNS),
    Spec::new("log", &["num", "base"], fn_log),
    Spec::new("lookup", &["inputMap", "key", "default"], fn_lookup)
        .optional(1)
        .flags(NULLS | UNKNOWNS),
    Spec::new("lower", &["str"], fn_lower),
    Spec::new("matchkeys", &["values", "keys", "searchset"], fn_matchkeys),
    Spec::new("max", &[], fn_max).variadic("numbers"),
    Spec::new("md5", &["str"], fn_md5),
    Spec::new("merge", &[], fn_merge)
        .variadic("maps")
        .flags(NULLS | UNKNOWNS),
    Spec::new("min", &[], fn_min).variadic("numbers"),
    Spec::new("nonsensitive", &["value"], fn_identity).flags(NULLS | UNKNOWNS),
    Spec::new("one", &["list"], fn_one).flags(UNKNOWNS),
    Spec::new("parseint", &["number", "base"], fn_parseint),
    Spec::new("pathexpand", &["path"], fn_pathexpand),
    Spec::new("plantimestamp", &[], datetime::fn_plantimestamp),
    Spec::new("pow", &["num", "power"], fn_pow),
    Spec::new("range", &["start", "limit", "step"], fn_range).optional(2),
    Spec::new("regex", &["pattern", "string"], fn_regex),
    Spec::new("regexall", &["pattern", "string"], fn_regexall),
    Spec::new("replace", &["str", "substr", "replace"], fn_replace),
    Spec::new("reverse", &["list"], fn_reverse).flags(UNKNOWNS),
    Spec::new("sensitive", &["value"], fn_identity).flags(NULLS | UNKNOWNS),
    Spec::new("setintersection", &["first_set"], fn_setintersection).variadic("other_sets"),
    Spec::new("setproduct", &[], fn_setproduct).variadic("sets"),
    Spec::new("setsubtract", &["a", "b"], fn_setsubtract),
    Spec::new("setunion", &["first_set"], fn_setunion).variadic("other_sets"),
    Spec::new("sha1", &["str"], fn_sha1),
    Spec::new("sha256", &["str"], fn_sha256),
    Spec::new("sha512", &["str"], fn_sha512),
    Spec::new("signum", &["num"], fn_signum),
    Spec::new("slice", &["list", "start_index", "end_index"], fn_slice).flags(UNKNOWNS),
    Spec::new("sort", &["list"], fn_sort),
    Spec::new("split", &["separator", "str"], fn_split),
    Spec::new("startswith", &["str", "prefix"], fn_startswith),
    Spec::new("strcontains", &["str", "substr"], fn_strcontains),
    Spec::new("strrev", &["str"], fn_strrev),
    Spec::new("substr", &["str", "offset", "length"], fn_substr),
    Spec::new("sum", &["list"], fn_sum),
    Spec::new(
        "textdecodebase64",
        &["source", "encoding"],
        encoding::fn_textdecodebase64,
    ),
    Spec::new(
        "textencodebase64",
        &["string", "encoding"],
        encoding::fn_textencodebase64,
    ),
    Spec::new("timeadd", &["timestamp", "duration"], datetime::fn_timeadd),
    Spec::new(
        "timecmp",
        &["timestamp_a", "timestamp_b"],
        datetime::fn_timecmp,
    ),
    Spec::new("timestamp", &[], datetime::fn_timestamp).flags(IMPURE),
    Spec::new("title", &["str"], fn_title),
    Spec::new("tobool", &["v"], fn_tobool).flags(NULLS),
    Spec::new("tolist", &["v"], fn_tolist).flags(NULLS),
    Spec::new("tomap", &["v"], fn_tomap).flags(NULLS),
    Spec::new("tonumber", &["v"], fn_tonumber).flags(NULLS),
    Spec::new("toset", &["v"], fn_toset).flags(NULLS),
    Spec::new("tostring", &["v"], fn_tostring).flags(NULLS),
    Spec::new("transpose", &["values"], fn_transpose),
    Spec::new("trim", &["str", "cutset"], fn_trim),
    Spec::new("trimprefix", &["str", "prefix"], fn_trimprefix),
    Spec::new("trimspace", &["str"], fn_trimspace),
    Spec::new("trimsuffix", &["str", "suffix"], fn_trimsuffix),
    Spec::new("upper", &["str"], fn_upper),
    Spec::new("urlencode", &["str"], encoding::fn_urlencode),
    Spec::new("uuid", &[], fn_uuid).flags(IMPURE),
    Spec::new("uuidv5", &["namespace", "name"], fn_uuidv5),
    Spec::new("values", &["mapping"], fn_values).flags(UNKNOWNS),
    Spec::new("yamldecode", &["src"], fn_yamldecode),
    Spec::new("yamlencode", &["value"], fn_yamlencode).flags(NULLS),
    Spec::new("zipmap", &["keys", "values"], fn_zipmap),
];

fn find_spec(name: &str) -> Option<&'static Spec> {
    let name = name.strip_prefix("core::").unwrap_or(name);
    SPECS
        .binary_search_by(|s| s.name.cmp(name))
        .ok()
        .and_then(|i| SPECS.get(i))
}

fn check_arity(spec: &Spec, got: usize) -> Result<(), FuncError> {
    let max = spec.params.len();
    let min = max - spec.optional;
    let fits = got >= min && (spec.variadic.is_some() || got <= max);
    if fits {
        return Ok(());
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let expected = if spec.variadic.is_some() {
        format!("at least {min} argument{}", plural(min))
    } else if spec.optional == 0 {
        format!("{max} argument{}", plural(max))
    } else if spec.optional == 1 {
        format!("{min} or {max} arguments")
    } else {
        format!("{min} to {max} arguments")
    };
    let mut names: Vec<String> = spec.params.iter().map(|p| p.to_string()).collect();
    names.extend(spec.variadic.map(|v| format!("{v}...")));
    Err(FuncError(format!(
        "{}: expected {expected} ({}), got {got}",
        spec.name,
        names.join(", ")
    )))
}

/// One call's arguments, with conversions that report errors as Terraform
/// does: naming the function and the parameter.
struct Args<'a> {
    spec: &'static Spec,
    vals: &'a [Value],
    base_dir: &'a Path,
}

static NULL: Value = Value::Null;

impl<'a> Args<'a> {
    fn len(&self) -> usize {
        self.vals.len()
    }

    fn get(&self, i: usize) -> &'a Value {
        self.vals.get(i).unwrap_or(&NULL)
    }

    fn rest(&self, from: usize) -> &'a [Value] {
        self.vals.get(from..).unwrap_or(&[])
    }

    fn param(&self, i: usize) -> &'static str {
        self.spec
            .params
            .get(i)
            .copied()
            .or(self.spec.variadic)
            .unwrap_or("args")
    }

    fn err(&self, msg: impl Display) -> FuncError {
        FuncError(format!("{}: {msg}", self.spec.name))
    }

    fn arg_err(&self, i: usize, msg: impl Display) -> FuncError {
        FuncError(format!(
            "{}: invalid value for {:?} parameter: {msg}",
            self.spec.name,
            self.param(i)
        ))
    }

    fn string(&self, i: usize) -> Result<String, FuncError> {
        to_str(self.get(i)).map_err(|m| self.arg_err(i, m))
    }

    fn number(&self, i: usize) -> Result<f64, FuncError> {
        to_num(self.get(i)).map_err(|m| self.arg_err(i, m))
    }

    fn int(&self, i: usize) -> Result<i64, FuncError> {
        to_int(self.get(i)).map_err(|m| self.arg_err(i, m))
    }

    fn list(&self, i: usize, what: &str) -> Result<&'a [Value], FuncError> {
        self.get(i).as_list().ok_or_else(|| self.arg_err(i, what))
    }

    /// True when any argument is itself unknown (not merely containing one).
    fn any_unknown(&self) -> bool {
        self.vals.iter().any(Value::is_unknown)
    }
}

// ---------------------------------------------------------------------------
// Conversions, as Terraform converts arguments to parameter types

fn to_str(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(format_number(*n)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("argument must not be null".into()),
        _ => Err("string required".into()),
    }
}

fn to_num(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => Ok(*n),
        Value::String(s) => parse_number(s).ok_or_else(|| "a number is required".into()),
        Value::Null => Err("argument must not be null".into()),
        _ => Err("number required".into()),
    }
}

fn to_int(v: &Value) -> Result<i64, String> {
    whole(to_num(v)?).ok_or_else(|| "value must be a whole number".into())
}

fn to_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        Value::Null => Err("argument must not be null".into()),
        _ => Err("bool required".into()),
    }
}

fn whole(n: f64) -> Option<i64> {
    (n.fract() == 0.0 && n.abs() < 9.2e18).then_some(n as i64)
}

/// A decimal number, as Terraform reads one from a string.
fn parse_number(s: &str) -> Option<f64> {
    let decimal = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !decimal {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[derive(Default)]
struct Kinds {
    string: bool,
    number: bool,
    bool: bool,
    list: bool,
    map: bool,
}

impl Kinds {
    fn of<'v>(items: impl IntoIterator<Item = &'v Value>) -> Kinds {
        let mut k = Kinds::default();
        for v in items {
            match v {
                Value::String(_) => k.string = true,
                Value::Number(_) => k.number = true,
                Value::Bool(_) => k.bool = true,
                Value::List(_) => k.list = true,
                Value::Map(_) => k.map = true,
                Value::Null | Value::Unknown => {}
            }
        }
        k
    }

    fn primitives(&self) -> usize {
        [self.string, self.number, self.bool]
            .iter()
            .filter(|b| **b)
            .count()
    }

    fn collections(&self) -> usize {
        [self.list, self.map].iter().filter(|b| **b).count()
    }

    /// Whether values of these kinds share one type once converted.
    fn unifiable(&self) -> bool {
        self.collections() == 0 || (self.collections() == 1 && self.primitives() == 0)
    }

    /// Mixed primitives unify to string.
    fn needs_strings(&self) -> bool {
        self.primitives() > 1
    }
}

/// Converts the elements of a collection to one type, as Terraform does for
/// `tolist`/`toset`/`tomap`: mixed primitives become strings.
fn unify<'v>(items: impl IntoIterator<Item = &'v Value> + Clone) -> Option<Vec<Value>> {
    let kinds = Kinds::of(items.clone());
    if !kinds.unifiable() {
        return None;
    }
    let stringify = kinds.needs_strings();
    Some(
        items
            .into_iter()
            .map(|v| match v {
                Value::Number(_) | Value::Bool(_) if stringify => {
                    Value::String(to_str(v).unwrap_or_default())
                }
                other => other.clone(),
            })
            .collect(),
    )
}

/// A total order on values, for sets: by kind, then by content.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::List(_) => 4,
            Value::Map(_) => 5,
            Value::Unknown => 6,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.total_cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::List(x), Value::List(y)) => compare_seqs(x.iter(), y.iter()),
        (Value::Map(x), Value::Map(y)) => x
            .iter()
            .zip(y.iter())
            .map(|((ka, va), (kb, vb))| ka.cmp(kb).then_with(|| compare_values(va, vb)))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn compare_seqs<'v>(
    mut x: impl Iterator<Item = &'v Value>,
    mut y: impl Iterator<Item = &'v Value>,
) -> Ordering {
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) => match compare_values(a, b) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

/// A set: de-duplicated and sorted.
fn set_of(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by(compare_values);
    items.dedup();
    items
}

// ---------------------------------------------------------------------------
// Numbers

fn fn_abs(a: &Args) -> FuncResult {
    Ok(Value::Number(a.number(0)?.abs()))
}

fn fn_ceil(a: &Args) -> FuncResult {
    Ok(Value::Number(a.number(0)?.ceil()))
}

fn fn_floor(a: &Args) -> FuncResult {
    Ok(Value::Number(a.number(0)?.floor()))
}

fn fn_signum(a: &Args) -> FuncResult {
    let n = a.number(0)?;
    let sign = if n > 0.0 {
        1.0
    } else if n < 0.0 {
        -1.0
    } else {
        0.0
    };
    Ok(Value::Number(sign))
}

fn fn_pow(a: &Args) -> FuncResult {
    let result = a.number(0)?.powf(a.number(1)?);
    if result.is_nan() {
        return Err(a.err("result is not a number"));
    }
    Ok(Value::Number(result))
}

fn fn_min(a: &Args) -> FuncResult {
    extremum(a, f64::min)
}

fn fn_max(a: &Args) -> FuncResult {
    extremum(a, f64::max)
}

fn extremum(a: &Args, pick: fn(f64, f64) -> f64) -> FuncResult {
    if a.len() == 0 {
        return Err(a.err("must pass at least one number"));
    }
    let mut best = a.number(0)?;
    for i in 1..a.len() {
        best = pick(best, a.number(i)?);
    }
    Ok(Value::Number(best))
}

fn fn_sum(a: &Args) -> FuncResult {
    let items = a.get(0).as_list().ok_or_else(|| {
        a.arg_err(
            0,
            format!(
                "argument must be list, set, or tuple. Received {}",
                a.get(0).type_name()
            ),
        )
    })?;
    if items.is_empty() {
        return Err(a.arg_err(0, "cannot sum an empty list"));
    }
    let mut total = 0.0;
    for item in items {
        total += to_num(item)
            .map_err(|_| a.arg_err(0, "argument must be list, set, or tuple of number values"))?;
    }
    Ok(Value::Number(total))
}

fn fn_range(a: &Args) -> FuncResult {
    let nums = (0..a.len())
        .map(|i| a.number(i))
        .collect::<Result<Vec<_>, _>>()?;
    let (start, end, step) = match nums[..] {
        [end] => (0.0, end, if end < 0.0 { -1.0 } else { 1.0 }),
        [start, end] => (start, end, if end < start { -1.0 } else { 1.0 }),
        [start, end, step] => (start, end, step),
        _ => return Err(a.err("must have one, two, or three arguments")),
    };
    if step == 0.0 {
        return Err(a.arg_err(2, "step must not be zero"));
    }
    if step < 0.0 && end > start {
        return Err(a.arg_err(1, "end must be less than start when step is negative"));
    }
    if step > 0.0 && end < start {
        return Err(a.arg_err(1, "end must be greater than start when step is positive"));
    }
    let mut vals = Vec::new();
    for k in 0.. {
        let x = tidy(start + step * f64::from(k));
        if (step < 0.0 && x <= end) || (step > 0.0 && x >= end) {
            break;
        }
        if vals.len() >= 1024 {
            return Err(a.err(
                "more than 1024 values were generated; either decrease the difference between \
                 start and end or use a smaller step",
            ));
        }
        vals.push(Value::Number(x));
    }
    Ok(Value::List(vals))
}

/// Rounds away binary noise (`0.30000000000000004` becomes `0.3`), since
/// Terraform does its arithmetic in decimal.
fn tidy(x: f64) -> f64 {
    format!("{x:.14e}").parse().unwrap_or(x)
}

fn fn_log(a: &Args) -> FuncResult {
    let result = a.number(0)?.ln() / a.number(1)?.ln();
    if !result.is_finite() {
        return Err(a.err("the result is not a finite number"));
    }
    Ok(Value::Number(result))
}

/// `parseint("FF", 16)`: an optional sign, then digits of the base (2 to 62;
/// up to 36 letters are case-insensitive, above it `a` is 10 and `A` is 36),
/// as Go's `big.Int.SetString` reads them.
fn fn_parseint(a: &Args) -> FuncResult {
    let Value::String(text) = a.get(0) else {
        return Err(a.arg_err(
            0,
            format!(
                "first argument must be a string, not {}",
                a.get(0).type_name()
            ),
        ));
    };
    let base = a.int(1)?;
    if !(2..=62).contains(&base) {
        return Err(a.arg_err(1, "base must be a whole number between 2 and 62 inclusive"));
    }
    let cannot = || a.arg_err(0, format!("cannot parse {text:?} as a base {base} integer"));
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    if digits.is_empty() {
        return Err(cannot());
    }
    let mut n = 0f64;
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => u32::from(c) - u32::from('0'),
            'a'..='z' => u32::from(c) - u32::from('a') + 10,
            'A'..='Z' if base <= 36 => u32::from(c) - u32::from('A') + 10,
            'A'..='Z' => u32::from(c) - u32::from('A') + 36,
            _ => return Err(cannot()),
        };
        if i64::from(d) >= base {
            return Err(cannot());
        }
        n = n * base as f64 + f64::from(d);
    }
    if !n.is_finite() {
        return Err(a.arg_err(0, format!("{text:?} is too large a number")));
    }
    Ok(Value::Number(if negative { -n } else { n }))
}

// ---------------------------------------------------------------------------
// Strings

fn fn_upper(a: &Args) -> FuncResult {
    Ok(Value::String(a.string(0)?.to_uppercase()))
}

fn fn_lower(a: &Args) -> FuncResult {
    Ok(Value::String(a.string(0)?.to_lowercase()))
}

fn fn_title(a: &Args) -> FuncResult {
    let mut out = String::new();
    let mut after_separator = true;
    for c in a.string(0)?.chars() {
        if after_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        after_separator = is_word_separator(c);
    }
    Ok(Value::String(out))
}

/// Word boundaries as Go's `strings.Title` sees them.
fn is_word_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    !c.is_alphanumeric() && c.is_whitespace()
}

fn fn_trimspace(a: &Args) -> FuncResult {
    Ok(Value::String(a.string(0)?.trim().to_string()))
}

fn fn_trim(a: &Args) -> FuncResult {
    let s = a.string(0)?;
    let cutset = a.string(1)?;
    Ok(Value::String(
        s.trim_matches(|c| cutset.contains(c)).to_string(),
    ))
}

fn fn_trimprefix(a: &Args) -> FuncResult {
    let s = a.string(0)?;
    let prefix = a.string(1)?;
    Ok(Value::String(
        s.strip_prefix(prefix.as_str()).unwrap_or(&s).to_string(),
    ))
}

fn fn_trimsuffix(a: &Args) -> FuncResult {
    let s = a.string(0)?;
    let suffix = a.string(1)?;
    Ok(Value::String(
        s.strip_suffix(suffix.as_str()).unwrap_or(&s).to_string(),
    ))
}

fn fn_chomp(a: &Args) -> FuncResult {
    Ok(Value::String(
        a.string(0)?.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

fn fn_indent(a: &Args) -> FuncResult {
    let spaces = usize::try_from(a.int(0)?).unwrap_or(0);
    let s = a.string(1)?;
    let lines = s.matches('\n').count();
    check_len(a, lines.saturating_mul(spaces).saturating_add(s.len()))?;
    let pad = " ".repeat(spaces);
    Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
}

fn fn_replace(a: &Args) -> FuncResult {
    let s = a.string(0)?;
    let substr = a.string(1)?;
    let replacement = a.string(2)?;
    // "/.../" is a regular expression, as in Terraform; `$1` and `${name}`
    // in the replacement refer to its capture groups.
    if substr.len() > 1 && substr.starts_with('/') && substr.ends_with('/') {
        let re = regex::Regex::new(&substr[1..substr.len() - 1])
            .map_err(|e| a.arg_err(1, format!("invalid regular expression: {e}")))?;
        // Each `$1` in the replacement can copy at most the whole input.
        let per_match = replacement
            .len()
            .saturating_add(replacement.matches('$').count().saturating_mul(s.len()));
        check_len(
            a,
            re.find_iter(&s)
                .count()
                .saturating_mul(per_match)
                .saturating_add(s.len()),
        )?;
        return Ok(Value::String(
            re.replace_all(&s, replacement.as_str()).into_owned(),
        ));
    }
    if replacement.len() > substr.len() {
        check_len(
            a,
            s.matches(substr.as_str())
                .count()
                .saturating_mul(replacement.len())
                .saturating_add(s.len()),
        )?;
    }
    Ok(Value::String(s.replace(&substr, &replacement)))
}

fn fn_split(a: &Args) -> FuncResult {
    let sep = a.string(0)?;
    let s = a.string(1)?;
    let count = if sep.is_empty() {
        s.chars().count()
    } else {
        s.matches(sep.as_str()).count() + 1
    };
    if count > MAX_VALUE_NODES {
        return Err(a.err(format!(
            "the result would have {count} elements, more than the {MAX_VALUE_NODES} stackd builds"
        )));
    }
    let parts = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str()).map(Value::from).collect()
    };
    Ok(Value::List(parts))
}

fn fn_join(a: &Args) -> FuncResult {
    let sep = a.string(0)?;
    let lists = a.rest(1);
    if lists.is_empty() {
        return Err(a.err("at least one list is required"));
    }
    let mut parts = Vec::new();
    for li in 0..lists.len() {
        let items = a.list(li + 1, "list of string required")?;
        for (ei, item) in items.iter().enumerate() {
            if item.is_null() {
                let msg = if lists.len() > 1 {
                    format!(
                        "element {ei} of list {} is null; cannot concatenate null values",
                        li + 1
                    )
                } else {
                    format!("element {ei} is null; cannot concatenate null values")
                };
                return Err(a.arg_err(li + 1, msg));
            }
            parts.push(to_str(item).map_err(|m| a.arg_err(li + 1, format!("element {ei}: {m}")))?);
        }
    }
    let len = parts.iter().fold(
        sep.len().saturating_mul(parts.len().saturating_sub(1)),
        |n, p| n.saturating_add(p.len()),
    );
    check_len(a, len)?;
    Ok(Value::String(parts.join(&sep)))
}

fn fn_substr(a: &Args) -> FuncResult {
    let chars: Vec<char> = a.string(0)?.chars().collect();
    let offset = a.int(1)?;
    let length = a.int(2)?;
    let total = chars.len() as i64;
    let start = if offset < 0 {
        (offset + total).max(0)
    } else {
        offset
    };
    if start >= total {
        return Ok(Value::String(String::new()));
    }
    let end = if length < 0 {
        total
    } else {
        start.saturating_add(length).min(total)
    };
    let picked = chars.get(start as usize..end as usize).unwrap_or(&[]);
    Ok(Value::String(picked.iter().collect()))
}

fn fn_strrev(a: &Args) -> FuncResult {
    Ok(Value::String(a.string(0)?.chars().rev().collect()))
}

fn fn_startswith(a: &Args) -> FuncResult {
    Ok(Value::Bool(a.string(0)?.starts_with(&a.string(1)?)))
}

fn fn_endswith(a: &Args) -> FuncResult {
    Ok(Value::Bool(a.string(0)?.ends_with(&a.string(1)?)))
}

fn fn_strcontains(a: &Args) -> FuncResult {
    Ok(Value::Bool(a.string(0)?.contains(&a.string(1)?)))
}

// ---------------------------------------------------------------------------
// Regular expressions (RE2 syntax, which the `regex` crate shares)

fn regex_arg(a: &Args) -> Result<regex::Regex, FuncError> {
    let pattern = a.string(0)?;
    regex::Regex::new(&pattern)
        .map_err(|e| a.arg_err(0, format!("invalid regular expression pattern: {e}")))
}

/// What one match gives: the whole match without capture groups, a list of
/// the groups when they are unnamed, a map when they are named.
enum Groups {
    None,
    Unnamed,
    Named,
}

fn regex_groups(a: &Args, re: &regex::Regex) -> Result<Groups, FuncError> {
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    match (
        names.iter().any(Option::is_some),
        names.iter().any(Option::is_none),
    ) {
        (false, false) => Ok(Groups::None),
        (false, true) => Ok(Groups::Unnamed),
        (true, false) => Ok(Groups::Named),
        (true, true) => Err(a.arg_err(
            0,
            "invalid regular expression pattern: cannot mix both named and unnamed capture \
             groups",
        )),
    }
}

/// One match as `regex` returns it; a group that took no part is null.
fn regex_match(re: &regex::Regex, groups: &Groups, caps: &regex::Captures) -> Value {
    let text = |m: Option<regex::Match>| m.map_or(Value::Null, |m| Value::from(m.as_str()));
    match groups {
        Groups::None => text(caps.get(0)),
        Groups::Unnamed => Value::List(caps.iter().skip(1).map(text).collect()),
        Groups::Named => Value::Map(
            re.capture_names()
                .flatten()
                .map(|name| (name.to_string(), text(caps.name(name))))
                .collect(),
        ),
    }
}

fn fn_regex(a: &Args) -> FuncResult {
    let re = regex_arg(a)?;
    let groups = regex_groups(a, &re)?;
    let s = a.string(1)?;
    let caps = re
        .captures(&s)
        .ok_or_else(|| a.err("pattern did not match any part of the given string"))?;
    Ok(regex_match(&re, &groups, &caps))
}

fn fn_regexall(a: &Args) -> FuncResult {
    let re = regex_arg(a)?;
    let groups = regex_groups(a, &re)?;
    let s = a.string(1)?;
    // An empty pattern matches between every two characters: count as we go.
    let per_match = 1 + re.captures_len();
    let mut out = Vec::new();
    for caps in re.captures_iter(&s) {
        if (out.len() + 1).saturating_mul(per_match) > MAX_VALUE_NODES {
            return Err(a.err(format!(
                "the result would have more than {MAX_VALUE_NODES} elements, more than stackd \
                 builds"
            )));
        }
        out.push(regex_match(&re, &groups, &caps));
    }
    Ok(Value::List(out))
}

// ---------------------------------------------------------------------------
// format and formatlist

fn fn_format(a: &Args) -> FuncResult {
    if a.get(0).is_null() {
        return Err(a.arg_err(0, "argument must not be null"));
    }
    let spec = a.string(0)?;
    format_values(&spec, a.rest(1))
        .map(Value::String)
        .map_err(|m| a.err(m))
}

fn fn_formatlist(a: &Args) -> FuncResult {
    if a.get(0).is_null() {
        return Err(a.arg_err(0, "argument must not be null"));
    }
    if a.any_unknown() {
        return Ok(Value::Unknown);
    }
    let spec = a.string(0)?;
    let args = a.rest(1);
    let mut iterations: Option<(usize, usize)> = None;
    for (i, arg) in args.iter().enumerate() {
        let Value::List(items) = arg else { continue };
        match iterations {
            None => iterations = Some((items.len(), i)),
            Some((len, j)) if len != items.len() => {
                return Err(a.arg_err(
                    i + 1,
                    format!(
                        "argument {} has length {}, which is inconsistent with argument {} of \
                         length {len}",
                        i + 1,
                        items.len(),
                        j + 1
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let count = iterations.map_or(1, |(len, _)| len);
    let mut out = Vec::with_capacity(count);
    let mut total = 0usize;
    for k in 0..count {
        let row: Vec<Value> = args
            .iter()
            .map(|arg| match arg {
                Value::List(items) => items.get(k).cloned().unwrap_or_default(),
                other => other.clone(),
            })
            .collect();
        if !row.iter().all(Value::is_wholly_known) {
            out.push(Value::Unknown);
            continue;
        }
        let s = format_values(&spec, &row)
            .map_err(|m| a.err(format!("error on format iteration {k}: {m}")))?;
        total = total.saturating_add(s.len());
        check_len(a, total)?;
        out.push(Value::String(s));
    }
    Ok(Value::List(out))
}

/// One `%...` verb of a format string.
#[derive(Default)]
struct Verb {
    raw: String,
    offset: usize,
    arg: usize,
    mode: char,
    zero: bool,
    sharp: bool,
    plus: bool,
    minus: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Formats as Terraform's `format` does: `%v %s %q %d %f %e %g %t %x ...`
/// with flags, width, precision and `%[n]` argument indexes.
fn format_values(spec: &str, args: &[Value]) -> Result<String, String> {
    let chars: Vec<(usize, char)> = spec.char_indices().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut next_arg = 1;
    let mut highest = 0;
    while let Some(&(_, c)) = chars.get(i) {
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        if let Some((_, '%')) = chars.get(i + 1) {
            out.push('%');
            i += 2;
            continue;
        }
        let (verb, next) = parse_verb(spec, &chars, i, next_arg)?;
        highest = highest.max(verb.arg);
        append_verb(&verb, args, &mut out)?;
        if out.len() > MAX_STRING_LEN {
            return Err(format!(
                "the result is longer than the {} MiB stackd builds",
                MAX_STRING_LEN >> 20
            ));
        }
        next_arg = verb.arg + 1;
        i = next;
    }
    if highest < args.len() {
        return Err(if highest == 0 {
            "too many arguments; no verbs in format string".into()
        } else {
            format!("too many arguments; only {highest} used by format string")
        });
    }
    Ok(out)
}

fn parse_verb(
    spec: &str,
    chars: &[(usize, char)],
    start: usize,
    next_arg: usize,
) -> Result<(Verb, usize), String> {
    let offset = chars.get(start).map_or(0, |c| c.0);
    let mut verb = Verb {
        offset,
        arg: next_arg,
        ..Verb::default()
    };
    let mut i = start + 1;
    let at = |i: usize| {
        chars
            .get(i)
            .map(|c| c.1)
            .ok_or_else(|| format!("invalid format string starting at offset {}", spec.len()))
    };
    let unexpected = |i: usize, c: char| {
        let off = chars.get(i).map_or(spec.len(), |c| c.0);
        format!("unrecognized format character {c:?} at offset {off}")
    };
    loop {
        match at(i)? {
            '0' => verb.zero = true,
            '#' => verb.sharp = true,
            '-' => verb.minus = true,
            '+' => verb.plus = true,
            ' ' => verb.space = true,
            _ => break,
        }
        i += 1;
    }
    let too_large = |what: &str, n: usize| {
        format!(
            "{what} {n} at offset {offset} is larger than {MAX_FORMAT_WIDTH}, the largest stackd formats"
        )
    };
    if matches!(at(i)?, '1'..='9') {
        let (n, next) = read_digits(chars, i);
        if n > MAX_FORMAT_WIDTH {
            return Err(too_large("width", n));
        }
        verb.width = Some(n);
        i = next;
    }
    if at(i)? == '.' {
        let (n, next) = read_digits(chars, i + 1);
        if n > MAX_FORMAT_WIDTH {
            return Err(too_large("precision", n));
        }
        verb.prec = Some(n);
        i = next;
    }
    if at(i)? == '[' {
        let c = at(i + 1)?;
        if !matches!(c, '1'..='9') {
            return Err(unexpected(i + 1, c));
        }
        let (n, next) = read_digits(chars, i + 1);
        let c = at(next)?;
        if c != ']' {
            return Err(unexpected(next, c));
        }
        verb.arg = n;
        i = next + 1;
    }
    let mode = at(i)?;
    if !mode.is_ascii_alphabetic() {
        return Err(unexpected(i, mode));
    }
    verb.mode = mode;
    let end = chars.get(i + 1).map_or(spec.len(), |c| c.0);
    verb.raw = spec.get(offset..end).unwrap_or_default().to_string();
    Ok((verb, i + 1))
}

fn read_digits(chars: &[(usize, char)], mut i: usize) -> (usize, usize) {
    let mut n: usize = 0;
    while let Some(d) = chars.get(i).and_then(|c| c.1.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(d as usize);
        i += 1;
    }
    (n, i)
}

fn append_verb(verb: &Verb, args: &[Value], out: &mut String) -> Result<(), String> {
    let (raw, at) = (&verb.raw, verb.offset);
    let arg = args.get(verb.arg.wrapping_sub(1)).ok_or_else(|| {
        format!(
            "not enough arguments for {raw:?} at {at}: need index {} but have {} total",
            verb.arg,
            args.len()
        )
    })?;
    if verb.mode != 'v' && arg.is_null() {
        return Err(format!(
            "unsupported value for {raw:?} at {at}: null value cannot be formatted"
        ));
    }
    let unsupported = |m: String| format!("unsupported value for {raw:?} at {at}: {m}");
    let text = match verb.mode {
        'v' => format_as_is(verb, arg)?,
        't' => to_bool(arg).map_err(unsupported)?.to_string(),
        'b' | 'd' | 'o' | 'x' | 'X' => {
            let n = to_num(arg).map_err(unsupported)?;
            format_integer(verb, n).ok_or_else(|| unsupported("an integer is required".into()))?
        }
        'e' | 'E' | 'f' | 'g' | 'G' => format_float(verb, to_num(arg).map_err(unsupported)?),
        's' | 'q' => format_str(verb, &to_str(arg).map_err(unsupported)?),
        other => {
            return Err(format!(
                "unsupported format verb {other:?} in {raw:?} at offset {at}"
            ))
        }
    };
    out.push_str(&text);
    Ok(())
}

fn format_as_is(verb: &Verb, arg: &Value) -> Result<String, String> {
    let text = match arg {
        Value::String(s) if !verb.sharp => s.clone(),
        Value::Number(n) if !verb.sharp => {
            let (sign, body) = split_sign(*n);
            format!("{sign}{}", go_general(body, None, false))
        }
        other => json_encode(other)?,
    };
    Ok(pad_text(verb, text))
}

fn format_str(verb: &Verb, s: &str) -> String {
    let s: String = match verb.prec {
        Some(p) if p > 0 => s.chars().take(p).collect(),
        _ => s.to_string(),
    };
    let text = if verb.mode == 'q' { json_quote(&s) } else { s };
    pad_text(verb, text)
}

/// Pads strings (and `%v`) to the width, as Terraform does: with zeros when
/// the `0` flag is given, on the right with `-`.
fn pad_text(verb: &Verb, text: String) -> String {
    let len = text.chars().count();
    match verb.width {
        Some(w) if w > len => {
            let pad = (if verb.zero { "0" } else { " " }).repeat(w - len);
            if verb.minus {
                text + &pad
            } else {
                pad + &text
            }
        }
        _ => text,
    }
}

/// Pads a number as Go's `fmt` does: zeros go between sign and digits.
fn pad_number(verb: &Verb, sign: &str, body: &str, zero_ok: bool) -> String {
    let len = sign.chars().count() + body.chars().count();
    match verb.width {
        Some(w) if w > len => {
            if verb.minus {
                format!("{sign}{body}{}", " ".repeat(w - len))
            } else if verb.zero && zero_ok {
                format!("{sign}{}{body}", "0".repeat(w - len))
            } else {
                format!("{}{sign}{body}", " ".repeat(w - len))
            }
        }
        _ => format!("{sign}{body}"),
    }
}

fn sign_of(verb: &Verb, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if verb.plus {
        "+"
    } else if verb.space {
        " "
    } else {
        ""
    }
}

fn split_sign(n: f64) -> (&'static str, f64) {
    if n < 0.0 {
        ("-", -n)
    } else {
        ("", n)
    }
}

fn format_integer(verb: &Verb, n: f64) -> Option<String> {
    if n.fract() != 0.0 || !n.is_finite() {
        return None;
    }
    let magnitude = n.abs() as u128;
    let mut digits = match verb.mode {
        'b' => format!("{magnitude:b}"),
        'o' => format!("{magnitude:o}"),
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    };
    if let Some(p) = verb.prec {
        if p == 0 && magnitude == 0 {
            digits.clear();
        }
        if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
    }
    let prefix = match verb.mode {
        'x' if verb.sharp => "0x",
        'X' if verb.sharp => "0X",
        'b' if verb.sharp => "0b",
        'o' if verb.sharp && !digits.starts_with('0') => "0",
        _ => "",
    };
    let body = format!("{prefix}{digits}");
    Some(pad_number(
        verb,
        sign_of(verb, n < 0.0),
        &body,
        verb.prec.is_none(),
    ))
}

fn format_float(verb: &Verb, n: f64) -> String {
    let upper = verb.mode.is_ascii_uppercase();
    let magnitude = n.abs();
    let body = if !magnitude.is_finite() {
        "Inf".to_string()
    } else {
        match verb.mode {
            'e' | 'E' => go_exponent(magnitude, verb.prec.unwrap_or(6), upper),
            'g' | 'G' => go_general(magnitude, verb.prec, upper),
            _ => format!("{magnitude:.*}", verb.prec.unwrap_or(6)),
        }
    };
    pad_number(verb, sign_of(verb, n < 0.0), &body, true)
}

/// `%e` as Go writes it: `1.234568e+03`.
fn go_exponent(x: f64, prec: usize, upper: bool) -> String {
    let s = format!("{x:.prec$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    exponent_form(mantissa, exp, upper)
}

fn exponent_form(mantissa: &str, exp: i32, upper: bool) -> String {
    let e = if upper { 'E' } else { 'e' };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}{e}{sign}{:02}", exp.unsigned_abs())
}

/// `%g` as Go writes it (also `%v` of a number): the shortest decimal digits,
/// in exponent form when the exponent is below -4 or reaches the precision
/// (6 for the shortest form, so `1000000` is `1e+06`).
fn go_general(x: f64, prec: Option<usize>, upper: bool) -> String {
    let prec = prec.map(|p| p.max(1));
    let (digits, exp) = decimal_digits(x, prec);
    let nd = digits.len() as i32;
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p as i32;
            if p > nd && nd > exp {
                nd
            } else {
                p
            }
        }
    };
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        return exponent_form(&mantissa, exp, upper);
    }
    let point = exp + 1;
    if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point >= nd {
        format!("{digits}{}", "0".repeat((point - nd) as usize))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    }
}

/// The significant decimal digits of `x` (shortest, or rounded to `prec`),
/// without trailing zeros, and the decimal exponent of the first.
fn decimal_digits(x: f64, prec: Option<usize>) -> (String, i32) {
    if x == 0.0 {
        return ("0".into(), 0);
    }
    let s = match prec {
        None => format!("{x:e}"),
        Some(p) => format!("{x:.*e}", p - 1),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_end_matches('0');
    let digits = if trimmed.is_empty() { "0" } else { trimmed };
    (digits.to_string(), exp.parse().unwrap_or(0))
}

// ---------------------------------------------------------------------------
// Collections

fn fn_length(a: &Args) -> FuncResult {
    match a.get(0) {
        Value::Unknown => Ok(Value::Unknown),
        Value::String(s) => Ok(Value::from(s.chars().count() as i64)),
        Value::List(items) => Ok(Value::from(items.len() as i64)),
        Value::Map(map) => Ok(Value::from(map.len() as i64)),
        _ => Err(a.arg_err(
            0,
            "argument must be a string, a collection type, or a structural type",
        )),
    }
}

fn fn_element(a: &Args) -> FuncResult {
    if a.any_unknown() {
        return Ok(Value::Unknown);
    }
    let list = a.get(0);
    let index = to_int(a.get(1)).map_err(|m| a.err(format!("invalid index: {m}")))?;
    let items = list
        .as_list()
        .ok_or_else(|| a.err(format!("cannot read elements from {}", list.type_name())))?;
    if items.is_empty() {
        return Err(a.err("cannot use element function with an empty list"));
    }
    let i = index.rem_euclid(items.len() as i64) as usize;
    Ok(items.get(i).cloned().unwrap_or_default())
}

fn fn_slice(a: &Args) -> FuncResult {
    if a.any_unknown() {
        return Ok(Value::Unknown);
    }
    let items = a.list(0, "must be a list or tuple value")?;
    let len = items.len() as i64;
    let start = to_int(a.get(1)).map_err(|m| a.arg_err(1, format!("invalid start index: {m}")))?;
    if start < 0 {
        return Err(a.arg_err(1, "start index must not be less than zero"));
    }
    if start > len {
        return Err(a.arg_err(
            1,
            "start index must not be greater than the length of the list",
        ));
    }
    let end = to_int(a.get(2)).map_err(|m| a.arg_err(2, format!("invalid end index: {m}")))?;
    if end < 0 {
        return Err(a.arg_err(2, "end index must not be less than zero"));
    }
    if end > len {
        return Err(a.arg_err(
            2,
            "end index must not be greater than the length of the list",
        ));
    }
    if start > end {
        return Err(a.arg_err(1, "start index must not be greater than end index"));
    }
    let picked = items.get(start as usize..end as usize).unwrap_or(&[]);
    Ok(Value::List(picked.to_vec()))
}

fn fn_lookup(a: &Args) -> FuncResult {
    for i in 0..2 {
        if a.get(i).is_null() {
            return Err(a.arg_err(i, "argument must not be null"));
        }
    }
    if a.get(0).is_unknown() || a.get(1).is_unknown() {
        return Ok(Value::Unknown);
    }
    let map = a
        .get(0)
        .as_map()
        .ok_or_else(|| a.arg_err(0, "lookup() requires a map as the first argument"))?;
    let key = a.string(1)?;
    if let Some(v) = map.get(&key) {
        return Ok(v.clone());
    }
    if a.len() < 3 {
        return Err(a.err(format!("lookup failed to find key {key:?}")));
    }
    let default = a.get(2);
    let kinds = Kinds::of(map.values());
    let string_elements = kinds.needs_strings()
        || (kinds.string && kinds.primitives() == 1 && kinds.collections() == 0);
    match default {
        Value::Number(_) | Value::Bool(_) if string_elements => {
            Ok(Value::String(to_str(default).unwrap_or_default()))
        }
        _ => Ok(default.clone()),
    }
}

fn fn_merge(a: &Args) -> FuncResult {
    let mut out = BTreeMap::new();
    let mut unknown = false;
    for (i, arg) in a.vals.iter().enumerate() {
        match arg {
            Value::Null => {}
            Value::Unknown => unknown = true,
            Value::Map(map) => out.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
            other => {
                return Err(a.arg_err(
                    i,
                    format!(
                        "arguments must be maps or objects, got {:?}",
                        other.type_name()
                    ),
                ))
            }
        }
    }
    Ok(if unknown {
        Value::Unknown
    } else {
        Value::Map(out)
    })
}

fn fn_concat(a: &Args) -> FuncResult {
    if a.len() == 0 {
        return Err(a.err("at least one argument is required"));
    }
    let mut out = Vec::new();
    let mut unknown = false;
    for (i, arg) in a.vals.iter().enumerate() {
        match arg {
            Value::Unknown => unknown = true,
            Value::List(items) => out.extend(items.iter().cloned()),
            other => {
                return Err(a.arg_err(
                    i,
                    format!(
                        "all arguments must be lists or tuples; got {}",
                        other.type_name()
                    ),
                ))
            }
        }
    }
    Ok(if unknown {
        Value::Unknown
    } else {
        Value::List(out)
    })
}

fn fn_contains(a: &Args) -> FuncResult {
    let items = a.list(0, "argument must be list, tuple, or set")?;
    Ok(Value::Bool(items.contains(a.get(1))))
}

fn fn_index(a: &Args) -> FuncResult {
    let items = a.list(0, "argument must be a list or tuple")?;
    if items.is_empty() {
        return Err(a.err("cannot search an empty list"));
    }
    items
        .iter()
        .position(|v| v == a.get(1))
        .map(|i| Value::from(i as i64))
        .ok_or_else(|| a.err("item not found"))
}

fn fn_keys(a: &Args) -> FuncResult {
    match a.get(0) {
        Value::Unknown => Ok(Value::Unknown),
        Value::Map(map) => Ok(Value::List(
            map.keys().map(|k| Value::String(k.clone())).collect(),
        )),
        _ => Err(a.arg_err(0, "must have map or object type")),
    }
}

fn fn_values(a: &Args) -> FuncResult {
    match a.get(0) {
        Value::Unknown => Ok(Value::Unknown),
        Value::Map(map) => Ok(Value::List(map.values().cloned().collect())),
        _ => Err(a.err("values() requires a map as the first argument")),
    }
}

fn fn_one(a: &Args) -> FuncResult {
    const WRONG: &str = "must be a list, set, or tuple value with either zero or one elements";
    match a.get(0) {
        Value::Unknown => Ok(Value::Unknown),
        Value::List(items) if items.len() <= 1 => Ok(items.first().cloned().unwrap_or_default()),
        _ => Err(a.arg_err(0, WRONG)),
    }
}

fn fn_reverse(a: &Args) -> FuncResult {
    match a.get(0) {
        Value::Unknown => Ok(Value::Unknown),
        Value::List(items) => Ok(Value::List(items.iter().rev().cloned().collect())),
        other => Err(a.arg_err(
            0,
            format!(
                "can only reverse list or tuple values, not {}",
                other.type_name()
            ),
        )),
    }
}

/// The elements of a `list(string)` argument, converted to strings.
fn string_elements(a: &Args, i: usize, skip_null: bool) -> Result<Vec<String>, FuncError> {
    let items = a.list(i, "list of string required")?;
    let mut out = Vec::with_capacity(items.len());
    for (ei, item) in items.iter().enumerate() {
        match item {
            Value::Null if skip_null => {}
            Value::Null => {
                return Err(a.err(format!(
                    "given list element {ei} is null; a null string cannot be sorted"
                )))
            }
            _ => out.push(to_str(item).map_err(|m| a.arg_err(i, format!("element {ei}: {m}")))?),
        }
    }
    Ok(out)
}

fn fn_sort(a: &Args) -> FuncResult {
    let mut items = string_elements(a, 0, false)?;
    items.sort();
    Ok(Value::List(items.into_iter().map(Value::String).collect()))
}

fn fn_compact(a: &Args) -> FuncResult {
    let items = string_elements(a, 0, true)?;
    Ok(Value::List(
        items
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(Value::String)
            .collect(),
    ))
}

fn fn_distinct(a: &Args) -> FuncResult {
    let items = a.list(0, "list of any single type required")?;
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(Value::List(out))
}

fn fn_flatten(a: &Args) -> FuncResult {
    fn flatten_into(items: &[Value], out: &mut Vec<Value>) {
        for item in items {
            match item {
                Value::List(inner) => flatten_into(inner, out),
                other => out.push(other.clone()),
            }
        }
    }
    let items = a.list(0, "can only flatten lists, sets and tuples")?;
    let mut out = Vec::new();
    flatten_into(items, &mut out);
    Ok(Value::List(out))
}

fn fn_zipmap(a: &Args) -> FuncResult {
    let keys = a.list(0, "list of string required")?;
    let values = a.list(1, "values argument must be a list or tuple value")?;
    if keys.len() != values.len() {
        return Err(a.err(format!(
            "number of keys ({}) does not match number of values ({})",
            keys.len(),
            values.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (i, (k, v)) in keys.iter().zip(values).enumerate() {
        if k.is_null() {
            return Err(a.err(format!("keys list has null value at index {i}")));
        }
        let key = to_str(k).map_err(|m| a.arg_err(0, format!("element {i}: {m}")))?;
        out.insert(key, v.clone());
    }
    Ok(Value::Map(out))
}

fn fn_coalesce(a: &Args) -> FuncResult {
    let kinds = Kinds::of(a.vals);
    if !kinds.unifiable() {
        return Err(a.err("all arguments must have the same type"));
    }
    let stringify = kinds.needs_strings();
    let string_type = stringify || (kinds.string && kinds.primitives() == 1);
    for arg in a.vals {
        let value = match arg {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => continue,
            Value::Number(_) | Value::Bool(_) if stringify => {
                Value::String(to_str(arg).unwrap_or_default())
            }
            other => other.clone(),
        };
        if string_type && value.as_str() == Some("") {
            continue;
        }
        return Ok(value);
    }
    Err(a.err("no non-null, non-empty-string arguments"))
}

fn fn_coalescelist(a: &Args) -> FuncResult {
    if a.len() == 0 {
        return Err(a.err("at least one argument is required"));
    }
    for (i, arg) in a.vals.iter().enumerate() {
        match arg {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => {}
            Value::List(items) if items.is_empty() => {}
            Value::List(_) => return Ok(arg.clone()),
            _ => return Err(a.arg_err(i, "coalescelist arguments must be lists or tuples")),
        }
    }
    Err(a.err("no non-null arguments"))
}

fn fn_chunklist(a: &Args) -> FuncResult {
    let items = a.list(0, "list required")?;
    let size = a.int(1)?;
    if size < 0 {
        return Err(a.arg_err(1, "the size argument must be positive"));
    }
    if size == 0 {
        return Ok(Value::List(vec![Value::List(items.to_vec())]));
    }
    Ok(Value::List(
        items
            .chunks(size as usize)
            .map(|c| Value::List(c.to_vec()))
            .collect(),
    ))
}

fn fn_alltrue(a: &Args) -> FuncResult {
    let items = a.list(0, "list of bool required")?;
    for (i, item) in items.iter().enumerate() {
        if item.is_null() {
            return Ok(Value::Bool(false));
        }
        if !to_bool(item).map_err(|m| a.arg_err(0, format!("element {i}: {m}")))? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn fn_anytrue(a: &Args) -> FuncResult {
    let items = a.list(0, "list of bool required")?;
    for (i, item) in items.iter().enumerate() {
        if item.is_null() {
            continue;
        }
        if to_bool(item).map_err(|m| a.arg_err(0, format!("element {i}: {m}")))? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn set_args<'a>(a: &Args<'a>) -> Result<Vec<&'a [Value]>, FuncError> {
    (0..a.len())
        .map(|i| a.list(i, "a set or a list is required"))
        .collect()
}

/// The arguments of `setunion`, `setintersection` and `setsubtract`,
/// converted to one element type as Terraform converts them: mixed
/// primitives become strings, so `3` and `"3"` are the same element.
fn unified_set_args(a: &Args) -> Result<Vec<Vec<Value>>, FuncError> {
    let sets = set_args(a)?;
    let kinds = Kinds::of(sets.iter().flat_map(|s| s.iter()));
    if !kinds.unifiable() {
        return Err(a.err("all arguments must have the same element type"));
    }
    let stringify = kinds.needs_strings();
    Ok(sets
        .iter()
        .map(|set| {
            set.iter()
                .map(|v| match v {
                    Value::Number(_) | Value::Bool(_) if stringify => {
                        Value::String(to_str(v).unwrap_or_default())
                    }
                    other => other.clone(),
                })
                .collect()
        })
        .collect())
}

fn fn_setunion(a: &Args) -> FuncResult {
    let sets = unified_set_args(a)?;
    Ok(Value::List(set_of(sets.concat())))
}

fn fn_setintersection(a: &Args) -> FuncResult {
    let sets = unified_set_args(a)?;
    let (first, others) = sets
        .split_first()
        .ok_or_else(|| a.err("at least one set is required"))?;
    let common = first
        .iter()
        .filter(|v| others.iter().all(|s| s.contains(v)))
        .cloned()
        .collect();
    Ok(Value::List(set_of(common)))
}

fn fn_setsubtract(a: &Args) -> FuncResult {
    let sets = unified_set_args(a)?;
    let (from, take) = (
        sets.first().map_or(&[][..], Vec::as_slice),
        sets.get(1).map_or(&[][..], Vec::as_slice),
    );
    let rest = from.iter().filter(|v| !take.contains(v)).cloned().collect();
    Ok(Value::List(set_of(rest)))
}

/// The cartesian product, in the order of the arguments (for sets, which
/// are sorted, the result is sorted too).
fn fn_setproduct(a: &Args) -> FuncResult {
    if a.len() < 2 {
        return Err(a.err("at least two arguments are required"));
    }
    // Each argument's elements convert to one type, as Terraform converts
    // a tuple to a list: `["a", 2]` is `["a", "2"]`.
    let sets: Vec<Vec<Value>> = set_args(a)?
        .into_iter()
        .enumerate()
        .map(|(i, set)| {
            unify(set.iter()).ok_or_else(|| a.arg_err(i, "elements must all have one type"))
        })
        .collect::<Result<_, _>>()?;
    let rows = sets
        .iter()
        .try_fold(1usize, |n, s| n.checked_mul(s.len()))
        .filter(|n| n.saturating_mul(sets.len() + 1) <= MAX_VALUE_NODES)
        .ok_or_else(|| {
            a.err(format!(
                "the result would have more than {MAX_VALUE_NODES} elements, more than stackd \
                 builds"
            ))
        })?;
    let mut out = Vec::with_capacity(rows);
    for mut k in 0..rows {
        let mut row = vec![Value::Null; sets.len()];
        for (slot, set) in row.iter_mut().zip(&sets).rev() {
            *slot = set[k % set.len()].clone();
            k /= set.len();
        }
        out.push(Value::List(row));
    }
    Ok(Value::List(out))
}

/// `{a = ["1", "2"], b = ["2"]}` becomes `{"1" = ["a"], "2" = ["a", "b"]}`.
fn fn_transpose(a: &Args) -> FuncResult {
    let map = a
        .get(0)
        .as_map()
        .ok_or_else(|| a.arg_err(0, "map of list of string required"))?;
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (key, list) in map {
        let items = list
            .as_list()
            .ok_or_else(|| a.arg_err(0, format!("element {key:?}: list of string required")))?;
        for item in items {
            if item.is_null() {
                return Err(a.arg_err(0, "lists must not contain null values"));
            }
            let v = to_str(item).map_err(|m| a.arg_err(0, format!("element {key:?}: {m}")))?;
            out.entry(v).or_default().push(Value::String(key.clone()));
        }
    }
    Ok(Value::Map(
        out.into_iter().map(|(k, v)| (k, Value::List(v))).collect(),
    ))
}

/// The elements of `values` whose counterpart in `keys` is in `searchset`.
fn fn_matchkeys(a: &Args) -> FuncResult {
    let values = a.list(0, "list required")?;
    let keys = a.list(1, "list required")?;
    let search = a.list(2, "list or set required")?;
    if values.len() != keys.len() {
        return Err(a.err("length of keys and values should be equal"));
    }
    // Terraform converts keys and search values to one type: `1` finds "1".
    let same = |x: &Value, y: &Value| match (x, y) {
        (Value::List(_) | Value::Map(_), _) | (_, Value::List(_) | Value::Map(_)) => x == y,
        _ => x == y || (to_str(x).is_ok() && to_str(x) == to_str(y)),
    };
    Ok(Value::List(
        values
            .iter()
            .zip(keys)
            .filter(|(_, k)| search.iter().any(|s| same(k, s)))
            .map(|(v, _)| v.clone())
            .collect(),
    ))
}

// ---------------------------------------------------------------------------
// Type conversions

/// `sensitive` and `nonsensitive` return their argument: stackd tracks
/// sensitivity from the references an expression makes (an output computed
/// from a sensitive value must say `sensitive = true`; `nonsensitive(...)`
/// hides its argument's references from that check).
///
/// `ephemeralasnull` returns its argument too: stackd has no ephemeral
/// values, so no part of one is ephemeral.
fn fn_identity(a: &Args) -> FuncResult {
    Ok(a.get(0).clone())
}

/// False: stackd knows which values are sensitive from the references an
/// expression makes, not from the values, so a function cannot tell. The
/// evaluator answers `issensitive(...)` itself from the argument's
/// references; this is what a call without them (a test) sees.
fn fn_issensitive(_: &Args) -> FuncResult {
    Ok(Value::Bool(false))
}

fn fn_tostring(a: &Args) -> FuncResult {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => to_str(v)
            .map(Value::String)
            .map_err(|_| a.arg_err(0, format!("cannot convert {} to string", v.type_name()))),
    }
}

fn fn_tonumber(a: &Args) -> FuncResult {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(*n)),
        Value::String(s) => parse_number(s).map(Value::Number).ok_or_else(|| {
            a.arg_err(
                0,
                format!(
                    "cannot convert {s:?} to number; given string must be a decimal \
                     representation of a number"
                ),
            )
        }),
        v => Err(a.arg_err(0, format!("cannot convert {} to number", v.type_name()))),
    }
}

fn fn_tobool(a: &Args) -> FuncResult {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::String(s) => to_bool(a.get(0)).map(Value::Bool).map_err(|_| {
            a.arg_err(
                0,
                format!(
                    "cannot convert {s:?} to bool; only the strings \"true\" or \"false\" are \
                     allowed"
                ),
            )
        }),
        v => Err(a.arg_err(0, format!("cannot convert {} to bool", v.type_name()))),
    }
}

fn fn_tolist(a: &Args) -> FuncResult {
    to_sequence(a, "list").map(|v| v.map_or(Value::Null, Value::List))
}

fn fn_toset(a: &Args) -> FuncResult {
    to_sequence(a, "set").map(|v| v.map_or(Value::Null, |items| Value::List(set_of(items))))
}

fn to_sequence(a: &Args, what: &str) -> Result<Option<Vec<Value>>, FuncError> {
    match a.get(0) {
        Value::Null => Ok(None),
        Value::List(items) => unify(items.iter()).map(Some).ok_or_else(|| {
            a.arg_err(
                0,
                format!("cannot convert tuple to {what} of any single type"),
            )
        }),
        v => Err(a.arg_err(
            0,
            format!(
                "cannot convert {} to {what} of any single type",
                v.type_name()
            ),
        )),
    }
}

fn fn_tomap(a: &Args) -> FuncResult {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Map(map) => {
            let values = unify(map.values())
                .ok_or_else(|| a.arg_err(0, "cannot convert object to map of any single type"))?;
            Ok(Value::Map(map.keys().cloned().zip(values).collect()))
        }
        v => Err(a.arg_err(
            0,
            format!("cannot convert {} to map of any single type", v.type_name()),
        )),
    }
}

// ---------------------------------------------------------------------------
// JSON and YAML

fn fn_jsonencode(a: &Args) -> FuncResult {
    json_encode(a.get(0))
        .map(Value::String)
        .map_err(|m| a.err(m))
}

fn fn_jsondecode(a: &Args) -> FuncResult {
    let src = a.string(0)?;
    serde_json::from_str::<serde_json::Value>(&src)
        .map(|json| Value::from_json(&json))
        .map_err(|e| a.err(e))
}

/// Compact JSON as Terraform writes it: keys sorted, and `<`, `>`, `&`,
/// U+2028 and U+2029 escaped.
fn json_encode(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_json(v, &mut out)?;
    Ok(out)
}

fn write_json(v: &Value, out: &mut String) -> Result<(), String> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_finite() => out.push_str(&format_number(*n)),
        Value::Number(_) => return Err("cannot encode an infinite number as JSON".into()),
        Value::String(s) => out.push_str(&json_quote(s)),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out)?;
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json_quote(k));
                out.push(':');
                write_json(item, out)?;
            }
            out.push('}');
        }
        Value::Unknown => return Err("cannot encode an unknown value".into()),
    }
    Ok(())
}

fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => push_unicode_escape(&mut out, c),
            c if (c as u32) < 0x20 => push_unicode_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn push_unicode_escape(out: &mut String, c: char) {
    out.push_str(&format!("\\u{:04x}", c as u32));
}

fn fn_yamldecode(a: &Args) -> FuncResult {
    let src = a.string(0)?;
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&src).map_err(|e| a.err(e))?;
    doc.apply_merge().map_err(|e| a.err(e))?;
    from_yaml(&doc).map_err(|m| a.err(m))
}

fn from_yaml(y: &serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match y {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::List(items.iter().map(from_yaml).collect::<Result<_, _>>()?),
        Y::Mapping(map) => {
            let mut out = BTreeMap::new();
            for (k, v) in map {
                out.insert(yaml_key(k)?, from_yaml(v)?);
            }
            Value::Map(out)
        }
        Y::Tagged(tagged) => from_yaml(&tagged.value)?,
    })
}

fn yaml_key(k: &serde_yaml::Value) -> Result<String, String> {
    use serde_yaml::Value as Y;
    match k {
        Y::String(s) => Ok(s.clone()),
        Y::Number(n) => Ok(n.to_string()),
        Y::Bool(b) => Ok(b.to_string()),
        Y::Null => Err("mapping key cannot be null".into()),
        Y::Tagged(tagged) => yaml_key(&tagged.value),
        _ => Err("only strings are allowed as mapping keys".into()),
    }
}

fn fn_yamlencode(a: &Args) -> FuncResult {
    Ok(Value::String(yaml_encode(a.get(0))))
}

/// Block-style YAML as Terraform writes it: keys and strings double-quoted,
/// multi-line strings as literal blocks, sequences in a mapping not indented.
fn yaml_encode(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Map(map) if !map.is_empty() => yaml_map(map, 0, false, &mut out),
        Value::List(items) if !items.is_empty() => yaml_seq(items, 0, false, &mut out),
        Value::Null | Value::Bool(_) | Value::Number(_) => {
            out.push_str(&yaml_scalar(v, 2));
            out.push_str("\n...");
        }
        other => out.push_str(&yaml_scalar(other, 2)),
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn yaml_line(indent: usize, out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&" ".repeat(indent));
}

fn yaml_map(map: &BTreeMap<String, Value>, indent: usize, inline: bool, out: &mut String) {
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 || !inline {
            yaml_line(indent, out);
        }
        out.push_str(&yaml_quoted(k));
        out.push(':');
        match v {
            Value::Map(inner) if !inner.is_empty() => yaml_map(inner, indent + 2, false, out),
            Value::List(items) if !items.is_empty() => yaml_seq(items, indent, false, out),
            other => {
                out.push(' ');
                out.push_str(&yaml_scalar(other, indent + 2));
            }
        }
    }
}

fn yaml_seq(items: &[Value], indent: usize, inline: bool, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline {
            yaml_line(indent, out);
        }
        out.push_str("- ");
        match item {
            Value::Map(inner) if !inner.is_empty() => yaml_map(inner, indent + 2, true, out),
            Value::List(inner) if !inner.is_empty() => yaml_seq(inner, indent + 2, true, out),
            other => out.push_str(&yaml_scalar(other, indent + 2)),
        }
    }
}

/// A scalar (or empty collection); `indent` is where a literal block's
/// lines go.
fn yaml_scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Null | Value::Unknown => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_finite() => format_number(*n),
        Value::Number(n) => if *n > 0.0 { "+Inf" } else { "-Inf" }.into(),
        Value::String(s) if s.contains('\n') && yaml_literal_allowed(s) => yaml_literal(s, indent),
        Value::String(s) => yaml_quoted(s),
        Value::List(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

fn yaml_printable(c: char) -> bool {
    matches!(c as u32,
        0x0A | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
        && c != '\u{FEFF}'
}

fn yaml_literal_allowed(s: &str) -> bool {
    let odd_break = |c: char| matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}');
    !s.ends_with(' ') && !s.contains(" \n") && s.chars().all(|c| yaml_printable(c) && !odd_break(c))
}

fn yaml_literal(s: &str, indent: usize) -> String {
    let mut out = String::from("|");
    if s.starts_with([' ', '\n']) {
        out.push('2');
    }
    if !s.ends_with('\n') {
        out.push('-');
    } else if s == "\n" || s.ends_with("\n\n") {
        out.push('+');
    }
    out.push('\n');
    let pad = " ".repeat(indent);
    let mut line_start = true;
    for c in s.chars() {
        if c == '\n' {
            out.push('\n');
            line_start = true;
            continue;
        }
        if line_start {
            out.push_str(&pad);
            line_start = false;
        }
        out.push(c);
    }
    out
}

fn yaml_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let escaped = match c {
            '\0' => "\\0",
            '\u{7}' => "\\a",
            '\u{8}' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\u{b}' => "\\v",
            '\u{c}' => "\\f",
            '\r' => "\\r",
            '\u{1b}' => "\\e",
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{85}' => "\\N",
            '\u{a0}' => "\\_",
            '\u{2028}' => "\\L",
            '\u{2029}' => "\\P",
            c if yaml_printable(c) => {
                out.push(c);
                continue;
            }
            c => {
                let code = c as u32;
                let text = if code <= 0xFF {
                    format!("\\x{code:02X}")
                } else if code <= 0xFFFF {
                    format!("\\u{code:04X}")
                } else {
                    format!("\\U{code:08X}")
                };
                out.push_str(&text);
                continue;
            }
        };
        out.push_str(escaped);
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------
// Hashing and base64

fn fn_base64encode(a: &Args) -> FuncResult {
    Ok(Value::String(base64_encode(a.string(0)?.as_bytes())))
}

fn fn_base64decode(a: &Args) -> FuncResult {
    let src = a.string(0)?;
    let bytes = base64_decode(&src)
        .ok_or_else(|| a.err(format!("failed to decode base64 data {src:?}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| a.err("the result of decoding the provided string is not valid UTF-8"))
}

fn fn_base64sha256(a: &Args) -> FuncResult {
    let digest = Sha256::digest(a.string(0)?.as_bytes());
    Ok(Value::String(base64_encode(&digest)))
}

fn fn_sha256(a: &Args) -> FuncResult {
    let digest = Sha256::digest(a.string(0)?.as_bytes());
    Ok(Value::String(hex(&digest)))
}

fn fn_md5(a: &Args) -> FuncResult {
    Ok(Value::String(hex(&md5(a.string(0)?.as_bytes()))))
}

fn fn_sha1(a: &Args) -> FuncResult {
    Ok(Value::String(hex(&Sha1::digest(a.string(0)?.as_bytes()))))
}

fn fn_sha512(a: &Args) -> FuncResult {
    Ok(Value::String(hex(&Sha512::digest(a.string(0)?.as_bytes()))))
}

fn fn_base64sha512(a: &Args) -> FuncResult {
    Ok(Value::String(base64_encode(&Sha512::digest(
        a.string(0)?.as_bytes(),
    ))))
}

/// A random (version 4) UUID. Like `timestamp()`, a new value on every
/// evaluation (or unknown, when the caller plans with
/// [`FuncContext::impure_unknown`]): stackd evaluates a resource's arguments
/// at plan and again at apply, so a resource argument using it differs on
/// every plan, as in Terraform (use `ignore_changes`), and the applied value
/// is the second one.
fn fn_uuid(_: &Args) -> FuncResult {
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

/// A name-based (version 5, SHA-1) UUID: the same namespace and name always
/// give the same UUID.
fn fn_uuidv5(a: &Args) -> FuncResult {
    let ns = a.string(0)?;
    let namespace = match ns.as_str() {
        "dns" => [0x6b, 0xa7, 0xb8, 0x10],
        "url" => [0x6b, 0xa7, 0xb8, 0x11],
        "oid" => [0x6b, 0xa7, 0xb8, 0x12],
        "x500" => [0x6b, 0xa7, 0xb8, 0x14],
        _ => [0; 4],
    };
    let namespace = if namespace == [0; 4] {
        parse_uuid(&ns).ok_or_else(|| {
            a.arg_err(
                0,
                format!(
                    "{ns:?} is neither \"dns\", \"url\", \"oid\" nor \"x500\" nor a UUID like \
                     \"6ba7b810-9dad-11d1-80b4-00c04fd430c8\""
                ),
            )
        })?
    } else {
        // The RFC 4122 namespaces differ only in their first four bytes.
        let mut id = [
            0, 0, 0, 0, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
        ];
        id[..4].copy_from_slice(&namespace);
        id
    };
    let mut hasher = Sha1::new();
    hasher.update(namespace);
    hasher.update(a.string(1)?.as_bytes());
    let digest = hasher.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id[6] = (id[6] & 0x0f) | 0x50;
    id[8] = (id[8] & 0x3f) | 0x80;
    Ok(Value::String(format_uuid(&id)))
}

/// A UUID as Go's `uuid.Parse` reads one: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
/// optionally in braces or after `urn:uuid:`, or 32 bare hex digits.
fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let s = if s.len() == 45 && s[..9].eq_ignore_ascii_case("urn:uuid:") {
        &s[9..]
    } else if s.len() == 38 && s.starts_with('{') && s.ends_with('}') {
        &s[1..37]
    } else {
        s
    };
    let digits: String = match s.len() {
        36 => {
            let dashes_ok = [8, 13, 18, 23].iter().all(|&i| s.as_bytes()[i] == b'-');
            if !dashes_ok {
                return None;
            }
            s.chars().filter(|c| *c != '-').collect()
        }
        32 => s.to_string(),
        _ => return None,
    };
    if digits.len() != 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(id)
}

fn format_uuid(id: &[u8; 16]) -> String {
    let h = hex(id);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(BASE64[((n >> (18 - 6 * k)) & 0x3F) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard padded base64, ignoring line breaks (as Go's decoder does).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = s.bytes().filter(|b| !matches!(b, b'\r' | b'\n')).collect();
    let blocks = clean.chunks_exact(4);
    if !blocks.remainder().is_empty() {
        return None;
    }
    let sextet = |b: u8| BASE64.iter().position(|x| *x == b).map(|p| p as u32);
    let count = blocks.len();
    let mut out = Vec::with_capacity(count * 3);
    for (bi, block) in blocks.enumerate() {
        let padding = block.iter().rev().take_while(|b| **b == b'=').count();
        if padding > 2 || (padding > 0 && bi + 1 != count) {
            return None;
        }
        let mut n = 0u32;
        for (k, b) in block.iter().enumerate() {
            let v = if k >= 4 - padding { 0 } else { sextet(*b)? };
            n = (n << 6) | v;
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend(bytes.iter().take(3 - padding));
    }
    Some(out)
}

/// MD5 (RFC 1321); Terraform still offers it for legacy checksums.
fn md5(data: &[u8]) -> [u8; 16] {
    let mut hasher = Md5::new();
    hasher.update(data);
    hasher.finish()
}

/// MD5, fed in pieces (`filemd5` streams files larger than a string).
struct Md5 {
    state: [u32; 4],
    pending: Vec<u8>,
    len: u64,
}

impl Md5 {
    fn new() -> Md5 {
        Md5 {
            state: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476],
            pending: Vec::with_capacity(64),
            len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if !self.pending.is_empty() {
            let take = (64 - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < 64 {
                return;
            }
            md5_block(&mut self.state, &self.pending);
            self.pending.clear();
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            md5_block(&mut self.state, block);
        }
        self.pending.extend_from_slice(blocks.remainder());
    }

    fn finish(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8);
        let mut tail = std::mem::take(&mut self.pending);
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&bits.to_le_bytes());
        for block in tail.chunks_exact(64) {
            md5_block(&mut self.state, block);
        }
        let mut out = [0u8; 16];
        for (chunk, word) in out.chunks_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

fn md5_block(state: &mut [u32; 4], block: &[u8]) {
    const SHIFTS: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    static K: OnceLock<[u32; 64]> = OnceLock::new();
    let k = K.get_or_init(|| {
        let mut k = [0u32; 64];
        for (i, v) in k.iter_mut().enumerate() {
            *v = ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32;
        }
        k
    });
    let mut m = [0u32; 16];
    for (w, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for i in 0..64 {
        let (f, g) = match i / 16 {
            0 => ((b & c) | (!b & d), i),
            1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
            2 => (b ^ c ^ d, (3 * i + 5) % 16),
            _ => (c ^ (b | !d), (7 * i) % 16),
        };
        let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(f.rotate_left(SHIFTS[(i / 16) * 4 + i % 4]));
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

// ---------------------------------------------------------------------------
// Files

fn fn_file(a: &Args) -> FuncResult {
    let path = resolve_path(a.base_dir, &a.string(0)?);
    let shown = quoted_path(&path);
    match read_bounded(&path) {
        Ok(bytes) if bytes.len() > MAX_STRING_LEN => Err(a.err(format!(
            "{shown} is larger than {} MiB",
            MAX_STRING_LEN >> 20
        ))),
        Ok(bytes) => String::from_utf8(bytes).map(Value::String).map_err(|_| {
            a.err(format!(
                "contents of {shown} are not valid UTF-8; use the filebase64 function to obtain \
                 the Base64 encoded contents or the other file functions (e.g. filemd5, \
                 filesha256) to obtain file hashing results instead"
            ))
        }),
        Err(e) => Err(read_error(a, &path, &e)),
    }
}

/// The file's bytes, reading no more than one past [`MAX_STRING_LEN`]
/// (`/dev/zero` never ends).
pub(crate) fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_STRING_LEN as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// An error when a string of `len` bytes would be larger than stackd builds.
fn check_len(a: &Args, len: usize) -> Result<(), FuncError> {
    if len > MAX_STRING_LEN {
        return Err(a.err(format!(
            "the result would be {len} bytes long, more than the {} MiB stackd builds",
            MAX_STRING_LEN >> 20
        )));
    }
    Ok(())
}

fn fn_fileexists(a: &Args) -> FuncResult {
    let path = resolve_path(a.base_dir, &a.string(0)?);
    let shown = quoted_path(&path);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(Value::Bool(true)),
        Ok(meta) if meta.is_dir() => Err(a.err(format!("{shown} is a directory, not a file"))),
        Ok(_) => Err(a.err(format!("{shown} is not a regular file"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
        Err(_) => Err(a.err(format!("failed to stat {shown}"))),
    }
}

/// `~` at the start of a path becomes the home directory; nothing else changes.
fn fn_pathexpand(a: &Args) -> FuncResult {
    let path = a.string(0)?;
    let expanded = match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => path,
    };
    Ok(Value::String(expanded))
}

/// The file's contents, Base64-encoded (for binary files, which `file`
/// refuses).
fn fn_filebase64(a: &Args) -> FuncResult {
    let path = resolve_path(a.base_dir, &a.string(0)?);
    let bytes = match read_bounded(&path) {
        Ok(bytes) if bytes.len() > MAX_STRING_LEN => {
            return Err(a.err(format!(
                "{} is larger than {} MiB",
                quoted_path(&path),
                MAX_STRING_LEN >> 20
            )))
        }
        Ok(bytes) => bytes,
        Err(e) => return Err(read_error(a, &path, &e)),
    };
    check_len(a, bytes.len().div_ceil(3).saturating_mul(4))?;
    Ok(Value::String(base64_encode(&bytes)))
}

fn fn_filemd5(a: &Args) -> FuncResult {
    let mut hasher = Md5::new();
    stream_file(a, &mut |chunk| hasher.update(chunk))?;
    Ok(Value::String(hex(&hasher.finish())))
}

fn fn_filesha1(a: &Args) -> FuncResult {
    Ok(Value::String(hex(&file_digest::<Sha1>(a)?)))
}

fn fn_filesha256(a: &Args) -> FuncResult {
    Ok(Value::String(hex(&file_digest::<Sha256>(a)?)))
}

fn fn_filesha512(a: &Args) -> FuncResult {
    Ok(Value::String(hex(&file_digest::<Sha512>(a)?)))
}

fn fn_filebase64sha256(a: &Args) -> FuncResult {
    Ok(Value::String(base64_encode(&file_digest::<Sha256>(a)?)))
}

fn fn_filebase64sha512(a: &Args) -> FuncResult {
    Ok(Value::String(base64_encode(&file_digest::<Sha512>(a)?)))
}

fn file_digest<D: Digest>(a: &Args) -> Result<Vec<u8>, FuncError> {
    let mut hasher = D::new();
    stream_file(a, &mut |chunk| hasher.update(chunk))?;
    Ok(hasher.finalize().to_vec())
}

/// Feeds the file named by argument 0 (resolved as `file` resolves it) to
/// `sink` in pieces. A hash needs no copy of the file, so archives larger
/// than a string may be (a Lambda zip) are fine; but only a regular file is
/// read, since `/dev/zero` never ends.
fn stream_file(a: &Args, sink: &mut dyn FnMut(&[u8])) -> Result<(), FuncError> {
    use std::io::Read as _;
    let path = resolve_path(a.base_dir, &a.string(0)?);
    let shown = quoted_path(&path);
    let mut file = std::fs::File::open(&path).map_err(|e| read_error(a, &path, &e))?;
    let meta = file.metadata().map_err(|e| read_error(a, &path, &e))?;
    if meta.is_dir() {
        return Err(a.err(format!("failed to read file: {shown} is a directory")));
    }
    if !meta.is_file() {
        return Err(a.err(format!("{shown} is not a regular file")));
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => sink(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(a, &path, &e)),
        }
    }
}

/// The message for a file that could not be read, as `file` words it.
fn read_error(a: &Args, path: &Path, e: &std::io::Error) -> FuncError {
    let shown = quoted_path(path);
    if e.kind() == std::io::ErrorKind::NotFound {
        a.err(format!(
            "no file exists at {shown}; this function works only with files that are \
             distributed as part of the configuration source code, so if this file will be \
             created by a resource in this configuration you must instead obtain this result \
             from an attribute of that resource"
        ))
    } else if path.is_dir() {
        a.err(format!("failed to read file: {shown} is a directory"))
    } else {
        a.err(format!("failed to read file {shown}: {e}"))
    }
}

/// The last element of a path, as Go's `filepath.Base`: trailing slashes
/// are ignored, `""` is `"."` and `"///"` is `"/"`.
fn fn_basename(a: &Args) -> FuncResult {
    let path = a.string(0)?;
    let trimmed = path.trim_end_matches('/');
    let base = match (path.is_empty(), trimmed.is_empty()) {
        (true, _) => ".",
        (false, true) => "/",
        (false, false) => trimmed.rsplit('/').next().unwrap_or(trimmed),
    };
    Ok(Value::from(base))
}

/// All but the last element of a path, cleaned, as Go's `filepath.Dir`:
/// `"foo"` gives `"."`, `"/foo"` gives `"/"`.
fn fn_dirname(a: &Args) -> FuncResult {
    let path = a.string(0)?;
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    Ok(Value::String(go_clean(dir)))
}

/// An absolute path: relative paths are taken from the current directory
/// (not the module's), as in Terraform; the result is cleaned.
fn fn_abspath(a: &Args) -> FuncResult {
    let path = a.string(0)?;
    if path.starts_with('/') {
        return Ok(Value::String(go_clean(&path)));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| a.err(format!("cannot find the current directory: {e}")))?;
    Ok(Value::String(go_clean(&format!(
        "{}/{path}",
        cwd.display()
    ))))
}

/// Go's `path.Clean` on a slash-separated string: `.` elements go, `..`
/// removes the element before it (none above the root), an empty result is
/// `"."`.
fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn quoted_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// Resolves a `file()` path as Terraform does: `~` is the home directory,
/// relative paths are relative to the module, and the result is cleaned.
pub(crate) fn resolve_path(base_dir: &Path, path: &str) -> PathBuf {
    let expanded = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(rest.trim_start_matches('/')),
            None => PathBuf::from(path),
        },
        _ => PathBuf::from(path),
    };
    clean_path(&base_dir.join(expanded))
}

/// Lexically removes `.` and `..` components, as Go's `filepath.Clean`.
fn clean_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

// ---------------------------------------------------------------------------
// CIDR arithmetic (IPv4 and IPv6, on u128)

/// An address and prefix length; `bits` is 32 or 128.
#[derive(Clone, Copy, Debug, PartialEq)]
struct IpNet {
    addr: u128,
    prefix: u32,
    bits: u32,
}

impl IpNet {
    fn mask(&self) -> u128 {
        network_mask(self.bits, self.prefix)
    }

    fn network(self) -> IpNet {
        IpNet {
            addr: self.addr & self.mask(),
            ..self
        }
    }
}

fn all_ones(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

fn host_mask(bits: u32, prefix: u32) -> u128 {
    if prefix >= bits {
        0
    } else {
        all_ones(bits - prefix)
    }
}

fn network_mask(bits: u32, prefix: u32) -> u128 {
    all_ones(bits) & !host_mask(bits, prefix)
}

fn format_addr(addr: u128, bits: u32) -> String {
    if bits == 32 {
        Ipv4Addr::from(addr as u32).to_string()
    } else {
        Ipv6Addr::from(addr).to_string()
    }
}

fn format_net(addr: u128, prefix: u32, bits: u32) -> String {
    format!("{}/{prefix}", format_addr(addr, bits))
}

/// Parses a CIDR prefix as Terraform does: host bits may be set (they are
/// ignored by the cidr functions).
fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let bad = || format!("invalid CIDR address: {s}");
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let (addr, bits) = if addr.contains(':') {
        let ip: Ipv6Addr = addr.parse().map_err(|_| bad())?;
        (u128::from(ip), 128)
    } else {
        let ip = parse_ipv4(addr, false).ok_or_else(bad)?;
        (u128::from(u32::from(ip)), 32)
    };
    let prefix = parse_prefix_len(len)
        .filter(|p| *p <= bits)
        .ok_or_else(bad)?;
    Ok(IpNet { addr, prefix, bits })
}

fn parse_prefix_len(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Dotted-quad IPv4; `strict` also rejects leading zeros (`10.0.0.010`).
fn parse_ipv4(s: &str, strict: bool) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        let digits_ok =
            !part.is_empty() && part.len() <= 3 && part.bytes().all(|b| b.is_ascii_digit());
        if !digits_ok || (strict && part.len() > 1 && part.starts_with('0')) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

fn cidr_arg(a: &Args, i: usize) -> Result<IpNet, FuncError> {
    let s = a.string(i)?;
    parse_cidr(&s).map_err(|m| a.err(format!("invalid CIDR expression: {m}")))
}

fn fn_cidrsubnet(a: &Args) -> FuncResult {
    let newbits = a.int(1)?;
    let netnum = a.int(2)?;
    let net = cidr_arg(a, 0)?.network();
    if newbits < 0 {
        return Err(a.arg_err(1, "must not be negative"));
    }
    let new_prefix = i64::from(net.prefix) + newbits;
    if new_prefix > i64::from(net.bits) {
        return Err(a.err(format!(
            "insufficient address space to extend prefix of {} by {newbits}",
            net.prefix
        )));
    }
    let (newbits, new_prefix) = (newbits as u32, new_prefix as u32);
    if netnum < 0 || netnum as u128 > all_ones(newbits) {
        return Err(a.err(format!(
            "prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"
        )));
    }
    let offset = (netnum as u128)
        .checked_shl(net.bits - new_prefix)
        .unwrap_or(0);
    Ok(Value::String(format_net(
        net.addr | offset,
        new_prefix,
        net.bits,
    )))
}

fn fn_cidrhost(a: &Args) -> FuncResult {
    let hostnum = a.int(1)?;
    let net = cidr_arg(a, 0)?.network();
    let max = all_ones(net.bits - net.prefix);
    let magnitude = if hostnum < 0 {
        u128::from(hostnum.unsigned_abs() - 1)
    } else {
        hostnum as u128
    };
    if magnitude > max {
        return Err(a.err(format!(
            "prefix of {} does not accommodate a host numbered {hostnum}",
            net.prefix
        )));
    }
    let host = if hostnum < 0 {
        max - magnitude
    } else {
        magnitude
    };
    Ok(Value::String(format_addr(net.addr | host, net.bits)))
}

fn fn_cidrnetmask(a: &Args) -> FuncResult {
    let net = cidr_arg(a, 0)?;
    if net.bits != 32 {
        return Err(a.err(format!(
            "IPv6 addresses cannot have a netmask: {}",
            a.string(0)?
        )));
    }
    let mask = network_mask(32, net.prefix) as u32;
    Ok(Value::String(Ipv4Addr::from(mask).to_string()))
}

fn fn_cidrsubnets(a: &Args) -> FuncResult {
    let s = a.string(0)?;
    let net = parse_cidr(&s)
        .map_err(|m| a.arg_err(0, format!("invalid CIDR expression: {m}")))?
        .network();
    if a.len() == 1 {
        return Ok(Value::List(Vec::new()));
    }
    let all = all_ones(net.bits);
    let first = a.int(1)?.clamp(0, i64::from(net.bits)) as u32;
    let first_len = (net.prefix + first).min(net.bits);
    // Start just below the base prefix, as Terraform does, and step forward.
    let mut cur_addr = net.addr.wrapping_sub(1) & all & network_mask(net.bits, first_len);
    let mut cur_len = first_len;
    let mut out = Vec::with_capacity(a.len() - 1);
    for i in 1..a.len() {
        let newbits = a.int(i)?;
        if newbits < 1 {
            return Err(a.arg_err(i, "must extend prefix by at least one bit"));
        }
        if newbits > 32 {
            return Err(a.arg_err(i, "may not extend prefix by more than 32 bits"));
        }
        let len = net.prefix + newbits as u32;
        if len > net.bits {
            let family = if net.bits == 32 { "IPv4" } else { "IPv6" };
            return Err(a.arg_err(
                i,
                format!(
                    "would extend prefix to {len} bits, which is too long for an {family} address"
                ),
            ));
        }
        let last = cur_addr | host_mask(net.bits, cur_len);
        let block = last & network_mask(net.bits, len);
        let after = (block | host_mask(net.bits, len)).wrapping_add(1) & all;
        let next = after & network_mask(net.bits, len);
        if after == 0 || next & net.mask() != net.addr {
            return Err(a.arg_err(
                i,
                format!(
                    "not enough remaining address space for a subnet with a prefix of {len} bits \
                     after {}",
                    format_net(cur_addr, cur_len, net.bits)
                ),
            ));
        }
        cur_addr = next;
        cur_len = len;
        out.push(Value::String(format_net(next, len, net.bits)));
    }
    Ok(Value::List(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_call(name: &str, args: Vec<Value>, dir: &Path) -> FuncResult {
        call(
            name,
            &args,
            &FuncContext {
                base_dir: dir,
                impure_unknown: false,
            },
        )
    }

    fn ok(name: &str, args: Vec<Value>) -> Value {
        ctx_call(name, args, Path::new(".")).unwrap_or_else(|e| panic!("{name} failed: {e}"))
    }

    fn err(name: &str, args: Vec<Value>) -> String {
        match ctx_call(name, args, Path::new(".")) {
            Err(e) => e.0,
            Ok(v) => panic!("{name} should have failed, gave {v}"),
        }
    }

    fn s(x: &str) -> Value {
        Value::from(x)
    }

    fn n(x: f64) -> Value {
        Value::Number(x)
    }

    fn strs(items: &[&str]) -> Value {
        Value::List(items.iter().map(|x| s(x)).collect())
    }

    fn nums(items: &[f64]) -> Value {
        Value::List(items.iter().map(|x| n(*x)).collect())
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    fn map(pairs: Vec<(&str, Value)>) -> Value {
        Value::map(pairs)
    }

    // --- the table and dispatch

    #[test]
    fn pathexpand_replaces_only_a_leading_tilde() {
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(
            ok("pathexpand", vec![s("~/.ssh/known_hosts")]),
            Value::from(format!("{home}/.ssh/known_hosts"))
        );
        assert_eq!(ok("pathexpand", vec![s("/etc/~x")]), s("/etc/~x"));
    }

    #[test]
    fn names_are_sorted_unique_and_known() {
        let names = function_names();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        assert!(names.len() > 60);
        assert!(names.iter().all(|n| is_known_function(n)));
        assert!(is_known_function("core::cidrsubnet"));
        assert!(!is_known_function("cidrsubnett"));
        assert!(!is_known_function("try"));
    }

    /// Every function with every combination of up to three odd arguments
    /// answers or fails, never panics (the fuzz workspace goes further).
    #[test]
    fn every_function_survives_odd_arguments() {
        let pool = vec![
            Value::Null,
            Value::Unknown,
            Value::Bool(true),
            n(-1.0),
            n(1e300),
            n(0.5),
            s(""),
            s("Ω[{\\*}"),
            s("2018-01-02T23:12:01Z"),
            s("::/0"),
            list(vec![]),
            list(vec![s("a"), n(1.0)]),
            map(vec![("a", strs(&["x"]))]),
        ];
        let mut combos: Vec<Vec<Value>> = vec![vec![]];
        for len in 1..=3 {
            let prev: Vec<Vec<Value>> = combos
                .iter()
                .filter(|c| c.len() == len - 1)
                .cloned()
                .collect();
            for c in prev {
                for v in &pool {
                    let mut next = c.clone();
                    next.push(v.clone());
                    combos.push(next);
                }
            }
        }
        let dir = Path::new("/nonexistent/stackd-test");
        let mut panics = Vec::new();
        for name in function_names() {
            for args in &combos {
                let outcome = std::panic::catch_unwind(|| {
                    if let Ok(v) = ctx_call(name, args.clone(), dir) {
                        let _ = v.to_json();
                    }
                });
                if outcome.is_err() {
                    panics.push(format!("{name}{args:?}"));
                }
            }
        }
        assert!(
            panics.is_empty(),
            "{} calls panicked: {panics:#?}",
            panics.len()
        );
    }

    #[test]
    fn impure_functions_are_unknown_only_when_asked() {
        let planning = FuncContext {
            base_dir: Path::new("."),
            impure_unknown: true,
        };
        assert_eq!(call("uuid", &[], &planning), Ok(Value::Unknown));
        assert_eq!(call("timestamp", &[], &planning), Ok(Value::Unknown));
        assert!(matches!(
            call("plantimestamp", &[], &planning),
            Ok(Value::String(_))
        ));
        assert!(matches!(ok("uuid", vec![]), Value::String(_)));
    }

    #[test]
    fn unknown_function_is_an_error() {
        assert_eq!(err("nope", vec![]), "there is no function named \"nope\"");
        assert_eq!(ok("core::upper", vec![s("a")]), s("A"));
    }

    #[test]
    fn arity_errors_name_the_parameters() {
        assert_eq!(
            err("cidrsubnet", vec![s("10.0.0.0/16"), n(8.0)]),
            "cidrsubnet: expected 3 arguments (prefix, newbits, netnum), got 2"
        );
        assert_eq!(
            err("upper", vec![]),
            "upper: expected 1 argument (str), got 0"
        );
        assert_eq!(
            err("lookup", vec![map(vec![])]),
            "lookup: expected 2 or 3 arguments (inputMap, key, default), got 1"
        );
        assert_eq!(
            err("range", vec![]),
            "range: expected 1 to 3 arguments (start, limit, step), got 0"
        );
        assert_eq!(
            err("join", vec![]),
            "join: expected at least 1 argument (separator, lists...), got 0"
        );
        assert_eq!(
            err("upper", vec![s("a"), s("b")]),
            "upper: expected 1 argument (str), got 2"
        );
    }

    #[test]
    fn null_arguments_are_rejected_unless_allowed() {
        assert_eq!(
            err("upper", vec![Value::Null]),
            "upper: invalid value for \"str\" parameter: argument must not be null"
        );
        assert_eq!(ok("tostring", vec![Value::Null]), Value::Null);
        assert_eq!(ok("jsonencode", vec![Value::Null]), s("null"));
    }

    #[test]
    fn wrong_argument_types_name_the_parameter() {
        assert_eq!(
            err("upper", vec![strs(&["a"])]),
            "upper: invalid value for \"str\" parameter: string required"
        );
        assert_eq!(
            err("abs", vec![s("x")]),
            "abs: invalid value for \"num\" parameter: a number is required"
        );
        assert_eq!(
            err("substr", vec![s("abc"), n(0.5), n(1.0)]),
            "substr: invalid value for \"offset\" parameter: value must be a whole number"
        );
        // Primitive arguments convert as Terraform converts them.
        assert_eq!(ok("upper", vec![n(5.0)]), s("5"));
        assert_eq!(ok("abs", vec![s("-3")]), n(3.0));
    }

    // --- unknowns

    #[test]
    fn unknown_arguments_give_unknown() {
        assert_eq!(ok("upper", vec![Value::Unknown]), Value::Unknown);
        assert_eq!(
            ok("join", vec![s(","), list(vec![s("a"), Value::Unknown])]),
            Value::Unknown
        );
        assert_eq!(
            ok("cidrsubnet", vec![Value::Unknown, n(8.0), n(1.0)]),
            Value::Unknown
        );
        assert_eq!(ok("format", vec![s("%s"), Value::Unknown]), Value::Unknown);
        assert_eq!(
            ok("jsonencode", vec![map(vec![("a", Value::Unknown)])]),
            Value::Unknown
        );
        assert_eq!(
            ok("tolist", vec![list(vec![Value::Unknown])]),
            Value::Unknown
        );
    }

    #[test]
    fn functions_that_can_answer_through_unknowns_do() {
        let partly = list(vec![Value::Unknown, s("b")]);
        assert_eq!(ok("length", vec![partly.clone()]), n(2.0));
        assert_eq!(ok("length", vec![Value::Unknown]), Value::Unknown);
        assert_eq!(ok("element", vec![partly.clone(), n(1.0)]), s("b"));
        assert_eq!(ok("element", vec![partly.clone(), n(0.0)]), Value::Unknown);
        assert_eq!(
            ok("element", vec![partly.clone(), Value::Unknown]),
            Value::Unknown
        );
        assert_eq!(
            ok("concat", vec![partly.clone(), strs(&["c"])]),
            list(vec![Value::Unknown, s("b"), s("c")])
        );
        assert_eq!(
            ok("concat", vec![Value::Unknown, strs(&["c"])]),
            Value::Unknown
        );
        let m = map(vec![("a", Value::Unknown), ("b", s("x"))]);
        assert_eq!(
            ok("merge", vec![m.clone(), map(vec![("c", s("y"))])]),
            map(vec![("a", Value::Unknown), ("b", s("x")), ("c", s("y"))])
        );
        assert_eq!(ok("merge", vec![m.clone(), Value::Unknown]), Value::Unknown);
        assert_eq!(ok("keys", vec![m.clone()]), strs(&["a", "b"]));
        assert_eq!(
            ok("values", vec![m.clone()]),
            list(vec![Value::Unknown, s("x")])
        );
        assert_eq!(ok("lookup", vec![m.clone(), s("b")]), s("x"));
        assert_eq!(ok("lookup", vec![m.clone(), s("a")]), Value::Unknown);
        assert_eq!(ok("lookup", vec![m, Value::Unknown]), Value::Unknown);
        assert_eq!(ok("coalesce", vec![s("a"), Value::Unknown]), s("a"));
        assert_eq!(
            ok("coalesce", vec![Value::Null, Value::Unknown, s("a")]),
            Value::Unknown
        );
        assert_eq!(
            ok("coalescelist", vec![partly.clone(), Value::Unknown]),
            partly
        );
        assert_eq!(ok("one", vec![list(vec![Value::Unknown])]), Value::Unknown);
        assert_eq!(
            ok("slice", vec![partly.clone(), n(1.0), n(2.0)]),
            strs(&["b"])
        );
        assert_eq!(
            ok("reverse", vec![partly]),
            list(vec![s("b"), Value::Unknown])
        );
        assert_eq!(
            ok(
                "formatlist",
                vec![s("%s!"), list(vec![s("a"), Value::Unknown])]
            ),
            list(vec![s("a!"), Value::Unknown])
        );
    }

    // --- CIDR

    #[test]
    fn cidrsubnet_extends_the_prefix() {
        let sub = |p: &str, bits: f64, num: f64| ok("cidrsubnet", vec![s(p), n(bits), n(num)]);
        assert_eq!(sub("10.0.0.0/16", 8.0, 2.0), s("10.0.2.0/24"));
        assert_eq!(sub("172.16.0.0/12", 4.0, 2.0), s("172.18.0.0/16"));
        assert_eq!(sub("10.1.2.0/24", 4.0, 15.0), s("10.1.2.240/28"));
        assert_eq!(sub("10.0.0.0/16", 0.0, 0.0), s("10.0.0.0/16"));
        // Host bits in the prefix are ignored, as Terraform ignores them.
        assert_eq!(sub("10.0.0.1/16", 8.0, 1.0), s("10.0.1.0/24"));
        assert_eq!(
            sub("fd00:fd12:3456:7890::/56", 16.0, 162.0),
            s("fd00:fd12:3456:7800:a200::/72")
        );
        assert_eq!(
            ok("cidrsubnet", vec![s("10.0.0.0/16"), s("8"), s("3")]),
            s("10.0.3.0/24")
        );
    }

    #[test]
    fn cidrsubnet_errors_match_terraform() {
        let sub = |p: &str, bits: f64, num: f64| err("cidrsubnet", vec![s(p), n(bits), n(num)]);
        assert_eq!(
            sub("10.0.0.0/26", 8.0, 1.0),
            "cidrsubnet: insufficient address space to extend prefix of 26 by 8"
        );
        assert_eq!(
            sub("10.0.0.0/16", 2.0, 4.0),
            "cidrsubnet: prefix extension of 2 does not accommodate a subnet numbered 4"
        );
        assert_eq!(
            sub("10.0.0.0/16", 2.0, -1.0),
            "cidrsubnet: prefix extension of 2 does not accommodate a subnet numbered -1"
        );
        assert_eq!(
            sub("10.0.0.0/33", 2.0, 1.0),
            "cidrsubnet: invalid CIDR expression: invalid CIDR address: 10.0.0.0/33"
        );
        assert_eq!(
            sub("10.0.0.300/16", 2.0, 1.0),
            "cidrsubnet: invalid CIDR expression: invalid CIDR address: 10.0.0.300/16"
        );
        assert_eq!(
            sub("10.0.0.0", 2.0, 1.0),
            "cidrsubnet: invalid CIDR expression: invalid CIDR address: 10.0.0.0"
        );
        assert_eq!(
            err("cidrsubnet", vec![s("10.0.0.0/16"), n(1.5), n(1.0)]),
            "cidrsubnet: invalid value for \"newbits\" parameter: value must be a whole number"
        );
    }

    #[test]
    fn cidrhost_counts_from_either_end() {
        let host = |p: &str, num: f64| ok("cidrhost", vec![s(p), n(num)]);
        assert_eq!(host("10.12.112.0/20", 16.0), s("10.12.112.16"));
        assert_eq!(host("10.12.112.0/20", 268.0), s("10.12.113.12"));
        assert_eq!(host("10.0.0.0/24", -1.0), s("10.0.0.255"));
        assert_eq!(host("10.0.0.0/8", -2.0), s("10.255.255.254"));
        assert_eq!(
            host("fd00:fd12:3456:7890:00a2::/72", 34.0),
            s("fd00:fd12:3456:7890::22")
        );
        assert_eq!(
            err("cidrhost", vec![s("10.0.0.0/30"), n(4.0)]),
            "cidrhost: prefix of 30 does not accommodate a host numbered 4"
        );
        assert_eq!(
            err("cidrhost", vec![s("10.0.0.0/30"), n(-5.0)]),
            "cidrhost: prefix of 30 does not accommodate a host numbered -5"
        );
    }

    #[test]
    fn cidrnetmask_gives_dotted_masks() {
        assert_eq!(
            ok("cidrnetmask", vec![s("172.16.0.0/12")]),
            s("255.240.0.0")
        );
        assert_eq!(
            ok("cidrnetmask", vec![s("10.0.0.0/32")]),
            s("255.255.255.255")
        );
        assert_eq!(ok("cidrnetmask", vec![s("0.0.0.0/0")]), s("0.0.0.0"));
        assert_eq!(
            err("cidrnetmask", vec![s("fd00::/8")]),
            "cidrnetmask: IPv6 addresses cannot have a netmask: fd00::/8"
        );
    }

    #[test]
    fn cidrsubnets_allocates_consecutively() {
        assert_eq!(
            ok(
                "cidrsubnets",
                vec![s("10.1.0.0/16"), n(4.0), n(4.0), n(8.0), n(4.0)]
            ),
            strs(&[
                "10.1.0.0/20",
                "10.1.16.0/20",
                "10.1.32.0/24",
                "10.1.48.0/20"
            ])
        );
        assert_eq!(
            ok(
                "cidrsubnets",
                vec![
                    s("fd00:fd12:3456:7890::/56"),
                    n(16.0),
                    n(16.0),
                    n(16.0),
                    n(32.0)
                ]
            ),
            strs(&[
                "fd00:fd12:3456:7800::/72",
                "fd00:fd12:3456:7800:100::/72",
                "fd00:fd12:3456:7800:200::/72",
                "fd00:fd12:3456:7800:300::/88",
            ])
        );
        assert_eq!(ok("cidrsubnets", vec![s("10.0.0.0/16")]), list(vec![]));
        assert_eq!(
            err(
                "cidrsubnets",
                vec![s("10.0.0.0/24"), n(1.0), n(1.0), n(1.0)]
            ),
            "cidrsubnets: invalid value for \"newbits\" parameter: not enough remaining address \
             space for a subnet with a prefix of 25 bits after 10.0.0.128/25"
        );
        assert_eq!(
            err("cidrsubnets", vec![s("10.0.0.0/24"), n(0.0)]),
            "cidrsubnets: invalid value for \"newbits\" parameter: must extend prefix by at \
             least one bit"
        );
        assert_eq!(
            err("cidrsubnets", vec![s("10.0.0.0/24"), n(9.0)]),
            "cidrsubnets: invalid value for \"newbits\" parameter: would extend prefix to 33 \
             bits, which is too long for an IPv4 address"
        );
    }

    #[test]
    fn parse_ipv4_cidr_accepts_network_addresses_only() {
        assert_eq!(
            parse_ipv4_cidr("10.0.1.0/24"),
            Ok((Ipv4Addr::new(10, 0, 1, 0), 24))
        );
        assert_eq!(parse_ipv4_cidr("0.0.0.0/0"), Ok((Ipv4Addr::UNSPECIFIED, 0)));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.300/16",
            "10.0.0.0",
            "10.0.0/16",
            "10.0.0.0/",
            "a/8",
        ] {
            assert!(parse_ipv4_cidr(bad).is_err(), "{bad} should be rejected");
        }
        let e = parse_ipv4_cidr("10.0.0.1/16").unwrap_err();
        assert!(e.contains("\"10.0.0.0/16\""), "{e}");
        assert!(e.contains("host bits"), "{e}");
        assert!(parse_ipv4_cidr("10.0.0.010/32").is_err());
    }

    // --- format

    #[test]
    fn format_common_verbs() {
        let f = |spec: &str, args: Vec<Value>| {
            let mut all = vec![s(spec)];
            all.extend(args);
            ok("format", all)
        };
        assert_eq!(f("Hello, %s!", vec![s("Ander")]), s("Hello, Ander!"));
        assert_eq!(
            f("There are %d lights", vec![n(4.0)]),
            s("There are 4 lights")
        );
        assert_eq!(f("%.2f", vec![n(1.23456)]), s("1.23"));
        assert_eq!(f("%f", vec![n(1.5)]), s("1.500000"));
        assert_eq!(
            f("%5d|%-5d|%05d", vec![n(42.0), n(42.0), n(42.0)]),
            s("   42|42   |00042")
        );
        assert_eq!(f("%+d %+d", vec![n(5.0), n(-5.0)]), s("+5 -5"));
        assert_eq!(f("%q", vec![s("a\"b")]), s("\"a\\\"b\""));
        assert_eq!(
            f("%v|%v|%v", vec![s("x"), n(1.5), Value::Bool(true)]),
            s("x|1.5|true")
        );
        assert_eq!(f("%v", vec![list(vec![n(1.0), s("a")])]), s("[1,\"a\"]"));
        assert_eq!(f("%v", vec![n(1_000_000.0)]), s("1e+06"));
        assert_eq!(f("%v", vec![Value::Null]), s("null"));
        assert_eq!(f("%#v", vec![s("a")]), s("\"a\""));
        assert_eq!(f("100%%", vec![]), s("100%"));
        assert_eq!(f("%[2]s %[1]s", vec![s("a"), s("b")]), s("b a"));
        assert_eq!(
            f(
                "%x %X %o %b %#x",
                vec![n(255.0), n(255.0), n(8.0), n(5.0), n(255.0)]
            ),
            s("ff FF 10 101 0xff")
        );
        assert_eq!(f("%e", vec![n(1234.5678)]), s("1.234568e+03"));
        assert_eq!(
            f("%g %g %g", vec![n(0.00001), n(100.0), n(1.5)]),
            s("1e-05 100 1.5")
        );
        assert_eq!(f("%.3g", vec![n(1.23456)]), s("1.23"));
        assert_eq!(f("%t", vec![Value::Bool(false)]), s("false"));
        assert_eq!(
            f("%8.3f|%-8.2f|", vec![n(1.23456), n(-2.5)]),
            s("   1.235|-2.50   |")
        );
        assert_eq!(
            f("%-6s|%6s|%.3s", vec![s("ab"), s("cd"), s("abcdef")]),
            s("ab    |    cd|abc")
        );
        assert_eq!(f("%s %s", vec![n(5.0), Value::Bool(true)]), s("5 true"));
        assert_eq!(f("%d", vec![s("12")]), s("12"));
        assert_eq!(f("héllo %s", vec![s("wörld")]), s("héllo wörld"));
    }

    #[test]
    fn format_errors_match_terraform() {
        assert_eq!(
            err("format", vec![s("%s")]),
            "format: not enough arguments for \"%s\" at 0: need index 1 but have 0 total"
        );
        assert_eq!(
            err("format", vec![s("%d"), n(1.5)]),
            "format: unsupported value for \"%d\" at 0: an integer is required"
        );
        assert_eq!(
            err("format", vec![s("x %s"), Value::Null]),
            "format: unsupported value for \"%s\" at 2: null value cannot be formatted"
        );
        assert_eq!(
            err("format", vec![s("%s"), strs(&["a"])]),
            "format: unsupported value for \"%s\" at 0: string required"
        );
        assert_eq!(
            err("format", vec![s("x"), n(1.0)]),
            "format: too many arguments; no verbs in format string"
        );
        assert_eq!(
            err("format", vec![s("%s"), n(1.0), n(2.0)]),
            "format: too many arguments; only 1 used by format string"
        );
        assert_eq!(
            err("format", vec![s("%y"), n(1.0)]),
            "format: unsupported format verb 'y' in \"%y\" at offset 0"
        );
        assert_eq!(
            err("format", vec![s("abc %")]),
            "format: invalid format string starting at offset 5"
        );
        assert_eq!(
            err("format", vec![s("%!"), n(1.0)]),
            "format: unrecognized format character '!' at offset 1"
        );
        assert_eq!(
            err("format", vec![Value::Null]),
            "format: invalid value for \"format\" parameter: argument must not be null"
        );
    }

    #[test]
    fn formatlist_iterates_lists() {
        assert_eq!(
            ok(
                "formatlist",
                vec![s("Hello, %s!"), strs(&["Valentina", "Ander"])]
            ),
            strs(&["Hello, Valentina!", "Hello, Ander!"])
        );
        assert_eq!(
            ok(
                "formatlist",
                vec![
                    s("%s, %s!"),
                    s("Salutations"),
                    strs(&["Valentina", "Ander"])
                ]
            ),
            strs(&["Salutations, Valentina!", "Salutations, Ander!"])
        );
        assert_eq!(ok("formatlist", vec![s("%s"), s("x")]), strs(&["x"]));
        assert_eq!(
            err(
                "formatlist",
                vec![s("%s%s"), strs(&["a"]), strs(&["a", "b"])]
            ),
            "formatlist: invalid value for \"args\" parameter: argument 2 has length 2, which \
             is inconsistent with argument 1 of length 1"
        );
        assert_eq!(
            err("formatlist", vec![s("%d"), strs(&["x"])]),
            "formatlist: error on format iteration 0: unsupported value for \"%d\" at 0: a \
             number is required"
        );
    }

    // --- strings

    #[test]
    fn string_functions() {
        assert_eq!(ok("upper", vec![s("héllo")]), s("HÉLLO"));
        assert_eq!(ok("lower", vec![s("HELLO")]), s("hello"));
        assert_eq!(
            ok("title", vec![s("hello world-wide web_site")]),
            s("Hello World-Wide Web_site")
        );
        assert_eq!(ok("trimspace", vec![s("  hello\n\t")]), s("hello"));
        assert_eq!(ok("trim", vec![s("?!hello?!"), s("!?")]), s("hello"));
        assert_eq!(
            ok("trimprefix", vec![s("helloworld"), s("hello")]),
            s("world")
        );
        assert_eq!(
            ok("trimprefix", vec![s("helloworld"), s("x")]),
            s("helloworld")
        );
        assert_eq!(
            ok("trimsuffix", vec![s("helloworld"), s("world")]),
            s("hello")
        );
        assert_eq!(ok("chomp", vec![s("hello\r\n\n")]), s("hello"));
        assert_eq!(ok("indent", vec![n(2.0), s("a\nb")]), s("a\n  b"));
        assert_eq!(ok("strrev", vec![s("héllo")]), s("olléh"));
        assert_eq!(
            ok("startswith", vec![s("hello"), s("he")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("endswith", vec![s("hello"), s("he")]),
            Value::Bool(false)
        );
        assert_eq!(
            ok("strcontains", vec![s("hello"), s("ll")]),
            Value::Bool(true)
        );
    }

    #[test]
    fn replace_handles_substrings_and_regexes() {
        assert_eq!(
            ok("replace", vec![s("1 + 2 + 3"), s("+"), s("-")]),
            s("1 - 2 - 3")
        );
        assert_eq!(ok("replace", vec![s("abc"), s("/"), s("x")]), s("abc"));
        assert_eq!(
            ok("replace", vec![s("hello"), s("/l+/"), s("L")]),
            s("heLo")
        );
        assert_eq!(
            ok(
                "replace",
                vec![s("app-v12"), s("/v(\\d+)/"), s("version-$1")]
            ),
            s("app-version-12")
        );
        let e = err("replace", vec![s("hello"), s("/(/"), s("L")]);
        assert!(
            e.starts_with(
                "replace: invalid value for \"substr\" parameter: invalid regular expression"
            ),
            "{e}"
        );
    }

    #[test]
    fn split_join_and_substr() {
        assert_eq!(
            ok("split", vec![s(","), s("a,b,c")]),
            strs(&["a", "b", "c"])
        );
        assert_eq!(ok("split", vec![s(","), s("")]), strs(&[""]));
        assert_eq!(ok("split", vec![s(""), s("ab")]), strs(&["a", "b"]));
        assert_eq!(
            ok("join", vec![s(", "), strs(&["a", "b"]), nums(&[1.0])]),
            s("a, b, 1")
        );
        assert_eq!(ok("join", vec![s(","), list(vec![])]), s(""));
        assert_eq!(
            err("join", vec![s(",")]),
            "join: at least one list is required"
        );
        assert_eq!(
            err("join", vec![s(","), list(vec![s("a"), Value::Null])]),
            "join: invalid value for \"lists\" parameter: element 1 is null; cannot concatenate \
             null values"
        );
        assert_eq!(
            err("join", vec![s(","), s("a")]),
            "join: invalid value for \"lists\" parameter: list of string required"
        );
        let sub = |x: &str, o: f64, l: f64| ok("substr", vec![s(x), n(o), n(l)]);
        assert_eq!(sub("hello world", 1.0, 4.0), s("ello"));
        assert_eq!(sub("🤔🤷", 0.0, 1.0), s("🤔"));
        assert_eq!(sub("hello world", -5.0, -1.0), s("world"));
        assert_eq!(sub("hello", 2.0, 100.0), s("llo"));
        assert_eq!(sub("hello", 10.0, 1.0), s(""));
        assert_eq!(sub("hello", -10.0, 2.0), s("he"));
    }

    // --- collections

    #[test]
    fn length_element_slice() {
        assert_eq!(ok("length", vec![s("héllo")]), n(5.0));
        assert_eq!(ok("length", vec![strs(&["a", "b"])]), n(2.0));
        assert_eq!(ok("length", vec![map(vec![("a", n(1.0))])]), n(1.0));
        assert_eq!(
            err("length", vec![n(5.0)]),
            "length: invalid value for \"value\" parameter: argument must be a string, a \
             collection type, or a structural type"
        );
        let abc = strs(&["a", "b", "c"]);
        assert_eq!(ok("element", vec![abc.clone(), n(1.0)]), s("b"));
        assert_eq!(ok("element", vec![abc.clone(), n(4.0)]), s("b"));
        assert_eq!(ok("element", vec![abc.clone(), n(-1.0)]), s("c"));
        assert_eq!(
            err("element", vec![list(vec![]), n(0.0)]),
            "element: cannot use element function with an empty list"
        );
        assert_eq!(
            err("element", vec![s("abc"), n(0.0)]),
            "element: cannot read elements from string"
        );
        assert_eq!(
            ok("slice", vec![abc.clone(), n(1.0), n(3.0)]),
            strs(&["b", "c"])
        );
        assert_eq!(ok("slice", vec![abc.clone(), n(1.0), n(1.0)]), list(vec![]));
        assert_eq!(
            err("slice", vec![abc.clone(), n(2.0), n(1.0)]),
            "slice: invalid value for \"start_index\" parameter: start index must not be greater \
             than end index"
        );
        assert_eq!(
            err("slice", vec![abc, n(0.0), n(4.0)]),
            "slice: invalid value for \"end_index\" parameter: end index must not be greater \
             than the length of the list"
        );
    }

    #[test]
    fn lookup_merge_keys_values() {
        let m = map(vec![("a", s("ay")), ("b", s("bee"))]);
        assert_eq!(ok("lookup", vec![m.clone(), s("a")]), s("ay"));
        assert_eq!(
            ok("lookup", vec![m.clone(), s("c"), s("what?")]),
            s("what?")
        );
        assert_eq!(ok("lookup", vec![m.clone(), s("c"), n(5.0)]), s("5"));
        assert_eq!(
            ok("lookup", vec![m.clone(), s("c"), Value::Null]),
            Value::Null
        );
        assert_eq!(
            err("lookup", vec![m.clone(), s("c")]),
            "lookup: lookup failed to find key \"c\""
        );
        assert_eq!(
            err("lookup", vec![strs(&["a"]), s("c")]),
            "lookup: invalid value for \"inputMap\" parameter: lookup() requires a map as the \
             first argument"
        );
        assert_eq!(
            ok(
                "merge",
                vec![
                    m.clone(),
                    Value::Null,
                    map(vec![("b", n(2.0)), ("c", n(3.0))])
                ]
            ),
            map(vec![("a", s("ay")), ("b", n(2.0)), ("c", n(3.0))])
        );
        assert_eq!(ok("merge", vec![]), map(vec![]));
        assert_eq!(
            err("merge", vec![m.clone(), strs(&["x"])]),
            "merge: invalid value for \"maps\" parameter: arguments must be maps or objects, got \
             \"list\""
        );
        assert_eq!(ok("keys", vec![m.clone()]), strs(&["a", "b"]));
        assert_eq!(ok("values", vec![m]), strs(&["ay", "bee"]));
        assert_eq!(
            err("keys", vec![s("x")]),
            "keys: invalid value for \"inputMap\" parameter: must have map or object type"
        );
        assert_eq!(
            err("values", vec![s("x")]),
            "values: values() requires a map as the first argument"
        );
    }

    #[test]
    fn concat_contains_index_one() {
        assert_eq!(
            ok("concat", vec![strs(&["a"]), list(vec![]), nums(&[1.0])]),
            list(vec![s("a"), n(1.0)])
        );
        assert_eq!(
            err("concat", vec![strs(&["a"]), s("b")]),
            "concat: invalid value for \"seqs\" parameter: all arguments must be lists or \
             tuples; got string"
        );
        assert_eq!(
            err("concat", vec![]),
            "concat: at least one argument is required"
        );
        assert_eq!(
            ok("contains", vec![strs(&["a", "b"]), s("b")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("contains", vec![strs(&["a", "b"]), s("c")]),
            Value::Bool(false)
        );
        assert_eq!(
            ok("contains", vec![nums(&[1.0]), s("1")]),
            Value::Bool(false)
        );
        assert_eq!(ok("index", vec![strs(&["a", "b"]), s("b")]), n(1.0));
        assert_eq!(
            err("index", vec![strs(&["a"]), s("z")]),
            "index: item not found"
        );
        assert_eq!(
            err("index", vec![list(vec![]), s("z")]),
            "index: cannot search an empty list"
        );
        assert_eq!(ok("one", vec![list(vec![])]), Value::Null);
        assert_eq!(ok("one", vec![strs(&["x"])]), s("x"));
        assert_eq!(
            err("one", vec![strs(&["x", "y"])]),
            "one: invalid value for \"list\" parameter: must be a list, set, or tuple value with \
             either zero or one elements"
        );
    }

    #[test]
    fn coalesce_and_coalescelist() {
        assert_eq!(ok("coalesce", vec![s(""), Value::Null, s("b")]), s("b"));
        assert_eq!(ok("coalesce", vec![Value::Null, n(1.0), n(2.0)]), n(1.0));
        assert_eq!(ok("coalesce", vec![n(1.0), s("a")]), s("1"));
        assert_eq!(
            err("coalesce", vec![s(""), Value::Null]),
            "coalesce: no non-null, non-empty-string arguments"
        );
        assert_eq!(
            err("coalesce", vec![s("a"), strs(&["b"])]),
            "coalesce: all arguments must have the same type"
        );
        assert_eq!(
            ok(
                "coalescelist",
                vec![list(vec![]), strs(&["c", "d"]), strs(&["e"])]
            ),
            strs(&["c", "d"])
        );
        assert_eq!(
            err("coalescelist", vec![list(vec![])]),
            "coalescelist: no non-null arguments"
        );
        assert_eq!(
            err("coalescelist", vec![s("a")]),
            "coalescelist: invalid value for \"vals\" parameter: coalescelist arguments must be \
             lists or tuples"
        );
    }

    #[test]
    fn flatten_distinct_zipmap_reverse_sort_compact() {
        assert_eq!(
            ok(
                "flatten",
                vec![list(vec![
                    strs(&["a", "b"]),
                    list(vec![]),
                    list(vec![strs(&["c"])])
                ])]
            ),
            strs(&["a", "b", "c"])
        );
        assert_eq!(
            err("flatten", vec![s("a")]),
            "flatten: invalid value for \"list\" parameter: can only flatten lists, sets and tuples"
        );
        assert_eq!(
            ok("distinct", vec![strs(&["b", "a", "b", "c", "a"])]),
            strs(&["b", "a", "c"])
        );
        assert_eq!(
            ok("zipmap", vec![strs(&["a", "b"]), nums(&[1.0, 2.0])]),
            map(vec![("a", n(1.0)), ("b", n(2.0))])
        );
        assert_eq!(
            err("zipmap", vec![strs(&["a"]), nums(&[1.0, 2.0])]),
            "zipmap: number of keys (1) does not match number of values (2)"
        );
        assert_eq!(
            ok("reverse", vec![nums(&[1.0, 2.0, 3.0])]),
            nums(&[3.0, 2.0, 1.0])
        );
        assert_eq!(
            err("reverse", vec![s("abc")]),
            "reverse: invalid value for \"list\" parameter: can only reverse list or tuple \
             values, not string"
        );
        assert_eq!(
            ok("sort", vec![strs(&["e", "d", "a", "x"])]),
            strs(&["a", "d", "e", "x"])
        );
        assert_eq!(
            ok("sort", vec![nums(&[3.0, 10.0, 1.0])]),
            strs(&["1", "10", "3"])
        );
        assert_eq!(
            err("sort", vec![list(vec![s("a"), Value::Null])]),
            "sort: given list element 1 is null; a null string cannot be sorted"
        );
        assert_eq!(
            ok(
                "compact",
                vec![list(vec![s("a"), s(""), Value::Null, s("b")])]
            ),
            strs(&["a", "b"])
        );
    }

    #[test]
    fn chunklist_sets_and_bools() {
        assert_eq!(
            ok("chunklist", vec![strs(&["a", "b", "c"]), n(2.0)]),
            list(vec![strs(&["a", "b"]), strs(&["c"])])
        );
        assert_eq!(
            ok("chunklist", vec![strs(&["a"]), n(0.0)]),
            list(vec![strs(&["a"])])
        );
        assert_eq!(
            ok("setunion", vec![strs(&["b", "a"]), strs(&["c", "a"])]),
            strs(&["a", "b", "c"])
        );
        assert_eq!(
            ok(
                "setintersection",
                vec![strs(&["a", "b", "c"]), strs(&["c", "b", "d"])]
            ),
            strs(&["b", "c"])
        );
        assert_eq!(
            ok(
                "setsubtract",
                vec![strs(&["a", "b", "c"]), strs(&["a", "c"])]
            ),
            strs(&["b"])
        );
        assert_eq!(
            ok("alltrue", vec![list(vec![Value::Bool(true), s("true")])]),
            Value::Bool(true)
        );
        assert_eq!(ok("alltrue", vec![list(vec![])]), Value::Bool(true));
        assert_eq!(
            ok(
                "anytrue",
                vec![list(vec![Value::Bool(false), Value::Bool(true)])]
            ),
            Value::Bool(true)
        );
        assert_eq!(ok("anytrue", vec![list(vec![])]), Value::Bool(false));
    }

    // --- numbers

    #[test]
    fn number_functions() {
        assert_eq!(ok("min", vec![n(12.0), n(54.0), n(3.0)]), n(3.0));
        assert_eq!(ok("max", vec![n(12.0), n(54.0), n(3.0)]), n(54.0));
        assert_eq!(err("max", vec![]), "max: must pass at least one number");
        assert_eq!(ok("abs", vec![n(-12.4)]), n(12.4));
        assert_eq!(ok("ceil", vec![n(5.1)]), n(6.0));
        assert_eq!(ok("floor", vec![n(-5.1)]), n(-6.0));
        assert_eq!(ok("signum", vec![n(-3.0)]), n(-1.0));
        assert_eq!(ok("pow", vec![n(2.0), n(10.0)]), n(1024.0));
        assert_eq!(ok("sum", vec![nums(&[1.0, 2.5])]), n(3.5));
        assert_eq!(
            err("sum", vec![list(vec![])]),
            "sum: invalid value for \"list\" parameter: cannot sum an empty list"
        );
    }

    #[test]
    fn range_counts_up_down_and_by_steps() {
        assert_eq!(ok("range", vec![n(3.0)]), nums(&[0.0, 1.0, 2.0]));
        assert_eq!(ok("range", vec![n(1.0), n(4.0)]), nums(&[1.0, 2.0, 3.0]));
        assert_eq!(ok("range", vec![n(4.0), n(1.0)]), nums(&[4.0, 3.0, 2.0]));
        assert_eq!(
            ok("range", vec![n(1.0), n(8.0), n(2.0)]),
            nums(&[1.0, 3.0, 5.0, 7.0])
        );
        assert_eq!(
            ok("range", vec![n(0.0), n(0.4), n(0.1)]),
            nums(&[0.0, 0.1, 0.2, 0.3])
        );
        assert_eq!(ok("range", vec![n(0.0)]), list(vec![]));
        assert_eq!(
            err("range", vec![n(1.0), n(4.0), n(-1.0)]),
            "range: invalid value for \"limit\" parameter: end must be less than start when step \
             is negative"
        );
        assert_eq!(
            err("range", vec![n(1.0), n(4.0), n(0.0)]),
            "range: invalid value for \"step\" parameter: step must not be zero"
        );
        assert!(err("range", vec![n(2000.0)]).contains("more than 1024 values"));
    }

    // --- conversions

    #[test]
    fn conversions() {
        assert_eq!(ok("tostring", vec![n(5.0)]), s("5"));
        assert_eq!(ok("tostring", vec![n(1.5)]), s("1.5"));
        assert_eq!(ok("tostring", vec![Value::Bool(true)]), s("true"));
        assert_eq!(
            err("tostring", vec![strs(&["a"])]),
            "tostring: invalid value for \"v\" parameter: cannot convert list to string"
        );
        assert_eq!(ok("tonumber", vec![s("42")]), n(42.0));
        assert_eq!(ok("tonumber", vec![s("-1.5e2")]), n(-150.0));
        assert_eq!(ok("tonumber", vec![Value::Null]), Value::Null);
        assert_eq!(
            err("tonumber", vec![s("no")]),
            "tonumber: invalid value for \"v\" parameter: cannot convert \"no\" to number; given \
             string must be a decimal representation of a number"
        );
        assert!(ctx_call("tonumber", vec![s("inf")], Path::new(".")).is_err());
        assert_eq!(ok("tobool", vec![s("true")]), Value::Bool(true));
        assert_eq!(
            err("tobool", vec![s("yes")]),
            "tobool: invalid value for \"v\" parameter: cannot convert \"yes\" to bool; only the \
             strings \"true\" or \"false\" are allowed"
        );
        assert_eq!(
            err("tobool", vec![n(1.0)]),
            "tobool: invalid value for \"v\" parameter: cannot convert number to bool"
        );
        assert_eq!(
            ok(
                "tolist",
                vec![list(vec![s("a"), n(1.0), Value::Bool(true)])]
            ),
            strs(&["a", "1", "true"])
        );
        assert_eq!(ok("tolist", vec![nums(&[2.0, 1.0])]), nums(&[2.0, 1.0]));
        assert_eq!(
            err("tolist", vec![list(vec![s("a"), strs(&["b"])])]),
            "tolist: invalid value for \"v\" parameter: cannot convert tuple to list of any \
             single type"
        );
        assert_eq!(
            err("tolist", vec![map(vec![])]),
            "tolist: invalid value for \"v\" parameter: cannot convert map to list of any single \
             type"
        );
        assert_eq!(
            ok("toset", vec![strs(&["c", "b", "b", "a"])]),
            strs(&["a", "b", "c"])
        );
        assert_eq!(
            ok("toset", vec![nums(&[10.0, 2.0, 2.0])]),
            nums(&[2.0, 10.0])
        );
        assert_eq!(
            ok("tomap", vec![map(vec![("a", n(1.0)), ("b", s("x"))])]),
            map(vec![("a", s("1")), ("b", s("x"))])
        );
        assert_eq!(
            err("tomap", vec![strs(&["a"])]),
            "tomap: invalid value for \"v\" parameter: cannot convert list to map of any single \
             type"
        );
    }

    // --- JSON and YAML

    #[test]
    fn jsonencode_is_compact_sorted_and_html_safe() {
        let v = map(vec![
            ("b", n(1.0)),
            (
                "a",
                list(vec![s("x<y>&z"), Value::Null, Value::Bool(true), n(1.5)]),
            ),
        ]);
        assert_eq!(
            ok("jsonencode", vec![v]),
            s(r#"{"a":["x\u003cy\u003e\u0026z",null,true,1.5],"b":1}"#)
        );
        assert_eq!(
            ok("jsonencode", vec![s("a\n\"b\"\u{1}")]),
            s(r#""a\n\"b\"\u0001""#)
        );
        assert_eq!(ok("jsonencode", vec![n(1e21)]), s("1000000000000000000000"));
    }

    #[test]
    fn jsondecode_reads_documents() {
        assert_eq!(
            ok(
                "jsondecode",
                vec![s(r#"{"hello": "world", "n": [1, 2.5, true, null]}"#)]
            ),
            map(vec![
                ("hello", s("world")),
                (
                    "n",
                    list(vec![n(1.0), n(2.5), Value::Bool(true), Value::Null])
                ),
            ])
        );
        assert_eq!(ok("jsondecode", vec![s("true")]), Value::Bool(true));
        assert!(err("jsondecode", vec![s("{nope")]).starts_with("jsondecode: "));
    }

    #[test]
    fn yamldecode_reads_documents() {
        let src = "a: 1\nb: [x, true, null, 1.5]\nc:\n  d: hello\n\"5\": five\n";
        assert_eq!(
            ok("yamldecode", vec![s(src)]),
            map(vec![
                ("a", n(1.0)),
                (
                    "b",
                    list(vec![s("x"), Value::Bool(true), Value::Null, n(1.5)])
                ),
                ("c", map(vec![("d", s("hello"))])),
                ("5", s("five")),
            ])
        );
        assert_eq!(
            ok("yamldecode", vec![s("- 1\n- two\n")]),
            list(vec![n(1.0), s("two")])
        );
        assert_eq!(ok("yamldecode", vec![s("hello")]), s("hello"));
        assert_eq!(ok("yamldecode", vec![s("")]), Value::Null);
        assert_eq!(
            ok("yamldecode", vec![s("1: one")]),
            map(vec![("1", s("one"))])
        );
        assert_eq!(
            ok(
                "yamldecode",
                vec![s("base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n")]
            ),
            map(vec![
                ("base", map(vec![("x", n(1.0))])),
                ("derived", map(vec![("x", n(1.0)), ("y", n(2.0))])),
            ])
        );
        assert!(err("yamldecode", vec![s("a: [")]).starts_with("yamldecode: "));
        assert!(err("yamldecode", vec![s("a: 1\n---\nb: 2\n")]).starts_with("yamldecode: "));
    }

    #[test]
    fn yamlencode_matches_terraform_layout() {
        let y = |v: Value| ok("yamlencode", vec![v]);
        assert_eq!(
            y(map(vec![("a", s("b")), ("c", s("d"))])),
            s("\"a\": \"b\"\n\"c\": \"d\"\n")
        );
        assert_eq!(
            y(map(vec![
                ("foo", nums(&[1.0, 2.0, 3.0])),
                ("bar", s("baz"))
            ])),
            s("\"bar\": \"baz\"\n\"foo\":\n- 1\n- 2\n- 3\n")
        );
        assert_eq!(
            y(map(vec![
                (
                    "foo",
                    list(vec![
                        n(1.0),
                        map(vec![("a", s("b")), ("c", s("d"))]),
                        n(3.0)
                    ])
                ),
                ("bar", s("baz")),
            ])),
            s("\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n")
        );
        assert_eq!(
            y(map(vec![("a", map(vec![("b", list(vec![n(1.0)]))]))])),
            s("\"a\":\n  \"b\":\n  - 1\n")
        );
        assert_eq!(
            y(list(vec![strs(&["a", "b"]), s("c")])),
            s("- - \"a\"\n  - \"b\"\n- \"c\"\n")
        );
        assert_eq!(
            y(map(vec![("a", s("x\ny")), ("b", s("z\n"))])),
            s("\"a\": |-\n  x\n  y\n\"b\": |\n  z\n")
        );
        assert_eq!(y(s("hello\n\nworld")), s("|-\n  hello\n\n  world\n"));
        assert_eq!(y(s("tab\there")), s("\"tab\\there\"\n"));
        assert_eq!(y(s("")), s("\"\"\n"));
        assert_eq!(y(n(5.0)), s("5\n...\n"));
        assert_eq!(y(Value::Null), s("null\n...\n"));
        assert_eq!(y(map(vec![])), s("{}\n"));
        assert_eq!(y(map(vec![("e", list(vec![]))])), s("\"e\": []\n"));
    }

    #[test]
    fn yaml_round_trips() {
        let v = map(vec![
            ("name", s("web: \"app\"")),
            ("ports", nums(&[80.0, 443.0])),
            ("script", s("#!/bin/sh\necho hi\n")),
            (
                "nested",
                list(vec![map(vec![(
                    "k",
                    list(vec![s("v"), Value::Bool(false)]),
                )])]),
            ),
            ("empty", map(vec![])),
            ("odd", s("  leading\nand trailing")),
        ]);
        let encoded = ok("yamlencode", vec![v.clone()]);
        assert_eq!(ok("yamldecode", vec![encoded]), v);
    }

    // --- encodings and hashes

    #[test]
    fn base64_and_hashes() {
        assert_eq!(
            ok("base64encode", vec![s("Hello World")]),
            s("SGVsbG8gV29ybGQ=")
        );
        assert_eq!(ok("base64encode", vec![s("ab")]), s("YWI="));
        assert_eq!(ok("base64encode", vec![s("")]), s(""));
        assert_eq!(
            ok("base64decode", vec![s("SGVsbG8gV29ybGQ=")]),
            s("Hello World")
        );
        assert_eq!(ok("base64decode", vec![s("YWI=")]), s("ab"));
        assert_eq!(ok("base64decode", vec![s("YW\nI=")]), s("ab"));
        assert_eq!(
            err("base64decode", vec![s("YWI")]),
            "base64decode: failed to decode base64 data \"YWI\""
        );
        assert_eq!(
            err("base64decode", vec![s("/w==")]),
            "base64decode: the result of decoding the provided string is not valid UTF-8"
        );
        assert_eq!(
            ok("sha256", vec![s("hello world")]),
            s("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        );
        assert_eq!(
            ok("base64sha256", vec![s("hello world")]),
            s("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")
        );
        assert_eq!(
            ok("md5", vec![s("hello world")]),
            s("5eb63bbbe01eeed093cb22bb8f5acdc3")
        );
        assert_eq!(
            ok("md5", vec![s("")]),
            s("d41d8cd98f00b204e9800998ecf8427e")
        );
        let long = "x".repeat(200);
        assert_eq!(ok("md5", vec![s(&long)]).as_str().map(str::len), Some(32));
    }

    // --- files

    #[test]
    fn file_reads_relative_to_the_module() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello.txt"), "hi there\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("bin.dat"), [0xff, 0xfe]).unwrap();
        let call = |name: &str, p: &str| ctx_call(name, vec![s(p)], dir.path());
        assert_eq!(call("file", "hello.txt").unwrap(), s("hi there\n"));
        assert_eq!(call("file", "./sub/../hello.txt").unwrap(), s("hi there\n"));
        let abs = dir.path().join("hello.txt");
        assert_eq!(
            call("file", &abs.display().to_string()).unwrap(),
            s("hi there\n")
        );
        let missing = call("file", "nope.txt").unwrap_err().0;
        assert!(
            missing.starts_with("file: no file exists at \""),
            "{missing}"
        );
        assert!(missing.contains("nope.txt\""), "{missing}");
        let binary = call("file", "bin.dat").unwrap_err().0;
        assert!(binary.contains("bin.dat\" are not valid UTF-8"), "{binary}");
        assert!(call("file", "sub")
            .unwrap_err()
            .0
            .contains("is a directory"));
        assert_eq!(call("fileexists", "hello.txt").unwrap(), Value::Bool(true));
        assert_eq!(call("fileexists", "nope.txt").unwrap(), Value::Bool(false));
        let dir_err = call("fileexists", "sub").unwrap_err().0;
        assert!(
            dir_err.ends_with("sub\" is a directory, not a file"),
            "{dir_err}"
        );
    }

    #[test]
    fn paths_are_cleaned_like_go() {
        assert_eq!(clean_path(Path::new("./a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(clean_path(Path::new("/a/../../b")), PathBuf::from("/b"));
        assert_eq!(clean_path(Path::new("../a")), PathBuf::from("../a"));
        assert_eq!(clean_path(Path::new(".")), PathBuf::from("."));
    }
}

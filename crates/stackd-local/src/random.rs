//! The `random_*` resources of Terraform's random provider and
//! `terraform_data`, with their argument and attribute names: values made
//! once at create, kept in state, made again only when an argument changes
//! (every argument but `terraform_data.input` replaces). Randomness comes
//! from the operating system (through `uuid`'s v4 generator).

use std::collections::BTreeMap;

use stackd_spec::schema::{AttrSchema, AttrType, ResourceSchema};
use stackd_spec::Value;

/// The schemas of the types this module serves.
pub fn schemas() -> Vec<ResourceSchema> {
    let keepers = || {
        AttrSchema::optional("keepers", AttrType::map_of(AttrType::String))
            .force_new()
            .doc("Arbitrary values; changing any of them makes a new value.")
    };
    let chars = |name: &'static str, password: bool| {
        let r = ResourceSchema::resource(name)
            .attr(AttrSchema::required("length", AttrType::Number).force_new())
            .attr(
                AttrSchema::optional("special", AttrType::Bool)
                    .default(true)
                    .force_new(),
            )
            .attr(
                AttrSchema::optional("upper", AttrType::Bool)
                    .default(true)
                    .force_new(),
            )
            .attr(
                AttrSchema::optional("lower", AttrType::Bool)
                    .default(true)
                    .force_new(),
            )
            .attr(
                AttrSchema::optional("numeric", AttrType::Bool)
                    .default(true)
                    .force_new(),
            )
            .attr(
                AttrSchema::optional("min_upper", AttrType::Number)
                    .default(0)
                    .force_new(),
            )
            .attr(
                AttrSchema::optional("min_lower", AttrType::Number)
                    .default(0)
                    .force_new(),
            )
            .attr(
                AttrSchema::optional("min_numeric", AttrType::Number)
                    .default(0)
                    .force_new(),
            )
            .attr(
                AttrSchema::optional("min_special", AttrType::Number)
                    .default(0)
                    .force_new(),
            )
            .attr(AttrSchema::optional("override_special", AttrType::String).force_new())
            .attr(keepers());
        if password {
            r.attr(AttrSchema::computed("result", AttrType::String).sensitive())
                .doc("A random password, kept in state (sensitive).")
        } else {
            r.attr(AttrSchema::computed("result", AttrType::String))
                .doc("A random string, kept in state.")
        }
    };
    vec![
        ResourceSchema::resource("random_id")
            .attr(AttrSchema::required("byte_length", AttrType::Number).force_new())
            .attr(AttrSchema::optional("prefix", AttrType::String).force_new())
            .attr(keepers())
            .attr(AttrSchema::computed("b64_url", AttrType::String))
            .attr(AttrSchema::computed("b64_std", AttrType::String))
            .attr(AttrSchema::computed("hex", AttrType::String))
            .attr(AttrSchema::computed("dec", AttrType::String))
            .doc("Random bytes, as base64, hex and decimal (bucket name suffixes)."),
        chars("random_string", false),
        chars("random_password", true),
        ResourceSchema::resource("random_integer")
            .attr(AttrSchema::required("min", AttrType::Number).force_new())
            .attr(AttrSchema::required("max", AttrType::Number).force_new())
            .attr(AttrSchema::optional("seed", AttrType::String).force_new())
            .attr(keepers())
            .attr(AttrSchema::computed("result", AttrType::Number))
            .doc("A random integer between min and max, both included."),
        ResourceSchema::resource("random_pet")
            .attr(AttrSchema::optional("length", AttrType::Number).default(2).force_new())
            .attr(AttrSchema::optional("prefix", AttrType::String).force_new())
            .attr(AttrSchema::optional("separator", AttrType::String).default("-").force_new())
            .attr(keepers())
            .doc("A random pet name such as \"calm-otter\"."),
        ResourceSchema::resource("random_uuid")
            .attr(keepers())
            .attr(AttrSchema::computed("result", AttrType::String))
            .doc("A random version 4 UUID."),
        ResourceSchema::resource("random_shuffle")
            .attr(AttrSchema::required("input", AttrType::list_of(AttrType::String)).force_new())
            .attr(AttrSchema::optional("result_count", AttrType::Number).force_new())
            .attr(AttrSchema::optional("seed", AttrType::String).force_new())
            .attr(keepers())
            .attr(AttrSchema::computed("result", AttrType::list_of(AttrType::String)))
            .doc("The input list in a random order (or the first result_count of it)."),
        ResourceSchema::resource("terraform_data")
            .attr(AttrSchema::optional("input", AttrType::Any))
            .attr(AttrSchema::optional("triggers_replace", AttrType::Any).force_new())
            .attr(AttrSchema::computed("output", AttrType::Any))
            .doc("A value kept in state; output follows input. Changing triggers_replace replaces it."),
    ]
}

/// True when this module serves `type_name`.
pub fn serves(type_name: &str) -> bool {
    type_name.starts_with("random_") || type_name == "terraform_data"
}

/// The attributes of a new object of `type_name` for `desired`, or why not.
pub fn create(type_name: &str, desired: &Value) -> Result<Value, String> {
    let Value::Map(args) = desired else {
        return Err("the arguments are not an object".into());
    };
    let mut out = args.clone();
    let int = |name: &str| -> Result<i64, String> {
        let v = args.get(name).and_then(Value::as_f64).unwrap_or(0.0);
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(format!("{name} must be a whole number, got {v}"));
        }
        Ok(v as i64)
    };
    let flag = |name: &str| args.get(name).and_then(Value::as_bool).unwrap_or(true);
    let mut rng = Rng::new(args.get("seed").and_then(Value::as_str));
    let (id, extra): (String, Vec<(&str, Value)>) = match type_name {
        "random_id" => {
            let n = int("byte_length")?;
            if !(1..=1024).contains(&n) {
                return Err(format!("byte_length must be 1 to 1024, got {n}"));
            }
            let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            let prefix = args.get("prefix").and_then(Value::as_str).unwrap_or("");
            let b64_url = base64(&bytes, URL_SAFE, false);
            (
                b64_url.clone(),
                vec![
                    ("b64_url", Value::from(format!("{prefix}{b64_url}"))),
                    (
                        "b64_std",
                        Value::from(format!("{prefix}{}", base64(&bytes, STANDARD, true))),
                    ),
                    ("hex", Value::from(format!("{prefix}{}", hex(&bytes)))),
                    ("dec", Value::from(format!("{prefix}{}", decimal(&bytes)))),
                ],
            )
        }
        "random_string" | "random_password" => {
            let spec = CharSpec {
                length: int("length")?,
                upper: flag("upper"),
                lower: flag("lower"),
                numeric: flag("numeric"),
                special: flag("special"),
                min_upper: int("min_upper")?,
                min_lower: int("min_lower")?,
                min_numeric: int("min_numeric")?,
                min_special: int("min_special")?,
                override_special: args
                    .get("override_special")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            let result = spec.generate(&mut rng)?;
            let id = if type_name == "random_password" {
                "none".to_string()
            } else {
                result.clone()
            };
            (id, vec![("result", Value::from(result))])
        }
        "random_integer" => {
            let (min, max) = (int("min")?, int("max")?);
            if min > max {
                return Err(format!("min ({min}) is greater than max ({max})"));
            }
            let span = (max - min) as u64 + 1;
            let n = min + rng.below(span) as i64;
            (n.to_string(), vec![("result", Value::from(n))])
        }
        "random_pet" => {
            let length = int("length")?;
            if !(1..=64).contains(&length) {
                return Err(format!("length must be 1 to 64, got {length}"));
            }
            let separator = args.get("separator").and_then(Value::as_str).unwrap_or("-");
            let mut words: Vec<&str> = Vec::new();
            for i in 0..length {
                let list = if i == length - 1 {
                    NAMES
                } else if i == length - 2 {
                    ADJECTIVES
                } else {
                    ADVERBS
                };
                words.push(list[rng.below(list.len() as u64) as usize]);
            }
            if let Some(p) = args.get("prefix").and_then(Value::as_str) {
                words.insert(0, p);
            }
            (words.join(separator), Vec::new())
        }
        "random_uuid" => {
            let u = uuid::Uuid::new_v4().to_string();
            (u.clone(), vec![("result", Value::from(u))])
        }
        "random_shuffle" => {
            let mut items: Vec<Value> = args
                .get("input")
                .and_then(Value::as_list)
                .map(<[Value]>::to_vec)
                .unwrap_or_default();
            for i in (1..items.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                items.swap(i, j);
            }
            if let Some(n) = args.get("result_count").filter(|v| !v.is_null()) {
                let n = n.as_f64().unwrap_or(0.0);
                if n < 0.0 || n.fract() != 0.0 {
                    return Err(format!("result_count must be a whole number, got {n}"));
                }
                items.truncate(n as usize);
            }
            ("-".to_string(), vec![("result", Value::List(items))])
        }
        "terraform_data" => (
            uuid::Uuid::new_v4().to_string(),
            vec![("output", args.get("input").cloned().unwrap_or(Value::Null))],
        ),
        other => return Err(format!("the local provider has no type {other}")),
    };
    out.insert("id".into(), Value::from(id));
    for (k, v) in extra {
        out.insert(k.into(), v);
    }
    Ok(Value::Map(out))
}

/// An in-place update: only `terraform_data.input` changes without
/// replacing; `output` follows it.
pub fn update(type_name: &str, prior: &Value, desired: &Value) -> Result<Value, String> {
    if type_name != "terraform_data" {
        return Err(format!("{type_name} is replaced, never updated"));
    }
    let mut out: BTreeMap<String, Value> = match desired {
        Value::Map(m) => m.clone(),
        _ => BTreeMap::new(),
    };
    out.insert("id".into(), prior.get("id").cloned().unwrap_or(Value::Null));
    out.insert(
        "output".into(),
        out.get("input").cloned().unwrap_or(Value::Null),
    );
    Ok(Value::Map(out))
}

const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const NUMERIC: &str = "0123456789";
/// The random provider's default special characters.
const SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";

struct CharSpec {
    length: i64,
    upper: bool,
    lower: bool,
    numeric: bool,
    special: bool,
    min_upper: i64,
    min_lower: i64,
    min_numeric: i64,
    min_special: i64,
    override_special: Option<String>,
}

impl CharSpec {
    /// Each minimum first, then the rest from every enabled set, shuffled.
    fn generate(&self, rng: &mut Rng) -> Result<String, String> {
        if !(1..=4096).contains(&self.length) {
            return Err(format!("length must be 1 to 4096, got {}", self.length));
        }
        let special = self.override_special.as_deref().unwrap_or(SPECIAL);
        let sets: [(bool, &str, i64); 4] = [
            (self.upper, UPPER, self.min_upper),
            (self.lower, LOWER, self.min_lower),
            (self.numeric, NUMERIC, self.min_numeric),
            (self.special, special, self.min_special),
        ];
        let minimums: i64 = sets.iter().map(|(_, _, m)| (*m).max(0)).sum();
        if minimums > self.length {
            return Err(format!(
                "the minimums ask for {minimums} characters, more than length {}",
                self.length
            ));
        }
        let mut out: Vec<char> = Vec::new();
        let mut all: Vec<char> = Vec::new();
        for (on, chars, min) in sets {
            let chars: Vec<char> = chars.chars().collect();
            if on && !chars.is_empty() {
                all.extend(&chars);
            }
            for _ in 0..min.max(0) {
                if chars.is_empty() {
                    break;
                }
                out.push(chars[rng.below(chars.len() as u64) as usize]);
            }
        }
        if all.is_empty() {
            return Err("every character set is turned off".into());
        }
        while (out.len() as i64) < self.length {
            out.push(all[rng.below(all.len() as u64) as usize]);
        }
        for i in (1..out.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            out.swap(i, j);
        }
        Ok(out.into_iter().collect())
    }
}

/// Random numbers: the operating system's, or, with a `seed`, a fixed
/// sequence for that seed (as `random_integer` and `random_shuffle` offer).
struct Rng {
    seeded: Option<u64>,
    pool: Vec<u8>,
}

impl Rng {
    fn new(seed: Option<&str>) -> Rng {
        Rng {
            seeded: seed.map(|s| {
                // FNV-1a of the seed text.
                s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                })
            }),
            pool: Vec::new(),
        }
    }

    fn byte(&mut self) -> u8 {
        if let Some(state) = &mut self.seeded {
            // splitmix64
            *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            return (z ^ (z >> 31)) as u8;
        }
        if self.pool.is_empty() {
            // A v4 UUID holds 122 random bits; bytes 6 and 8 carry the
            // version and variant, so only the other 14 are used.
            let b = *uuid::Uuid::new_v4().as_bytes();
            self.pool.extend(
                b.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != 6 && *i != 8)
                    .map(|(_, x)| *x),
            );
        }
        self.pool.pop().unwrap_or(0)
    }

    /// A uniform number below `n` (n ≥ 1), by rejection.
    fn below(&mut self, n: u64) -> u64 {
        let n = n.max(1);
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.byte()));
            if v < zone {
                return v % n;
            }
        }
    }
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes as one big-endian unsigned integer, in decimal.
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0]; // little-endian base-10 digits
    for b in bytes {
        let mut carry = u32::from(*b);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

const ADVERBS: &[&str] = &[
    "barely", "boldly", "briefly", "calmly", "deeply", "eagerly", "early", "evenly", "fairly",
    "freely", "gently", "gladly", "highly", "kindly", "lately", "merely", "mildly", "neatly",
    "newly", "nicely", "openly", "partly", "quickly", "quietly", "rarely", "really", "simply",
    "slowly", "softly", "truly", "warmly", "wildly", "wisely",
];

const ADJECTIVES: &[&str] = &[
    "able", "amber", "brave", "bright", "busy", "calm", "clever", "cool", "crisp", "daring",
    "eager", "fair", "fast", "fine", "fond", "free", "fresh", "gentle", "glad", "golden", "grand",
    "happy", "honest", "keen", "kind", "lively", "loyal", "lucky", "merry", "mighty", "modest",
    "noble", "polite", "proud", "quick", "quiet", "rapid", "ready", "sharp", "shy", "smart",
    "solid", "steady", "sunny", "swift", "tidy", "vast", "warm", "wise", "witty",
];

const NAMES: &[&str] = &[
    "badger", "beagle", "bison", "bobcat", "camel", "cheetah", "cobra", "condor", "crane", "dingo",
    "dolphin", "eagle", "falcon", "ferret", "finch", "gecko", "gibbon", "gopher", "heron", "ibex",
    "impala", "jackal", "koala", "lemur", "lion", "lynx", "marmot", "mole", "moose", "newt",
    "ocelot", "osprey", "otter", "owl", "panda", "parrot", "puffin", "quail", "rabbit", "raven",
    "seal", "sloth", "swan", "tapir", "tiger", "toucan", "walrus", "wombat", "yak", "zebra",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    #[test]
    fn encodings_match_the_random_providers() {
        // Facts: base64 and hex of fixed bytes.
        assert_eq!(base64(&[0xfb, 0xff, 0x01], URL_SAFE, false), "-_8B");
        assert_eq!(base64(&[0xfb, 0xff, 0x01], STANDARD, true), "+/8B");
        assert_eq!(base64(b"hi", STANDARD, true), "aGk=");
        assert_eq!(base64(b"hi", URL_SAFE, false), "aGk");
        assert_eq!(hex(&[0, 171, 255]), "00abff");
        assert_eq!(decimal(&[1, 0]), "256");
        assert_eq!(decimal(&[0xff; 8]), "18446744073709551615");
    }

    #[test]
    fn random_id_gives_every_encoding_of_the_same_bytes() {
        let v = create(
            "random_id",
            &args(&[
                ("byte_length", Value::from(8)),
                ("prefix", Value::from("p-")),
            ]),
        )
        .expect("creates");
        let id = v.get("id").and_then(Value::as_str).expect("id");
        assert_eq!(id.len(), 11, "8 bytes are 11 base64 characters: {id}");
        let hex = v.get("hex").and_then(Value::as_str).expect("hex");
        assert!(hex.starts_with("p-") && hex.len() == 18, "{hex}");
        assert_eq!(
            v.get("b64_url").and_then(Value::as_str),
            Some(format!("p-{id}").as_str())
        );
    }

    #[test]
    fn random_string_honours_its_sets_and_minimums() {
        for _ in 0..20 {
            let v = create(
                "random_string",
                &args(&[
                    ("length", Value::from(16)),
                    ("special", Value::Bool(false)),
                    ("upper", Value::Bool(false)),
                    ("min_numeric", Value::from(4)),
                    ("lower", Value::Bool(true)),
                    ("numeric", Value::Bool(true)),
                ]),
            )
            .expect("creates");
            let s = v.get("result").and_then(Value::as_str).expect("result");
            assert_eq!(s.chars().count(), 16);
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{s}"
            );
            assert!(s.chars().filter(char::is_ascii_digit).count() >= 4, "{s}");
            assert_eq!(v.get("id").and_then(Value::as_str), Some(s));
        }
        let e = create(
            "random_password",
            &args(&[("length", Value::from(2)), ("min_upper", Value::from(3))]),
        )
        .expect_err("minimums above length");
        assert!(e.contains("more than length"), "{e}");
    }

    #[test]
    fn integers_stay_in_range_and_a_seed_repeats() {
        for _ in 0..50 {
            let v = create(
                "random_integer",
                &args(&[("min", Value::from(1)), ("max", Value::from(3))]),
            )
            .expect("creates");
            let n = v.get("result").and_then(Value::as_f64).expect("result");
            assert!((1.0..=3.0).contains(&n), "{n}");
        }
        let seeded = || {
            create(
                "random_shuffle",
                &args(&[
                    ("input", Value::List((0..10).map(Value::from).collect())),
                    ("seed", Value::from("s")),
                    ("result_count", Value::from(4)),
                ]),
            )
            .expect("creates")
        };
        let (a, b) = (seeded(), seeded());
        assert_eq!(a.get("result"), b.get("result"));
        assert_eq!(
            a.get("result").and_then(Value::as_list).map(<[Value]>::len),
            Some(4)
        );
    }

    #[test]
    fn pets_and_terraform_data() {
        let v = create(
            "random_pet",
            &args(&[("length", Value::from(3)), ("separator", Value::from("_"))]),
        )
        .expect("creates");
        let id = v.get("id").and_then(Value::as_str).expect("id");
        assert_eq!(id.split('_').count(), 3, "{id}");
        let d = create("terraform_data", &args(&[("input", Value::from("x"))])).expect("creates");
        assert_eq!(d.get("output"), Some(&Value::from("x")));
        let u =
            update("terraform_data", &d, &args(&[("input", Value::from("y"))])).expect("updates");
        assert_eq!(u.get("output"), Some(&Value::from("y")));
        assert_eq!(u.get("id"), d.get("id"), "same object");
    }
}

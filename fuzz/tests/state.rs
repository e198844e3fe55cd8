//! Fuzzing the state loader: valid state files mutated as JSON (numbers at
//! the edges of their types, odd strings and addresses, deep nesting,
//! missing and duplicated entries) and as bytes (invalid UTF-8, byte order
//! marks, truncation). `decode` must answer every input with a state or an
//! error, never a panic; a state it accepts must survive `encode` and
//! decode to itself. (The corpus runs in the main test suite:
//! `crates/stackd-engine/tests/state_corpus.rs`.)
//!
//! Fixed seed, bounded case count (`STACKD_FUZZ_CASES`, `STACKD_FUZZ_SEED`
//! explore further).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{
    Config as RunnerConfig, RngAlgorithm, TestCaseError, TestRng, TestRunner,
};
use serde_json::{json, Value as Json};
use stackd_engine::state::{decode, encode};

const PATH: &str = "/nonexistent/stackd-fuzz/stackd.state.json";

fn valid_state() -> Json {
    json!({
        "format_version": 1,
        "stackd_version": "0.1.0",
        "lineage": "6f1c2a3e-0000-4000-8000-000000000000",
        "serial": 7,
        "stack": "web",
        "resources": [
            {
                "address": "aws_subnet.public[\"a\"]",
                "mode": "managed",
                "type": "aws_subnet",
                "name": "public",
                "index_key": "a",
                "id": "subnet-0abc",
                "attributes": { "id": "subnet-0abc", "cidr_block": "10.0.1.0/24", "tags": { "Name": "a" } },
                "dependencies": ["aws_vpc.main"],
                "create_before_destroy": false
            },
            {
                "address": "aws_instance.web[0]",
                "mode": "managed",
                "type": "aws_instance",
                "name": "web",
                "index_key": 0,
                "id": "i-1",
                "attributes": { "id": "i-1", "ports": [80, 443], "n": 1.5 },
                "tainted": true
            },
            {
                "address": "data.aws_ami.al2023",
                "mode": "data",
                "type": "aws_ami",
                "name": "al2023",
                "index_key": null,
                "id": "ami-1",
                "attributes": {}
            }
        ],
        "outputs": { "vpc_id": { "value": "vpc-0123", "sensitive": true } },
        "pending": [
            { "address": "aws_instance.web[1]", "token": "t-1", "started_at": "2024-05-01T12:00:00Z" }
        ]
    })
}

fn cases(default: u32) -> u32 {
    std::env::var("STACKD_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    let mut seed = [0x57_u8; 32];
    if let Some(s) = std::env::var("STACKD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        seed[..8].copy_from_slice(&s.to_le_bytes());
    }
    let config = RunnerConfig {
        cases,
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// Replacement values: the edges of every JSON type the file uses.
fn edge_value() -> impl Strategy<Value = Json> {
    let deep = |n: usize| {
        let mut v = json!(1);
        for _ in 0..n {
            v = json!([v]);
        }
        v
    };
    prop_oneof![
        select(vec![
            json!(null),
            json!(true),
            json!(0),
            json!(-1),
            json!(1.5),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(1e308),
            json!(""),
            json!("\u{feff}"),
            json!("“quoted”"),
            json!("aws_vpc.main"),
            json!("aws_vpc.main[\"\\u0000\"]"),
            json!("aws_vpc.main/s:@ZZ"),
            json!("aws_vpc.main/i:99999999999999999999"),
            json!("module.a.module.b.aws_vpc.x[-1]"),
            json!("data.x.y[\"k\"]"),
            json!("aws_vpc.main[\""),
            json!("managed"),
            json!("data"),
            json!([]),
            json!({}),
            json!({"value": 1}),
        ]),
        (1..200usize).prop_map(deep),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    /// Replaces the value at a path picked by the indexes.
    Replace(Vec<Index>, Json),
    /// Removes the entry at a path.
    Remove(Vec<Index>),
    /// Appends a copy of an array's element (a duplicate resource).
    Duplicate(Vec<Index>),
}

#[derive(Debug, Clone)]
enum ByteEdit {
    Insert(Index, Vec<u8>),
    Truncate(Index),
    Flip(Index, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    let path = || vec(any::<Index>(), 1..5);
    prop_oneof![
        4 => (path(), edge_value()).prop_map(|(p, v)| Edit::Replace(p, v)),
        2 => path().prop_map(Edit::Remove),
        1 => path().prop_map(Edit::Duplicate),
    ]
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (
            any::<Index>(),
            select(vec![
                b"\xef\xbb\xbf".to_vec(),
                b"\xff\xfe".to_vec(),
                b"\xc3".to_vec(),
                b"\"".to_vec(),
                b"}".to_vec(),
                b",".to_vec(),
                b"\\u".to_vec(),
                b"\\ud800".to_vec(),
                b"99999999999999999999999".to_vec(),
                b"-0".to_vec(),
                b"1e999".to_vec(),
            ])
        )
            .prop_map(|(at, bytes)| ByteEdit::Insert(at, bytes)),
        any::<Index>().prop_map(ByteEdit::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| ByteEdit::Flip(at, b)),
    ]
}

/// Walks `path` into `doc` (each index picks among the entries there) and
/// applies `f` to the container holding the last step and its key.
fn at_path(doc: &mut Json, path: &[Index], f: &mut dyn FnMut(&mut Json, usize)) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let len = match doc {
        Json::Array(a) => a.len(),
        Json::Object(o) => o.len(),
        _ => return,
    };
    if len == 0 {
        return;
    }
    let i = first.index(len);
    let deeper = match doc {
        Json::Array(a) => &mut a[i],
        Json::Object(o) => match o.values_mut().nth(i) {
            Some(v) => v,
            None => return,
        },
        _ => return,
    };
    if rest.is_empty() || !(deeper.is_array() || deeper.is_object()) {
        f(doc, i);
    } else {
        at_path(deeper, rest, f);
    }
}

fn apply(doc: &mut Json, e: &Edit) {
    match e {
        Edit::Replace(path, v) => at_path(doc, path, &mut |c, i| match c {
            Json::Array(a) => a[i] = v.clone(),
            Json::Object(o) => {
                if let Some(slot) = o.values_mut().nth(i) {
                    *slot = v.clone();
                }
            }
            _ => {}
        }),
        Edit::Remove(path) => at_path(doc, path, &mut |c, i| match c {
            Json::Array(a) => {
                a.remove(i);
            }
            Json::Object(o) => {
                if let Some(k) = o.keys().nth(i).cloned() {
                    o.remove(&k);
                }
            }
            _ => {}
        }),
        Edit::Duplicate(path) => at_path(doc, path, &mut |c, i| {
            if let Json::Array(a) = c {
                let copy = a[i].clone();
                a.push(copy);
            }
        }),
    }
}

fn apply_bytes(bytes: &mut Vec<u8>, e: &ByteEdit) {
    match e {
        ByteEdit::Insert(at, b) => {
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        ByteEdit::Truncate(at) => bytes.truncate(at.index(bytes.len() + 1)),
        ByteEdit::Flip(at, b) => {
            if !bytes.is_empty() {
                let at = at.index(bytes.len());
                bytes[at] = *b;
            }
        }
    }
}

/// A state file `decode` accepts must round-trip through `encode`.
fn check_decode(bytes: &[u8]) {
    let path = Path::new(PATH);
    if let Ok(state) = decode(bytes, path) {
        let again = encode(&state, path).expect("an accepted state encodes");
        let back = decode(&again, path).expect("an encoded state decodes");
        assert_eq!(back, state, "the state changed through encode and decode");
    }
}

#[test]
fn mutated_state_files_never_crash_the_loader() {
    let strategy = (
        vec(edit(), 0..4),
        prop_oneof![3 => Just(Vec::new()), 1 => vec(byte_edit(), 1..3)],
        any::<bool>(),
    );
    let result = runner(cases(3000)).run(&strategy, |(edits, byte_edits, pretty)| {
        let mut doc = valid_state();
        for e in &edits {
            apply(&mut doc, e);
        }
        let mut bytes = if pretty {
            serde_json::to_vec_pretty(&doc)
        } else {
            serde_json::to_vec(&doc)
        }
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for e in &byte_edits {
            apply_bytes(&mut bytes, e);
        }
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let outcome = catch_unwind(AssertUnwindSafe(|| check_decode(&bytes)));
        std::panic::set_hook(hook);
        outcome.map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            TestCaseError::fail(format!(
                "panicked: {message}\ninput: {}",
                String::from_utf8_lossy(&bytes)
            ))
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_valid_state_used_by_the_fuzzer_decodes() {
    let bytes = serde_json::to_vec_pretty(&valid_state()).expect("json");
    let state = decode(&bytes, Path::new(PATH)).expect("the seed state is valid");
    assert_eq!(state.resources.len(), 3);
}

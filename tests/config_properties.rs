//! Properties of the config loader on random mutations of the runnable default,
//! `config/lockerd.toml`: a deleted key, a value of the wrong type, an unknown key, numbers and
//! durations in and out of range, bad ids, sizes and bus names. Each mutation either must load
//! (an optional key deleted, a value in range) or must be refused naming the key it broke, as
//! `config/lockerd.toml` promises; every answer also passes the fuzz target's oracle
//! (`oracles/config.rs`).
//!
//! Case counts are kept small so the whole file runs in about a second; the `config_loader`
//! fuzz target (fuzz/) explores arbitrary text for longer.

#[path = "oracles/config.rs"]
mod oracle;

use lockerd::config::{Config, ConfigError};
use proptest::prelude::*;
use std::path::PathBuf;
use toml::{Table, Value};

type Loaded = Result<Config, ConfigError>;

/// A key path as errors spell it: `compartment[3].latch.bus`.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn show(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => out.push_str(&format!(".{k}")),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn default_text() -> String {
    std::fs::read_to_string(source()).expect("config/lockerd.toml")
}

fn source() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/lockerd.toml")
}

fn default_table() -> Table {
    default_text().parse().expect("the default is TOML")
}

/// Every key of the default file, tables included, in file order (array elements are not keys:
/// their tables' keys are).
fn keys(table: &Table, prefix: &[Seg], out: &mut Vec<Vec<Seg>>) {
    for (key, value) in table {
        let mut path = prefix.to_vec();
        path.push(Seg::Key(key.clone()));
        out.push(path.clone());
        match value {
            Value::Table(inner) => keys(inner, &path, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Table(inner) = item {
                        let mut element = path.clone();
                        element.push(Seg::Index(i));
                        keys(inner, &element, out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn all_keys() -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    keys(&default_table(), &[], &mut out);
    out
}

/// The table at `path` (a key of a table, or an element of an array of tables).
fn node<'t>(root: &'t mut Table, path: &[Seg]) -> &'t mut Table {
    let mut here = root;
    let mut segs = path.iter().peekable();
    while let Some(seg) = segs.next() {
        let Seg::Key(key) = seg else {
            unreachable!("an index follows a key")
        };
        here = match (here.get_mut(key).expect("key exists"), segs.peek()) {
            (Value::Array(items), Some(Seg::Index(i))) => {
                segs.next();
                items[*i].as_table_mut().expect("array of tables")
            }
            (Value::Table(inner), _) => inner,
            _ => unreachable!("a path through tables"),
        };
    }
    here
}

/// The table holding `path`'s last key, and that key.
fn parent<'t>(root: &'t mut Table, path: &[Seg]) -> (&'t mut Table, String) {
    let (last, init) = path.split_last().expect("a key");
    let Seg::Key(last) = last else {
        unreachable!("a key path ends in a key")
    };
    (node(root, init), last.clone())
}

/// Every table a key could be added to: the root, `[locker]` and the like, each `[[bus]]` and
/// `[[compartment]]`, and their `latch` and `door`.
fn tables() -> Vec<Vec<Seg>> {
    let root = default_table();
    let mut out = vec![vec![]];
    for path in all_keys() {
        let mut probe = root.clone();
        let (holder, last) = parent(&mut probe, &path);
        match &holder[&last] {
            Value::Table(_) => out.push(path),
            Value::Array(items) => out.extend((0..items.len()).map(|i| {
                let mut element = path.clone();
                element.push(Seg::Index(i));
                element
            })),
            _ => {}
        }
    }
    out
}

fn load(table: &Table) -> Loaded {
    let text = toml::to_string(table).expect("serializes");
    oracle::judge(&text, &source())
}

/// Keys with no default: deleting one must be refused naming it.
fn required(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    matches!(path, "bus" | "compartment")
        || (path.starts_with("bus[") && matches!(last, "name" | "driver"))
        || (path.starts_with("compartment[")
            && (matches!(last, "id" | "size" | "latch" | "door")
                || path.ends_with("].latch.bus")
                || path.ends_with("].door.bus")))
}

fn refused_naming(result: Loaded, keys: &[&str]) {
    match result {
        Ok(_) => panic!("loaded, but {keys:?} is broken"),
        Err(e) => assert!(
            keys.contains(&e.key.as_str()),
            "expected an error naming {keys:?}, got {e}"
        ),
    }
}

fn loads(result: Loaded) {
    if let Err(e) = result {
        panic!("a valid mutation was refused: {e}");
    }
}

fn a_key() -> impl Strategy<Value = Vec<Seg>> {
    let keys = all_keys();
    (0..keys.len()).prop_map(move |i| keys[i].clone())
}

/// A value of another TOML type than `old`.
fn retyped(old: &Value, pick: usize) -> Value {
    let datetime = "1979-05-27T07:32:00Z".parse().expect("a datetime");
    let candidates = [
        Value::String("x".into()),
        Value::Integer(7),
        Value::Float(0.5),
        Value::Boolean(true),
        Value::Datetime(datetime),
        Value::Array(vec![Value::Integer(1)]),
        Value::Table(Table::new()),
    ];
    let others: Vec<_> = candidates
        .into_iter()
        .filter(|c| c.type_str() != old.type_str())
        .collect();
    others[pick % others.len()].clone()
}

/// A number or duration key, the range that loads, and the other keys an error may name when
/// out of it (a cross-check names the key its rule is written on).
struct Range {
    key: &'static str,
    lo: u64,
    hi: u64,
    also: &'static [&'static str],
}

const fn range(key: &'static str, lo: u64, hi: u64) -> Range {
    Range {
        key,
        lo,
        hi,
        also: &[],
    }
}

const fn cross(key: &'static str, lo: u64, hi: u64, also: &'static [&'static str]) -> Range {
    Range { key, lo, hi, also }
}

const S: u64 = 1000;
const NO_CAP: u64 = u64::MAX;

/// Durations in milliseconds; the others (the default file's values) stay as they are.
const DURATIONS: &[Range] = &[
    range("policy.dwell", 1, NO_CAP),
    range("policy.deposit_grace", 1, NO_CAP),
    cross(
        "policy.keypad_lockout",
        1,
        24 * 3600 * S,
        &["policy.keypad_lockout_max"],
    ),
    range("policy.keypad_lockout_max", 60 * S, NO_CAP),
    range("policy.courier_session", 1, NO_CAP),
    range("latch.pulse", 1, 1500),
    cross("latch.max_pulse", 400, 5 * S, &["latch.pulse"]),
    range("latch.cooldown", 1, 60 * S),
    range("latch.open_timeout", 1, 60 * S),
    range("latch.door_left_open", 1, 24 * 3600 * S),
    range("photo.timeout", 1, NO_CAP),
    range("photo.retention", 1, NO_CAP),
    range("sync.retention", 1, NO_CAP),
    range("sync.reservation_ttl", 1, NO_CAP),
    range("bus[0].poll", 1, 60 * S),
];

const INTEGERS: &[Range] = &[
    range("policy.code_length", 6, 10),
    range("policy.keypad_max_failures", 1, u32::MAX as u64),
    range("latch.retries", 0, 5),
    range("api.max_streams", 1, u32::MAX as u64),
    range("api.max_streams_per_token", 1, u32::MAX as u64),
];

fn set(table: &mut Table, key: &str, value: Value) {
    let path: Vec<Seg> = all_keys()
        .into_iter()
        .find(|p| show(p) == key)
        .expect("known key");
    let (holder, last) = parent(table, &path);
    holder.insert(last, value);
}

fn expect_range(rule: &Range, value: i128, result: Loaded) {
    if value >= i128::from(rule.lo) && value <= i128::from(rule.hi) {
        loads(result);
    } else {
        let keys: Vec<&str> = std::iter::once(rule.key)
            .chain(rule.also.iter().copied())
            .collect();
        refused_naming(result, &keys);
    }
}

/// Milliseconds: mostly near a rule's bounds, sometimes anywhere, sometimes past u64.
fn millis() -> impl Strategy<Value = u128> {
    prop_oneof![
        0u128..=2_000,
        55_000u128..=65_000,
        (86_390_000u128..=86_410_000),
        any::<u64>().prop_map(u128::from),
        Just(u128::from(u64::MAX) + 1),
    ]
}

/// `PROPTEST_CASES` when set (a longer hunt), else the bounded count the test suite runs.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_deleted_key_loads_unless_required_and_then_is_named(path in a_key()) {
        let mut table = default_table();
        let (holder, last) = parent(&mut table, &path);
        holder.remove(&last);
        let key = show(&path);
        if required(&key) {
            refused_naming(load(&table), &[&key]);
        } else {
            loads(load(&table));
        }
    }

    #[test]
    fn a_value_of_another_type_is_named(path in a_key(), pick in 0usize..6) {
        let mut table = default_table();
        let (holder, last) = parent(&mut table, &path);
        let old = holder[&last].clone();
        holder.insert(last, retyped(&old, pick));
        refused_naming(load(&table), &[&show(&path)]);
    }

    #[test]
    fn an_unknown_key_is_named(
        table_at in 0usize..64,
        name in prop_oneof!["[a-z][a-z_]{0,11}", "(device|baud|pin|coil|unit|input|push|debounce)"],
    ) {
        let mut table = default_table();
        let tables = tables();
        let at = &tables[table_at % tables.len()];
        let holder = node(&mut table, at);
        prop_assume!(!holder.contains_key(&name));
        holder.insert(name.clone(), Value::Integer(1));
        let mut key = at.clone();
        key.push(Seg::Key(name));
        refused_naming(load(&table), &[&show(&key)]);
    }

    #[test]
    fn durations_load_in_range_and_are_named_out_of_it(rule in 0..DURATIONS.len(), ms in millis()) {
        let rule = &DURATIONS[rule];
        let mut table = default_table();
        let text = if ms % 1000 == 0 && ms > 0 { format!("{}s", ms / 1000) } else { format!("{ms}ms") };
        // humantime takes up to u64::MAX ns per "ms" number: past that the file is refused.
        let millis = humantime::parse_duration(&text).map_or(i128::MAX, |d| d.as_millis() as i128);
        set(&mut table, rule.key, Value::String(text));
        expect_range(rule, millis, load(&table));
    }

    #[test]
    fn integers_load_in_range_and_are_named_out_of_it(
        rule in 0..INTEGERS.len(),
        n in prop_oneof![-3i64..=12, any::<i64>(), Just(i64::from(u32::MAX) + 1)],
    ) {
        let rule = &INTEGERS[rule];
        let mut table = default_table();
        set(&mut table, rule.key, Value::Integer(n));
        expect_range(rule, i128::from(n), load(&table));
    }

    #[test]
    fn a_duration_that_is_not_one_is_named(rule in 0..DURATIONS.len(), text in "[0-9]{0,3}[a-z ]{0,4}") {
        prop_assume!(humantime::parse_duration(text.trim()).is_err());
        let rule = &DURATIONS[rule];
        let mut table = default_table();
        set(&mut table, rule.key, Value::String(text));
        refused_naming(load(&table), &[rule.key]);
    }

    #[test]
    fn compartment_ids_are_unique_and_url_safe(at in 0usize..12, id in "[A-Za-z0-9_ ./-]{0,18}") {
        let mut table = default_table();
        let key = format!("compartment[{at}].id");
        set(&mut table, &key, Value::String(id.clone()));
        let url_safe = (1..=16).contains(&id.len())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let same = |i: &usize| table["compartment"][*i]["id"].as_str() == Some(id.as_str());
        match (0..12).filter(|i| *i != at).find(same) {
            _ if !url_safe => refused_naming(load(&table), &[&key]),
            // A clash is reported at the later of the two.
            Some(other) => refused_naming(load(&table), &[&format!("compartment[{}].id", at.max(other))]),
            None => loads(load(&table)),
        }
    }

    #[test]
    fn sizes_and_bus_names_are_checked(
        at in 0usize..12,
        field in prop_oneof![Just("size"), Just("latch.bus"), Just("door.bus")],
        value in prop_oneof![Just("S".to_owned()), Just("XL".to_owned()), Just("sim".to_owned()), "[A-Za-z]{0,4}"],
    ) {
        let mut table = default_table();
        let key = format!("compartment[{at}].{field}");
        set(&mut table, &key, Value::String(value.clone()));
        let valid = match field {
            "size" => matches!(value.as_str(), "S" | "M" | "L" | "XL"),
            _ => value == "sim",
        };
        if valid { loads(load(&table)) } else { refused_naming(load(&table), &[&key]) }
    }

    /// A listener reachable from the network needs TLS or `api.allow_plaintext = true`.
    #[test]
    fn the_listen_address_is_ip_and_port(addr in prop_oneof![
        "(127\\.0\\.0\\.1|0\\.0\\.0\\.0|\\[::1\\]|localhost|[0-9.]{1,9}):[0-9]{0,6}",
        "[ -~]{0,12}",
    ], plaintext in any::<bool>()) {
        let mut table = default_table();
        set(&mut table, "api.listen", Value::String(addr.clone()));
        set(&mut table, "api.allow_plaintext", Value::Boolean(plaintext));
        match addr.parse::<std::net::SocketAddr>() {
            Ok(parsed) if parsed.ip().is_loopback() || plaintext => loads(load(&table)),
            _ => refused_naming(load(&table), &["api.listen"]),
        }
    }
}

#[test]
fn the_default_file_loads_unchanged() {
    let config = oracle::judge(&default_text(), &source()).expect("the default loads");
    assert_eq!(config.compartments.len(), 12);
}

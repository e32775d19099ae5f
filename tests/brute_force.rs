//! docs/brute-force.md states the keypad policy and what it means for a random guesser. This
//! checks that the policy it states is the one in the code's defaults and in the shipped config,
//! and recomputes each of its figures by driving the code's own throttle (`domain::Throttle`),
//! so a change to the lockout rules or the defaults that the document does not follow fails here.

use lockerd::config::{Config, PolicyConfig};
use lockerd::domain::{Throttle, ThrottlePolicy, Timestamp};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const DOC: &str = include_str!("../docs/brute-force.md");

/// The `| key | value |` rows of the document's tables, without the backticks.
fn table() -> HashMap<String, String> {
    DOC.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split('|')
                .collect();
            let [key, value] = cells.as_slice() else {
                return None;
            };
            Some((
                key.trim().trim_matches('`').to_owned(),
                value.trim().to_owned(),
            ))
        })
        .collect()
}

fn value<'a>(table: &'a HashMap<String, String>, key: &str) -> &'a str {
    table
        .get(key)
        .unwrap_or_else(|| panic!("docs/brute-force.md has no row {key:?}"))
}

fn duration(text: &str) -> Duration {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap());
    let n: u64 = number.parse().unwrap();
    Duration::from_secs(match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        other => panic!("unit {other}"),
    })
}

fn assert_policy(policy: &PolicyConfig, doc: &HashMap<String, String>, whose: &str) {
    let stated = (
        value(doc, "policy.code_length").parse::<u8>().unwrap(),
        value(doc, "policy.keypad_max_failures")
            .parse::<u32>()
            .unwrap(),
        duration(value(doc, "policy.keypad_lockout")),
        duration(value(doc, "policy.keypad_lockout_max")),
    );
    let actual = (
        policy.code_length,
        policy.keypad_max_failures,
        policy.keypad_lockout,
        policy.keypad_lockout_max,
    );
    assert_eq!(actual, stated, "{whose} policy against docs/brute-force.md");
}

#[test]
fn the_documented_policy_is_the_default_and_the_shipped_config() {
    let doc = table();
    assert_policy(&PolicyConfig::default(), &doc, "the code's default");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/lockerd.toml");
    let config = Config::load(&shipped).expect("config/lockerd.toml loads");
    assert_policy(&config.policy, &doc, "config/lockerd.toml's");
}

/// When each batch of guesses can start, for a guesser who waits out every lockout: the
/// code's own throttle decides.
fn batch_starts(policy: &PolicyConfig, batches: usize) -> Vec<f64> {
    let rules = ThrottlePolicy {
        max_failures: policy.keypad_max_failures,
        first_lockout: policy.keypad_lockout,
        max_lockout: policy.keypad_lockout_max,
    };
    let mut throttle = Throttle::default();
    let mut now = Timestamp(0);
    let mut starts = Vec::with_capacity(batches);
    for _ in 0..batches {
        starts.push(now.0 as f64 / 1000.0);
        for _ in 1..policy.keypad_max_failures {
            assert_eq!(throttle.check(now), Ok(()));
            assert_eq!(throttle.fail(now, &rules), None);
        }
        let lockout = throttle
            .fail(now, &rules)
            .expect("the last guess of a batch locks");
        assert!(
            throttle.check(now).is_err(),
            "locked: every code is refused"
        );
        now = now.plus(lockout);
    }
    starts
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn days(seconds: f64) -> String {
    format!("{:.1} days", seconds / 86_400.0)
}

#[test]
fn the_documented_figures_follow_from_the_policy() {
    let doc = table();
    let policy = PolicyConfig::default();
    let stored: f64 = value(&doc, "parcels stored (assumed)").parse().unwrap();
    let p = stored / 10f64.powi(i32::from(policy.code_length));
    let batch = f64::from(policy.keypad_max_failures);
    // After 20,000 batches the chance of no success yet is below 1e-8: the tail is negligible.
    let starts = batch_starts(&policy, 20_000);
    let miss_batch = (1.0 - p).powf(batch);
    let succeeds_in = |b: usize| miss_batch.powi(b as i32) * (1.0 - miss_batch);
    let expected: f64 = starts
        .iter()
        .enumerate()
        .map(|(b, t)| succeeds_in(b) * t)
        .sum();
    let median_batch = (1..).find(|&b| 1.0 - miss_batch.powi(b) >= 0.5).unwrap();
    let within = |seconds: f64| {
        let started = starts.iter().filter(|&&t| t <= seconds).count();
        1.0 - miss_batch.powi(started as i32)
    };
    let figures = [
        (
            "expected guesses to open a compartment",
            format!("{:.0}", 1.0 / p),
        ),
        ("expected time to open a compartment", days(expected)),
        (
            "median time to open a compartment",
            days(starts[median_batch as usize - 1]),
        ),
        ("chance of success within 1 hour", percent(within(3600.0))),
        ("chance of success within 1 day", percent(within(86_400.0))),
        (
            "chance of success within 7 days",
            percent(within(7.0 * 86_400.0)),
        ),
        (
            "chance of success within 30 days",
            percent(within(30.0 * 86_400.0)),
        ),
        (
            "chance of success within 365 days",
            percent(within(365.0 * 86_400.0)),
        ),
    ];
    for (figure, computed) in figures {
        assert_eq!(value(&doc, figure), computed, "{figure}");
    }
    assert!(
        expected >= 365.0 * 86_400.0,
        "a random guesser must need a year or more at the defaults: {}",
        days(expected)
    );
}

/// The other side of the lockout: someone who types wrong codes on purpose, to keep recipients
/// out. Recomputed with the code's own throttle, like the guesser's figures.
#[test]
fn the_documented_lockout_figures_follow_from_the_policy() {
    let doc = table();
    let policy = PolicyConfig::default();
    // Coming back each time a lockout ends: visit b locks the keypad until visit b + 1.
    let starts = batch_starts(&policy, 1_000);
    let visits_to_cover = |seconds: f64| starts.iter().filter(|&&t| t < seconds).count();
    let day = 86_400.0;
    // Coming back once a day, same time: from the first lockout of a day or more on, the keypad
    // never opens again.
    let rules = ThrottlePolicy {
        max_failures: policy.keypad_max_failures,
        first_lockout: policy.keypad_lockout,
        max_lockout: policy.keypad_lockout_max,
    };
    let mut throttle = Throttle::default();
    let daily_until_locked_for_good = (1..)
        .find(|&d: &i64| {
            let now = Timestamp((d - 1) * 86_400_000);
            let mut lockout = None;
            while throttle.check(now).is_ok() && lockout.is_none() {
                lockout = throttle.fail(now, &rules);
            }
            lockout.is_some_and(|l| l >= Duration::from_secs(86_400))
        })
        .unwrap();
    let batch = policy.keypad_max_failures as usize;
    let figures = [
        (
            "visits that keep the keypad locked for 1 day",
            visits_to_cover(day).to_string(),
        ),
        (
            "wrong codes that keep the keypad locked for 1 day",
            (visits_to_cover(day) * batch).to_string(),
        ),
        (
            "visits that keep the keypad locked for 7 days",
            visits_to_cover(7.0 * day).to_string(),
        ),
        (
            "wrong codes that keep the keypad locked for 7 days",
            (visits_to_cover(7.0 * day) * batch).to_string(),
        ),
        (
            "daily visits before one a day keeps the keypad locked",
            daily_until_locked_for_good.to_string(),
        ),
    ];
    for (figure, computed) in figures {
        assert_eq!(value(&doc, figure), computed, "{figure}");
    }
}

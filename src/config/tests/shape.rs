//! What toml and serde let through that the file's shape must not, each found by the config
//! properties or the `config_loader` fuzz target (see the README's "Fuzzing").

use super::*;

/// toml hands a date-time to serde as a table with one private key: the error named that key
/// (`latch.$__toml_private_datetime: unknown key`) or called the value a map.
#[test]
fn a_date_time_where_another_type_belongs_is_called_one() {
    let text = with("[latch]\npulse = 1979-05-27T07:32:00Z");
    let error = refused(&text, "latch.pulse", "invalid type: date-time");
    assert!(!error.message.contains("map"), "{error}");
    refused(&with("latch = 1979-05-27"), "latch", "date-time");
    let text = format!("{SIM_BUS}[[compartment]]\nid = \"A1\"\nsize = \"S\"\nlatch = 07:32:00\n");
    let error = refused(&text, "compartment[0].latch", "date-time");
    assert!(!error.to_string().contains("$__toml"), "{error}");
}

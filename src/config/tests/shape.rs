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

/// serde's derived structs also read a sequence, field by field in declaration order: `policy =
/// [8]` loaded as `code_length = 8`, and `latch = ["1s", "2s"]` set the pulse, both silently.
#[test]
fn a_table_written_as_an_array_is_refused() {
    refused(&with("policy = [8]"), "policy", "expected a table");
    refused(
        &with("latch = [\"1s\", \"2s\"]"),
        "latch",
        "expected a table",
    );
    refused(
        &with("locker = [\"a\", \"/tmp/s\"]"),
        "locker",
        "expected a table",
    );
    refused(&with("sync = [\"30d\"]"), "sync", "expected a table");
    let push = "[sync]\npush = [\"https://cloud.example/e\", \"0123456789abcdef0123456789abcdef\"]";
    refused(&with(push), "sync.push", "expected a table");
    let text = format!("bus = [[\"sim\", \"sim\"]]\n{}", sim_compartment("A1"));
    refused(&text, "bus[0]", "expected a table");
    let text = format!("compartment = [[\"A1\", \"S\", true, [\"sim\"], [\"sim\"]]]\n{SIM_BUS}");
    refused(&text, "compartment[0]", "expected a table");
    let text = format!(
        "{SIM_BUS}[[compartment]]\nid = \"A1\"\nsize = \"S\"\nlatch = [\"sim\", 1, 2, 3, true]\ndoor = {SIM}\n"
    );
    refused(&text, "compartment[0].latch", "expected a table");
}

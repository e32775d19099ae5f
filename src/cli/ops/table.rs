//! How the operator commands show the API's JSON to a person: aligned tables for lists, `key:
//! value` lines for one record. Works on `serde_json::Value` so a field the daemon adds later
//! never breaks the CLI; a missing or null field shows as `-`.
//!
//! Text from the API (tracking ids, names, reasons) is shown with control characters escaped,
//! so a crafted tracking id cannot move the cursor or recolour the operator's terminal.

use serde_json::Value;

/// `header` and `rows` as columns separated by two spaces, each as wide as its widest cell.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A JSON value as one cell: strings as they are (control characters escaped), null as `-`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => printable(s),
        other => printable(&other.to_string()),
    }
}

fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `GET /api/v1/compartments`'s list. A compartment whose bus does not answer says so.
pub fn compartments(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let mut state = cell(&c["state"]);
            if c["available"] == false {
                state.push_str(" (bus down)");
            }
            vec![
                cell(&c["id"]),
                cell(&c["size"]),
                state,
                cell(&c["door"]),
                cell(&c["parcel_id"]),
            ]
        })
        .collect();
    render(&["ID", "SIZE", "STATE", "DOOR", "PARCEL"], &rows)
}

/// A page (or several) of `GET /api/v1/parcels`.
pub fn parcels(list: &[Value]) -> String {
    if list.is_empty() {
        return "no parcels\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            [
                "id",
                "tracking_id",
                "state",
                "compartment",
                "stored_at",
                "expires_at",
            ]
            .iter()
            .map(|field| cell(&p[*field]))
            .collect()
        })
        .collect();
    render(
        &[
            "ID",
            "TRACKING ID",
            "STATE",
            "COMPARTMENT",
            "STORED",
            "EXPIRES",
        ],
        &rows,
    )
}

/// The fields of a parcel in the order a person reads them; fields added later follow.
const PARCEL_FIELDS: [&str; 13] = [
    "id",
    "tracking_id",
    "size",
    "state",
    "removal",
    "compartment",
    "courier",
    "deposited_at",
    "closed_at",
    "stored_at",
    "expires_at",
    "collected_at",
    "photo",
];

/// One parcel as `key: value` lines.
pub fn parcel(p: &Value) -> String {
    let Some(fields) = p.as_object() else {
        return format!("{}\n", cell(p));
    };
    let known = PARCEL_FIELDS.iter().filter(|k| fields.contains_key(**k));
    let added = fields
        .keys()
        .map(String::as_str)
        .filter(|k| !PARCEL_FIELDS.contains(k));
    let rows: Vec<Vec<String>> = known
        .copied()
        .chain(added)
        .map(|k| vec![format!("{k}:"), cell(&fields[k])])
        .collect();
    let width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    let mut out = String::new();
    for row in &rows {
        out.push_str(&format!("{:<width$} {}\n", row[0], row[1]));
    }
    out
}

/// `GET /api/v1/couriers`'s list.
pub fn couriers(list: &[Value]) -> String {
    if list.is_empty() {
        return "no couriers\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let active = if c["active"] == true { "yes" } else { "no" };
            vec![cell(&c["name"]), cell(&c["id"]), active.to_owned()]
        })
        .collect();
    render(&["NAME", "ID", "ACTIVE"], &rows)
}

/// `POST /api/v1/couriers`'s answer: the one time its secret is shown, so it is the point.
pub fn courier_created(c: &Value) -> String {
    format!(
        "courier {} created (id {})\n\
         TOTP secret: {}\n\
         otpauth URL: {}\n\
         Add it to the courier's authenticator app now: it is shown only this once.\n",
        cell(&c["name"]),
        cell(&c["id"]),
        cell(&c["totp_secret"]),
        cell(&c["otpauth_url"]),
    )
}

/// Access codes, never their codes.
pub fn access_codes(list: &[Value]) -> String {
    if list.is_empty() {
        return "no access codes\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let uses = match &c["uses_left"] {
                Value::Null => "unlimited".to_owned(),
                n => cell(n),
            };
            let scope = match c["compartments"].as_array() {
                None => "all".to_owned(),
                Some(ids) => ids.iter().map(cell).collect::<Vec<_>>().join(","),
            };
            let expires = match &c["expires_at"] {
                Value::Null => "never".to_owned(),
                t => cell(t),
            };
            vec![
                cell(&c["name"]),
                cell(&c["purpose"]),
                uses,
                expires,
                scope,
                cell(&c["id"]),
            ]
        })
        .collect();
    render(
        &[
            "NAME",
            "PURPOSE",
            "USES LEFT",
            "EXPIRES",
            "COMPARTMENTS",
            "ID",
        ],
        &rows,
    )
}

/// `POST /api/v1/access-codes`'s answer: the one time the code is shown, so it is the point.
pub fn access_code_created(c: &Value) -> String {
    format!(
        "access code {} ({}) created (id {})\n\
         Code: {}\n\
         Write it down now: it is shown only this once.\n",
        cell(&c["name"]),
        cell(&c["purpose"]),
        cell(&c["id"]),
        cell(&c["code"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_align_on_the_widest_cell() {
        let table = render(
            &["ID", "STATE"],
            &[
                vec!["A1".into(), "free".into()],
                vec!["B10".into(), "occupied".into()],
            ],
        );
        assert_eq!(table, "ID   STATE\nA1   free\nB10  occupied\n");
    }

    #[test]
    fn a_compartment_row_shows_a_dead_bus_and_a_missing_parcel() {
        let list = [
            json!({"id": "A1", "size": "S", "state": "free", "door": "unknown",
            "parcel_id": null, "available": false}),
        ];
        let table = compartments(&list);
        let row = table.lines().nth(1).unwrap();
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            ["A1", "S", "free", "(bus", "down)", "unknown", "-"]
        );
    }

    #[test]
    fn control_characters_from_the_api_are_escaped() {
        let list = [json!({"id": "p1", "tracking_id": "X\u{1b}[2J", "state": "stored"})];
        let table = parcels(&list);
        assert!(!table.contains('\u{1b}'), "{table:?}");
        assert!(table.contains("X\\u{1b}[2J"), "{table:?}");
    }

    #[test]
    fn a_parcel_shows_known_fields_first_then_added_ones() {
        let p = json!({"zeta": 1, "state": "stored", "id": "p1", "expires_at": null});
        assert_eq!(
            parcel(&p),
            "id:         p1\nstate:      stored\nexpires_at: -\nzeta:       1\n"
        );
    }
}

//! A command from `P/cmd`: read, authenticated, checked for expiry, run at most once per id
//! through the function behind its local route (`crate::http::Link`), and answered on
//! `P/cmd/result` with `{"id", "status", "body"}`.
//!
//! Order: malformed JSON (`400`, not recorded); with a command secret, the signature (`401`, not
//! recorded: a forged message must not claim an id); then the id is claimed in the store: an id
//! seen before gets its stored result again and nothing runs. Otherwise an expired command
//! (`410`) or an unknown one (`400`) is answered without running, and anything else runs; the
//! answer is recorded under the id either way.

use crate::domain::Timestamp;
use crate::http::{Link, error_body};
use crate::locker::{CommandClaim, Principal};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// A command's answer, as published on `P/cmd/result`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub id: Option<String>,
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn payload(&self) -> Value {
        json!({"id": self.id, "status": self.status, "body": self.body})
    }
}

/// Handles one message of `P/cmd`.
pub async fn handle(link: &Link, client_id: &str, secret: Option<&[u8]>, payload: &[u8]) -> Answer {
    let refuse = |id: Option<String>, status, code, message: &str| Answer {
        id,
        status,
        body: error_body(code, message),
    };
    let Ok(message) = serde_json::from_slice::<Value>(payload) else {
        return refuse(
            None,
            400,
            "invalid_request",
            "the command is not valid JSON",
        );
    };
    let id = message.get("id").and_then(Value::as_str).map(str::to_owned);
    if let Some(secret) = secret
        && !signed(secret, &message)
    {
        let why = "sig: missing or not the HMAC-SHA256 of this command under the command secret";
        return refuse(id, 401, "bad_signature", why);
    }
    let Some(id) = id.filter(|id| !id.is_empty() && id.len() <= 128) else {
        let why = "id: required, a string of 1..=128 characters";
        return refuse(None, 400, "invalid_request", why);
    };
    let locker = link.locker();
    let claim = match locker.claim_command(&id).await {
        Ok(claim) => claim,
        Err(e) => {
            tracing::error!(error = %e, "cannot record an MQTT command");
            return refuse(
                Some(id),
                500,
                "internal",
                "internal error; see the daemon's log",
            );
        }
    };
    match claim {
        CommandClaim::Done(status, body) => {
            return Answer {
                id: Some(id),
                status,
                body,
            };
        }
        CommandClaim::Interrupted => {
            let why = "the daemon stopped while this command ran; it is not run again: see the \
                       event feed for what it did";
            return refuse(Some(id), 500, "internal", why);
        }
        CommandClaim::New => {}
    }
    let (status, body) = run(link, client_id, &message, locker.now()).await;
    if let Err(e) = locker.finish_command(&id, status, body.clone()).await {
        tracing::error!(error = %e, "cannot record an MQTT command's result");
    }
    Answer {
        id: Some(id),
        status,
        body,
    }
}

/// A fresh command: refused if expired or unknown, else run through its route's function.
async fn run(link: &Link, client_id: &str, message: &Value, now: Timestamp) -> (u16, Value) {
    let expires_at = message
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse_rfc3339);
    if expires_at.is_none_or(|at| at <= now) {
        let why = "expires_at: missing, not an RFC 3339 time, or past; nothing was done";
        return (410, error_body("command_expired", why));
    }
    let Some(name) = message.get("command").and_then(Value::as_str) else {
        return (
            400,
            error_body("invalid_request", "command: required, a string"),
        );
    };
    let args = message.get("args").cloned().unwrap_or_else(|| json!({}));
    tracing::info!(command = name, client_id, "MQTT command");
    link.command(name, args, Principal::mqtt(client_id)).await
}

/// Whether `message` carries `sig`, the hex HMAC-SHA256 of its canonical text without `sig`.
pub fn signed(secret: &[u8], message: &Value) -> bool {
    let Some(sig) = message.get("sig").and_then(Value::as_str) else {
        return false;
    };
    let Ok(sig) = hex::decode(sig) else {
        return false;
    };
    let mut unsigned = message.clone();
    if let Some(object) = unsigned.as_object_mut() {
        object.remove("sig");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(canonical(&unsigned).as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// The hex signature of `message` (without any `sig` it has): what a sender puts in `sig`.
pub fn sign(secret: &[u8], message: &Value) -> String {
    let mut unsigned = message.clone();
    if let Some(object) = unsigned.as_object_mut() {
        object.remove("sig");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(canonical(&unsigned).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// JSON text with every object's keys sorted and no spaces.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_sorts_keys_at_every_level_without_spaces() {
        let v = json!({"b": 1, "a": {"z": [1, {"y": "x y", "c": null}], "d": true}});
        assert_eq!(
            canonical(&v),
            r#"{"a":{"d":true,"z":[1,{"c":null,"y":"x y"}]},"b":1}"#
        );
    }

    #[test]
    fn a_signature_covers_everything_but_itself() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let mut cmd = json!({"id": "1", "command": "open", "args": {"compartment": "A1"}});
        let sig = sign(secret, &cmd);
        assert!(!signed(secret, &cmd), "no sig");
        cmd["sig"] = json!(sig);
        assert!(signed(secret, &cmd));
        assert!(!signed(b"another secret of 32 characters!", &cmd));
        cmd["args"]["compartment"] = json!("A2");
        assert!(!signed(secret, &cmd), "a changed argument breaks it");
    }
}

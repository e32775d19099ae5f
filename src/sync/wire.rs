//! What goes over the wire to the cloud: an event, a pushed batch, and its signature.

use crate::locker::EventRecord;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

/// `sha256=<lowercase hex HMAC-SHA256(secret, body)>`, over the exact bytes sent.
pub const SIGNATURE_HEADER: &str = "X-Lockerd-Signature";
/// Unix seconds when the batch was sent; the signed body's `sent_at` is the same instant.
pub const TIMESTAMP_HEADER: &str = "X-Lockerd-Timestamp";

/// One event of the sync feed, as both the pull route and push deliver it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Increases by one per event, never reused.
    pub seq: i64,
    /// A UUID, unique per event.
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "parcel.stored")]
    pub kind: String,
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        Self {
            seq: e.seq,
            id: e.id,
            kind: e.kind,
            at: e.at.to_rfc3339(),
            data: e.data,
        }
    }
}

/// The JSON body of one push: consecutive events, oldest first.
#[derive(Debug, Serialize)]
pub struct PushBody<'a> {
    /// `locker.name` from the config.
    pub locker: &'a str,
    /// When this attempt was made (RFC 3339); signed, unlike the timestamp header.
    pub sent_at: String,
    pub events: Vec<EventView>,
    /// The `seq` of the last event here: a 2xx answer acknowledges everything up to it.
    pub last_seq: i64,
}

/// The `X-Lockerd-Signature` value of `body`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

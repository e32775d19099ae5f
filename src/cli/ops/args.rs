//! The operator commands' arguments as clap reads them. Values a user can get wrong (`--until`,
//! `--by`) are checked here, so a typo is a usage error (exit 2) before any request is sent.

use crate::domain::Timestamp;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

const DEFAULT_CONFIG: &str = "/etc/lockerd/lockerd.toml";

/// Which daemon to talk to, with which token, and how to print the answer. Global, so the
/// options go before or after the subcommand alike.
#[derive(Args)]
pub struct Target {
    /// The config file; its `api.listen` is where the daemon is asked.
    #[arg(long, short, default_value = DEFAULT_CONFIG, global = true)]
    pub config: PathBuf,
    /// A file holding an operator token (instead of the LOCKERD_TOKEN environment variable).
    /// The token is never taken as an argument: `ps` would show it.
    #[arg(long, value_name = "PATH", global = true)]
    pub token_file: Option<PathBuf>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `lockerd courier ...`
#[derive(Subcommand)]
pub enum CourierCommand {
    /// Create a courier and print its TOTP secret and otpauth URL, shown only this once.
    Add {
        /// The courier's name (unique; the courier logs in at the kiosk with it).
        name: String,
    },
    /// List couriers.
    List,
    /// Remove a courier; its live sessions end.
    Remove {
        /// The courier's id or name.
        courier: String,
    },
}

/// `lockerd parcel ...`
#[derive(Subcommand)]
pub enum ParcelCommand {
    /// List parcels: every page the API has, or the first `--limit`.
    List {
        /// Only parcels in this state (stored, expired, collected, ...).
        #[arg(long)]
        state: Option<String>,
        /// Show at most this many parcels.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Show one parcel.
    Show {
        /// The parcel's id.
        id: String,
    },
    /// Everything the locker knows of one parcel, for a claim: one JSON document (never a
    /// pickup code), written to --out or standard output.
    Evidence {
        /// The parcel's id.
        id: String,
        /// Write it to this file, which must not exist yet.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Move a parcel's expiry (an expired parcel gets a new pickup code).
    Extend {
        /// The parcel's id.
        id: String,
        #[command(flatten)]
        until: NewExpiry,
    },
}

/// The new expiry of `parcel extend`: a time, or a duration from now.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct NewExpiry {
    /// The new expiry, RFC 3339 (2030-01-31T18:00:00Z).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<Timestamp>,
    /// The new expiry as a duration from now (48h, 3d, 90m).
    #[arg(long, value_parser = parse_duration)]
    pub by: Option<Duration>,
}

impl NewExpiry {
    /// The time to send: `--until`, or now plus `--by`.
    pub fn resolve(&self, now: Timestamp) -> Timestamp {
        match (self.until, self.by) {
            (Some(until), _) => until,
            (None, Some(by)) => now.plus(by),
            // clap's group makes one of the two required.
            (None, None) => now,
        }
    }
}

/// `lockerd access-code ...`
#[derive(Subcommand)]
pub enum AccessCodeCommand {
    /// Create an access code and print it, shown only this once: a delivery PIN for a shop's
    /// delivery instructions, or an owner's standing pickup code.
    Add {
        /// Who or what it is for (unique), e.g. "owner" or "shop deliveries".
        name: String,
        /// `delivery` (a PIN drivers without an account give at the kiosk) or `pickup` (opens
        /// every compartment in its scope that holds a stored parcel).
        #[arg(long, value_parser = ["delivery", "pickup"])]
        purpose: String,
        /// How many times it works (default: unlimited).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        uses: Option<u32>,
        /// When it stops working, as a duration from now (30d, 48h); default: never.
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<Duration>,
        /// The compartments it works for, comma-separated (default: all). A pickup code with
        /// compartments owns them: no other parcel is put there while it lives.
        #[arg(long, value_delimiter = ',')]
        compartments: Option<Vec<String>>,
    },
    /// List access codes (never their codes).
    List,
    /// Delete an access code; it stops working at once.
    Remove {
        /// The access code's id or name.
        code: String,
    },
}

/// `lockerd compartment ...`
#[derive(Subcommand)]
pub enum CompartmentCommand {
    /// List every compartment: size, state, door and parcel.
    List,
    /// Open a compartment for maintenance (audited with the token's name and the reason).
    Open {
        /// The compartment's id, e.g. A1.
        id: String,
        /// Why it is opened; kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Take a compartment out of service: it is never assigned while disabled.
    Disable {
        id: String,
        /// Why; kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Put a disabled or faulted compartment back in service (clears a fault).
    Enable { id: String },
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text.trim())
        .ok_or_else(|| "expected an RFC 3339 time such as 2030-01-31T18:00:00Z".to_owned())
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be longer than zero".to_owned()),
        Err(e) => Err(format!("{e}; write it like \"48h\", \"3d\" or \"90m\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_is_counted_from_now() {
        let expiry = NewExpiry {
            until: None,
            by: Some(parse_duration("48h").unwrap()),
        };
        let now = Timestamp(1_000);
        assert_eq!(expiry.resolve(now), Timestamp(1_000 + 48 * 3600 * 1000));
    }

    #[test]
    fn until_is_taken_as_given() {
        let until = parse_time("2030-01-31T18:00:00Z").unwrap();
        let expiry = NewExpiry {
            until: Some(until),
            by: None,
        };
        assert_eq!(
            expiry.resolve(Timestamp(0)).to_rfc3339(),
            "2030-01-31T18:00:00Z"
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_expected_form() {
        assert!(parse_time("tomorrow").unwrap_err().contains("RFC 3339"));
        assert!(parse_duration("48").unwrap_err().contains("48h"));
        assert!(parse_duration("0s").is_err());
    }
}

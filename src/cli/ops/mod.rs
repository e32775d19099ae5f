//! `lockerd courier|parcel|compartment`: the operator's common tasks from a shell on the Pi,
//! through the running daemon's HTTP API with an operator token (no curl, no JSON by hand).
//!
//! Each command is one function here over [`client::Client`] (where the daemon listens, the
//! token, the API's errors as messages) and prints a [`table`], or the API's JSON with `--json`.
//! The commands never open the database or the hardware: when the daemon is not running they
//! say so and exit 1. Exit 2 is for usage: a bad config, no token. Depends on `config`,
//! `domain::Timestamp` and `reqwest`; only `cli` depends on it.

mod args;
mod client;
mod table;

pub use args::{
    AccessCodeCommand, CompartmentCommand, CourierCommand, NewExpiry, ParcelCommand, Target,
};

use crate::config::Config;
use crate::domain::Timestamp;
use client::{Client, OpsError, TOKEN_VAR, Token};
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;

/// The most parcels one page asks for (the API's own cap).
const PAGE: u32 = 500;

/// An operator command of the CLI.
pub enum Command {
    Courier(CourierCommand),
    Parcel(ParcelCommand),
    Compartment(CompartmentCommand),
    AccessCode(AccessCodeCommand),
}

/// Runs `command` against the daemon of `target.config`: exit 0, 1 on failure, 2 for usage.
pub fn main(target: Target, command: Command) -> ExitCode {
    match run(target, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(target: Target, command: Command) -> Result<(), OpsError> {
    let config = Config::load(&target.config)?;
    let token = Token::find(target.token_file.as_deref(), std::env::var(TOKEN_VAR).ok())?;
    let ops = Ops {
        client: Client::new(&config, token)?,
        json: target.json,
    };
    // One request at a time: a single-threaded runtime is all a command needs.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| OpsError::Failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(ops.run(command))
}

struct Ops {
    client: Client,
    json: bool,
}

impl Ops {
    async fn run(&self, command: Command) -> Result<(), OpsError> {
        match command {
            Command::Courier(CourierCommand::Add { name }) => self.courier_add(&name).await,
            Command::Courier(CourierCommand::List) => self.courier_list().await,
            Command::Courier(CourierCommand::Remove { courier }) => {
                self.courier_remove(&courier).await
            }
            Command::Parcel(ParcelCommand::List { state, limit }) => {
                self.parcel_list(state.as_deref(), limit).await
            }
            Command::Parcel(ParcelCommand::Show { id }) => self.parcel_show(&id).await,
            Command::Parcel(ParcelCommand::Evidence { id, out }) => {
                self.parcel_evidence(&id, out.as_deref()).await
            }
            Command::Parcel(ParcelCommand::Extend { id, until }) => {
                self.parcel_extend(&id, &until).await
            }
            Command::AccessCode(AccessCodeCommand::Add {
                name,
                purpose,
                uses,
                expires_in,
                compartments,
            }) => {
                let expires_at = expires_in.map(|d| now().plus(d).to_rfc3339());
                let body = json!({
                    "name": name,
                    "purpose": purpose,
                    "uses": uses,
                    "expires_at": expires_at,
                    "compartments": compartments,
                });
                self.access_code_add(body).await
            }
            Command::AccessCode(AccessCodeCommand::List) => self.access_code_list().await,
            Command::AccessCode(AccessCodeCommand::Remove { code }) => {
                self.access_code_remove(&code).await
            }
            Command::Compartment(CompartmentCommand::List) => self.compartment_list().await,
            Command::Compartment(CompartmentCommand::Open { id, reason }) => {
                self.compartment_open(&id, &reason).await
            }
            Command::Compartment(CompartmentCommand::Disable { id, reason }) => {
                self.compartment_set(&id, "disable", json!({ "reason": reason }))
                    .await
            }
            Command::Compartment(CompartmentCommand::Enable { id }) => {
                self.compartment_set(&id, "enable", json!({})).await
            }
        }
    }

    /// Prints the API's JSON with `--json`, else `human`'s text.
    fn show(&self, answer: &Value, human: impl FnOnce(&Value) -> String) {
        if self.json {
            print(&format!("{answer:#}\n"));
        } else {
            print(&human(answer));
        }
    }

    /// The secret goes to standard output only: it is what the command is for.
    async fn courier_add(&self, name: &str) -> Result<(), OpsError> {
        let url = self.client.url(&["couriers"]);
        let created = self.client.post(url, json!({ "name": name })).await?;
        self.show(&created, table::courier_created);
        Ok(())
    }

    async fn couriers(&self) -> Result<Value, OpsError> {
        self.client.get(self.client.url(&["couriers"])).await
    }

    async fn courier_list(&self) -> Result<(), OpsError> {
        let list = self.couriers().await?;
        self.show(&list, |l| table::couriers(array(&l["couriers"])));
        Ok(())
    }

    /// `who` is an id, or the name of an active courier. The API answers `204`: with `--json`
    /// nothing is printed.
    async fn courier_remove(&self, who: &str) -> Result<(), OpsError> {
        let list = self.couriers().await?;
        let list = array(&list["couriers"]);
        let courier = list
            .iter()
            .find(|c| c["id"] == who)
            .or_else(|| {
                list.iter()
                    .find(|c| c["name"] == who && c["active"] == true)
            })
            .ok_or_else(|| OpsError::Failed(format!("no courier has the id or name {who:?}")))?;
        let id = courier["id"].as_str().unwrap_or(who);
        self.client
            .delete(self.client.url(&["couriers", id]))
            .await?;
        if !self.json {
            let name = table::cell(&courier["name"]);
            print(&format!("courier {name} (id {id}) removed\n"));
        }
        Ok(())
    }

    async fn access_code_add(&self, body: Value) -> Result<(), OpsError> {
        let url = self.client.url(&["access-codes"]);
        let created = self.client.post(url, body).await?;
        self.show(&created, table::access_code_created);
        Ok(())
    }

    async fn access_codes(&self) -> Result<Value, OpsError> {
        self.client.get(self.client.url(&["access-codes"])).await
    }

    async fn access_code_list(&self) -> Result<(), OpsError> {
        let list = self.access_codes().await?;
        self.show(&list, |l| table::access_codes(array(&l["access_codes"])));
        Ok(())
    }

    /// `which` is an id or a name. The API answers `204`: with `--json` nothing is printed.
    async fn access_code_remove(&self, which: &str) -> Result<(), OpsError> {
        let list = self.access_codes().await?;
        let list = array(&list["access_codes"]);
        let code = list
            .iter()
            .find(|c| c["id"] == which || c["name"] == which)
            .ok_or_else(|| {
                OpsError::Failed(format!("no access code has the id or name {which:?}"))
            })?;
        let id = code["id"].as_str().unwrap_or(which);
        self.client
            .delete(self.client.url(&["access-codes", id]))
            .await?;
        if !self.json {
            let name = table::cell(&code["name"]);
            print(&format!("access code {name} (id {id}) removed\n"));
        }
        Ok(())
    }

    /// Every page until the end or `limit`. With `--json`: `{"parcels", "next"}` as the API
    /// answers, the pages joined; `next` is set only when `limit` cut the list short.
    async fn parcel_list(&self, state: Option<&str>, limit: Option<u32>) -> Result<(), OpsError> {
        let mut parcels: Vec<Value> = vec![];
        let mut after: Option<String> = None;
        loop {
            let wanted = limit.map_or(PAGE, |l| (l - parcels.len() as u32).min(PAGE));
            let mut url = self.client.url(&["parcels"]);
            url.query_pairs_mut()
                .extend_pairs(state.map(|s| ("state", s)))
                .append_pair("limit", &wanted.to_string())
                .extend_pairs(after.as_deref().map(|a| ("after", a)));
            let page = self.client.get(url).await?;
            parcels.extend(array(&page["parcels"]).iter().cloned());
            let next = page["next"].as_str().map(str::to_owned);
            let full = limit.is_some_and(|l| parcels.len() >= l as usize);
            if next.is_none() || full {
                let answer = json!({ "parcels": parcels, "next": next });
                self.show(&answer, |a| table::parcels(array(&a["parcels"])));
                return Ok(());
            }
            if next == after {
                return Err(OpsError::Failed(
                    "the API answered the same page cursor twice".into(),
                ));
            }
            after = next;
        }
    }

    async fn parcel_show(&self, id: &str) -> Result<(), OpsError> {
        let parcel = self.client.get(self.client.url(&["parcels", id])).await?;
        self.show(&parcel, table::parcel);
        Ok(())
    }

    /// The evidence document, always as JSON: it is meant for a claim, not for reading here.
    async fn parcel_evidence(&self, id: &str, out: Option<&Path>) -> Result<(), OpsError> {
        let url = self.client.url(&["parcels", id, "evidence"]);
        let evidence = self.client.get(url).await?;
        let text = format!("{evidence:#}\n");
        let Some(out) = out else {
            print(&text);
            return Ok(());
        };
        // Asked for only once the daemon answered, so a failed request leaves no empty file;
        // `create_new` never replaces evidence saved before.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(out)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    OpsError::Usage(format!("{} exists; it is not overwritten", out.display()))
                }
                _ => OpsError::Failed(format!("cannot create {}: {e}", out.display())),
            })?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| OpsError::Failed(format!("cannot write {}: {e}", out.display())))
    }

    async fn parcel_extend(&self, id: &str, expiry: &NewExpiry) -> Result<(), OpsError> {
        let until = expiry.resolve(now()).to_rfc3339();
        let url = self.client.url(&["parcels", id, "extend"]);
        let parcel = self.client.post(url, json!({ "until": until })).await?;
        self.show(&parcel, |p| {
            format!(
                "parcel {} now expires at {}\n",
                table::cell(&p["id"]),
                table::cell(&p["expires_at"])
            )
        });
        Ok(())
    }

    async fn compartment_list(&self) -> Result<(), OpsError> {
        let list = self.client.get(self.client.url(&["compartments"])).await?;
        self.show(&list, |l| table::compartments(array(&l["compartments"])));
        Ok(())
    }

    /// The API answers once the opening is queued; whether the door opened shows in the
    /// compartment's state afterwards.
    async fn compartment_open(&self, id: &str, reason: &str) -> Result<(), OpsError> {
        let url = self.client.url(&["compartments", id, "open"]);
        let answer = self.client.post(url, json!({ "reason": reason })).await?;
        self.show(&answer, |_| {
            format!(
                "opening {} for maintenance; `lockerd compartment list` shows its door\n",
                table::cell(&json!(id))
            )
        });
        Ok(())
    }

    /// `disable` or `enable`; prints the compartment as it is now.
    async fn compartment_set(&self, id: &str, action: &str, body: Value) -> Result<(), OpsError> {
        let url = self.client.url(&["compartments", id, action]);
        let compartment = self.client.post(url, body).await?;
        self.show(&compartment, |c| {
            table::compartments(std::slice::from_ref(c))
        });
        Ok(())
    }
}

/// A JSON array's items; nothing for anything else.
fn array(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// Writes to standard output; a reader that stops early (`| head`) is not worth a panic.
fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}

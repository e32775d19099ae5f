//! A reference cloud-sync client for lockerd: tails the event feed and manages reservations.
//!
//! ```text
//! export LOCKERD_TOKEN=...            # a token of role `sync` (never on the command line)
//! cargo run --example sync_client -- --url http://127.0.0.1:8080 tail --cursor sync.cursor
//! echo 493027 | cargo run --example sync_client -- reserve 1Z999 --size M --code-stdin
//! cargo run --example sync_client -- unreserve 1Z999
//! ```

mod client;

use clap::{Parser, Subcommand};
use client::SyncClient;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Tail lockerd's event feed and manage reservations (reference client)")]
struct Cli {
    /// The daemon's address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A `sync` token; read from the environment so it never shows in `ps`.
    #[arg(long, env = "LOCKERD_TOKEN", hide_env_values = true)]
    token: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every new event as a JSON line, save the cursor, acknowledge; repeat.
    Tail {
        /// Where the last handled seq is kept between runs.
        #[arg(long, default_value = "sync.cursor")]
        cursor: PathBuf,
        /// Drain the feed once and exit.
        #[arg(long)]
        once: bool,
        /// Do not acknowledge (pickup codes stay in the locker's feed).
        #[arg(long)]
        no_ack: bool,
        /// Pause between polls of an empty feed.
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        every: Duration,
    },
    /// Create or replace the reservation of a pre-advised parcel.
    Reserve {
        tracking_id: String,
        #[arg(long)]
        size: String,
        /// Read a pickup code already given to the recipient (policy.code_length digits) from
        /// stdin: a code on the command line would show in `ps`.
        #[arg(long)]
        code_stdin: bool,
        /// RFC 3339; default: the locker's sync.reservation_ttl from now.
        #[arg(long)]
        expires_at: Option<String>,
        /// Take no proof-of-delivery photo.
        #[arg(long)]
        no_photo: bool,
        /// Ask for a wheelchair-reachable compartment.
        #[arg(long)]
        accessible: bool,
    },
    /// Withdraw a reservation.
    Unreserve { tracking_id: String },
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let client = SyncClient::new(&cli.url, &cli.token);
    if let Err(e) = run(&client, cli.command).await {
        eprintln!("sync_client: {e}");
        std::process::exit(1);
    }
}

async fn run(client: &SyncClient, command: Command) -> Result<(), client::Error> {
    match command {
        Command::Tail {
            cursor,
            once,
            no_ack,
            every,
        } => loop {
            let mut out = std::io::stdout().lock();
            let result = client.drain(&cursor, !no_ack, &mut out).await;
            drop(out);
            match result {
                Ok(_) if once => return Ok(()),
                Ok(_) => {}
                Err(e) if once => return Err(e),
                // The locker may be restarting or the network down: keep trying.
                Err(e) => eprintln!("sync_client: {e}; retrying"),
            }
            tokio::time::sleep(every).await;
        },
        Command::Reserve {
            tracking_id,
            size,
            code_stdin,
            expires_at,
            no_photo,
            accessible,
        } => {
            let mut body = json!({"size": size, "photo": !no_photo, "accessible": accessible});
            if code_stdin {
                let mut code = String::new();
                std::io::stdin()
                    .read_line(&mut code)
                    .map_err(|e| format!("stdin: {e}"))?;
                body["pickup_code"] = json!(code.trim());
            }
            if let Some(at) = expires_at {
                body["expires_at"] = json!(at);
            }
            let (reservation, created) = client.reserve(&tracking_id, body).await?;
            let verb = if created { "created" } else { "replaced" };
            println!("{verb}: {reservation}");
            Ok(())
        }
        Command::Unreserve { tracking_id } => {
            client.unreserve(&tracking_id).await?;
            println!("withdrawn: {tracking_id}");
            Ok(())
        }
    }
}

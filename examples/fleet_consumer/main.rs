//! A reference fleet consumer for lockerd's MQTT link: what a carrier starts from.
//!
//! ```text
//! # store every event of every locker under lockerd/ once, acknowledging in order
//! cargo run --example fleet_consumer -- --broker 127.0.0.1:1883 consume --store events.jsonl
//! # open compartment A1 of one locker (signed when the locker has a command_secret_file)
//! cargo run --example fleet_consumer -- command lockerd/lobby-1 open \
//!     --args '{"compartment": "A1", "reason": "cleaning"}' --secret-file cmd.secret
//! ```
//!
//! `consume` subscribes to `<filter>/events` with a persistent session (the broker keeps events
//! while it is away), stores each event once (de-duplicated on `id`: delivery is at least once),
//! and acknowledges each locker on `P/ack` in seq order once everything up to it is stored.
//! `command` publishes on `P/cmd` and prints the result from `P/cmd/result`.

mod consumer;

use clap::{Parser, Subcommand};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Consume lockerd's MQTT event feeds and send commands (reference consumer)")]
struct Cli {
    /// The broker, host:port (plain MQTT; put TLS in front for a real fleet, see the README).
    #[arg(long, default_value = "127.0.0.1:1883")]
    broker: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Store every event once and acknowledge in order, until interrupted.
    Consume {
        /// Lockers' topic prefixes to follow; `+` for any number of lockers.
        #[arg(long, default_value = "lockerd/+")]
        filter: String,
        /// JSON lines, one stored event each.
        #[arg(long, default_value = "events.jsonl")]
        store: PathBuf,
        /// A stable id: the broker keeps this consumer's session (and events) across restarts.
        #[arg(long, default_value = "fleet-consumer")]
        client_id: String,
    },
    /// Send one command to the locker at `prefix` and print its result.
    Command {
        prefix: String,
        name: String,
        #[arg(long, default_value = "{}")]
        args: String,
        /// The locker's command secret (its `mqtt.command_secret_file`).
        #[arg(long)]
        secret_file: Option<PathBuf>,
        /// How long the command stays valid.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let (host, port) = cli.broker.rsplit_once(':').ok_or("--broker: host:port")?;
    let (host, port) = (host.to_owned(), port.parse::<u16>()?);
    match cli.command {
        Command::Consume {
            filter,
            store,
            client_id,
        } => {
            let (stop_tx, stop) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                let _ = stop_tx.send(true);
            });
            let options = consumer::Options {
                host,
                port,
                client_id,
                filter,
                store,
                subscribed: None,
            };
            let ledger = consumer::run(options, stop).await?;
            eprintln!(
                "stored {} events; {} duplicates dropped",
                ledger.stored, ledger.duplicates
            );
        }
        Command::Command {
            prefix,
            name,
            args,
            secret_file,
            ttl,
        } => {
            let args: Value = serde_json::from_str(&args)?;
            let secret = secret_file.map(std::fs::read_to_string).transpose()?;
            let secret = secret.as_deref().map(|s| s.trim().as_bytes());
            let cmd = consumer::command(&name, args, ttl, secret);
            let mut options = MqttOptions::new(
                format!("fleet-cmd-{}", cmd["id"].as_str().unwrap_or("x")),
                host,
                port,
            );
            options.set_keep_alive(Duration::from_secs(30));
            let (client, mut eventloop) = AsyncClient::new(options, 10);
            client
                .subscribe(format!("{prefix}/cmd/result"), QoS::AtLeastOnce)
                .await?;
            loop {
                match eventloop.poll().await? {
                    Event::Incoming(Packet::SubAck(_)) => {
                        client
                            .publish(
                                format!("{prefix}/cmd"),
                                QoS::AtLeastOnce,
                                false,
                                cmd.to_string(),
                            )
                            .await?;
                    }
                    Event::Incoming(Packet::Publish(p)) => {
                        let result: Value = serde_json::from_slice(&p.payload)?;
                        if result["id"] == cmd["id"] {
                            println!("{result}");
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

//! The reference fleet consumer (`examples/fleet_consumer`) run against a test broker: the setup
//! its test and the fleet benchmark share. The including crate declares `mod consumer` for
//! `examples/fleet_consumer/consumer.rs`.

use crate::consumer;
use std::path::PathBuf;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A consumer running in a task of its own.
pub struct Fleet {
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<consumer::Ledger>>,
}

impl Fleet {
    /// Starts the consumer as client `fleet` on every `lockerd/+` locker of the broker on
    /// `port`, storing to `store`; returns once it is subscribed, so its session exists before
    /// any locker's first event.
    pub async fn start(port: u16, store: PathBuf) -> Fleet {
        let (stop, stopped) = watch::channel(false);
        let (subscribed, ready) = tokio::sync::oneshot::channel();
        let options = consumer::Options {
            host: "127.0.0.1".into(),
            port,
            client_id: "fleet".into(),
            filter: "lockerd/+".into(),
            store,
            subscribed: Some(subscribed),
        };
        let task = tokio::spawn(consumer::run(options, stopped));
        ready.await.expect("the consumer subscribed");
        Fleet { stop, task }
    }

    /// Stops the consumer: what it stored and dropped.
    pub async fn stop(self) -> consumer::Ledger {
        self.stop.send(true).unwrap();
        self.task.await.unwrap().unwrap()
    }
}

//! Where the daemon's log goes. Under systemd, when stderr is the journal
//! (`connected_to_journal`), each tracing event becomes one structured journal record: the
//! message, its priority, and every field of the event as a journal field of the same name in
//! upper case (`COMPARTMENT`, `PARCEL`, `BUS`, `EVENT`, `ERROR`, ...), so
//! `journalctl -u lockerd COMPARTMENT=A1` finds what happened to one compartment. Anywhere else
//! (a terminal, a test) it writes human-readable lines to stderr.
//!
//! What is logged is `RUST_LOG` if set, else `locker.log_level`. Fields never carry a code, a
//! token or a secret: the code paths that handle them log ids and outcomes only.

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Sets up logging for the daemon; `level` is `locker.log_level`.
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::builder().parse(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    if systemd_journal_logger::connected_to_journal()
        && let Ok(journal) = systemd_journal_logger::JournalLog::new()
    {
        let journal = journal.with_syslog_identifier("lockerd".to_owned());
        tracing_subscriber::registry()
            .with(filter)
            .with(JournalLayer { journal })
            .init();
        return;
    }
    // Colour only on a terminal: escape codes in a log file are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// Sends each event to the journal as one record with its fields.
struct JournalLayer {
    journal: systemd_journal_logger::JournalLog,
}

impl<S: Subscriber> Layer<S> for JournalLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let pairs: Vec<(&str, &str)> = fields
            .pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // Nowhere to report a journal that does not take the record: dropping it is all
        // that is left.
        let _ = self.journal.journal_send(
            &log::Record::builder()
                .args(format_args!("{}", fields.message))
                .level(log_level(*meta.level()))
                .target(meta.target())
                .module_path(meta.module_path())
                .file(meta.file())
                .line(meta.line())
                .key_values(&pairs)
                .build(),
        );
    }
}

fn log_level(level: Level) -> log::Level {
    match level {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        Level::TRACE => log::Level::Trace,
    }
}

/// An event's message and its other fields, as text.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            name => self.pairs.push((name.to_owned(), value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields a journal record would carry, from a real tracing event.
    #[test]
    fn event_fields_become_named_pairs_and_the_message_stays_apart() {
        type Seen = Vec<(String, Vec<(String, String)>)>;
        struct Capture(std::sync::Arc<std::sync::Mutex<Seen>>);
        impl<S: Subscriber> Layer<S> for Capture {
            fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
                let mut fields = Fields::default();
                event.record(&mut fields);
                self.0.lock().unwrap().push((fields.message, fields.pairs));
            }
        }
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let subscriber = tracing_subscriber::registry().with(Capture(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(compartment = %"A1", bus = "rs485", seq = 7, "latch pulse failed");
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0, "latch pulse failed");
        let pairs: Vec<(&str, &str)> = seen[0]
            .1
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("compartment", "A1"), ("bus", "rs485"), ("seq", "7")]
        );
    }
}

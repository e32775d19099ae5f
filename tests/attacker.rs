//! lockerd from an attacker's side: each test runs the real daemon and tries one hole the way
//! someone at the keypad, on the site's LAN, or holding one credential would, over HTTP (or a
//! raw socket). A test here fails if the hole it names reopens. The README's "Security"
//! section says what each one defends and why it is shaped as it is.
//!
//! One module per area, so each reads on its own.

mod common;
#[path = "common/modbus.rs"]
mod modbus_locker;

#[path = "attacker/codes.rs"]
mod codes;
#[path = "attacker/opening.rs"]
mod opening;

#[path = "attacker/store.rs"]
mod store;

#[path = "attacker/serving.rs"]
mod serving;

#[path = "attacker/streams.rs"]
mod streams;

#[path = "attacker/bypasses.rs"]
mod bypasses;

#[path = "attacker/deliveries.rs"]
mod deliveries;

#[path = "attacker/console_links.rs"]
mod console_links;

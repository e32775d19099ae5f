//! Operators' console sessions (docs/console.md): what the `lockerd_console` cookie stands for.
//!
//! Signing in with an operator token (or a console link, which makes one) begins a session: a
//! fresh random id goes to the browser in the cookie, and the daemon keeps, under the id's hash,
//! the token and its holder. The token never leaves the daemon again. A session ends when its
//! lifetime (`policy.console_session`) is over, when the operator signs out, when its token is
//! deleted (checked on every request), or when the daemon restarts (sessions live in memory
//! only: signing in again is the whole cost). A live feed opened with a session ends with it.

use crate::locker::{Principal, new_token, token_hash};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// At most this many sessions at once; signing in beyond it ends the oldest.
const MAX_SESSIONS: usize = 64;

struct Session {
    /// The operator token signed in with, checked again on every request. Never logged.
    token: String,
    holder: Principal,
    began: Instant,
}

/// A live session as a request finds it.
pub(super) struct Live {
    /// The operator token behind it. Never logged.
    pub token: String,
    pub holder: Principal,
    /// When it lapses, whatever is done in it.
    pub ends: Instant,
}

pub(super) struct ConsoleSessions {
    by_hash: Mutex<HashMap<Vec<u8>, Session>>,
    /// `policy.console_session`.
    lifetime: Duration,
    /// Bumped whenever a session ends before its time (sign-out, or the oldest pushed out):
    /// the live feeds opened with a session check theirs again.
    ended: watch::Sender<u64>,
}

impl ConsoleSessions {
    pub fn new(lifetime: Duration) -> Self {
        ConsoleSessions {
            by_hash: Mutex::default(),
            lifetime,
            ended: watch::Sender::new(0),
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Begins a session for `holder`, who signed in with `token`; the session's id, for the
    /// cookie.
    pub fn begin(&self, token: &str, holder: Principal, now: Instant) -> String {
        let id = new_token();
        let mut sessions = self.lock();
        sessions.retain(|_, s| self.live(s, now));
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.began)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
            self.ended.send_modify(|n| *n += 1);
        }
        let session = Session {
            token: token.to_owned(),
            holder,
            began: now,
        };
        sessions.insert(token_hash(&id), session);
        id
    }

    /// The session `id`, if it is live at `now`.
    pub fn get(&self, id: &str, now: Instant) -> Option<Live> {
        let mut sessions = self.lock();
        let hash = token_hash(id);
        let session = sessions.get(&hash)?;
        if !self.live(session, now) {
            sessions.remove(&hash);
            return None;
        }
        Some(Live {
            token: session.token.clone(),
            holder: session.holder.clone(),
            ends: session.began + self.lifetime,
        })
    }

    /// Ends the session `id` (signing out), and the feeds opened with it.
    pub fn end(&self, id: &str) {
        if self.lock().remove(&token_hash(id)).is_some() {
            self.ended.send_modify(|n| *n += 1);
        }
    }

    /// Changes whenever a session ended before its time.
    pub fn endings(&self) -> watch::Receiver<u64> {
        self.ended.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Session>> {
        self.by_hash.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self, session: &Session, now: Instant) -> bool {
        now.saturating_duration_since(session.began) < self.lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locker::Role;

    const CONSOLE_SESSION: Duration = Duration::from_secs(12 * 3600);

    fn operator(name: &str) -> Principal {
        Principal {
            role: Role::Operator,
            name: name.into(),
            courier: None,
            parcel: None,
            mqtt: false,
        }
    }

    #[test]
    fn a_session_lasts_its_lifetime_and_ends_on_sign_out() {
        let sessions = ConsoleSessions::new(CONSOLE_SESSION);
        let endings = sessions.endings();
        let t0 = Instant::now();
        let id = sessions.begin("lkd_secret", operator("ops"), t0);
        assert!(!id.contains("lkd_secret"), "the id is not the token");
        let almost = t0 + CONSOLE_SESSION - Duration::from_secs(1);
        let live = sessions.get(&id, almost).expect("live");
        assert_eq!(
            (live.token.as_str(), live.holder.name.as_str()),
            ("lkd_secret", "ops")
        );
        assert_eq!(live.ends, t0 + CONSOLE_SESSION);
        assert!(sessions.get(&id, t0 + CONSOLE_SESSION).is_none(), "expired");
        assert!(
            sessions.get(&id, t0).is_none(),
            "an expired session is gone"
        );

        let id = sessions.begin("lkd_secret", operator("ops"), t0);
        assert!(!endings.has_changed().unwrap(), "nothing ended early yet");
        sessions.end(&id);
        assert!(sessions.get(&id, t0).is_none(), "signed out");
        assert!(endings.has_changed().unwrap(), "the feeds are told");
        assert!(sessions.get("lkd_guess", t0).is_none());
    }

    #[test]
    fn beyond_the_cap_the_oldest_session_ends() {
        let sessions = ConsoleSessions::new(CONSOLE_SESSION);
        let t0 = Instant::now();
        let first = sessions.begin("t", operator("ops"), t0);
        let later: Vec<String> = (1..MAX_SESSIONS as u64 + 1)
            .map(|i| sessions.begin("t", operator("ops"), t0 + Duration::from_secs(i)))
            .collect();
        let now = t0 + Duration::from_secs(100);
        assert!(sessions.get(&first, now).is_none(), "the oldest went");
        assert!(later.iter().all(|id| sessions.get(id, now).is_some()));
    }
}

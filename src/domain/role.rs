//! Who may call what: the roles of API tokens and sessions.

/// Who may call what (see "Credentials and roles" in docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Kiosk,
    Courier,
    Operator,
    Sync,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Kiosk => "kiosk",
            Role::Courier => "courier",
            Role::Operator => "operator",
            Role::Sync => "sync",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Kiosk, Role::Courier, Role::Operator, Role::Sync]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

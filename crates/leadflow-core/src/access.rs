//! Who may do what. Pure: the API checks a caller's role against these before acting.

use std::fmt;

/// An API key's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including keys and deleting leads.
    Admin,
    /// Models, reports and all leads.
    Marketing,
    /// Reads leads; updates the ones it owns.
    Sales,
    /// Sends events and tracking data; reads nothing.
    Ingest,
}

/// What a request wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    IngestEvents,
    ReadLeads,
    WriteLeads,
    /// Update a lead the caller owns (sales).
    WriteOwnLeads,
    DeleteLeads,
    ReadModels,
    WriteModels,
    ManageKeys,
    /// Register and remove webhooks, and see their deliveries: they carry lead data out.
    ManageWebhooks,
    /// Issue identity tokens, with which a website proves who its visitor is.
    IdentifyVisitors,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Marketing, Role::Sales, Role::Ingest];

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Marketing => "marketing",
            Role::Sales => "sales",
            Role::Ingest => "ingest",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s.trim().to_ascii_lowercase())
    }

    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Admin => true,
            Role::Marketing => matches!(
                action,
                IngestEvents | ReadLeads | WriteLeads | WriteOwnLeads | ReadModels | WriteModels | IdentifyVisitors
            ),
            Role::Sales => matches!(action, ReadLeads | WriteOwnLeads | ReadModels),
            Role::Ingest => matches!(action, IngestEvents | IdentifyVisitors),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table() {
        use Action::*;
        let all = [
            IngestEvents,
            ReadLeads,
            WriteLeads,
            WriteOwnLeads,
            DeleteLeads,
            ReadModels,
            WriteModels,
            ManageKeys,
            ManageWebhooks,
        ];
        let allowed = |r: Role| all.iter().filter(|a| r.may(**a)).copied().collect::<Vec<_>>();
        assert_eq!(allowed(Role::Admin), all);
        assert_eq!(
            allowed(Role::Marketing),
            [IngestEvents, ReadLeads, WriteLeads, WriteOwnLeads, ReadModels, WriteModels]
        );
        assert_eq!(allowed(Role::Sales), [ReadLeads, WriteOwnLeads, ReadModels]);
        assert_eq!(allowed(Role::Ingest), [IngestEvents]);
        assert_eq!(Role::parse(" Sales "), Some(Role::Sales));
        assert_eq!(Role::parse("root"), None);
    }
}

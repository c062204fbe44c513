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
    /// Add and change the sales users leads are owned by (a sales key is a user's).
    ManageUsers,
    /// See the job queue: what ran, what is due, what failed and why.
    ReadJobs,
    /// Read reports over every lead (the funnel, reps' figures). A sales key whose user is a
    /// manager may too ([`Actor::may_read_reports`]).
    ReadReports,
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
                IngestEvents
                    | ReadLeads
                    | WriteLeads
                    | WriteOwnLeads
                    | ReadModels
                    | WriteModels
                    | IdentifyVisitors
                    | ReadReports
            ),
            Role::Sales => matches!(action, ReadLeads | WriteOwnLeads | ReadModels),
            Role::Ingest => matches!(action, IngestEvents | IdentifyVisitors),
        }
    }
}

/// Who acts: a role, and the name leads are owned under (a sales key's name is its owner name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor<'a> {
    pub role: Role,
    pub name: &'a str,
}

/// Why an actor may not make a change to a lead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the {0} role may not do this")]
    Role(Role),
    #[error("a {0} key may change only the leads it owns (whose owner is the key's name)")]
    NotTheOwner(Role),
    #[error("a {0} key may not give a lead to another owner")]
    GivesAway(Role),
    #[error("reports are for admin and marketing keys, and sales keys of managers")]
    NotAManager,
}

impl Actor<'_> {
    /// Whether the actor may read reports: by its role, or as a sales key of a user who is a
    /// manager (`is_manager`: whether the key's name is a manager's).
    pub fn may_read_reports(&self, is_manager: bool) -> Result<(), Refusal> {
        match self.role {
            role if role.may(Action::ReadReports) => Ok(()),
            Role::Sales if is_manager => Ok(()),
            Role::Sales => Err(Refusal::NotAManager),
            role => Err(Refusal::Role(role)),
        }
    }

    /// Whether the actor may write a lead: `owner_now` is the lead's owner if it exists
    /// (`None` for a new lead), `owner_after` the owner the write gives it, if it sets one.
    /// Writers of all leads may do anything; writers of their own leads may change a lead they
    /// own, and only keep it theirs.
    pub fn may_write_lead(&self, owner_now: Option<Option<&str>>, owner_after: Option<&str>) -> Result<(), Refusal> {
        if self.role.may(Action::WriteLeads) {
            return Ok(());
        }
        if !self.role.may(Action::WriteOwnLeads) {
            return Err(Refusal::Role(self.role));
        }
        if owner_now != Some(Some(self.name)) {
            return Err(Refusal::NotTheOwner(self.role));
        }
        if owner_after.is_some_and(|o| o != self.name) {
            return Err(Refusal::GivesAway(self.role));
        }
        Ok(())
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
    fn reports_are_for_marketing_admins_and_managers() {
        let actor = |role| Actor { role, name: "ana" };
        assert_eq!(actor(Role::Admin).may_read_reports(false), Ok(()));
        assert_eq!(actor(Role::Marketing).may_read_reports(false), Ok(()));
        assert_eq!(actor(Role::Sales).may_read_reports(true), Ok(()));
        assert_eq!(actor(Role::Sales).may_read_reports(false), Err(Refusal::NotAManager));
        assert_eq!(actor(Role::Ingest).may_read_reports(true), Err(Refusal::Role(Role::Ingest)));
    }

    #[test]
    fn who_may_write_which_lead() {
        let sales = Actor { role: Role::Sales, name: "ana" };
        assert_eq!(sales.may_write_lead(Some(Some("ana")), None), Ok(()));
        assert_eq!(sales.may_write_lead(Some(Some("ana")), Some("ana")), Ok(()));
        assert_eq!(sales.may_write_lead(Some(Some("ana")), Some("ben")), Err(Refusal::GivesAway(Role::Sales)));
        assert_eq!(sales.may_write_lead(Some(Some("ben")), None), Err(Refusal::NotTheOwner(Role::Sales)));
        assert_eq!(sales.may_write_lead(Some(None), Some("ana")), Err(Refusal::NotTheOwner(Role::Sales)));
        assert_eq!(sales.may_write_lead(None, Some("ana")), Err(Refusal::NotTheOwner(Role::Sales)), "creates none");
        for role in [Role::Admin, Role::Marketing] {
            let writer = Actor { role, name: "ops" };
            assert_eq!(writer.may_write_lead(None, Some("ben")), Ok(()));
            assert_eq!(writer.may_write_lead(Some(Some("ana")), Some("ben")), Ok(()));
        }
        let ingest = Actor { role: Role::Ingest, name: "site" };
        assert_eq!(ingest.may_write_lead(None, None), Err(Refusal::Role(Role::Ingest)));
    }

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
            ManageUsers,
            ReadJobs,
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

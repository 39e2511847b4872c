//! Who may do what on a project: roles and the authorization decision.
//!
//! The decision is a pure function of the caller, their role in the project
//! (if any) and the project's visibility, so the whole matrix is tested here
//! and every endpoint asks the same question.

/// A member's role in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Treasurer,
    Contributor,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Owner,
        Role::Treasurer,
        Role::Contributor,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Treasurer => "treasurer",
            Role::Contributor => "contributor",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// What a request wants to do with a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the project, its accounts, balances, ledger and reports.
    ReadLedger,
    /// See who the members are.
    ReadMembers,
    /// Record money movements: accounts, transactions, reversals.
    WriteLedger,
    /// Rename the project or change its visibility.
    UpdateProject,
    /// Add, change and remove members.
    ManageMembers,
    /// Add valuation rates.
    ManageRates,
    /// Log a contribution, for oneself (`own`) or on behalf of another member.
    RecordContribution { own: bool },
    /// Approve or reject contributions.
    Review,
    /// Read a member's value account, one's own (`own`) or another's.
    ReadValueAccount { own: bool },
    /// Read the project's audit trail: who changed what.
    ReadEvents,
}

/// Who is asking, as far as the decision is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    pub authenticated: bool,
    pub admin: bool,
    pub role: Option<Role>,
}

/// The outcome of an authorization decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The caller may not know the project exists (404).
    Hidden,
    /// The caller must authenticate first (401).
    Unauthenticated,
    /// The caller is known and may see the project, but not do this (403).
    Forbidden,
}

/// Decides whether `requester` may perform `action` on a project that is
/// `public` or not. Non-members never learn that a private project exists;
/// public projects' ledgers are readable by anyone, writes still need a role.
pub fn decide(requester: Requester, public: bool, action: Action) -> Decision {
    let member = requester.role.is_some();
    if !(requester.admin || member || public) {
        return Decision::Hidden;
    }
    let allowed = requester.admin
        || match action {
            Action::ReadLedger => true,
            Action::ReadMembers => member,
            Action::WriteLedger => matches!(requester.role, Some(Role::Owner | Role::Treasurer)),
            Action::UpdateProject | Action::ManageMembers => requester.role == Some(Role::Owner),
            Action::ManageRates | Action::Review | Action::RecordContribution { own: false } => {
                matches!(requester.role, Some(Role::Owner | Role::Treasurer))
            }
            Action::RecordContribution { own: true } => {
                matches!(
                    requester.role,
                    Some(Role::Owner | Role::Treasurer | Role::Contributor)
                )
            }
            Action::ReadValueAccount { own: true } => member,
            Action::ReadValueAccount { own: false } | Action::ReadEvents => {
                matches!(
                    requester.role,
                    Some(Role::Owner | Role::Treasurer | Role::Auditor)
                )
            }
        };
    match (allowed, requester.authenticated) {
        (true, _) => Decision::Allow,
        (false, false) => Decision::Unauthenticated,
        (false, true) => Decision::Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role) -> Requester {
        Requester {
            authenticated: true,
            admin: false,
            role: Some(role),
        }
    }

    const ANONYMOUS: Requester = Requester {
        authenticated: false,
        admin: false,
        role: None,
    };
    const OUTSIDER: Requester = Requester {
        authenticated: true,
        admin: false,
        role: None,
    };
    const ADMIN: Requester = Requester {
        authenticated: true,
        admin: true,
        role: None,
    };

    #[test]
    fn private_projects_matrix() {
        use Decision::{Allow as A, Forbidden as F, Hidden as H};
        let actions = [
            Action::ReadLedger,
            Action::ReadMembers,
            Action::WriteLedger,
            Action::UpdateProject,
            Action::ManageMembers,
            Action::ManageRates,
            Action::RecordContribution { own: true },
            Action::RecordContribution { own: false },
            Action::Review,
            Action::ReadValueAccount { own: true },
            Action::ReadValueAccount { own: false },
            Action::ReadEvents,
        ];
        let table: [(Requester, [Decision; 12]); 7] = [
            (ANONYMOUS, [H, H, H, H, H, H, H, H, H, H, H, H]),
            (OUTSIDER, [H, H, H, H, H, H, H, H, H, H, H, H]),
            (
                member(Role::Contributor),
                [A, A, F, F, F, F, A, F, F, A, F, F],
            ),
            (member(Role::Auditor), [A, A, F, F, F, F, F, F, F, A, A, A]),
            (
                member(Role::Treasurer),
                [A, A, A, F, F, A, A, A, A, A, A, A],
            ),
            (member(Role::Owner), [A, A, A, A, A, A, A, A, A, A, A, A]),
            (ADMIN, [A, A, A, A, A, A, A, A, A, A, A, A]),
        ];
        for (requester, expected) in table {
            for (action, want) in actions.iter().zip(expected) {
                assert_eq!(
                    decide(requester, false, *action),
                    want,
                    "{requester:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn public_projects_are_readable_not_writable() {
        assert_eq!(decide(ANONYMOUS, true, Action::ReadLedger), Decision::Allow);
        assert_eq!(decide(OUTSIDER, true, Action::ReadLedger), Decision::Allow);
        assert_eq!(
            decide(ANONYMOUS, true, Action::WriteLedger),
            Decision::Unauthenticated
        );
        assert_eq!(
            decide(OUTSIDER, true, Action::WriteLedger),
            Decision::Forbidden
        );
        assert_eq!(
            decide(OUTSIDER, true, Action::ReadMembers),
            Decision::Forbidden
        );
        assert_eq!(
            decide(member(Role::Treasurer), true, Action::WriteLedger),
            Decision::Allow
        );
    }
}

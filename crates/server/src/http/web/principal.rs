//! A staff member acts through an in-process principal: the agreement
//! template of their role, their establishments as its scope, and their
//! username as `on_behalf_of`. So a page is decided by the same Cedar
//! agreements as the API, and recorded in the same disclosure audit, naming
//! the staff user.
//!
//! | role | agreement | purpose |
//! |---|---|---|
//! | officer | `prison-wing` | `safety` |
//! | healthcare | `prison-healthcare` | `direct-care` |
//! | ig-lead | `information-governance` | `governance` |
//! | admin | none: reads no person data | |

use crate::auth::Caller;
use gatehouse_domain::Scope;
use gatehouse_policy::templates::template;
use gatehouse_policy::{Agreement, Principal, Purpose};
use gatehouse_store::{StaffRole, StaffUser};
use std::sync::LazyLock;

/// The consumer named in disclosure records for pages read by staff.
pub const WEB_CONSUMER: &str = "staff-web";

/// The agreement template a role acts under.
pub fn template_of(role: StaffRole) -> Option<&'static str> {
    match role {
        StaffRole::Officer => Some("prison-wing"),
        StaffRole::Healthcare => Some("prison-healthcare"),
        StaffRole::IgLead => Some("information-governance"),
        StaffRole::Admin => None,
    }
}

/// Agreements are built once (their hash is computed once; Cedar compiles each once).
static AGREEMENTS: LazyLock<Vec<(&'static str, Agreement)>> = LazyLock::new(|| {
    [
        "prison-wing",
        "prison-healthcare",
        "information-governance",
        "escort-contractor",
    ]
    .into_iter()
    .filter_map(|name| Agreement::template(name).map(|a| (name, a)))
    .collect()
});

fn agreement(name: &str) -> Option<Agreement> {
    AGREEMENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, a)| a.clone())
}

/// A caller acting under a template for a staff user.
pub fn caller_under(
    template_name: &str,
    scope: Scope,
    username: &str,
    request_id: &str,
) -> Option<Caller> {
    let t = template(template_name)?;
    let purpose = match t.org_type {
        // Officers (and escorts) read for the prison's safety duty.
        gatehouse_domain::OrgType::Prison | gatehouse_domain::OrgType::Escort => Purpose::Safety,
        org => Purpose::default_for(org),
    };
    Some(Caller {
        principal: Principal {
            consumer: WEB_CONSUMER.to_owned(),
            org_type: t.org_type,
            scope,
            on_behalf_of: Some(username.to_owned()),
            agreement: agreement(template_name)?,
        },
        purpose,
        break_glass: None,
        request_id: request_id.to_owned(),
    })
}

/// The caller a staff user's pages act as; `None` for a role that reads no person data.
pub fn caller_for(user: &StaffUser, request_id: &str) -> Option<Caller> {
    caller_under(
        template_of(user.role)?,
        user.establishments.clone(),
        &user.username,
        request_id,
    )
}

/// Who a notice's preview is shown for: a wing officer and an escort, in the
/// author's establishments. Never used to read or record anything: only to ask
/// the agreements what those readers would be shown.
pub fn preview_readers(user: &StaffUser) -> Vec<(&'static str, Caller)> {
    [
        ("Wing officers", "prison-wing"),
        ("Escort staff", "escort-contractor"),
    ]
    .into_iter()
    .filter_map(|(label, t)| {
        caller_under(t, user.establishments.clone(), "preview", "").map(|c| (label, c))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn user(role: StaffRole) -> StaffUser {
        StaffUser {
            username: "u".into(),
            display_name: "U".into(),
            role,
            establishments: Scope::parse("LEI").unwrap(),
            password_hash: String::new(),
            created_at: Utc::now(),
            disabled_at: None,
            oidc_subject: None,
        }
    }

    #[test]
    fn roles_map_to_agreements_and_purposes() {
        let c = caller_for(&user(StaffRole::Officer), "r").unwrap();
        assert_eq!(c.principal.agreement.name, "prison-wing");
        assert_eq!(c.purpose, Purpose::Safety);
        assert_eq!(c.principal.on_behalf_of.as_deref(), Some("u"));
        let c = caller_for(&user(StaffRole::Healthcare), "r").unwrap();
        assert_eq!(c.principal.agreement.name, "prison-healthcare");
        assert_eq!(c.purpose, Purpose::DirectCare);
        let c = caller_for(&user(StaffRole::IgLead), "r").unwrap();
        assert_eq!(c.purpose, Purpose::Governance);
        assert!(caller_for(&user(StaffRole::Admin), "r").is_none());
        assert_eq!(preview_readers(&user(StaffRole::Healthcare)).len(), 2);
    }
}

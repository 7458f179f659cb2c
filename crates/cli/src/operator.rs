//! The record of a change the operator makes from the command line.
//!
//! Consumers, keys, agreements and imports change what Gatehouse shares, so
//! each is in the disclosure audit like any change through the API, written in
//! the same transaction. The actor is the operating-system account that ran
//! the command: the only identity the command line has.

use gatehouse_store::WriteAudit;

/// Who ran this command, as the audit names them (`gatehouse-cli:<account>`).
pub fn actor() -> String {
    let account = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("gatehouse-cli:{account}")
}

/// The record of one operator change.
pub fn change(resource: &str, action: &str, fields: &[&str]) -> WriteAudit {
    WriteAudit::system(
        &actor(),
        resource,
        action,
        fields.iter().map(|f| (*f).to_owned()).collect(),
    )
}

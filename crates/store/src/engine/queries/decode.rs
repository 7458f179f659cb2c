//! Rows to records: the decoding every area shares.

use super::engine::{Db, DbRow};
use crate::model::*;
use crate::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_domain::movement::MovementReason;
use gatehouse_domain::{
    AlertCode, CellLocation, CustodyState, CustodyStatus, EstablishmentCode, Movement,
    MovementKind, NhsNumber, OrgType, PersonDetails, PersonName, PlannedMovement,
    PlannedMovementKind, PlannedStatus, PrisonAlert, PrisonNumber, Scope,
};
use sqlx::Row;

pub(super) fn col<'r, T>(row: &'r DbRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name).map_err(StoreError::from)
}

pub(super) fn parsed<T, E: std::fmt::Display>(
    what: &str,
    r: std::result::Result<T, E>,
) -> Result<T> {
    r.map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

pub(super) fn opt_code(row: &DbRow, name: &str) -> Result<Option<EstablishmentCode>> {
    col::<Option<String>>(row, name)?
        .map(|s| parsed(name, EstablishmentCode::parse(&s)))
        .transpose()
}

pub(super) fn person_from_row(
    row: &DbRow,
    link: Option<IdentityLinkRecord>,
) -> Result<PersonRecord> {
    let prison_number = parsed(
        "prison_number",
        PrisonNumber::parse(&col::<String>(row, "prison_number")?),
    )?;
    let given: Option<String> = col(row, "given_name")?;
    let family: Option<String> = col(row, "family_name")?;
    let dob: Option<NaiveDate> = col(row, "date_of_birth")?;
    let details = match (given, family, dob) {
        (Some(g), Some(f), Some(d)) => Some(PersonDetails {
            name: PersonName {
                given_name: g,
                family_name: f,
            },
            date_of_birth: d,
        }),
        _ => None,
    };
    let status: Option<String> = col(row, "custody_status")?;
    let custody = match status {
        None => None,
        Some(s) => Some(CustodyState {
            status: CustodyStatus::parse(&s)
                .ok_or_else(|| StoreError::corrupt(format!("custody_status {s}")))?,
            establishment: opt_code(row, "establishment")?
                .ok_or_else(|| StoreError::corrupt("establishment missing"))?,
            location: opt_code(row, "location")?
                .ok_or_else(|| StoreError::corrupt("location missing"))?,
            cell: col::<Option<String>>(row, "cell")?
                .map(|c| parsed("cell", CellLocation::parse(&c)))
                .transpose()?,
            destination: opt_code(row, "destination")?,
            since: col::<Option<DateTime<Utc>>>(row, "custody_since")?
                .ok_or_else(|| StoreError::corrupt("custody_since missing"))?,
        }),
    };
    Ok(PersonRecord {
        prison_number,
        details,
        details_as_of: col(row, "details_as_of")?,
        details_source: col(row, "details_source")?,
        custody,
        custody_source: col(row, "custody_source")?,
        nhs_link: link,
        incoming: opt_code(row, "incoming_establishment")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

pub(super) fn link_from_row(row: &DbRow) -> Result<IdentityLinkRecord> {
    let method: String = col(row, "method")?;
    Ok(IdentityLinkRecord {
        nhs_number: parsed(
            "nhs_number",
            NhsNumber::parse(&col::<String>(row, "nhs_number")?),
        )?,
        method: LinkMethod::parse(&method)
            .ok_or_else(|| StoreError::corrupt(format!("link method {method}")))?,
        verification: col(row, "verification")?,
        linked_by: col(row, "linked_by")?,
        linked_at: col(row, "linked_at")?,
        active: col(row, "active")?,
        unlinked_at: col(row, "unlinked_at")?,
        unlinked_by: col(row, "unlinked_by")?,
    })
}

pub(super) fn movement_from_row(row: &DbRow) -> Result<MovementRecord> {
    let kind: String = col(row, "kind")?;
    let reason: String = col(row, "reason")?;
    let movement = Movement {
        kind: parsed("kind", MovementKind::parse(&kind))?,
        reason: parsed("reason", MovementReason::parse(&reason))?,
        establishment: opt_code(row, "establishment")?
            .ok_or_else(|| StoreError::corrupt("movement establishment"))?,
        destination: opt_code(row, "destination")?,
        cell: col::<Option<String>>(row, "cell")?
            .map(|c| parsed("cell", CellLocation::parse(&c)))
            .transpose()?,
        occurred_at: col(row, "occurred_at")?,
    };
    Ok(MovementRecord {
        seq: col(row, "seq")?,
        prison_number: parsed(
            "prison_number",
            PrisonNumber::parse(&col::<String>(row, "prison_number")?),
        )?,
        movement,
        event_id: col(row, "event_id")?,
        source: col(row, "source")?,
        recorded_at: col(row, "recorded_at")?,
    })
}

pub(super) fn alert_from_row(row: &DbRow) -> Result<AlertRecord> {
    let code: String = col(row, "code")?;
    let alert = PrisonAlert {
        id: col(row, "alert_id")?,
        code: parsed("code", AlertCode::parse(&code))?,
        active: col(row, "active")?,
        active_from: col(row, "active_from")?,
        active_to: col(row, "active_to")?,
    };
    Ok(AlertRecord {
        prison_number: parsed(
            "prison_number",
            PrisonNumber::parse(&col::<String>(row, "prison_number")?),
        )?,
        alert,
        as_of: col(row, "as_of")?,
        source: col(row, "source")?,
        updated_at: col(row, "updated_at")?,
    })
}

pub(super) fn planned_from_row(row: &DbRow) -> Result<PlannedRecord> {
    let kind: String = col(row, "kind")?;
    let status: String = col(row, "status")?;
    let planned = PlannedMovement {
        id: col(row, "plan_id")?,
        kind: parsed("kind", PlannedMovementKind::parse(&kind))?,
        establishment: opt_code(row, "establishment")?
            .ok_or_else(|| StoreError::corrupt("planned establishment"))?,
        destination: opt_code(row, "destination")?,
        planned_for: col(row, "planned_for")?,
        description: col(row, "description")?,
    };
    Ok(PlannedRecord {
        prison_number: parsed(
            "prison_number",
            PrisonNumber::parse(&col::<String>(row, "prison_number")?),
        )?,
        planned,
        status: PlannedStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt(format!("planned status {status}")))?,
        fulfilled_by: col(row, "fulfilled_by")?,
        as_of: col(row, "as_of")?,
        source: col(row, "source")?,
        updated_at: col(row, "updated_at")?,
    })
}

pub(super) fn consumer_from_row(row: &DbRow) -> Result<Consumer> {
    let org: String = col(row, "org_type")?;
    let est: String = col(row, "establishments")?;
    let codes: Vec<String> = parsed("establishments", serde_json::from_str(&est))?;
    let scope = if codes.iter().any(|c| c == "*") {
        Scope::All
    } else {
        Scope::Only(
            codes
                .iter()
                .map(|c| parsed("establishments", EstablishmentCode::parse(c)))
                .collect::<Result<_>>()?,
        )
    };
    Ok(Consumer {
        id: col(row, "id")?,
        name: col(row, "name")?,
        org_type: parsed("org_type", OrgType::parse(&org))?,
        agreement: col(row, "agreement")?,
        agreement_text: col(row, "agreement_text")?,
        scope,
        created_at: col(row, "created_at")?,
        revoked_at: col(row, "revoked_at")?,
        client_cert: ClientCertBinding {
            sha256: col(row, "client_cert_sha256")?,
            subject: col(row, "client_cert_subject")?,
            required: col(row, "require_client_cert")?,
        },
        staff_identity: staff_identity_from_row(row)?.map(Box::new),
    })
}

/// A consumer's staff identity settings: present when an issuer is set.
pub(super) fn staff_identity_from_row(row: &DbRow) -> Result<Option<StaffIdentity>> {
    let Some(issuer) = col::<Option<String>>(row, "staff_issuer")? else {
        return Ok(None);
    };
    Ok(Some(StaffIdentity {
        issuer,
        audience: col::<Option<String>>(row, "staff_audience")?.unwrap_or_default(),
        claim: col::<Option<String>>(row, "staff_claim")?
            .unwrap_or_else(|| DEFAULT_STAFF_CLAIM.to_owned()),
        jwks: col(row, "staff_jwks")?,
        jwks_url: col(row, "staff_jwks_url")?,
    }))
}

//! Safety notices: health-owned instructions for prison staff (DESIGN.md §2).
//!
//! A clinician publishes a notice saying, in plain words, what staff must do
//! ("If found fitting: time the seizure, place in recovery position, call a
//! Code Blue"). By default it names no diagnosis and no medicine
//! (`instruction-only`); it names the condition (`with-condition`) only when
//! the patient's consent or a recorded vital-interests decision is on it.
//! Its `clinicalDetail` is for health consumers alone.
//!
//! [`NoticeInput`] is the outside shape; [`NoticeInput::parse`] turns it into
//! a [`NoticeContent`] and [`Author`] that hold every rule, reporting all
//! broken rules at once so a clinician can fix the form in one go.

use crate::error::ParseError;
use crate::vocab::{date, kebab_enum, text, timestamp};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest instruction: it must fit on a wing screen and a handover sheet.
pub const INSTRUCTION_MAX_CHARS: usize = 500;
pub const CONDITION_MAX_CHARS: usize = 200;
pub const CLINICAL_DETAIL_MAX_CHARS: usize = 4000;
pub const REASON_MAX_CHARS: usize = 500;
/// A notice must be reviewed at least yearly.
pub const REVIEW_WITHIN_DAYS: i64 = 366;

kebab_enum!(
    /// What the notice is about, in terms staff act on.
    NoticeCategory, "category" {
        SeizureRisk => "seizure-risk",
        HypoglycaemiaRisk => "hypoglycaemia-risk",
        TimeCriticalMedication => "time-critical-medication",
        MedicationContinuity => "medication-continuity",
        MobilityAdjustment => "mobility-adjustment",
        CommunicationNeed => "communication-need",
        AllergyDiet => "allergy-diet",
        InfectionControl => "infection-control",
        ObservationRequired => "observation-required",
        SubstanceWithdrawal => "substance-withdrawal",
        MentalHealthCrisisPlan => "mental-health-crisis-plan",
        FitnessRestriction => "fitness-restriction",
        PregnancyCare => "pregnancy-care",
        Other => "other",
    }
);

impl NoticeCategory {
    /// Urgency for ordering a summary: 0 is the most urgent. Notices whose
    /// instruction may be needed within minutes (a seizure, a hypo, a crisis)
    /// come before those that shape the day (diet, mobility).
    pub fn urgency(self) -> u8 {
        match self {
            Self::SeizureRisk | Self::HypoglycaemiaRisk | Self::MentalHealthCrisisPlan => 0,
            Self::TimeCriticalMedication
            | Self::ObservationRequired
            | Self::SubstanceWithdrawal => 1,
            Self::MedicationContinuity
            | Self::InfectionControl
            | Self::PregnancyCare
            | Self::AllergyDiet => 2,
            Self::FitnessRestriction | Self::MobilityAdjustment | Self::CommunicationNeed => 3,
            Self::Other => 4,
        }
    }

    /// Notices whose medicines must travel with the person: a transfer or
    /// release raises a medication-continuity check.
    pub fn needs_medication_continuity(self) -> bool {
        matches!(
            self,
            Self::TimeCriticalMedication | Self::MedicationContinuity
        )
    }
}

kebab_enum!(
    /// Which staff the notice is for.
    Audience, "audience" {
        AllStaff => "all-staff",
        Wing => "wing",
        Reception => "reception",
        Escort => "escort",
        Kitchen => "kitchen",
        HealthcareOnly => "healthcare-only",
    }
);

kebab_enum!(
    /// How much a prison-side reader may learn.
    DisclosureLevel, "disclosureLevel" {
        InstructionOnly => "instruction-only",
        WithCondition => "with-condition",
    }
);

kebab_enum!(
    /// What allows the condition to be named to prison staff.
    ConsentKind, "consent.kind" {
        PatientConsent => "patient-consent",
        VitalInterests => "vital-interests",
    }
);

kebab_enum!(
    /// The lawful basis for sharing the notice with prison staff.
    NoticeLawfulBasis, "lawfulBasis" {
        DirectCare => "direct-care",
        Safeguarding => "safeguarding",
        VitalInterests => "vital-interests",
        ExplicitConsent => "explicit-consent",
    }
);

impl NoticeLawfulBasis {
    /// The basis in the words of the law, for the disclosure record and the patient's report.
    pub fn legal_text(self) -> &'static str {
        match self {
            Self::DirectCare => {
                "UK GDPR Art 6(1)(e) public task and Art 9(2)(h) provision of health care"
            }
            Self::Safeguarding => {
                "UK GDPR Art 6(1)(e) and Art 9(2)(g) substantial public interest (DPA 2018 Sch 1 para 18, safeguarding of individuals at risk)"
            }
            Self::VitalInterests => "UK GDPR Art 6(1)(d) and Art 9(2)(c) vital interests",
            Self::ExplicitConsent => "UK GDPR Art 6(1)(a) and Art 9(2)(a) explicit consent",
        }
    }
}

kebab_enum!(
    /// The professional register the author is on.
    RegistrationBody, "author.registration.body" {
        Gmc => "GMC",
        Nmc => "NMC",
        Gphc => "GPhC",
        Hcpc => "HCPC",
    }
);

kebab_enum!(
    NoticeStatus, "status" {
        Active => "active",
        Withdrawn => "withdrawn",
    }
);

/// A professional registration: the register and the number on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Registration {
    pub body: RegistrationBody,
    pub number: String,
}

impl Registration {
    pub fn parse(body: &str, number: &str) -> Result<Self, ParseError> {
        let body = RegistrationBody::parse(body)?;
        let n = number.trim().to_ascii_uppercase();
        let b = n.as_bytes();
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        let ok = match body {
            // GMC reference and GPhC registration numbers: 7 digits.
            RegistrationBody::Gmc | RegistrationBody::Gphc => b.len() == 7 && digits(b),
            // NMC PIN: 2 digits, a letter, 4 digits, a letter (e.g. 12A3456E).
            RegistrationBody::Nmc => {
                b.len() == 8
                    && digits(&b[0..2])
                    && b[2].is_ascii_alphabetic()
                    && digits(&b[3..7])
                    && b[7].is_ascii_alphabetic()
            }
            // HCPC: a two-letter profession prefix and 4 to 6 digits (e.g. PA12345).
            RegistrationBody::Hcpc => {
                (6..=8).contains(&b.len())
                    && b[0..2].iter().all(u8::is_ascii_alphabetic)
                    && digits(&b[2..])
            }
        };
        if !ok {
            return Err(ParseError::new(
                "author.registration.number",
                format!(
                    "not a valid {} number (GMC and GPhC: 7 digits; NMC: e.g. 12A3456E; HCPC: e.g. PA12345)",
                    body.as_str()
                ),
            ));
        }
        Ok(Self { body, number: n })
    }
}

/// Who wrote a version of a notice: their role and professional registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Author {
    /// e.g. "Registered nurse", "GP", "Mental health nurse".
    pub role: String,
    pub registration: Registration,
}

/// The consent (or vital-interests decision) that lets the condition be named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRecord {
    pub kind: ConsentKind,
    pub recorded_on: NaiveDate,
    /// The clinician who recorded it (role and name as the clinical system holds it).
    pub recorded_by: String,
}

/// A validated version of a notice's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoticeContent {
    pub category: NoticeCategory,
    /// What staff must do, in plain words.
    pub instruction: String,
    pub audience: Vec<Audience>,
    pub disclosure_level: DisclosureLevel,
    /// The condition, in plain words ("epilepsy"). Named to prison staff only at `with-condition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// For health consumers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinical_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentRecord>,
    pub lawful_basis: NoticeLawfulBasis,
    pub valid_from: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    pub review_by: NaiveDate,
}

impl NoticeContent {
    /// A consent or vital-interests decision is recorded on the notice.
    pub fn consent_recorded(&self) -> bool {
        self.consent.is_some()
    }

    /// Prison staff may be shown it at all.
    pub fn shared_with_prison(&self) -> bool {
        !self.audience.contains(&Audience::HealthcareOnly)
    }

    /// In force at `now`: started, and not yet ended.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.valid_from <= now && self.valid_until.is_none_or(|u| now < u)
    }

    pub fn review_overdue(&self, today: NaiveDate) -> bool {
        self.review_by < today
    }
}

/// The outside shape of a notice, as a health system posts it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeInput {
    pub category: Option<String>,
    pub instruction: Option<String>,
    pub audience: Option<Vec<String>>,
    /// `instruction-only` (the default) or `with-condition`.
    pub disclosure_level: Option<String>,
    pub condition: Option<String>,
    pub clinical_detail: Option<String>,
    pub consent: Option<ConsentInput>,
    pub lawful_basis: Option<String>,
    /// RFC 3339; defaults to now.
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    /// YYYY-MM-DD, within a year.
    pub review_by: Option<String>,
    pub author: Option<AuthorInput>,
    /// Why this version was written (required when revising).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentInput {
    pub kind: String,
    pub recorded_on: String,
    pub recorded_by: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorInput {
    pub role: String,
    pub registration: RegistrationInput,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationInput {
    pub body: String,
    pub number: String,
}

/// A parsed version: its content, its author and why it was written.
#[derive(Debug, Clone)]
pub struct NoticeVersionInput {
    pub content: NoticeContent,
    pub author: Author,
    pub reason: Option<String>,
}

/// A withdrawal: who, and why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawalInput {
    pub author: AuthorInput,
    pub reason: String,
}

pub fn parse_author(a: &AuthorInput) -> Result<Author, ParseError> {
    let role = text("author.role", &a.role, 100)?;
    let registration = Registration::parse(&a.registration.body, &a.registration.number)?;
    Ok(Author { role, registration })
}

pub fn parse_reason(raw: &str) -> Result<String, ParseError> {
    text("reason", raw, REASON_MAX_CHARS)
}

impl NoticeInput {
    /// Checks every rule; returns all the broken ones.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<NoticeVersionInput, Vec<ParseError>> {
        let mut errors = Vec::new();
        macro_rules! take {
            ($e:expr $(,)?) => {
                match $e {
                    Ok(v) => Some(v),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            };
        }
        let required = |field: &str, v: &Option<String>| {
            v.clone()
                .ok_or_else(|| ParseError::new(field, "is required"))
        };

        let category =
            take!(required("category", &self.category).and_then(|c| NoticeCategory::parse(&c)));
        let instruction = take!(
            required("instruction", &self.instruction).and_then(|i| text(
                "instruction",
                &i,
                INSTRUCTION_MAX_CHARS
            )),
        );
        let audience = take!(parse_audience(self.audience.as_deref()));
        let level = take!(match &self.disclosure_level {
            None => Ok(DisclosureLevel::InstructionOnly),
            Some(l) => DisclosureLevel::parse(l),
        });
        let condition = take!(
            self.condition
                .as_deref()
                .map(|c| text("condition", c, CONDITION_MAX_CHARS))
                .transpose()
        )
        .flatten();
        let clinical_detail = take!(
            self.clinical_detail
                .as_deref()
                .map(|c| text("clinicalDetail", c, CLINICAL_DETAIL_MAX_CHARS))
                .transpose(),
        )
        .flatten();
        let consent = take!(
            self.consent
                .as_ref()
                .map(|c| -> Result<ConsentRecord, ParseError> {
                    let recorded_on = date("consent.recordedOn", &c.recorded_on)?;
                    if recorded_on > now.date_naive() {
                        return Err(ParseError::new(
                            "consent.recordedOn",
                            "must not be in the future",
                        ));
                    }
                    Ok(ConsentRecord {
                        kind: ConsentKind::parse(&c.kind)?,
                        recorded_on,
                        recorded_by: text("consent.recordedBy", &c.recorded_by, 200)?,
                    })
                })
                .transpose(),
        )
        .flatten();
        let lawful_basis = take!(
            required("lawfulBasis", &self.lawful_basis).and_then(|b| NoticeLawfulBasis::parse(&b))
        );
        let valid_from = take!(match &self.valid_from {
            None => Ok(now),
            Some(t) => timestamp("validFrom", t),
        });
        let valid_until = take!(
            self.valid_until
                .as_deref()
                .map(|t| timestamp("validUntil", t))
                .transpose()
        )
        .flatten();
        let review_by =
            take!(required("reviewBy", &self.review_by).and_then(|d| date("reviewBy", &d)));
        let author = take!(
            self.author
                .as_ref()
                .ok_or_else(|| ParseError::new(
                    "author",
                    "is required: role and professional registration"
                ))
                .and_then(parse_author),
        );
        let reason = take!(self.reason.as_deref().map(parse_reason).transpose()).flatten();

        // Rules across fields.
        if let Some(until) = valid_until {
            if until <= now {
                errors.push(ParseError::new("validUntil", "must be in the future"));
            } else if valid_from.is_some_and(|from| until <= from) {
                errors.push(ParseError::new("validUntil", "must be after validFrom"));
            }
        }
        if let Some(review) = review_by {
            let today = now.date_naive();
            if review < today {
                errors.push(ParseError::new("reviewBy", "must not be in the past"));
            } else if review > today + Duration::days(REVIEW_WITHIN_DAYS) {
                errors.push(ParseError::new(
                    "reviewBy",
                    "must be within a year: notices are reviewed at least yearly",
                ));
            }
        }
        if level == Some(DisclosureLevel::WithCondition) {
            if consent.is_none() {
                errors.push(ParseError::new(
                    "consent",
                    "with-condition needs the patient's consent or a recorded vital-interests decision",
                ));
            }
            if condition.is_none() {
                errors.push(ParseError::new(
                    "condition",
                    "with-condition needs the condition, in plain words",
                ));
            }
            if let (Some(c), Some(b)) = (&consent, lawful_basis)
                && c.kind == ConsentKind::VitalInterests
                && b != NoticeLawfulBasis::VitalInterests
            {
                errors.push(ParseError::new(
                    "lawfulBasis",
                    "a condition named on a vital-interests decision must use the vital-interests basis",
                ));
            }
        }
        if let Some(instruction) = &instruction {
            let lower = instruction.to_lowercase();
            // The instruction is what prison staff see: it must not carry what only the other views may.
            if level == Some(DisclosureLevel::InstructionOnly)
                && let Some(c) = &condition
                && lower.contains(&c.to_lowercase())
            {
                errors.push(ParseError::new(
                    "instruction",
                    "names the condition, but the notice is instruction-only: reword it, or record consent and use with-condition",
                ));
            }
            if let Some(d) = &clinical_detail
                && d.chars().count() >= 8
                && lower.contains(&d.to_lowercase())
            {
                errors.push(ParseError::new(
                    "instruction",
                    "repeats the clinical detail, which prison staff must never see",
                ));
            }
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        // Every value is present: a missing one pushed an error above.
        match (
            category,
            instruction,
            audience,
            level,
            lawful_basis,
            valid_from,
            review_by,
            author,
        ) {
            (
                Some(category),
                Some(instruction),
                Some(audience),
                Some(disclosure_level),
                Some(lawful_basis),
                Some(valid_from),
                Some(review_by),
                Some(author),
            ) => Ok(NoticeVersionInput {
                content: NoticeContent {
                    category,
                    instruction,
                    audience,
                    disclosure_level,
                    condition,
                    clinical_detail,
                    consent,
                    lawful_basis,
                    valid_from,
                    valid_until,
                    review_by,
                },
                author,
                reason,
            }),
            _ => Err(vec![ParseError::new("notice", "incomplete")]),
        }
    }
}

fn parse_audience(raw: Option<&[String]>) -> Result<Vec<Audience>, ParseError> {
    let raw = raw.ok_or_else(|| ParseError::new("audience", "is required: who must act on it"))?;
    if raw.is_empty() {
        return Err(ParseError::new(
            "audience",
            "must name at least one audience",
        ));
    }
    let mut list = Vec::new();
    for a in raw {
        let a = Audience::parse(a)?;
        if !list.contains(&a) {
            list.push(a);
        }
    }
    if list.contains(&Audience::HealthcareOnly) && list.len() > 1 {
        return Err(ParseError::new(
            "audience",
            "healthcare-only cannot be combined with prison audiences",
        ));
    }
    list.sort();
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-25T09:00:00Z".parse().unwrap()
    }

    fn input() -> NoticeInput {
        NoticeInput {
            category: Some("seizure-risk".into()),
            instruction: Some(
                "If found fitting: time it, recovery position, call Code Blue.".into(),
            ),
            audience: Some(vec!["wing".into(), "escort".into()]),
            disclosure_level: None,
            condition: Some("epilepsy".into()),
            clinical_detail: Some("Levetiracetam 500mg BD; last tonic-clonic 2026-10-01".into()),
            consent: None,
            lawful_basis: Some("direct-care".into()),
            valid_from: None,
            valid_until: None,
            review_by: Some("2027-05-25".into()),
            author: Some(AuthorInput {
                role: "Registered nurse".into(),
                registration: RegistrationInput {
                    body: "NMC".into(),
                    number: "12a3456e".into(),
                },
            }),
            reason: None,
        }
    }

    fn rules(i: &NoticeInput) -> Vec<String> {
        i.parse(now())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_good_notice_parses_with_defaults() {
        let v = input().parse(now()).unwrap();
        assert_eq!(v.content.disclosure_level, DisclosureLevel::InstructionOnly);
        assert_eq!(v.content.valid_from, now());
        assert_eq!(v.content.audience, vec![Audience::Wing, Audience::Escort]);
        assert_eq!(v.author.registration.number, "12A3456E");
        assert!(v.content.in_force(now()));
    }

    #[test]
    fn with_condition_needs_consent_and_a_condition() {
        let mut i = input();
        i.disclosure_level = Some("with-condition".into());
        i.condition = None;
        assert_eq!(rules(&i), vec!["consent", "condition"]);
    }

    #[test]
    fn vital_interests_consent_needs_the_vital_interests_basis() {
        let mut i = input();
        i.disclosure_level = Some("with-condition".into());
        i.consent = Some(ConsentInput {
            kind: "vital-interests".into(),
            recorded_on: "2026-11-20".into(),
            recorded_by: "Dr A Example".into(),
        });
        assert_eq!(rules(&i), vec!["lawfulBasis"]);
        i.lawful_basis = Some("vital-interests".into());
        assert!(i.parse(now()).is_ok());
    }

    #[test]
    fn an_instruction_only_notice_must_not_name_its_condition() {
        let mut i = input();
        i.instruction = Some("Has EPILEPSY: call Code Blue if fitting".into());
        assert_eq!(rules(&i), vec!["instruction"]);
    }

    #[test]
    fn the_instruction_must_not_repeat_the_clinical_detail() {
        let mut i = input();
        i.condition = None;
        i.clinical_detail = Some("Levetiracetam 500mg".into());
        i.instruction = Some("Give Levetiracetam 500mg at 08:00".into());
        assert_eq!(rules(&i), vec!["instruction"]);
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let i = NoticeInput::default();
        let fields = rules(&i);
        for f in [
            "category",
            "instruction",
            "audience",
            "lawfulBasis",
            "reviewBy",
            "author",
        ] {
            assert!(
                fields.contains(&f.to_owned()),
                "{f} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn lengths_dates_and_audiences_are_checked() {
        let mut i = input();
        i.instruction = Some("x".repeat(501));
        i.review_by = Some("2028-01-01".into());
        i.audience = Some(vec!["healthcare-only".into(), "wing".into()]);
        i.valid_until = Some("2026-11-24T00:00:00Z".into());
        assert_eq!(
            rules(&i),
            vec!["instruction", "audience", "validUntil", "reviewBy"]
        );
    }

    #[test]
    fn registration_numbers_follow_their_register() {
        assert!(Registration::parse("GMC", "1234567").is_ok());
        assert!(Registration::parse("GMC", "123456").is_err());
        assert!(Registration::parse("NMC", "12A3456E").is_ok());
        assert!(Registration::parse("NMC", "1234567E").is_err());
        assert!(Registration::parse("GPhC", "2012345").is_ok());
        assert!(Registration::parse("HCPC", "PA12345").is_ok());
        assert!(Registration::parse("BMA", "1234567").is_err());
    }

    #[test]
    fn urgency_puts_minutes_before_days() {
        assert!(NoticeCategory::SeizureRisk.urgency() < NoticeCategory::AllergyDiet.urgency());
        assert!(NoticeCategory::TimeCriticalMedication.needs_medication_continuity());
        assert!(!NoticeCategory::AllergyDiet.needs_medication_continuity());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(
            cat in "\\PC{0,30}", instr in "\\PC{0,600}", aud in proptest::collection::vec("\\PC{0,20}", 0..4),
            level in "\\PC{0,20}", review in "\\PC{0,12}", cond in proptest::option::of("\\PC{0,50}"),
        ) {
            let i = NoticeInput {
                category: Some(cat), instruction: Some(instr), audience: Some(aud),
                disclosure_level: Some(level), review_by: Some(review), condition: cond,
                ..input()
            };
            if let Ok(v) = i.parse(now()) {
                proptest::prop_assert!(v.content.instruction.chars().count() <= INSTRUCTION_MAX_CHARS);
                proptest::prop_assert!(!v.content.audience.is_empty());
                if v.content.disclosure_level == DisclosureLevel::WithCondition {
                    proptest::prop_assert!(v.content.consent.is_some());
                }
            }
        }
    }
}

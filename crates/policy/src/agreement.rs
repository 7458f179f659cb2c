//! An agreement: Cedar policies, validated against the schema (strict mode)
//! together with the baseline, before anything may use them.

use cedar_policy::{PolicySet, Schema, ValidationMode, Validator};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

pub(crate) static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::from_cedarschema_str(include_str!("../agreements/schema.cedarschema"))
        .expect("the shipped schema is valid")
        .0
});

pub const BASELINE: &str = include_str!("../agreements/baseline.cedar");

/// An agreement's text, identified by the hash of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The template it came from, or `custom`.
    pub name: String,
    pub text: Arc<str>,
    /// SHA-256 of the text, hex: a changed agreement is a new one.
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    #[error("the agreement does not parse as Cedar: {0}")]
    Parse(String),
    #[error("the agreement does not validate against the Gatehouse schema: {0}")]
    Invalid(String),
}

impl Agreement {
    pub fn new(name: &str, text: &str) -> Self {
        Self {
            name: name.to_owned(),
            text: Arc::from(text),
            hash: hex::encode(Sha256::digest(text.as_bytes())),
        }
    }

    /// The shipped template of this name.
    pub fn template(name: &str) -> Option<Self> {
        crate::templates::template(name).map(|t| Self::new(t.name, t.text))
    }

    /// Parses and validates the agreement with the baseline, giving the policy set to evaluate.
    /// Policy ids are the `@id` annotations, prefixed with the agreement name.
    pub fn compile(&self) -> Result<PolicySet, AgreementError> {
        let mut set = PolicySet::new();
        for (prefix, text) in [("baseline", BASELINE), (self.name.as_str(), &*self.text)] {
            let parsed =
                PolicySet::from_str(text).map_err(|e| AgreementError::Parse(format!("{e:?}")))?;
            for policy in parsed.policies() {
                let id = policy
                    .annotation("id")
                    .map(str::to_owned)
                    .unwrap_or_else(|| policy.id().to_string());
                let renamed = policy.new_id(cedar_policy::PolicyId::new(format!("{prefix}/{id}")));
                set.add(renamed)
                    .map_err(|e| AgreementError::Parse(format!("{e}")))?;
            }
        }
        let result = Validator::new(SCHEMA.clone()).validate(&set, ValidationMode::Strict);
        if !result.validation_passed() {
            let messages: Vec<String> =
                result.validation_errors().map(|e| format!("{e}")).collect();
            return Err(AgreementError::Invalid(messages.join("; ")));
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_validates() {
        for t in crate::templates::TEMPLATES {
            Agreement::new(t.name, t.text)
                .compile()
                .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        }
    }

    #[test]
    fn an_invalid_agreement_is_refused_with_the_validator_message() {
        let bad = r#"permit (principal, action == Gatehouse::Action::"read-person", resource) when { resource.nonsense == 1 };"#;
        let e = Agreement::new("custom", bad).compile().unwrap_err();
        assert!(matches!(e, AgreementError::Invalid(_)), "{e}");
        assert!(e.to_string().contains("nonsense"), "{e}");
        let e = Agreement::new("custom", "permit (").compile().unwrap_err();
        assert!(matches!(e, AgreementError::Parse(_)), "{e}");
        let e = Agreement::new(
            "custom",
            r#"permit (principal, action == Gatehouse::Action::"fly", resource);"#,
        )
        .compile()
        .unwrap_err();
        assert!(matches!(e, AgreementError::Invalid(_)), "{e}");
    }
}

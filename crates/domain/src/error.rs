//! The single parse error of the domain. It always names the field and the
//! rule that was broken, so an API caller can fix the input without guessing.

use std::fmt;

/// A value from outside failed a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The field as the caller named it, e.g. `prisonNumber` or `movement.establishment`.
    pub field: String,
    /// The rule broken, in plain words.
    pub rule: String,
}

impl ParseError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The same error, with its field placed under a parent (`alert` + `code` → `alert.code`).
    pub fn within(mut self, parent: &str) -> Self {
        if !parent.is_empty() {
            self.field = format!("{parent}.{}", self.field);
        }
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

impl std::error::Error for ParseError {}

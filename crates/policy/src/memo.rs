//! Cedar's answers, remembered. A decision is a pure function of the
//! agreement's content (its hash), the principal's facts, the action, the
//! resource's facts, the purpose and the break-glass and staff flags: the
//! same inputs always give the same answer. The delivery worker asks the same
//! question for every event of a kind (fan-out, view and disclosure record),
//! and a page asks it per section, so answers are reused rather than
//! re-evaluated. A changed agreement has a new hash, so it never meets an old
//! answer; the memo is bounded and simply emptied when full.

use crate::{Action, Request, Resource};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::RwLock;

/// Answers kept before the memo is emptied (each a short key and a few policy ids).
pub const CAPACITY: usize = 65_536;

/// One evaluation's answer: allowed, and the policies that decided it.
pub type Answer = (bool, Vec<String>);

#[derive(Default)]
pub struct DecisionMemo {
    answers: RwLock<HashMap<String, Answer>>,
}

impl DecisionMemo {
    pub fn get(&self, key: &str) -> Option<Answer> {
        self.answers.read().expect("memo lock").get(key).cloned()
    }

    pub fn put(&self, key: String, answer: Answer) {
        let mut answers = self.answers.write().expect("memo lock");
        if answers.len() >= CAPACITY {
            answers.clear();
        }
        answers.insert(key, answer);
    }

    pub fn len(&self) -> usize {
        self.answers.read().expect("memo lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every input of one evaluation of `action` for `r`, as one string. Fields are
/// separated by a control character no code, name or id contains, and lists
/// carry their length, so two different inputs never share a key.
pub fn key(r: &Request<'_>, action: Action) -> String {
    const SEP: char = '\u{1f}';
    let p = r.principal;
    let mut k = String::with_capacity(160);
    let codes = p.scope.to_codes();
    let _ = write!(
        k,
        "{}{SEP}{}{SEP}{}{SEP}{}{SEP}",
        p.agreement.hash,
        p.consumer,
        p.org_type.as_str(),
        codes.len()
    );
    for c in &codes {
        let _ = write!(k, "{c}{SEP}");
    }
    let _ = write!(
        k,
        "{}{SEP}{}{SEP}{}{SEP}{}{SEP}",
        p.on_behalf_of.is_some(),
        action.as_str(),
        r.purpose.as_str(),
        r.break_glass
    );
    match r.resource {
        Resource::Person {
            establishment,
            custody,
            incoming,
        } => {
            let _ = write!(
                k,
                "person{SEP}{}{SEP}{}{SEP}{}",
                establishment.as_ref().map(|e| e.as_str()).unwrap_or(""),
                custody.map(|c| c.as_str()).unwrap_or("unknown"),
                incoming.as_ref().map(|e| e.as_str()).unwrap_or("")
            );
        }
        Resource::Notice(n) => {
            let _ = write!(
                k,
                "notice{SEP}{}{SEP}{}{SEP}{}{SEP}{}{SEP}",
                n.establishment.as_ref().map(|e| e.as_str()).unwrap_or(""),
                n.disclosure_level,
                n.consent_recorded,
                n.audience.len()
            );
            for a in &n.audience {
                let _ = write!(k, "{a}{SEP}");
            }
        }
        Resource::System(kind) => {
            let _ = write!(k, "system{SEP}{kind}");
        }
    }
    k
}

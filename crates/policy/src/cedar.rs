//! The Cedar authorizer. Agreements are compiled once per content hash and
//! cached, so changing a consumer's agreement takes effect at its next request:
//! no restart, no deploy. Answers are remembered by all their inputs
//! ([`crate::memo`]), so a question asked again is not evaluated again.

use crate::agreement::SCHEMA;
use crate::memo::{self, Answer, DecisionMemo};
use crate::{Action, Agreement, AgreementError, Authorizer, Decision, Purpose, Request, Resource};
use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, RestrictedExpression,
};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, RwLock};

#[derive(Default)]
pub struct CedarAuthorizer {
    compiled: RwLock<HashMap<String, Arc<PolicySet>>>,
    engine: cedar_policy::Authorizer,
    memo: DecisionMemo,
}

/// An entity uid from a type and any id: built, never parsed, so no id can break it.
fn uid(kind: &str, id: &str) -> EntityUid {
    let type_name = EntityTypeName::from_str(&format!("Gatehouse::{kind}"))
        .expect("Gatehouse entity type names are valid");
    EntityUid::from_type_name_and_id(type_name, EntityId::new(id))
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn set_of(items: &[String]) -> RestrictedExpression {
    RestrictedExpression::new_set(items.iter().map(|s| string(s)))
}

impl CedarAuthorizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The compiled policy set of an agreement, from the cache or freshly validated.
    pub fn policies(&self, agreement: &Agreement) -> Result<Arc<PolicySet>, AgreementError> {
        if let Some(set) = self
            .compiled
            .read()
            .expect("cache lock")
            .get(&agreement.hash)
        {
            return Ok(set.clone());
        }
        let set = Arc::new(agreement.compile()?);
        self.compiled
            .write()
            .expect("cache lock")
            .insert(agreement.hash.clone(), set.clone());
        Ok(set)
    }

    /// How many answers are remembered (for tests and metrics).
    pub fn remembered(&self) -> usize {
        self.memo.len()
    }

    /// [`Self::evaluate`], or its remembered answer for the same inputs.
    /// `set` is the agreement's, whose hash is part of the key.
    fn evaluate_remembered(
        &self,
        set: &PolicySet,
        r: &Request<'_>,
        action: Action,
    ) -> Result<Answer, String> {
        let key = memo::key(r, action);
        if let Some(answer) = self.memo.get(&key) {
            return Ok(answer);
        }
        let answer = self.evaluate(set, r, action)?;
        self.memo.put(key, answer.clone());
        Ok(answer)
    }

    fn evaluate(
        &self,
        set: &PolicySet,
        r: &Request<'_>,
        action: Action,
    ) -> Result<(bool, Vec<String>), String> {
        let p = r.principal;
        let codes: Vec<String> = p
            .scope
            .to_codes()
            .into_iter()
            .filter(|c| c != "*")
            .collect();
        let principal_uid = uid("Consumer", &p.consumer);
        let principal = Entity::new(
            principal_uid.clone(),
            HashMap::from([
                ("orgType".to_owned(), string(p.org_type.as_str())),
                ("establishments".to_owned(), set_of(&codes)),
                (
                    "allEstablishments".to_owned(),
                    RestrictedExpression::new_bool(p.scope == gatehouse_domain::Scope::All),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(|e| e.to_string())?;
        let (resource_uid, resource) = match r.resource {
            Resource::Person {
                establishment,
                custody,
                incoming,
            } => {
                let u = uid("Person", "subject");
                let attrs = HashMap::from([
                    (
                        "establishment".to_owned(),
                        string(establishment.as_ref().map(|e| e.as_str()).unwrap_or("")),
                    ),
                    (
                        "custodyStatus".to_owned(),
                        string(custody.map(|c| c.as_str()).unwrap_or("unknown")),
                    ),
                    (
                        "incomingEstablishment".to_owned(),
                        string(incoming.as_ref().map(|e| e.as_str()).unwrap_or("")),
                    ),
                ]);
                (
                    u.clone(),
                    Entity::new(u, attrs, HashSet::new()).map_err(|e| e.to_string())?,
                )
            }
            Resource::Notice(n) => {
                let u = uid("SafetyNotice", "subject");
                let attrs = HashMap::from([
                    (
                        "establishment".to_owned(),
                        string(n.establishment.as_ref().map(|e| e.as_str()).unwrap_or("")),
                    ),
                    ("disclosureLevel".to_owned(), string(&n.disclosure_level)),
                    (
                        "consentRecorded".to_owned(),
                        RestrictedExpression::new_bool(n.consent_recorded),
                    ),
                    ("audience".to_owned(), set_of(&n.audience)),
                ]);
                (
                    u.clone(),
                    Entity::new(u, attrs, HashSet::new()).map_err(|e| e.to_string())?,
                )
            }
            Resource::System(kind) => {
                let u = uid("System", kind);
                let attrs = HashMap::from([("kind".to_owned(), string(kind))]);
                (
                    u.clone(),
                    Entity::new(u, attrs, HashSet::new()).map_err(|e| e.to_string())?,
                )
            }
        };
        let entities = Entities::from_entities([principal, resource], Some(&SCHEMA))
            .map_err(|e| e.to_string())?;
        let context = Context::from_pairs([
            ("purpose".to_owned(), string(r.purpose.as_str())),
            (
                "breakGlass".to_owned(),
                RestrictedExpression::new_bool(r.break_glass),
            ),
            (
                "staffNamed".to_owned(),
                RestrictedExpression::new_bool(p.on_behalf_of.is_some()),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let action_uid = EntityUid::from_type_name_and_id(
            EntityTypeName::from_str("Gatehouse::Action").expect("valid"),
            EntityId::new(action.as_str()),
        );
        let request = cedar_policy::Request::new(
            principal_uid,
            action_uid,
            resource_uid,
            context,
            Some(&SCHEMA),
        )
        .map_err(|e| e.to_string())?;
        let response = self.engine.is_authorized(&request, set, &entities);
        let mut ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        // Cedar gives the deciding policies as a set, in no fixed order: sorted,
        // the same question always gets the same answer and the same record.
        ids.sort_unstable();
        Ok((response.decision() == cedar_policy::Decision::Allow, ids))
    }
}

impl Authorizer for CedarAuthorizer {
    fn decide(&self, r: &Request<'_>) -> Decision {
        let set = match self.policies(&r.principal.agreement) {
            Ok(set) => set,
            Err(e) => {
                return Decision::Deny {
                    policies: vec!["agreement-invalid".into()],
                    reason: e.to_string(),
                };
            }
        };
        // A person outside what the consumer may see does not exist for it.
        if matches!(r.resource, Resource::Person { .. }) && r.action != Action::SeePerson {
            match self.evaluate_remembered(&set, r, Action::SeePerson) {
                Ok((true, _)) => {}
                Ok((false, ids)) => return Decision::Hidden { policies: ids },
                Err(e) => {
                    return Decision::Deny {
                        policies: vec![],
                        reason: e,
                    };
                }
            }
        }
        match self.evaluate_remembered(&set, r, r.action) {
            Ok((true, ids)) => Decision::Permit { policies: ids },
            Ok((false, ids)) if r.action == Action::SeePerson => Decision::Hidden { policies: ids },
            Ok((false, ids)) if ids.is_empty() => Decision::Deny {
                policies: ids,
                reason: format!(
                    "the agreement does not allow {} for the purpose {}",
                    r.action.as_str(),
                    r.purpose.as_str()
                ),
            },
            Ok((false, ids)) => Decision::Deny {
                reason: format!("forbidden by {}", ids.join(", ")),
                policies: ids,
            },
            Err(e) => Decision::Deny {
                policies: vec![],
                reason: format!("the request could not be evaluated: {e}"),
            },
        }
    }
}

/// The purpose a consumer of this kind acts for when it names none.
pub fn default_purpose(org: gatehouse_domain::OrgType) -> Purpose {
    Purpose::default_for(org)
}

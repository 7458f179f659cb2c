//! The lawful basis recorded with every disclosure, by purpose of use.
//! docs/governance.md explains each.

use gatehouse_policy::Purpose;

pub fn for_purpose(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::DirectCare => {
            "UK GDPR Art 6(1)(e) public task and Art 9(2)(h) provision of health care; common-law duty of confidentiality met by implied consent for direct care"
        }
        Purpose::Safety => {
            "UK GDPR Art 6(1)(e) public task and Art 9(2)(g) substantial public interest (DPA 2018 Sch 1 paras 6 and 18: statutory purposes, safeguarding individuals at risk)"
        }
        Purpose::Emergency => {
            "UK GDPR Art 6(1)(d) and Art 9(2)(c) vital interests (break-glass), subject to review"
        }
        Purpose::Governance => {
            "UK GDPR Art 6(1)(c) legal obligation and Art 9(2)(h) management of health care systems (audit of disclosures)"
        }
        Purpose::Operations => {
            "UK GDPR Art 6(1)(e) public task (custody operations: Prison Act 1952)"
        }
    }
}

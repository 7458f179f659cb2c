//! Synthetic NHS numbers, only ever from the range set aside for testing.
//!
//! NHS numbers beginning `999` (999 000 0000 – 999 999 9999) are reserved for
//! test data and are never issued to a patient, so a synthetic record can
//! never be mistaken for, or joined to, a real person. Every number here is
//! built from a nine-digit prefix in that range with
//! [`NhsNumber::from_prefix`], which appends the Modulus 11 check digit;
//! prefixes whose check value is 10 (about one in eleven) have no valid
//! number and are skipped.
//!
//! The range is split in two so fixed and generated people never collide:
//! - **scenario block** `999 000 000x` – `999 000 999x`: the fixed scenario
//!   people ([`crate::scenario`]), by their position;
//! - **estate block** `999 001 000x` – `999 999 999x`: generated people, in an
//!   order scrambled by the estate's seed. Numbers are unique per estate up
//!   to [`estate_capacity`] people (about 908,000); beyond that they repeat.

use gatehouse_domain::NhsNumber;
use std::sync::OnceLock;

/// The first nine-digit prefix of the test range (999 000 000).
pub const TEST_RANGE_FIRST_PREFIX: u32 = 999_000_000;
/// The last nine-digit prefix of the test range (999 999 999).
pub const TEST_RANGE_LAST_PREFIX: u32 = 999_999_999;
/// Generated people's numbers start at this prefix; those below are for the scenario people.
pub const ESTATE_BLOCK_FIRST_PREFIX: u32 = 999_001_000;

/// Whether a number lies in the test range (its first three digits are 999).
pub fn is_test_number(n: &NhsNumber) -> bool {
    n.as_str().starts_with("999")
}

fn valid_prefixes(from: u32, to: u32) -> Vec<u32> {
    (from..=to)
        .filter(|p| NhsNumber::from_prefix(*p).is_some())
        .collect()
}

fn estate_block() -> &'static [u32] {
    static BLOCK: OnceLock<Vec<u32>> = OnceLock::new();
    BLOCK.get_or_init(|| valid_prefixes(ESTATE_BLOCK_FIRST_PREFIX, TEST_RANGE_LAST_PREFIX))
}

/// How many distinct valid numbers the estate block holds.
pub fn estate_capacity() -> usize {
    estate_block().len()
}

/// The `slot`-th valid number of the scenario block (slot 0 is the first
/// valid number at or after 999 000 000). Panics past the block's ~900 numbers.
pub fn scenario_number(slot: usize) -> NhsNumber {
    let mut seen = 0;
    for p in TEST_RANGE_FIRST_PREFIX..ESTATE_BLOCK_FIRST_PREFIX {
        if let Some(n) = NhsNumber::from_prefix(p) {
            if seen == slot {
                return n;
            }
            seen += 1;
        }
    }
    panic!("the scenario block holds only {seen} numbers");
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The number for generated person `index` under `seed`: a fixed permutation
/// of the estate block (multiply by a step coprime with its size, add a
/// seed-chosen offset), so distinct indices get distinct numbers up to
/// [`estate_capacity`], and the order looks scattered rather than sequential.
pub fn estate_number(seed: u64, index: u64) -> NhsNumber {
    let block = estate_block();
    let n = block.len() as u64;
    let mut step = 611_953 % n; // a prime, well away from any small factor
    while gcd(step, n) != 1 {
        step += 1;
    }
    let offset = crate::mix(seed ^ 0x4e48_5321) % n;
    let k = ((index % n) * step + offset) % n;
    NhsNumber::from_prefix(block[k as usize]).expect("the block holds valid prefixes only")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_and_estate_blocks_are_valid_and_disjoint() {
        let s = scenario_number(0);
        assert!(s.as_str().starts_with("999000"), "{s:?}");
        assert!(estate_capacity() > 900_000);
        let mut seen = std::collections::HashSet::new();
        for i in 0..5_000 {
            let n = estate_number(42, i);
            assert!(is_test_number(&n));
            assert!(n.as_str() >= "9990010000", "{n:?}");
            assert_eq!(NhsNumber::parse(n.as_str()).unwrap(), n);
            assert!(seen.insert(n));
        }
    }
}

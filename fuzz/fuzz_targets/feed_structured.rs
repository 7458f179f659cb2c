//! The prison feed from structure-aware input: JSON items built from the
//! feed's known keys and plausible values (see `gatehouse_fuzz::structured`),
//! parsed with `feed::parse_item` and checked with the feed invariants.
#![no_main]

use gatehouse_fuzz::structured::{FeedInput, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: FeedInput| run(&input));

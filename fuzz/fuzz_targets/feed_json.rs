//! The prison feed from raw bytes: `serde_json::from_slice`, then
//! `feed::parse_item` on the value (on each element, for an array), with
//! the invariants of `gatehouse_fuzz::feed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatehouse_fuzz::feed::run_bytes(data));

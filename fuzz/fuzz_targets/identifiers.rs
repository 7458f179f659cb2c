//! Identifier and detail parsers: prison number, NHS number, establishment
//! code, cell location, alert code, calendar date and person details. The
//! first byte picks the parser; see `gatehouse_fuzz::identifiers`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatehouse_fuzz::identifiers::run(data));

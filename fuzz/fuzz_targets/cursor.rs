//! The pagination cursor API callers send back: `gatehouse_store::Cursor::decode`,
//! and the round trip through `encode`. See `gatehouse_fuzz::cursor`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gatehouse_fuzz::cursor::run(data));

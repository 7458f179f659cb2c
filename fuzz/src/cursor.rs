//! Invariants of the pagination cursor, `gatehouse_store::Cursor`.
//!
//! A cursor comes back from API callers as an opaque string, so `decode` is a
//! parser of outside input. Input format: the first byte picks the mode.
//! - even: the rest is the cursor text a caller sent (UTF-8, invalid bytes
//!   replaced); whatever `decode` accepts must survive `encode` then `decode`
//!   unchanged, and its encoding must be plain URL-safe base64.
//! - odd: the next 8 bytes are `seq` (little-endian), the rest is `key`;
//!   any cursor the server could build must decode back to itself.

use gatehouse_store::Cursor;

pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let raw = String::from_utf8_lossy(rest);
        if let Some(c) = Cursor::decode(&raw) {
            round_trip(&c);
        }
    } else {
        let mut seq = [0u8; 8];
        let n = rest.len().min(8);
        seq[..n].copy_from_slice(&rest[..n]);
        let key = String::from_utf8_lossy(&rest[n..]).into_owned();
        round_trip(&Cursor {
            key,
            seq: i64::from_le_bytes(seq),
        });
    }
}

fn round_trip(c: &Cursor) {
    let encoded = c.encode();
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "cursor encoding {encoded:?} is not URL-safe base64 without padding"
    );
    assert_eq!(
        Cursor::decode(&encoded).as_ref(),
        Some(c),
        "cursor does not survive encode then decode (encoded {encoded:?})"
    );
    // Encoding is a function of the cursor: the same value, the same text.
    assert_eq!(Cursor::decode(&encoded).map(|d| d.encode()), Some(encoded));
}

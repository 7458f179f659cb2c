//! Keyset pagination with opaque cursors. A cursor encodes the sort key of the
//! last item returned; the next page starts strictly after it, so inserts
//! between calls never cause an item to be skipped or repeated.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// The most a page may hold, whatever the caller asks.
pub const MAX_LIMIT: i64 = 500;
pub const DEFAULT_LIMIT: i64 = 50;

/// Where a page starts: after the (time key, sequence) of the last item seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub seq: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.seq, self.key))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (seq, key) = text.split_once('|')?;
        Some(Self {
            key: key.to_owned(),
            seq: seq.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<Cursor>,
    pub limit: i64,
}

impl PageRequest {
    pub fn first(limit: i64) -> Self {
        Self {
            after: None,
            limit: limit.clamp(1, MAX_LIMIT),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when there may be more: pass it as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}

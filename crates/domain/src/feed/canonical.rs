//! Canonical JSON for content hashing: object keys sorted, no whitespace. Two
//! items that differ only in key order or spacing hash the same.

use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

pub fn sha256_hex(value: &Value) -> String {
    let mut s = String::new();
    write(value, &mut s);
    hex::encode(Sha256::digest(s.as_bytes()))
}

//! Resumes the audit log's appender (hash chain and Merkle frontier, from
//! `gatehouse-audit`) from the head row held in the database, and gives back
//! the head to store after appending.

use crate::model::AuditHead;
use gatehouse_audit::log::Appender as LogAppender;
use gatehouse_audit::merkle::Hash;

pub(crate) struct Appender(LogAppender);

fn from_hex(s: &str) -> Result<Hash, String> {
    let bytes = hex::decode(s).map_err(|e| format!("bad hex in audit head: {e}"))?;
    bytes
        .try_into()
        .map_err(|_| "a hash in the audit head is not 32 bytes".to_owned())
}

impl Appender {
    pub(crate) fn resume(head: &AuditHead) -> Result<Self, String> {
        let nodes = head
            .frontier
            .iter()
            .map(|h| from_hex(h))
            .collect::<Result<Vec<_>, _>>()?;
        LogAppender::resume(head.size as u64, nodes, from_hex(&head.chain)?)
            .map(Self)
            .ok_or_else(|| "the audit head's frontier does not fit its size".to_owned())
    }

    /// Appends one record's content: its sequence number, leaf hash and chain (hex).
    pub(crate) fn append(&mut self, content: &[u8]) -> (i64, String, String) {
        let a = self.0.append(content);
        (a.seq, hex::encode(a.leaf_hash), hex::encode(a.chain))
    }

    pub(crate) fn head(&self) -> AuditHead {
        AuditHead {
            size: self.0.size() as i64,
            chain: hex::encode(self.0.chain_head()),
            frontier: self.0.frontier().nodes().iter().map(hex::encode).collect(),
        }
    }
}

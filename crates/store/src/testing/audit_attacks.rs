//! The attacks an operator with write access to the database could make on
//! the disclosure audit, scripted for the tests that show they are caught
//! (by witnessed checkpoints, never by the database alone). Each leaves a
//! log that agrees with itself: every leaf hash, chain value and the head
//! are recomputed, as a careful attacker would.

use super::execute_raw;
use gatehouse_audit::merkle::{Frontier, Hash, leaf_hash};
use gatehouse_audit::{CHAIN_START, chain_hash};

/// Rewrites record `seq` with `edit`, recomputes every leaf hash and chain
/// value from there and the head's chain and frontier, then deletes every
/// signed checkpoint. Panics if `edit` leaves the record as it was: an
/// attack that changes nothing would prove nothing.
pub async fn rewrite_record(url: &str, seq: i64, edit: impl Fn(&str) -> String) {
    let store = crate::connect(url).await.expect("the store opens");
    let rows = store.audit_rows(0, 100_000).await.expect("the audit reads");
    let mut frontier = Frontier::new();
    let mut chain = CHAIN_START;
    for row in &rows {
        let content = if row.seq == seq {
            let edited = edit(&row.content);
            assert_ne!(edited, row.content, "the edit changes the record");
            edited
        } else {
            row.content.clone()
        };
        let leaf = leaf_hash(content.as_bytes());
        chain = chain_hash(&chain, &leaf);
        frontier.push(leaf);
        if row.seq >= seq {
            let sql = format!(
                "UPDATE audit_log SET content = '{}', leaf_hash = '{}', chain = '{}' WHERE seq = {}",
                content.replace('\'', "''"),
                hex::encode(leaf),
                hex::encode(chain),
                row.seq
            );
            execute_raw(url, &sql).await;
        }
    }
    set_head(url, rows.len() as i64, &chain, &frontier).await;
    execute_raw(url, "DELETE FROM audit_checkpoints").await;
}

/// Deletes the records after `keep` and the checkpoints past them, and
/// rewinds the head to record `keep`.
pub async fn truncate_log(url: &str, keep: i64) {
    let store = crate::connect(url).await.expect("the store opens");
    let rows = store.audit_rows(0, keep).await.expect("the audit reads");
    let mut frontier = Frontier::new();
    for row in &rows {
        frontier.push(to_hash(&row.leaf_hash));
    }
    let chain = to_hash(&rows.last().expect("records to keep").chain);
    execute_raw(url, &format!("DELETE FROM audit_log WHERE seq > {keep}")).await;
    execute_raw(
        url,
        &format!("DELETE FROM audit_checkpoints WHERE size > {keep}"),
    )
    .await;
    set_head(url, keep, &chain, &frontier).await;
}

fn to_hash(hex_text: &str) -> Hash {
    hex::decode(hex_text)
        .expect("stored hashes are hex")
        .try_into()
        .expect("stored hashes are 32 bytes")
}

async fn set_head(url: &str, size: i64, chain: &Hash, frontier: &Frontier) {
    let nodes: Vec<String> = frontier.nodes().iter().map(hex::encode).collect();
    let sql = format!(
        "UPDATE audit_head SET size = {size}, chain = '{}', frontier = '{}' WHERE id = 1",
        hex::encode(chain),
        serde_json::to_string(&nodes).expect("hex strings serialise")
    );
    execute_raw(url, &sql).await;
}

//! Each kind of tampering with stored rows and checkpoints is named with the
//! right kind and the first bad seq.

mod common;

use common::*;
use gatehouse_audit::{FindingKind::*, Signer, Verifier, leaf_hash};
use proptest::prelude::*;

#[test]
fn clean_log_verifies() {
    let log = build(95, 10, true);
    let r = verify(&log).unwrap();
    assert_eq!(r.records, 95);
    assert_eq!(r.checkpoints_verified, 10);
    assert_eq!(r.last_checkpoint_size, 95);
    assert_eq!(r.unanchored, 0);
    assert_eq!(r.root, log.checkpoints.last().unwrap().checkpoint.root);
    assert_eq!(r.chain_head, log.rows.last().unwrap().chain);

    // Without a final checkpoint the tail is reported as unanchored.
    let log = build(95, 10, false);
    let r = verify(&log).unwrap();
    assert_eq!(
        (r.checkpoints_verified, r.last_checkpoint_size, r.unanchored),
        (9, 90, 5)
    );
    let strict = Verifier::new(log.signer.public_key()).require_checkpoint_at_end(true);
    let f = verify_with(&log, strict).unwrap_err();
    assert_eq!((f.kind, f.seq), (Inserted, 91));
}

#[test]
fn empty_log_verifies() {
    let log = build(0, 10, false);
    let r = verify(&log).unwrap();
    assert_eq!(r.records, 0);
    assert_eq!(r.root, gatehouse_audit::EMPTY_ROOT);
}

#[test]
fn checkpoints_can_be_fed_by_the_caller_as_the_size_reaches_them() {
    let log = build(50, 7, true);
    let mut v = Verifier::new(log.signer.public_key());
    let mut cps = log.checkpoints.iter().peekable();
    for r in &log.rows {
        v.push(r.stored()).unwrap();
        while let Some(cp) = cps.next_if(|cp| cp.checkpoint.size == v.size()) {
            v.check_checkpoint(cp).unwrap();
        }
    }
    let rep = v.finish().unwrap();
    assert_eq!(rep.checkpoints_verified, 8);
}

#[test]
fn a_checkpoint_given_too_late_is_an_error() {
    let log = build(20, 10, false);
    let mut v = Verifier::new(log.signer.public_key());
    for r in &log.rows[..15] {
        v.push(r.stored()).unwrap();
    }
    let f = v.check_checkpoint(&log.checkpoints[0]).unwrap_err();
    assert_eq!(f.kind, CheckpointMismatch);
    assert!(f.detail.contains("after the verifier had passed"), "{f}");
}

#[test]
fn edited_content_is_altered() {
    for s in [1, 2, 37, 40, 41, 60] {
        let mut log = build(60, 10, true);
        log.rows[ix(s)].content[5] ^= 0x20;
        let f = expect(&log, Altered, s);
        assert!(f.detail.contains("content was edited"), "{f}");
    }
}

#[test]
fn edited_content_with_recomputed_leaf_hash_is_altered() {
    let mut log = build(60, 10, true);
    let r = &mut log.rows[ix(23)];
    r.content = b"{\"forged\":true}".to_vec();
    r.leaf_hash = leaf_hash(&r.content);
    expect(&log, Altered, 23);
}

#[test]
fn changed_seq_is_altered() {
    let mut log = build(30, 10, true);
    log.rows[ix(12)].seq = 99;
    expect(&log, Altered, 12);
}

#[test]
fn deleted_rows_are_deleted() {
    for s in [1, 2, 10, 11, 29] {
        let mut log = build(30, 10, true);
        log.rows.remove(ix(s));
        let f = expect(&log, Deleted, s);
        assert!(f.detail.contains(&format!("record {s} is missing")), "{f}");
    }
    // Several in a row.
    let mut log = build(30, 10, true);
    log.rows.drain(ix(14)..ix(17));
    let f = expect(&log, Deleted, 14);
    assert!(f.detail.contains("records 14 to 16 are missing"), "{f}");
}

#[test]
fn rows_cut_off_the_end_are_deleted() {
    let mut log = build(30, 10, true);
    log.rows.truncate(27);
    let f = expect(&log, Deleted, 28);
    assert!(f.detail.contains("records 28 to 30 are missing"), "{f}");

    let mut log = build(30, 10, true);
    log.rows.truncate(29);
    expect(&log, Deleted, 30);
}

#[test]
fn deleted_row_with_later_seqs_renumbered_is_named_at_its_seq() {
    let mut log = build(30, 10, true);
    log.rows.remove(ix(12));
    for r in log.rows.iter_mut().filter(|r| r.seq > 12) {
        r.seq -= 1;
    }
    // Indistinguishable from a replaced leaf hash (module docs): named at
    // seq 12 as Altered, and the detail says both.
    let f = expect(&log, Altered, 12);
    assert!(f.detail.contains("deleted"), "{f}");
}

#[test]
fn inserted_row_with_shifted_seqs_is_inserted() {
    for s in [1, 2, 9, 10, 11, 25] {
        for recompute in [false, true] {
            let mut log = build(30, 10, true);
            let prev = chain_before(&log.rows, s);
            let f = forged(s, recompute.then_some(&prev));
            insert_shifting(&mut log.rows, s, f);
            expect(&log, Inserted, s);
        }
    }
}

#[test]
fn several_inserted_rows_are_inserted_at_the_first() {
    for recompute in [false, true] {
        let mut log = build(30, 10, true);
        let mut prev = chain_before(&log.rows, 13);
        for k in 0..3 {
            let f = forged(13 + k, recompute.then_some(&prev));
            prev = f.chain;
            insert_shifting(&mut log.rows, 13 + k, f);
        }
        expect(&log, Inserted, 13);
    }
}

#[test]
fn inserted_row_with_duplicate_seq_is_inserted() {
    for recompute in [false, true] {
        // After the genuine row (rows ordered by seq, ties by insertion).
        let mut log = build(30, 10, true);
        let prev = chain_before(&log.rows, 8);
        log.rows
            .insert(ix(9), forged(8, recompute.then_some(&prev)));
        let f = expect(&log, Inserted, 8);
        assert!(f.detail.contains("second record with seq 8"), "{f}");

        // Before the genuine row.
        let mut log = build(30, 10, true);
        log.rows
            .insert(ix(8), forged(8, recompute.then_some(&prev)));
        expect(&log, Inserted, 8);

        // At the end of storage order (rows read by physical order).
        let mut log = build(30, 10, true);
        log.rows.push(forged(8, recompute.then_some(&prev)));
        expect(&log, Inserted, 8);
    }
}

#[test]
fn appended_forged_row_is_inserted() {
    // Chain value not recomputed: caught by the chain.
    let mut log = build(30, 10, true);
    log.rows.push(forged(31, None));
    expect(&log, Inserted, 31);

    // Recomputed: nothing in the rows shows it; it is not covered by a
    // checkpoint, which a strict verification refuses.
    let mut log = build(30, 10, true);
    let prev = log.rows[29].chain;
    log.rows.push(forged(31, Some(&prev)));
    let r = verify(&log).unwrap();
    assert_eq!(r.unanchored, 1);
    let strict = Verifier::new(log.signer.public_key()).require_checkpoint_at_end(true);
    let f = verify_with(&log, strict).unwrap_err();
    assert_eq!((f.kind, f.seq), (Inserted, 31));
}

#[test]
fn swapped_rows_are_reordered() {
    for (a, b) in [(1, 2), (5, 6), (10, 11), (3, 17), (1, 30), (29, 30)] {
        // Whole rows swapped (their seqs exchanged), read in seq order.
        let mut log = build(30, 10, true);
        log.rows.swap(ix(a), ix(b));
        log.rows[ix(a)].seq = a;
        log.rows[ix(b)].seq = b;
        expect(&log, Reordered, a);

        // Rows kept their seqs but are stored in the other order (read in
        // storage order).
        let mut log = build(30, 10, true);
        log.rows.swap(ix(a), ix(b));
        expect(&log, Reordered, a);

        // Only the content column swapped.
        let mut log = build(30, 10, true);
        let ca = log.rows[ix(a)].content.clone();
        log.rows[ix(a)].content = log.rows[ix(b)].content.clone();
        log.rows[ix(b)].content = ca;
        let f = expect(&log, Reordered, a);
        assert!(f.detail.contains("swapped"), "{f}");

        // Content and leaf hash swapped, chain values left.
        let mut log = build(30, 10, true);
        let (ca, la) = (log.rows[ix(a)].content.clone(), log.rows[ix(a)].leaf_hash);
        log.rows[ix(a)].content = log.rows[ix(b)].content.clone();
        log.rows[ix(a)].leaf_hash = log.rows[ix(b)].leaf_hash;
        log.rows[ix(b)].content = ca;
        log.rows[ix(b)].leaf_hash = la;
        expect(&log, Reordered, a);
    }
}

#[test]
fn moved_row_is_reordered() {
    // Row 5 moved to after row 9 in storage order.
    let mut log = build(30, 10, true);
    let r = log.rows.remove(ix(5));
    log.rows.insert(ix(9), r);
    expect(&log, Reordered, 5);
    // Row 9 moved before row 5.
    let mut log = build(30, 10, true);
    let r = log.rows.remove(ix(9));
    log.rows.insert(ix(5), r);
    expect(&log, Reordered, 5);
}

#[test]
fn rewrite_with_recomputed_hashes_is_caught_by_the_next_checkpoint() {
    let mut log = build(60, 10, true);
    log.rows[ix(34)].content = b"{\"rewritten\":true}".to_vec();
    rechain_from(&mut log.rows, ix(34));
    let f = expect(&log, CheckpointMismatch, 31);
    assert!(f.detail.contains("size 40"), "{f}");
    assert!(f.detail.contains("seqs 31 to 40"), "{f}");

    // Deleting a row and renumbering, with every later hash recomputed.
    let mut log = build(60, 10, true);
    log.rows.remove(ix(52));
    for r in log.rows.iter_mut().filter(|r| r.seq > 52) {
        r.seq -= 1;
    }
    rechain_from(&mut log.rows, ix(52));
    // The log is now one short of the last checkpoint: Deleted, at the end,
    // with the range where the deletion may be.
    let f = expect(&log, Deleted, 60);
    assert!(f.detail.contains("from seq 51 on"), "{f}");
    // With a checkpoint after the rewrite, that checkpoint no longer matches.
    let mut log = build(60, 10, true);
    log.rows.remove(ix(42));
    for r in log.rows.iter_mut().filter(|r| r.seq > 42) {
        r.seq -= 1;
    }
    rechain_from(&mut log.rows, ix(42));
    let f = expect(&log, CheckpointMismatch, 41);
    assert!(f.detail.contains("size 50"), "{f}");
}

#[test]
fn insert_just_before_a_checkpoint_is_still_named_precisely() {
    // The forged row makes the checkpoint at size 10 mismatch before the
    // chain break shows at position 11; the precise finding wins.
    let mut log = build(30, 10, true);
    let prev = chain_before(&log.rows, 10);
    insert_shifting(&mut log.rows, 10, forged(10, Some(&prev)));
    expect(&log, Inserted, 10);
}

#[test]
fn forged_checkpoints_are_bad_signatures() {
    // Signed by another key.
    let mut log = build(30, 10, true);
    let mallory = Signer::from_bytes(&[13u8; 32]);
    let mut c = log.checkpoints[1].checkpoint.clone();
    c.root = [1u8; 32];
    log.checkpoints[1] = mallory.sign(c).unwrap();
    expect(&log, BadSignature, 20);

    // Root edited, signature kept.
    let mut log = build(30, 10, true);
    log.checkpoints[2].checkpoint.root[0] ^= 1;
    expect(&log, BadSignature, 30);

    // Another origin.
    let mut log = build(30, 10, true);
    let mut c = log.checkpoints[0].checkpoint.clone();
    c.origin = "other.example/log".into();
    log.checkpoints[0] = log.signer.sign(c).unwrap();
    let f = expect(&log, BadSignature, 10);
    assert!(f.detail.contains("origin"), "{f}");
}

#[test]
fn a_full_rewrite_with_a_forged_checkpoint_is_a_bad_signature() {
    let mut log = build(30, 10, true);
    log.rows[ix(25)].content = b"{}".to_vec();
    rechain_from(&mut log.rows, ix(25));
    let mallory = Signer::from_bytes(&[13u8; 32]);
    let mut c = log.checkpoints[2].checkpoint.clone();
    c.root =
        gatehouse_audit::merkle::root(&log.rows.iter().map(|r| r.leaf_hash).collect::<Vec<_>>());
    log.checkpoints[2] = mallory.sign(c).unwrap();
    expect(&log, BadSignature, 30);
}

#[test]
fn findings_are_sticky_and_window_zero_answers_at_once() {
    let mut log = build(30, 10, true);
    log.rows[ix(5)].content[0] ^= 1;
    let mut v = Verifier::new(log.signer.public_key()).with_window(0);
    for r in &log.rows[..4] {
        v.push(r.stored()).unwrap();
    }
    let f = v.push(log.rows[4].stored()).unwrap_err();
    assert_eq!((f.kind, f.seq), (Altered, 5));
    assert_eq!(v.push(log.rows[5].stored()).unwrap_err(), f);
    assert_eq!(v.check_checkpoint(&log.checkpoints[0]).unwrap_err(), f);
    assert_eq!(v.finish().unwrap_err(), f);
}

#[test]
fn the_finding_arrives_after_the_window() {
    let mut log = build(40, 10, true);
    log.rows[ix(5)].content[0] ^= 1;
    let mut v = Verifier::new(log.signer.public_key()).with_window(3);
    let mut first_err = None;
    for (i, r) in log.rows.iter().enumerate() {
        if let Err(f) = v.push(r.stored()) {
            first_err = Some((i, f));
            break;
        }
    }
    let (i, f) = first_err.unwrap();
    assert_eq!(i, ix(5) + 3);
    assert_eq!((f.kind, f.seq), (Altered, 5));
}

#[derive(Debug, Clone)]
enum Tamper {
    EditContent(i64),
    Delete(i64),
    InsertShift {
        at: i64,
        recompute: bool,
    },
    InsertDuplicate {
        at: i64,
        recompute: bool,
        before: bool,
    },
    SwapRows(i64, i64),
    SwapContents(i64, i64),
    MoveInStorage(i64, i64),
}

fn tamper_strategy() -> impl Strategy<Value = (usize, usize, Tamper)> {
    (2usize..120, 1usize..25).prop_flat_map(|(n, every)| {
        let s = 1..=n as i64;
        let t = prop_oneof![
            s.clone().prop_map(Tamper::EditContent),
            s.clone().prop_map(Tamper::Delete),
            (1..=n as i64 + 1, any::<bool>())
                .prop_map(|(at, recompute)| Tamper::InsertShift { at, recompute }),
            (s.clone(), any::<bool>(), any::<bool>()).prop_map(|(at, recompute, before)| {
                Tamper::InsertDuplicate {
                    at,
                    recompute,
                    before,
                }
            }),
            (s.clone(), s.clone())
                .prop_filter("distinct", |(a, b)| a != b)
                .prop_map(|(a, b)| Tamper::SwapRows(a, b)),
            (s.clone(), s.clone())
                .prop_filter("distinct", |(a, b)| a != b)
                .prop_map(|(a, b)| Tamper::SwapContents(a, b)),
            (s.clone(), s)
                .prop_filter("distinct", |(a, b)| a != b)
                .prop_map(|(a, b)| Tamper::MoveInStorage(a, b)),
        ];
        (Just(n), Just(every), t)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any single tampering of a checkpointed log is named with the right
    /// kind and the first bad seq.
    #[test]
    fn every_single_tampering_is_named((n, every, t) in tamper_strategy()) {
        let mut log = build(n, every, true);
        let rows = &mut log.rows;
        let (kind, seq) = match t.clone() {
            Tamper::EditContent(s) => {
                rows[ix(s)].content.push(b' ');
                (Altered, s)
            }
            Tamper::Delete(s) => {
                rows.remove(ix(s));
                (Deleted, s)
            }
            Tamper::InsertShift { at, recompute } => {
                let prev = chain_before(rows, at);
                insert_shifting(rows, at, forged(at, recompute.then_some(&prev)));
                (Inserted, at)
            }
            Tamper::InsertDuplicate { at, recompute, before } => {
                let prev = chain_before(rows, at);
                let f = forged(at, recompute.then_some(&prev));
                rows.insert(if before { ix(at) } else { ix(at) + 1 }, f);
                (Inserted, at)
            }
            Tamper::SwapRows(a, b) => {
                rows.swap(ix(a), ix(b));
                rows[ix(a)].seq = a;
                rows[ix(b)].seq = b;
                (Reordered, a.min(b))
            }
            Tamper::SwapContents(a, b) => {
                let ca = rows[ix(a)].content.clone();
                rows[ix(a)].content = rows[ix(b)].content.clone();
                rows[ix(b)].content = ca;
                (Reordered, a.min(b))
            }
            Tamper::MoveInStorage(from, to) => {
                let r = rows.remove(ix(from));
                rows.insert(ix(to), r);
                (Reordered, from.min(to))
            }
        };
        let strict = Verifier::new(log.signer.public_key()).require_checkpoint_at_end(true);
        match verify_with(&log, strict) {
            Ok(_) => prop_assert!(false, "{t:?} not detected"),
            Err(f) => prop_assert_eq!((f.kind, f.seq), (kind, seq), "{:?}: {}", t, f),
        }
    }

    /// Rewriting a suffix with recomputed hashes is caught by the first
    /// checkpoint after it.
    #[test]
    fn rewritten_suffix_is_a_checkpoint_mismatch(n in 2usize..120, every in 1usize..25, at in any::<usize>()) {
        let mut log = build(n, every, true);
        let i = at % n;
        log.rows[i].content.extend_from_slice(b" rewritten");
        rechain_from(&mut log.rows, i);
        let seq = i as u64 + 1;
        let last_good = log.checkpoints.iter().map(|c| c.checkpoint.size).filter(|&s| s < seq).max().unwrap_or(0);
        let f = verify(&log).unwrap_err();
        prop_assert_eq!((f.kind, f.seq), (CheckpointMismatch, last_good as i64 + 1), "{}", f);
    }
}

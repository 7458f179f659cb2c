//! Offline verification of a whole log, streaming, in one pass.
//!
//! Give the [`Verifier`] the signed checkpoints (all up front is simplest:
//! they are queued and each is checked at the moment the verifier's size
//! reaches it), then every stored record in storage order, then call
//! [`Verifier::finish`]:
//!
//! ```
//! use gatehouse_audit::{Appender, Signer, StoredRecord, Verifier};
//! # use chrono::Utc;
//! let signer = Signer::generate();
//! let mut log = Appender::new();
//! let rows: Vec<_> = (0..10).map(|i| {
//!     let content = format!("record {i}").into_bytes();
//!     let a = log.append(&content);
//!     (a, content)
//! }).collect();
//! let cp = signer.sign(log.checkpoint("gatehouse.example/audit", Utc::now())).unwrap();
//!
//! let mut v = Verifier::new(signer.public_key());
//! v.check_checkpoint(&cp).unwrap();
//! for (a, content) in &rows {
//!     v.push(StoredRecord { seq: a.seq, content, leaf_hash: a.leaf_hash, chain: a.chain }).unwrap();
//! }
//! let report = v.finish().unwrap();
//! assert_eq!(report.records, 10);
//! assert_eq!(report.checkpoints_verified, 1);
//! ```
//!
//! # What is checked
//!
//! Record `i` (1-based position in storage order) must have `seq == i`,
//! `leaf_hash == SHA-256(0x00 || content)` and
//! `chain == SHA-256(0x02 || chain_{i-1} || leaf_hash)`. Each signed
//! checkpoint must carry a valid signature by the log's key, and its root
//! must equal the Merkle root recomputed over the first `size` leaf hashes.
//! A checkpoint larger than the log means records were cut off the end.
//!
//! # Naming the first problem
//!
//! When record `e` (the first one that disagrees) fails a check, the
//! verifier does not answer at once: it reads up to `window` further
//! records (default [`DEFAULT_WINDOW`]), and it remembers the chain values
//! of the last [`LOOKBACK`] good records. Each stored chain value commits to
//! the row before it, so the verifier can ask which row a row claims as its
//! predecessor. Write `P` for the chain value of record `e - 1` (the last
//! good one), `x` for the row at position `e`, and "row r follows c" for
//! `r.chain == SHA-256(0x02 || c || r.leaf_hash)`. The rules, in order:
//!
//! 1. `x.seq < e` (a seq already seen, or below 1): **Inserted** at `x.seq`
//!    — a second row with an existing seq.
//! 2. `x.seq > e`: if a row with seq `e` turns up later in the window,
//!    **Reordered** at `e`; if `x`'s content, leaf hash and chain are all
//!    right for position `e`, only its seq was changed: **Altered** at `e`;
//!    otherwise **Deleted** at `e` (the first missing seq).
//! 3. `x` follows `P` but its content does not hash to its leaf hash (the
//!    content column was edited): **Reordered** at `e` if that leaf hash is
//!    the hash of a later row's content (contents were swapped), otherwise
//!    **Altered** at `e`.
//! 4. `x` follows the chain value of an earlier good record `j < e - 1`:
//!    the rows between were inserted with recomputed chain values:
//!    **Inserted** at `j + 1`.
//! 5. `x.chain` would follow `P` with the content of a later row: contents
//!    and leaf hashes were swapped or moved: **Reordered** at `e`.
//! 6. A later row follows `P` (it is the real record `e`): if `x` itself
//!    follows some later row, rows were moved: **Reordered** at `e`;
//!    otherwise `x` and the rows up to that one are forgeries: **Inserted**
//!    at `e`. (A row that follows a later row, with no successor of `P` in
//!    the window, is also **Reordered**.)
//! 7. The next row follows `x.chain`: `x` kept its chain value but its
//!    content and leaf hash were replaced: **Altered** at `e`.
//! 8. `x` is the last row: it was appended with a chain value that does not
//!    follow: **Inserted** at `e`.
//! 9. Otherwise the row was replaced outright: **Altered** at `e`.
//!
//! So, reading rows ordered by seq: deleting a row gives a seq gap
//! (Deleted); inserting a forged row — with a duplicate seq, with later seqs
//! shifted up, or appended with a chain that does not follow — gives rule
//! 1, 4, 6 or 8 (Inserted, at the forged row's seq, whether or not its chain
//! was recomputed); swapping two rows (whole rows, contents only, or content
//! with leaf hash) gives rule 2, 3, 5 or 6 (Reordered, at the lower seq);
//! editing a row's content gives rule 3 (Altered).
//!
//! Limits, inherent in what is stored:
//! - An attacker who rewrites a row *and recomputes the leaf hashes and
//!   chain values of every row after it* leaves nothing for the chain to
//!   find. The next signed checkpoint catches it (**CheckpointMismatch**,
//!   naming the checkpoint's size and the seqs since the last good
//!   checkpoint), because the signing key is not in the database. If a
//!   record-level finding inside that range turns up within the window after
//!   the mismatch, that more precise finding is reported instead.
//! - Appending a forged row with a correct chain value at the end is caught
//!   only by a later checkpoint; [`Verifier::require_checkpoint_at_end`]
//!   makes any record after the last checkpoint a finding (Inserted).
//! - Rewriting one row's content, leaf hash *and* chain value (not the
//!   rows after it) looks exactly like its successor's content and leaf
//!   hash being replaced: the successor is named (rule 7), one row late.
//! - Deleting a row and renumbering every later seq looks exactly like rule
//!   7 (Altered at the first renumbered row); the detail says both.
//! - When the log is shorter than a signed checkpoint, the records from the
//!   end of the log to the checkpoint's size are reported Deleted. If rows
//!   after the last verified checkpoint were also rewritten with recomputed
//!   hashes (deleting from the middle and renumbering), the deletion may be
//!   anywhere after that checkpoint; the detail says so.
//! - Rows moved further than the window apart are named by the rules that
//!   apply within the window (Deleted, Inserted or Altered, at the right
//!   seq).

use crate::chain::{CHAIN_START, chain_hash};
use crate::checkpoint::{PublicKey, SignedCheckpoint};
use crate::merkle::{Frontier, Hash, leaf_hash};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// Rows read after the first bad one to classify it.
pub const DEFAULT_WINDOW: usize = 1024;
/// Chain values of good rows remembered to spot inserted rows whose chain
/// values were recomputed.
pub const LOOKBACK: usize = 1024;
const LOOKBACK_MASK: u64 = LOOKBACK as u64 - 1;
const _: () = assert!(LOOKBACK.is_power_of_two());

/// One stored row as read from the database.
#[derive(Debug, Clone, Copy)]
pub struct StoredRecord<'a> {
    pub seq: i64,
    /// The record's canonical bytes, exactly as they were hashed.
    pub content: &'a [u8],
    pub leaf_hash: Hash,
    pub chain: Hash,
}

/// The shape of the first problem found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// A record's content (or leaf hash, or seq) was changed in place.
    Altered,
    /// A record is missing (from the middle: a seq gap; from the end: a
    /// signed checkpoint larger than the log).
    Deleted,
    /// A record that the log never wrote is present.
    Inserted,
    /// Records, or their contents, are in the wrong order.
    Reordered,
    /// A correctly signed checkpoint's root does not match the records:
    /// a range was rewritten together with its hashes.
    CheckpointMismatch,
    /// A checkpoint's signature does not verify with the log's key (or it
    /// is for another origin): a forged or damaged checkpoint.
    BadSignature,
    /// Records waited longer for a signed checkpoint than the checkpoint
    /// cadence allows (see [`crate::cadence`]): a hole in which records
    /// could have been changed with nothing signed to catch it.
    CheckpointGap,
}

impl FindingKind {
    /// Lower-case name, e.g. `"checkpoint-mismatch"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Altered => "altered",
            Self::Deleted => "deleted",
            Self::Inserted => "inserted",
            Self::Reordered => "reordered",
            Self::CheckpointMismatch => "checkpoint-mismatch",
            Self::BadSignature => "bad-signature",
            Self::CheckpointGap => "checkpoint-gap",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first problem found.
///
/// `seq` is the first bad record's seq for record findings; for
/// [`FindingKind::CheckpointMismatch`] the first seq after the last good
/// checkpoint (the range is in `detail`); for [`FindingKind::BadSignature`]
/// the size the bad checkpoint claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub seq: i64,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at seq {}: {}", self.kind, self.seq, self.detail)
    }
}

impl std::error::Error for Finding {}

/// The outcome of a clean verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub records: u64,
    pub checkpoints_verified: u64,
    /// Merkle root of all records.
    pub root: Hash,
    /// Chain value of the last record.
    pub chain_head: Hash,
    /// Size of the last verified checkpoint (0 if none).
    pub last_checkpoint_size: u64,
    /// Records after the last verified checkpoint: checked against each
    /// other but not yet vouched for by a signature.
    pub unanchored: u64,
    /// From [`Verifier::new`] to [`Verifier::finish`].
    pub elapsed: Duration,
}

impl Report {
    /// Records per second.
    pub fn rate(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Debug, Clone, Copy)]
struct Row {
    pos: u64,
    seq: i64,
    /// SHA-256(0x00 || stored content).
    content_leaf: Hash,
    /// Stored leaf hash.
    leaf: Hash,
    /// Stored chain value.
    chain: Hash,
}

impl Row {
    fn follows(&self, prev: &Hash) -> bool {
        self.chain == chain_hash(prev, &self.leaf)
    }
}

#[derive(Debug)]
struct Investigation {
    suspect: Row,
    prev_chain: Hash,
    ahead: Vec<Row>,
}

#[derive(Debug)]
enum State {
    Clean,
    Investigating(Box<Investigation>),
    Failed(Finding),
}

/// A checkpoint waiting for the verifier to reach its size, with where it
/// came from (for the finding's wording: "the witnessed checkpoint …").
#[derive(Debug)]
struct Queued {
    cp: SignedCheckpoint,
    source: &'static str,
}

#[derive(Debug)]
struct PendingMismatch {
    finding: Finding,
    covers_to: i64,
    remaining: usize,
}

/// Streaming verifier; see the module docs.
pub struct Verifier {
    /// The log's keys: the current one and any it was rotated from.
    keys: Vec<PublicKey>,
    origin: Option<String>,
    window: usize,
    require_anchored_tail: bool,
    frontier: Frontier,
    chain: Hash,
    /// Records accepted (a clean prefix: positions 1..=size, seqs 1..=size).
    size: u64,
    /// Chain values of recent good records, by position.
    ring: Box<[Hash; LOOKBACK]>,
    /// Checkpoints waiting for the verifier to reach their size, ascending.
    queue: VecDeque<Queued>,
    next_due: u64,
    checkpoints_verified: u64,
    last_checkpoint: Option<(u64, Hash)>,
    state: State,
    pending: Option<PendingMismatch>,
    started: Instant,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("size", &self.size)
            .field("checkpoints_verified", &self.checkpoints_verified)
            .field("queued_checkpoints", &self.queue.len())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for a log signed by `public_key`.
    pub fn new(public_key: PublicKey) -> Self {
        Self {
            keys: vec![public_key],
            origin: None,
            window: DEFAULT_WINDOW,
            require_anchored_tail: false,
            frontier: Frontier::new(),
            chain: CHAIN_START,
            size: 0,
            ring: Box::new([[0u8; 32]; LOOKBACK]),
            queue: VecDeque::new(),
            next_due: u64::MAX,
            checkpoints_verified: 0,
            last_checkpoint: None,
            state: State::Clean,
            pending: None,
            started: Instant::now(),
        }
    }

    /// Also accept checkpoints signed by `key` (a key the log was rotated
    /// from, or to). Each checkpoint is checked with the key whose signed-note
    /// key ID it names.
    pub fn with_key(mut self, key: PublicKey) -> Self {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
        self
    }

    /// Only accept checkpoints whose origin is `origin` (others are
    /// [`FindingKind::BadSignature`]).
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Rows read after the first bad row (or checkpoint mismatch) before
    /// answering; 0 answers at once with less precise kinds.
    pub fn with_window(mut self, rows: usize) -> Self {
        self.window = rows;
        self
    }

    /// When set, records after the last signed checkpoint are a finding
    /// (Inserted at the first of them) instead of being counted as
    /// `unanchored` in the report. Use it when the log has just been
    /// checkpointed (for example, when the writer is stopped).
    pub fn require_checkpoint_at_end(mut self, yes: bool) -> Self {
        self.require_anchored_tail = yes;
        self
    }

    /// Records accepted so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Merkle root of the records accepted so far.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Feeds a checkpoint. Its signature (and origin) are checked now. Its
    /// root is compared when the verifier's size reaches its size: now if
    /// `cp.size == self.size()`, later (it is queued) if larger. A
    /// checkpoint for a size the verifier has already passed cannot be
    /// checked and is an error (unless it repeats the last verified one):
    /// feed checkpoints before the records they cover.
    pub fn check_checkpoint(&mut self, cp: &SignedCheckpoint) -> Result<(), Finding> {
        self.check_checkpoint_from(cp, "signed")
    }

    /// [`Self::check_checkpoint`], naming where the checkpoint came from in
    /// any finding about it (`"witnessed"`: "the witnessed checkpoint for
    /// size N …"; the default is `"signed"`).
    pub fn check_checkpoint_from(
        &mut self,
        cp: &SignedCheckpoint,
        source: &'static str,
    ) -> Result<(), Finding> {
        match &self.state {
            State::Failed(f) => return Err(f.clone()),
            // An earlier record is already known to be bad.
            State::Investigating(_) => return Ok(()),
            State::Clean => {}
        }
        let size = cp.checkpoint.size;
        let claimed = i64::try_from(size).unwrap_or(i64::MAX);
        if let Some(origin) = &self.origin
            && cp.checkpoint.origin != *origin
        {
            let f = Finding {
                kind: FindingKind::BadSignature,
                seq: claimed,
                detail: format!(
                    "the checkpoint for size {size} is for origin {:?}, not this log's {origin:?}",
                    cp.checkpoint.origin
                ),
            };
            return Err(self.fail(f));
        }
        // The key whose ID the note names; with none, the first key's
        // mismatch error says which ID was expected.
        let key = self
            .keys
            .iter()
            .find(|k| k.key_id(&cp.checkpoint.origin) == cp.key_id)
            .unwrap_or(&self.keys[0]);
        if let Err(e) = cp.verify(key) {
            let f = Finding {
                kind: FindingKind::BadSignature,
                seq: claimed,
                detail: format!("the {source} checkpoint for size {size} does not verify: {e}"),
            };
            return Err(self.fail(f));
        }
        if size == self.size {
            if self.pending.is_none() {
                self.compare(cp, source);
                if self.window == 0
                    && let Some(p) = self.pending.take()
                {
                    return Err(self.fail(p.finding));
                }
            }
            return Ok(());
        }
        if size > self.size {
            let at = self.queue.partition_point(|q| q.cp.checkpoint.size <= size);
            self.queue.insert(
                at,
                Queued {
                    cp: cp.clone(),
                    source,
                },
            );
            self.next_due = self
                .queue
                .front()
                .map_or(u64::MAX, |q| q.cp.checkpoint.size);
            return Ok(());
        }
        if self.last_checkpoint == Some((size, cp.checkpoint.root)) {
            return Ok(());
        }
        let f = Finding {
            kind: FindingKind::CheckpointMismatch,
            seq: claimed,
            detail: format!(
                "the checkpoint for size {size} was given after the verifier had passed record {size}, so its root \
                 cannot be compared; give checkpoints before the records they cover"
            ),
        };
        Err(self.fail(f))
    }

    /// Feeds the next stored record, in storage order. After the first
    /// problem, rows are still accepted (to classify it) for up to `window`
    /// rows, and then the finding is returned; every call after that
    /// returns it again.
    pub fn push(&mut self, r: StoredRecord<'_>) -> Result<(), Finding> {
        match &mut self.state {
            State::Failed(f) => return Err(f.clone()),
            State::Investigating(inv) => {
                let pos = inv.suspect.pos + inv.ahead.len() as u64 + 1;
                inv.ahead.push(Row {
                    pos,
                    seq: r.seq,
                    content_leaf: leaf_hash(r.content),
                    leaf: r.leaf_hash,
                    chain: r.chain,
                });
                if inv.ahead.len() >= self.window {
                    return Err(self.resolve());
                }
                return Ok(());
            }
            State::Clean => {}
        }

        let content_leaf = leaf_hash(r.content);
        let next = chain_hash(&self.chain, &r.leaf_hash);
        if r.seq != (self.size + 1) as i64 || content_leaf != r.leaf_hash || next != r.chain {
            let suspect = Row {
                pos: self.size + 1,
                seq: r.seq,
                content_leaf,
                leaf: r.leaf_hash,
                chain: r.chain,
            };
            self.state = State::Investigating(Box::new(Investigation {
                suspect,
                prev_chain: self.chain,
                ahead: Vec::new(),
            }));
            if self.window == 0 {
                return Err(self.resolve());
            }
            return Ok(());
        }

        self.chain = next;
        self.frontier.push(content_leaf);
        self.size += 1;
        self.ring[(self.size & LOOKBACK_MASK) as usize] = next;

        if let Some(p) = &mut self.pending {
            p.remaining = p.remaining.saturating_sub(1);
            if p.remaining == 0 {
                let f = p.finding.clone();
                self.pending = None;
                self.state = State::Failed(f.clone());
                return Err(f);
            }
        }
        if self.size == self.next_due {
            self.run_due();
            if self.window == 0
                && let Some(p) = self.pending.take()
            {
                return Err(self.fail(p.finding));
            }
        }
        Ok(())
    }

    /// Ends verification: classifies any pending problem, checks that no
    /// signed checkpoint is larger than the log, and reports.
    pub fn finish(mut self) -> Result<Report, Finding> {
        match &self.state {
            State::Failed(f) => return Err(f.clone()),
            State::Investigating(_) => return Err(self.resolve()),
            State::Clean => {}
        }
        if let Some(p) = self.pending.take() {
            return Err(p.finding);
        }
        if let Some(q) = self.queue.front() {
            let s = q.cp.checkpoint.size;
            let source = q.source;
            let first = self.size + 1;
            let last_good = self.last_checkpoint.map_or(0, |(s, _)| s);
            let mut detail = if s == first {
                format!(
                    "record {first} is missing: a {source} checkpoint covers {s} records but the log ends at {}",
                    self.size
                )
            } else {
                format!(
                    "records {first} to {s} are missing: a {source} checkpoint covers {s} records but the log ends at {}",
                    self.size
                )
            };
            if last_good < self.size {
                detail.push_str(&format!(
                    " (if records after the last verified checkpoint, at size {last_good}, were rewritten with \
                     recomputed hashes, the deleted records may be anywhere from seq {} on)",
                    last_good + 1
                ));
            }
            return Err(Finding {
                kind: FindingKind::Deleted,
                seq: first as i64,
                detail,
            });
        }
        let last_checkpoint_size = self.last_checkpoint.map_or(0, |(s, _)| s);
        if self.require_anchored_tail && self.size > last_checkpoint_size {
            let first = last_checkpoint_size + 1;
            return Err(Finding {
                kind: FindingKind::Inserted,
                seq: first as i64,
                detail: format!(
                    "records {first} to {} are not covered by any signed checkpoint (the last one covers {})",
                    self.size, last_checkpoint_size
                ),
            });
        }
        Ok(Report {
            records: self.size,
            checkpoints_verified: self.checkpoints_verified,
            root: self.frontier.root(),
            chain_head: self.chain,
            last_checkpoint_size,
            unanchored: self.size - last_checkpoint_size,
            elapsed: self.started.elapsed(),
        })
    }

    /// Compares every queued checkpoint whose size is the current size.
    fn run_due(&mut self) {
        while self.next_due == self.size {
            let Some(q) = self.queue.pop_front() else {
                break;
            };
            self.next_due = self
                .queue
                .front()
                .map_or(u64::MAX, |q| q.cp.checkpoint.size);
            if self.pending.is_none() {
                self.compare(&q.cp, q.source);
            }
        }
    }

    /// Compares a (signature-checked) checkpoint of the current size with
    /// the recomputed root; a mismatch becomes pending.
    fn compare(&mut self, cp: &SignedCheckpoint, source: &str) {
        let root = self.frontier.root();
        if root == cp.checkpoint.root {
            self.checkpoints_verified += 1;
            self.last_checkpoint = Some((self.size, root));
            return;
        }
        let from = self.last_checkpoint.map_or(0, |(s, _)| s) + 1;
        let to = self.size;
        let finding = Finding {
            kind: FindingKind::CheckpointMismatch,
            seq: from as i64,
            detail: format!(
                "the {source} checkpoint for size {to} has root {} but the stored records recompute to {}: a record in \
                 seqs {from} to {to} was rewritten together with every later leaf hash and chain value",
                B64.encode(cp.checkpoint.root),
                B64.encode(root)
            ),
        };
        self.pending = Some(PendingMismatch {
            finding,
            covers_to: to as i64,
            remaining: self.window,
        });
    }

    /// Records `f` as the outcome, unless an earlier pending checkpoint
    /// mismatch takes precedence.
    fn fail(&mut self, f: Finding) -> Finding {
        let f = match self.pending.take() {
            Some(p) if !(is_record_kind(f.kind) && f.seq <= p.covers_to) => p.finding,
            _ => f,
        };
        self.state = State::Failed(f.clone());
        f
    }

    fn resolve(&mut self) -> Finding {
        let state = std::mem::replace(&mut self.state, State::Clean);
        let f = match state {
            State::Investigating(inv) => self.classify(&inv),
            State::Failed(f) => f,
            State::Clean => unreachable_clean(),
        };
        self.fail(f)
    }

    fn chain_at(&self, pos: u64) -> Hash {
        if pos == 0 {
            CHAIN_START
        } else {
            self.ring[(pos & LOOKBACK_MASK) as usize]
        }
    }

    /// The rules of the module docs.
    fn classify(&self, inv: &Investigation) -> Finding {
        let x = &inv.suspect;
        let p = &inv.prev_chain;
        let ahead = &inv.ahead;
        let a = x.pos;
        let e = a as i64;
        let prev = e - 1;
        let mk = |kind, seq: i64, detail: String| Finding { kind, seq, detail };

        // 1. A seq already seen (or impossible).
        if x.seq < e {
            let detail = if x.seq >= 1 {
                format!(
                    "a second record with seq {} is stored at position {a}, after seq {prev}: a record was inserted \
                     with an existing seq",
                    x.seq
                )
            } else {
                format!(
                    "the record at position {a} has seq {}, but seqs start at 1: it was inserted",
                    x.seq
                )
            };
            return mk(FindingKind::Inserted, x.seq, detail);
        }
        // 2. A seq jump.
        if x.seq > e {
            if let Some(y) = ahead.iter().find(|y| y.seq == e) {
                return mk(
                    FindingKind::Reordered,
                    e,
                    format!(
                        "record {e} is stored at position {}, after record {} at position {a}: records are out of order",
                        y.pos, x.seq
                    ),
                );
            }
            if x.content_leaf == x.leaf && x.follows(p) {
                return mk(
                    FindingKind::Altered,
                    e,
                    format!(
                        "the record after seq {prev} carries seq {}, but its content, leaf hash and chain value are \
                         those of record {e}: its seq was changed",
                        x.seq
                    ),
                );
            }
            let detail = if x.seq == e + 1 {
                format!(
                    "record {e} is missing: seq {prev} is followed by seq {}",
                    x.seq
                )
            } else {
                format!(
                    "records {e} to {} are missing: seq {prev} is followed by seq {}",
                    x.seq - 1,
                    x.seq
                )
            };
            return mk(FindingKind::Deleted, e, detail);
        }
        // 3. Content edited in place; leaf hash and chain intact.
        if x.follows(p) {
            if let Some(y) = ahead.iter().find(|y| y.content_leaf == x.leaf) {
                return mk(
                    FindingKind::Reordered,
                    e,
                    format!(
                        "the content of record {e} is stored with record {} (position {}), and record {e} holds other \
                         content: contents were swapped",
                        y.seq, y.pos
                    ),
                );
            }
            return mk(
                FindingKind::Altered,
                e,
                format!(
                    "the content of record {e} does not match its stored leaf hash (its leaf hash and chain value are \
                     intact): the content was edited"
                ),
            );
        }
        // 4. Follows an earlier good record: the rows between were inserted
        //    with recomputed chain values.
        let lo = self.size.saturating_sub(LOOKBACK as u64 - 1);
        for j in (lo..self.size).rev() {
            if x.follows(&self.chain_at(j)) {
                let first = j + 1;
                let detail = if first == self.size {
                    format!(
                        "record {first} is not part of the chain: the record at position {a} (seq {}) follows record \
                         {j} directly; record {first} was inserted with a recomputed chain value",
                        x.seq
                    )
                } else {
                    format!(
                        "records {first} to {} are not part of the chain: the record at position {a} (seq {}) follows \
                         record {j} directly; they were inserted with recomputed chain values",
                        self.size, x.seq
                    )
                };
                return mk(FindingKind::Inserted, first as i64, detail);
            }
        }
        // 5. The content that belongs here is stored elsewhere.
        if let Some(y) = ahead
            .iter()
            .find(|y| x.chain == chain_hash(p, &y.content_leaf))
        {
            return mk(
                FindingKind::Reordered,
                e,
                format!(
                    "the content that belongs at seq {e} is stored with record {} (position {}): contents and leaf \
                     hashes were swapped",
                    y.seq, y.pos
                ),
            );
        }
        // 6. The real record e is later.
        let after = ahead.iter().find(|z| x.follows(&z.chain));
        if let Some(y) = ahead.iter().find(|y| y.follows(p)) {
            if let Some(z) = after {
                return mk(
                    FindingKind::Reordered,
                    e,
                    format!(
                        "the record at position {a} belongs after the one at position {}, and the record that follows \
                         seq {prev} is at position {}: records were swapped",
                        z.pos, y.pos
                    ),
                );
            }
            let detail = if y.pos == a + 1 {
                format!(
                    "the record at position {a} (seq {}) is not part of the chain: the next record follows seq {prev} \
                     directly; it was inserted",
                    x.seq
                )
            } else {
                format!(
                    "the records at positions {a} to {} are not part of the chain: the record at position {} follows \
                     seq {prev}; they were inserted",
                    y.pos - 1,
                    y.pos
                )
            };
            return mk(FindingKind::Inserted, e, detail);
        }
        if let Some(z) = after {
            return mk(
                FindingKind::Reordered,
                e,
                format!(
                    "the record at position {a} (seq {}) belongs after the one at position {}: records are out of order",
                    x.seq, z.pos
                ),
            );
        }
        // 7. The next row still follows x's chain value.
        if let Some(y) = ahead.first()
            && y.follows(&x.chain)
        {
            let what = if x.content_leaf == x.leaf {
                "content and leaf hash were"
            } else {
                "leaf hash was"
            };
            return mk(
                FindingKind::Altered,
                e,
                format!(
                    "record {e}'s {what} replaced: its chain value does not follow record {prev}, though record {} \
                     still follows it (or records before {e} were deleted and every later seq renumbered)",
                    y.seq
                ),
            );
        }
        // 8. The last row.
        if ahead.is_empty() {
            return mk(
                FindingKind::Inserted,
                e,
                format!(
                    "the last record (seq {}) does not follow record {prev} and nothing follows it: it was appended \
                     without a valid chain value (or its leaf hash was replaced)",
                    x.seq
                ),
            );
        }
        // 9.
        mk(
            FindingKind::Altered,
            e,
            format!(
                "record {e} was replaced: its chain value does not follow record {prev}, and the next record does not \
                 follow it"
            ),
        )
    }
}

fn is_record_kind(k: FindingKind) -> bool {
    matches!(
        k,
        FindingKind::Altered
            | FindingKind::Deleted
            | FindingKind::Inserted
            | FindingKind::Reordered
    )
}

#[cold]
fn unreachable_clean() -> Finding {
    Finding {
        kind: FindingKind::Altered,
        seq: 0,
        detail: "internal error: verifier resolved with nothing pending".into(),
    }
}

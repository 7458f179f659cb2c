//! RFC 6962 Merkle tree hashing (Certificate Transparency; also RFC 9162 §2.1).
//!
//! - `leaf_hash(d) = SHA-256(0x00 || d)`
//! - `node_hash(l, r) = SHA-256(0x01 || l || r)`
//! - `MTH({}) = SHA-256("")`; `MTH(D[n])` splits at the largest power of two
//!   smaller than `n`.
//!
//! [`Frontier`] is the compact range used to append leaves one at a time in
//! O(log n) memory; [`inclusion_proof`] / [`verify_inclusion`] and
//! [`consistency_proof`] / [`verify_consistency`] follow RFC 6962 §2.1.1–2.1.2
//! for building and RFC 9162 §2.1.3.2 / §2.1.4.2 for checking.
//!
//! Leaf indexes are 0-based (`index` 0 is the record with seq 1).

use sha2::{Digest, Sha256};

/// A SHA-256 output.
pub type Hash = [u8; 32];

/// `MTH({})`: SHA-256 of the empty string, the root of the empty tree.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Domain-separation prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash.
pub const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || bytes)`.
#[inline]
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(bytes);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
#[inline]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    hash_prefixed_pair(NODE_PREFIX, left, right)
}

/// SHA-256 initial state (FIPS 180-4 §5.3.3).
const SHA256_H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// `SHA-256(prefix || a || b)`: a 65-byte message is always two blocks,
/// so the padding is laid out here and the two blocks go straight to the
/// compression function (about a fifth faster than the streaming hasher for
/// these short inputs; the verifier does two of them per record).
#[inline]
pub(crate) fn hash_prefixed_pair(prefix: u8, a: &Hash, b: &Hash) -> Hash {
    let mut blocks: [sha2::digest::core_api::Block<Sha256>; 2] = Default::default();
    blocks[0][0] = prefix;
    blocks[0][1..33].copy_from_slice(a);
    blocks[0][33..].copy_from_slice(&b[..31]);
    blocks[1][0] = b[31];
    blocks[1][1] = 0x80;
    blocks[1][56..].copy_from_slice(&(65u64 * 8).to_be_bytes());
    let mut state = SHA256_H0;
    sha2::compress256(&mut state, &blocks[..]);
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The compact range `[0, size)`: the roots of the perfect subtrees that make
/// up a tree of `size` leaves, largest (leftmost) first. There is one per set
/// bit of `size`, so memory is O(log n) and an append costs one leaf plus, on
/// average, one node hash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from its parts (for example as persisted by a
    /// store so that appending can resume without rereading every leaf).
    /// Returns `None` unless `nodes.len()` equals the number of set bits of
    /// `size`.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        if nodes.len() as u32 == size.count_ones() {
            Some(Self { size, nodes })
        } else {
            None
        }
    }

    /// Number of leaves appended.
    #[inline]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree roots, largest (leftmost) first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends one leaf hash (already `leaf_hash`ed).
    #[inline]
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut s = self.size;
        // Each trailing 1 bit of the old size is a perfect subtree of the
        // same height as `carry`: merge them, right to left.
        while s & 1 == 1 {
            match self.nodes.pop() {
                Some(left) => carry = node_hash(&left, &carry),
                None => break, // unreachable: nodes.len() == popcount(size)
            }
            s >>= 1;
        }
        self.nodes.push(carry);
        self.size += 1;
    }

    /// `MTH` of the leaves appended so far ([`EMPTY_ROOT`] when none).
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(last) = it.next() else {
            return EMPTY_ROOT;
        };
        let mut acc = *last;
        for left in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// `MTH(D[n])` of a slice of leaf hashes.
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    let mut f = Frontier::new();
    for l in leaf_hashes {
        f.push(*l);
    }
    f.root()
}

/// Why a proof could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The requested tree size is larger than the leaves supplied.
    #[error("tree size {size} is larger than the {available} leaves available")]
    SizeTooLarge { size: u64, available: u64 },
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not inside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof was asked from a larger to a smaller tree.
    #[error("old size {old_size} is larger than new size {new_size}")]
    OldLargerThanNew { old_size: u64, new_size: u64 },
}

/// Largest power of two strictly smaller than `n` (`n >= 2`).
#[inline]
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

fn check_size(leaf_hashes: &[Hash], size: u64) -> Result<(), ProofError> {
    let available = leaf_hashes.len() as u64;
    if size > available {
        return Err(ProofError::SizeTooLarge { size, available });
    }
    Ok(())
}

/// The audit path `PATH(index, D[size])` of RFC 6962 §2.1.1, leaf to root,
/// over the first `size` of `leaf_hashes`.
///
/// This costs O(size) hashing (subtree roots are recomputed from the leaves);
/// a store that keeps interior nodes can do better, but the output is the
/// same.
pub fn inclusion_proof(
    leaf_hashes: &[Hash],
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    check_size(leaf_hashes, size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(index as usize, &leaf_hashes[..size as usize], &mut proof);
    Ok(proof)
}

fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
    let n = d.len();
    if n <= 1 {
        return;
    }
    let k = split_point(n as u64) as usize;
    if m < k {
        path(m, &d[..k], out);
        out.push(root(&d[k..]));
    } else {
        path(m - k, &d[k..], out);
        out.push(root(&d[..k]));
    }
}

/// The consistency proof `PROOF(old_size, D[new_size])` of RFC 6962 §2.1.2.
/// Empty when `old_size` is 0 or equal to `new_size`.
pub fn consistency_proof(
    leaf_hashes: &[Hash],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    check_size(leaf_hashes, new_size)?;
    if old_size > new_size {
        return Err(ProofError::OldLargerThanNew { old_size, new_size });
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    subproof(
        old_size as usize,
        &leaf_hashes[..new_size as usize],
        true,
        &mut proof,
    );
    Ok(proof)
}

fn subproof(m: usize, d: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = d.len();
    if m == n {
        if !complete {
            out.push(root(d));
        }
        return;
    }
    let k = split_point(n as u64) as usize;
    if m <= k {
        subproof(m, &d[..k], complete, out);
        out.push(root(&d[k..]));
    } else {
        subproof(m - k, &d[k..], false, out);
        out.push(root(&d[..k]));
    }
}

/// Checks an audit path (RFC 9162 §2.1.3.2): is `leaf_hash` the leaf at
/// `index` of the tree of `size` leaves whose root is `root`?
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                // Right-most node of a level with nothing to its right:
                // climb until this node is a right child (or the root).
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): is the tree of
/// `old_size` leaves with root `old_root` a prefix of the tree of `new_size`
/// leaves with root `new_root`?
///
/// Trivial cases: equal sizes need an empty proof and equal roots; an old
/// size of 0 needs an empty proof and `old_root == EMPTY_ROOT`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == EMPTY_ROOT;
    }
    if proof.is_empty() {
        return false;
    }
    // When the old tree is a perfect subtree, its root is the implicit
    // first element of the path.
    let (first, rest): (&Hash, &[Hash]) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hx(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// The eight leaves of the Certificate Transparency reference test tree.
    fn ct_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect()
    }

    fn ct_leaf_hashes() -> Vec<Hash> {
        ct_leaves().iter().map(|l| leaf_hash(l)).collect()
    }

    /// MTH(D[0..n]) for n = 0..=8.
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// (index, size, path) from the CT reference tests.
    fn ct_inclusion() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (0, 1, vec![]),
            (
                0,
                2,
                vec![hx(
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                )],
            ),
            (
                1,
                2,
                vec![hx(
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                )],
            ),
            (
                2,
                3,
                vec![hx(
                    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                )],
            ),
            (
                1,
                5,
                vec![
                    hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                    hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
            (
                0,
                8,
                vec![
                    hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                5,
                8,
                vec![
                    hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                    hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
        ]
    }

    /// (old, new, proof) from the CT reference tests.
    fn ct_consistency() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                5,
                vec![
                    hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
        ]
    }

    /// MTH exactly as RFC 6962 §2.1 defines it, recursively.
    fn mth_reference(d: &[Hash]) -> Hash {
        match d.len() {
            0 => Sha256::digest([]).into(),
            1 => d[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth_reference(&d[..k]), &mth_reference(&d[k..]))
            }
        }
    }

    fn synthetic_leaves(n: usize, salt: u64) -> Vec<Hash> {
        (0..n as u64)
            .map(|i| leaf_hash(&[i.to_le_bytes(), salt.to_le_bytes()].concat()))
            .collect()
    }

    #[test]
    fn prefixed_pair_matches_streaming_sha256() {
        for (p, a, b) in [
            (0u8, [0u8; 32], [0u8; 32]),
            (1, [0xff; 32], [7; 32]),
            (2, [1; 32], [0x80; 32]),
        ] {
            let mut buf = vec![p];
            buf.extend_from_slice(&a);
            buf.extend_from_slice(&b);
            let want: Hash = Sha256::digest(&buf).into();
            assert_eq!(hash_prefixed_pair(p, &a, &b), want);
        }
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let e: Hash = Sha256::digest([]).into();
        assert_eq!(EMPTY_ROOT, e);
        assert_eq!(Frontier::new().root(), EMPTY_ROOT);
        assert_eq!(root(&[]), EMPTY_ROOT);
    }

    #[test]
    fn ct_vector_roots() {
        let leaves = ct_leaf_hashes();
        let mut f = Frontier::new();
        assert_eq!(hex::encode(f.root()), CT_ROOTS[0]);
        for (i, l) in leaves.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.size(), i as u64 + 1);
            assert_eq!(
                hex::encode(f.root()),
                CT_ROOTS[i + 1],
                "root of size {}",
                i + 1
            );
            assert_eq!(hex::encode(mth_reference(&leaves[..=i])), CT_ROOTS[i + 1]);
        }
    }

    #[test]
    fn ct_vector_inclusion_proofs() {
        let leaves = ct_leaf_hashes();
        for (index, size, want) in ct_inclusion() {
            let got = inclusion_proof(&leaves, index, size).unwrap();
            assert_eq!(got, want, "PATH({index}, D[{size}])");
            let root = hx(CT_ROOTS[size as usize]);
            assert!(verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &want,
                &root
            ));
            // Wrong index, size, leaf, root.
            assert!(!verify_inclusion(
                &leaves[index as usize],
                index + 1,
                size,
                &want,
                &root
            ));
            assert!(!verify_inclusion(
                &leaves[index as usize],
                index,
                size * 2,
                &want,
                &root
            ));
            assert!(!verify_inclusion(&EMPTY_ROOT, index, size, &want, &root));
            assert!(!verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &want,
                &EMPTY_ROOT
            ));
            // Trailing garbage.
            let mut longer = want.clone();
            longer.push(root);
            assert!(!verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &longer,
                &root
            ));
            if index > 0 {
                assert!(!verify_inclusion(
                    &leaves[index as usize],
                    index - 1,
                    size,
                    &want,
                    &root
                ));
            }
            if !want.is_empty() {
                assert!(!verify_inclusion(
                    &leaves[index as usize],
                    index,
                    size,
                    &want[..want.len() - 1],
                    &root
                ));
            }
        }
    }

    #[test]
    fn ct_vector_consistency_proofs() {
        let leaves = ct_leaf_hashes();
        for (old, new, want) in ct_consistency() {
            let got = consistency_proof(&leaves, old, new).unwrap();
            assert_eq!(got, want, "PROOF({old}, D[{new}])");
            let (r1, r2) = (hx(CT_ROOTS[old as usize]), hx(CT_ROOTS[new as usize]));
            assert!(verify_consistency(old, new, &r1, &r2, &want));
            if !want.is_empty() {
                assert!(!verify_consistency(old, new, &r2, &r1, &want));
                assert!(!verify_consistency(old - 1, new, &r1, &r2, &want));
                assert!(!verify_consistency(old + 1, new, &r1, &r2, &want));
                assert!(!verify_consistency(old, new * 2, &r1, &r2, &want));
                assert!(!verify_consistency(old, new, &r1, &r2, &[]));
                assert!(!verify_consistency(
                    old,
                    new,
                    &r1,
                    &r2,
                    &want[..want.len() - 1]
                ));
                let mut longer = want.clone();
                longer.push(r1);
                assert!(!verify_consistency(old, new, &r1, &r2, &longer));
            }
        }
    }

    #[test]
    fn trivial_consistency_cases() {
        let r = hx(CT_ROOTS[3]);
        assert!(verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]));
        assert!(verify_consistency(0, 3, &EMPTY_ROOT, &r, &[]));
        assert!(!verify_consistency(0, 3, &r, &r, &[]));
        assert!(!verify_consistency(0, 3, &EMPTY_ROOT, &r, &[r]));
        assert!(verify_consistency(3, 3, &r, &r, &[]));
        assert!(!verify_consistency(3, 3, &r, &EMPTY_ROOT, &[]));
        assert!(!verify_consistency(3, 3, &r, &r, &[r]));
        assert!(!verify_consistency(4, 3, &r, &r, &[]));
        assert!(!verify_consistency(1, 2, &r, &r, &[]));
    }

    #[test]
    fn proof_builders_reject_bad_arguments() {
        let leaves = ct_leaf_hashes();
        assert_eq!(
            inclusion_proof(&leaves, 0, 9),
            Err(ProofError::SizeTooLarge {
                size: 9,
                available: 8
            })
        );
        assert_eq!(
            inclusion_proof(&leaves, 8, 8),
            Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(
            inclusion_proof(&leaves, 0, 0),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            consistency_proof(&leaves, 5, 4),
            Err(ProofError::OldLargerThanNew {
                old_size: 5,
                new_size: 4
            })
        );
        assert!(consistency_proof(&leaves, 1, 9).is_err());
        assert_eq!(consistency_proof(&leaves, 0, 8), Ok(vec![]));
    }

    #[test]
    fn frontier_from_parts() {
        let leaves = synthetic_leaves(13, 1);
        let mut f = Frontier::new();
        for l in &leaves[..11] {
            f.push(*l);
        }
        let mut g = Frontier::from_parts(f.size(), f.nodes().to_vec()).unwrap();
        for l in &leaves[11..] {
            f.push(*l);
            g.push(*l);
        }
        assert_eq!(f, g);
        assert_eq!(g.root(), mth_reference(&leaves));
        assert!(Frontier::from_parts(3, vec![EMPTY_ROOT]).is_none());
    }

    #[test]
    fn every_proof_in_small_trees() {
        for size in 1..=33u64 {
            let leaves = synthetic_leaves(size as usize, size);
            let r = mth_reference(&leaves);
            for index in 0..size {
                let p = inclusion_proof(&leaves, index, size).unwrap();
                assert!(verify_inclusion(
                    &leaves[index as usize],
                    index,
                    size,
                    &p,
                    &r
                ));
            }
            for old in 0..=size {
                let p = consistency_proof(&leaves, old, size).unwrap();
                let r_old = mth_reference(&leaves[..old as usize]);
                assert!(
                    verify_consistency(old, size, &r_old, &r, &p),
                    "{old} -> {size}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn frontier_root_matches_recursive_mth(n in 0usize..300, salt in any::<u64>()) {
            let leaves = synthetic_leaves(n, salt);
            let mut f = Frontier::new();
            prop_assert_eq!(f.root(), mth_reference(&[]));
            for (i, l) in leaves.iter().enumerate() {
                f.push(*l);
                prop_assert_eq!(f.root(), mth_reference(&leaves[..=i]));
                prop_assert_eq!(f.nodes().len() as u32, f.size().count_ones());
            }
        }

        #[test]
        fn every_inclusion_proof_verifies_and_a_flipped_bit_fails(
            n in 1usize..80,
            salt in any::<u64>(),
            flip in any::<(usize, usize, u8)>(),
        ) {
            let leaves = synthetic_leaves(n, salt);
            let size = n as u64;
            let r = root(&leaves);
            for index in 0..size {
                let leaf = leaves[index as usize];
                let proof = inclusion_proof(&leaves, index, size).unwrap();
                prop_assert!(verify_inclusion(&leaf, index, size, &proof, &r));
                // Flip one bit of the leaf, of the root, and of one proof node.
                let bit = 1u8 << (flip.2 % 8);
                let mut bad_leaf = leaf;
                bad_leaf[flip.1 % 32] ^= bit;
                prop_assert!(!verify_inclusion(&bad_leaf, index, size, &proof, &r));
                let mut bad_root = r;
                bad_root[flip.1 % 32] ^= bit;
                prop_assert!(!verify_inclusion(&leaf, index, size, &proof, &bad_root));
                if !proof.is_empty() {
                    let mut bad = proof.clone();
                    bad[flip.0 % proof.len()][flip.1 % 32] ^= bit;
                    prop_assert!(!verify_inclusion(&leaf, index, size, &bad, &r));
                }
                // A proof for one index never proves another.
                if size > 1 {
                    let other = (index + 1) % size;
                    prop_assert!(!verify_inclusion(&leaf, other, size, &proof, &r));
                }
            }
        }

        #[test]
        fn every_consistency_proof_verifies(
            n in 1usize..200,
            a in any::<u64>(),
            b in any::<u64>(),
            salt in any::<u64>(),
            flip in any::<(usize, usize, u8)>(),
        ) {
            let leaves = synthetic_leaves(n, salt);
            let (mut old, mut new) = (a % (n as u64 + 1), b % (n as u64 + 1));
            if old > new { std::mem::swap(&mut old, &mut new); }
            let r_old = root(&leaves[..old as usize]);
            let r_new = root(&leaves[..new as usize]);
            let proof = consistency_proof(&leaves, old, new).unwrap();
            prop_assert!(verify_consistency(old, new, &r_old, &r_new, &proof));
            if !proof.is_empty() {
                let bit = 1u8 << (flip.2 % 8);
                let mut bad = proof.clone();
                bad[flip.0 % proof.len()][flip.1 % 32] ^= bit;
                prop_assert!(!verify_consistency(old, new, &r_old, &r_new, &bad));
                let mut bad_old = r_old;
                bad_old[flip.1 % 32] ^= bit;
                prop_assert!(!verify_consistency(old, new, &bad_old, &r_new, &proof));
                let mut bad_new = r_new;
                bad_new[flip.1 % 32] ^= bit;
                prop_assert!(!verify_consistency(old, new, &r_old, &bad_new, &proof));
            }
        }

        #[test]
        fn verifiers_never_panic(
            index in any::<u64>(),
            size in any::<u64>(),
            old in any::<u64>(),
            proof in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
        ) {
            let _ = verify_inclusion(&EMPTY_ROOT, index, size, &proof, &EMPTY_ROOT);
            let _ = verify_consistency(old, size, &EMPTY_ROOT, &EMPTY_ROOT, &proof);
        }
    }
}

//! What verifying a block found: the root, every record's verdict, and where the time went.
#![forbid(unsafe_code)]

use std::time::Duration;

use super::{FormatError, Header};
use crate::merkle::DuplicatePair;
use crate::{GpuFault, Placement, Reason};

/// One record's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordVerdict {
    /// The signature verifies and the record is the first of its bytes in the block.
    Valid,
    /// The signature does not verify under the block's policy; the reason says which check.
    Invalid(Reason),
    /// A byte-for-byte copy of an earlier record (a replay), whose signature is valid.
    Duplicate {
        /// The index of the first occurrence.
        first: usize,
    },
}

impl RecordVerdict {
    /// `true` only for [`RecordVerdict::Valid`].
    pub fn is_valid(self) -> bool {
        self == RecordVerdict::Valid
    }
}

/// Wall time of each stage of one block's verification. Signatures and the Merkle root run
/// concurrently, so their sum exceeds `total`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StageTimings {
    /// Parsing (zero when a parsed view was passed in).
    pub parse: Duration,
    /// Verifying every signature.
    pub signatures: Duration,
    /// Computing the Merkle root.
    pub merkle: Duration,
    /// Finding duplicated records.
    pub duplicates: Duration,
    /// The whole call.
    pub total: Duration,
}

/// The result of verifying one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockReport {
    pub(crate) header: Header,
    pub(crate) block_hash: [u8; 32],
    pub(crate) computed_root: [u8; 32],
    pub(crate) duplicate_pair: Option<DuplicatePair>,
    pub(crate) verdicts: Vec<RecordVerdict>,
    pub(crate) timings: StageTimings,
    pub(crate) signature_placement: Placement,
    pub(crate) merkle_placement: Placement,
    pub(crate) gpu_fault: Option<GpuFault>,
}

impl BlockReport {
    /// The block's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The block's hash (SHA-256 of its header).
    pub fn block_hash(&self) -> [u8; 32] {
        self.block_hash
    }

    /// The root computed from the records.
    pub fn computed_root(&self) -> [u8; 32] {
        self.computed_root
    }

    /// Whether the computed root equals the header's.
    pub fn root_matches(&self) -> bool {
        self.computed_root == self.header.merkle_root
    }

    /// Bitcoin-scheme blocks only: identical sibling nodes in the tree (CVE-2012-2459), which
    /// make the block invalid even when the root matches.
    pub fn duplicate_pair(&self) -> Option<DuplicatePair> {
        self.duplicate_pair
    }

    /// One verdict per record, in block order.
    pub fn verdicts(&self) -> &[RecordVerdict] {
        &self.verdicts
    }

    /// Records whose verdict is not [`RecordVerdict::Valid`], ascending.
    pub fn bad_records(&self) -> Vec<usize> {
        (0..self.verdicts.len())
            .filter(|&i| !self.verdicts[i].is_valid())
            .collect()
    }

    /// Records with a valid signature (duplicates excluded).
    pub fn valid_count(&self) -> usize {
        self.verdicts.iter().filter(|v| v.is_valid()).count()
    }

    /// Records whose signature failed.
    pub fn invalid_count(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|v| matches!(v, RecordVerdict::Invalid(_)))
            .count()
    }

    /// Records that repeat an earlier one.
    pub fn duplicate_count(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|v| matches!(v, RecordVerdict::Duplicate { .. }))
            .count()
    }

    /// The block is valid: the root matches, the tree has no duplicate pair, and every record
    /// is valid and unique.
    pub fn is_valid(&self) -> bool {
        self.root_matches() && self.duplicate_pair.is_none() && self.bad_records().is_empty()
    }

    /// Time per stage.
    pub fn timings(&self) -> StageTimings {
        self.timings
    }

    /// Where the signatures were verified: `Cpu`, `Gpu`, or `Split` when the batch was split
    /// between them (see [`SigReport::placement`](crate::SigReport::placement)).
    pub fn signature_placement(&self) -> Placement {
        self.signature_placement
    }

    /// Where the Merkle root was computed.
    pub fn merkle_placement(&self) -> Placement {
        self.merkle_placement
    }

    /// Set when a job sent to the GPU (the signatures or the root) failed there; the CPU
    /// engine redid it, with the same result. The root's fault when both failed.
    pub fn gpu_fault(&self) -> Option<GpuFault> {
        self.gpu_fault
    }
}

/// Why a block could not be verified at all (as opposed to verified and found invalid, which
/// is a [`BlockReport`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The bytes are not a well-formed block.
    #[error("malformed block: {0}")]
    Format(FormatError),
}

impl From<FormatError> for BlockError {
    fn from(e: FormatError) -> Self {
        BlockError::Format(e)
    }
}

/// The result of verifying a chain of blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub(crate) blocks: Vec<Result<BlockReport, BlockError>>,
    pub(crate) broken_links: Vec<usize>,
}

impl ChainReport {
    /// One result per block, in order.
    pub fn blocks(&self) -> &[Result<BlockReport, BlockError>] {
        &self.blocks
    }

    /// Blocks `i` (≥ 1) whose `prev_hash` is not the hash of block `i − 1` or whose height is
    /// not one more (blocks that failed to parse break the links on both sides).
    pub fn broken_links(&self) -> &[usize] {
        &self.broken_links
    }

    /// Every block valid and every link intact.
    pub fn is_valid(&self) -> bool {
        self.broken_links.is_empty()
            && self
                .blocks
                .iter()
                .all(|b| b.as_ref().is_ok_and(BlockReport::is_valid))
    }
}

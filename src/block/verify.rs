//! [`Verifier::verify_block`] and the chain form: signatures and root together.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use rayon::prelude::*;

use super::report::{BlockError, BlockReport, ChainReport, RecordVerdict, StageTimings};
use super::{BlockView, Header, Leaves, Limits, RecordView, SigAlgorithm, record_leaves};
use crate::merkle::{RootReport, Scheme};
use crate::sig::SigReport;
use crate::task::Task;
use crate::{SigItem, Sm2Item, Verdict, Verifier};

impl Verifier {
    /// Parses `bytes` as a block (default [`Limits`]) and verifies it (see
    /// [`Verifier::verify_block`]).
    ///
    /// # Errors
    /// [`BlockError::Format`] for malformed bytes (with the offset and record).
    pub fn verify_block_bytes(&self, bytes: &[u8]) -> Result<BlockReport, BlockError> {
        self.verify_block_bytes_with(bytes, Limits::default())
    }

    /// [`Verifier::verify_block_bytes`] with chosen parser limits.
    ///
    /// # Errors
    /// As [`Verifier::verify_block_bytes`].
    pub fn verify_block_bytes_with(
        &self,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<BlockReport, BlockError> {
        let started = Instant::now();
        let view = BlockView::parse_with(bytes, limits)?;
        let parse = started.elapsed();
        let mut report = self.verify_block(&view)?;
        report.timings.parse = parse;
        report.timings.total = started.elapsed();
        Ok(report)
    }

    /// Verifies a parsed block: every record's signature under the algorithm the block
    /// declares — Ed25519 under its policy (whatever the verifier's default; on the same pool)
    /// with [`Verifier::verify_ed25519`], or SM2 with [`Verifier::verify_sm2`] (each where
    /// the backend sends it, like Ed25519) — the records' Merkle root under the block's
    /// scheme against the header's, and that no record repeats an earlier one.
    ///
    /// The root is computed on another thread while the signatures are verified, each where
    /// this verifier sends such jobs (see [`Backend`](crate::Backend); with a GPU both may use
    /// it, taking turns on the device); duplicates are found by hashing the records. Verdicts
    /// are exact and deterministic like [`Verifier::verify_signatures`]' and
    /// [`Verifier::verify_sm2`]'.
    ///
    /// # Errors
    /// None today (a parsed block is always verifiable); the `Result` leaves room for checks
    /// that need the whole block.
    pub fn verify_block(&self, block: &BlockView<'_>) -> Result<BlockReport, BlockError> {
        let header = *block.header();
        let _block_span = crate::trace::block(header.height, block.records().len());
        let parent = crate::trace::current();
        let started = Instant::now();
        let records = block.records();
        let encodings: Vec<&[u8]> = records.iter().map(|r| r.bytes()).collect();

        // Three stages at once: signatures on the pool (the bulk of the work), the root on
        // its own thread (or the GPU), duplicate detection on a third; none waits for another.
        // The three stages as rayon joins on this verifier's pool: a worker that waits (on
        // the GPU, or for a stage another worker took) keeps taking work, so a block
        // submitted to the pool (`submit_block`) cannot deadlock it at any thread count.
        let ((root, merkle_time), ((first_copy, duplicates), (sigs, sig_time))) =
            self.install(|| {
                rayon::join(
                    || {
                        let _stage = crate::trace::stage(&parent, "merkle");
                        let t = Instant::now();
                        let root = self.block_root(header.scheme, &encodings);
                        (root, t.elapsed())
                    },
                    || {
                        rayon::join(
                            || {
                                let _stage = crate::trace::stage(&parent, "duplicates");
                                let t = Instant::now();
                                (first_occurrences(records), t.elapsed())
                            },
                            || {
                                let _stage = crate::trace::stage(&parent, "signatures");
                                let t = Instant::now();
                                let sigs = self.verify_records(header.algorithm, records);
                                (sigs, t.elapsed())
                            },
                        )
                    },
                )
            });

        let verdicts = sigs
            .verdicts()
            .iter()
            .zip(first_copy)
            .map(|(verdict, first)| match (verdict, first) {
                (Verdict::Invalid(reason), _) => RecordVerdict::Invalid(*reason),
                (_, Some(first)) => RecordVerdict::Duplicate { first },
                _ => RecordVerdict::Valid,
            })
            .collect();
        Ok(BlockReport {
            header,
            block_hash: header.hash(),
            computed_root: root.root(),
            duplicate_pair: root.duplicate_pair(),
            verdicts,
            timings: StageTimings {
                parse: std::time::Duration::ZERO,
                signatures: sig_time,
                merkle: merkle_time,
                duplicates,
                total: started.elapsed(),
            },
            signature_placement: sigs.placement(),
            merkle_placement: root.placement(),
            gpu_fault: root.gpu_fault().or(sigs.gpu_fault()),
        })
    }

    /// Starts verifying an owned block on this verifier's pool and returns at once (no thread
    /// is created); the pipelined form a node uses to overlap block N + 1 with block N (the
    /// second fills the cores the first leaves idle, e.g. while its root is on the GPU).
    /// [`PendingBlock::wait`] or `.await` gives the report.
    pub fn submit_block(self: &Arc<Self>, bytes: Arc<[u8]>) -> PendingBlock {
        let verifier = Arc::clone(self);
        PendingBlock {
            task: self.spawn(move || verifier.verify_block_bytes(&bytes)),
        }
    }

    /// Verifies consecutive blocks, parsing block `i + 1` while block `i` is verified, and
    /// checks each link: block `i`'s `prev_hash` is block `i − 1`'s hash and its height one
    /// more.
    pub fn verify_chain(&self, blocks: &[&[u8]]) -> ChainReport {
        self.verify_chain_with(blocks, Limits::default())
    }

    /// [`Verifier::verify_chain`] with chosen parser limits.
    pub fn verify_chain_with(&self, blocks: &[&[u8]], limits: Limits) -> ChainReport {
        let mut results = Vec::with_capacity(blocks.len());
        let mut headers: Vec<Option<Header>> = Vec::with_capacity(blocks.len());
        let mut next = blocks.first().map(|b| BlockView::parse_with(b, limits));
        for i in 0..blocks.len() {
            let current = next.take().expect("parsed ahead");
            headers.push(Header::parse(blocks[i]).ok());
            let (result, parsed) = std::thread::scope(|scope| {
                let ahead = blocks
                    .get(i + 1)
                    .map(|b| scope.spawn(move || BlockView::parse_with(b, limits)));
                let result = current
                    .map_err(BlockError::from)
                    .and_then(|view| self.verify_block(&view));
                let parsed = ahead.map(join);
                (result, parsed)
            });
            results.push(result);
            next = parsed;
        }
        let broken_links = (1..blocks.len())
            .filter(|&i| match (&headers[i - 1], &headers[i]) {
                (Some(prev), Some(this)) => {
                    this.prev_hash != prev.hash() || Some(this.height) != prev.height.checked_add(1)
                }
                _ => true,
            })
            .collect();
        ChainReport {
            blocks: results,
            broken_links,
        }
    }

    /// Every record's signature, in block order, under `algorithm` (every record of a parsed
    /// block has its header's). SM2 records sign the SM3 hash of their signed message: the
    /// hashes are computed here, many records at a time, in parallel on the current pool.
    fn verify_records(&self, algorithm: SigAlgorithm, records: &[RecordView<'_>]) -> SigReport {
        match algorithm {
            SigAlgorithm::Ed25519(policy) => {
                // Every record of an Ed25519 block has its item.
                let items: Vec<SigItem<'_>> = records.iter().filter_map(|r| r.sig_item()).collect();
                self.verify_ed25519(policy, &items)
            }
            SigAlgorithm::Sm2 => {
                let sm3 = crate::merkle::sm3::Platform::detect();
                let digests: Vec<[u8; 32]> = records
                    .par_chunks(1024)
                    .flat_map_iter(|chunk| {
                        let messages: Vec<&[u8]> =
                            chunk.iter().map(|r| r.signed_message()).collect();
                        sm3.hash_many(&messages)
                    })
                    .collect();
                // The key and signature straight from the record (64 bytes each in an SM2
                // block), the message from `digests`: what `RecordView::sm2_item` builds.
                let items: Vec<Sm2Item<'_>> = records
                    .iter()
                    .zip(&digests)
                    .map(|(r, digest)| Sm2Item::new(r.issuer(), r.signature(), digest))
                    .collect();
                self.verify_sm2(&items)
            }
        }
    }

    /// The records' root: leaves prepared on this verifier's pool, the root wherever this
    /// verifier sends Merkle jobs.
    fn block_root(&self, scheme: Scheme, encodings: &[&[u8]]) -> RootReport {
        let leaves = self.install(|| record_leaves(scheme, encodings));
        let root = match &leaves {
            Leaves::Records(r) => self.merkle_root(scheme, r),
            Leaves::Ids(ids) => self.merkle_root(scheme, ids),
        };
        super::header_root(root)
    }
}

/// A block being verified by [`Verifier::submit_block`] on the verifier's pool: wait for it
/// ([`PendingBlock::wait`]) or `.await` it (a [`Future`] on any async runtime).
#[derive(Debug)]
#[must_use = "the verification runs anyway; its report is only in this handle"]
pub struct PendingBlock {
    task: Task<Result<BlockReport, BlockError>>,
}

impl PendingBlock {
    /// Waits for the verification to finish.
    ///
    /// # Errors
    /// As [`Verifier::verify_block_bytes`].
    pub fn wait(self) -> Result<BlockReport, BlockError> {
        self.task.wait()
    }

    /// Whether the verification has finished (so [`PendingBlock::wait`] will not block).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Future for PendingBlock {
    type Output = Result<BlockReport, BlockError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

/// The result of a scoped thread, its panic (a bug) passed on.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// For each record, the index of the first earlier record with the same bytes, if any.
///
/// Records are keyed by their 64 signature bytes (hashing 64 bytes, not the whole record) and
/// confirmed byte for byte. Two different records with the same signature bytes (possible
/// only for invalid ones, or with a hash collision) fall back to a map keyed by the whole
/// encoding, so the answer is exact either way.
fn first_occurrences(records: &[RecordView<'_>]) -> Vec<Option<usize>> {
    let mut by_signature: HashMap<&[u8; 64], usize> = HashMap::with_capacity(records.len());
    let mut by_bytes: HashMap<&[u8], usize> = HashMap::new();
    records
        .iter()
        .enumerate()
        .map(|(i, r)| match by_signature.get(r.signature()) {
            None => {
                by_signature.insert(r.signature(), i);
                None
            }
            Some(&first) if records[first].bytes() == r.bytes() => Some(first),
            Some(_) => match by_bytes.get(r.bytes()) {
                Some(&first) => Some(first),
                None => {
                    by_bytes.insert(r.bytes(), i);
                    None
                }
            },
        })
        .collect()
}

//! Steps 8–12 of a tick, shared with `replay`: L1 preflight, streaming the inputs of
//! `(from, to]` into the machine with reference host semantics, completeness, extraction.

use std::collections::VecDeque;
use std::io::Write;

use alloy_primitives::B256;
use l1::{HeadTag, InputReader, L1Provider, RangePlan, ScanReport};
use machine::{MachineWorker, RunControl, StateSource};
use sha2::{Digest, Sha256};

use crate::inputs::input_line_hashed;
use crate::progress::ProgressSink;
use crate::state::event::StopRecord;
use crate::{Class, Error, Result};

/// What the preflight established about B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Anchor {
    /// B.
    pub block: u64,
    /// Hash of B.
    pub hash: B256,
    /// `getNumberOfInputs(app)` at B.
    pub input_count: u64,
}

/// A running digest of the replayed inputs' identities — `(index, block, tx_hash, log_index,
/// input_sha256)` each — compared against a confirmation provider. Memory stays constant
/// however many inputs a tick replays.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fingerprints {
    hasher: Sha256,
    count: u64,
}

impl Fingerprints {
    /// Adds one input.
    pub(crate) fn push(&mut self, input: &l1::Input, sha256: &[u8; 32]) {
        self.hasher.update(input.index.to_be_bytes());
        self.hasher.update(input.block_number.to_be_bytes());
        self.hasher.update(input.tx_hash);
        self.hasher.update(input.log_index.map_or([0xff; 9], |i| {
            let mut word = [0; 9];
            word[1..].copy_from_slice(&i.to_be_bytes());
            word
        }));
        self.hasher.update(sha256);
        self.count += 1;
    }

    /// Inputs added.
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// The digest so far.
    pub(crate) fn digest(&self) -> B256 {
        B256::from_slice(&self.hasher.clone().finalize())
    }
}

impl PartialEq for Fingerprints {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.digest() == other.digest()
    }
}

/// What feeding produced.
#[derive(Debug, Default)]
pub(crate) struct Fed {
    /// Inputs fed to the machine.
    pub inputs: u64,
    /// The next expected index after the last input fed.
    pub next_index: u64,
    /// Set when the machine reached a fixed point.
    pub stop: Option<StopRecord>,
    /// The identities of the inputs fed, in order.
    pub fingerprints: Fingerprints,
    /// The scan's bookkeeping (ranges, span).
    pub report: Option<ScanReport>,
}

/// Step 8.1: the provider's chain id, which must equal `expected` when one is known.
pub(crate) async fn chain_id(provider: &L1Provider, expected: Option<u64>) -> Result<u64> {
    let actual = l1::chain_id(provider).await?;
    match expected {
        Some(expected) if expected != actual => Err(Error::ChainIdMismatch { expected, actual }),
        _ => Ok(actual),
    }
}

/// Step 8: chain id, head tag ≥ B, anchor at the head block, hash and input count at B.
pub(crate) async fn preflight(
    reader: &InputReader<L1Provider>,
    tag: HeadTag,
    head_block: u64,
    head_hash: &str,
    head_count: u64,
    target: u64,
) -> Result<Anchor> {
    let provider = reader.provider();
    chain_id(provider, Some(reader.chain_id())).await?;
    let head_tag = l1::block_by_tag(provider, tag).await?;
    if head_tag.number < target {
        return Err(Error::fail(
            Class::Transient,
            "l1_head_lags",
            format!(
                "the L1 {tag} block {} is below the target block {target}",
                head_tag.number
            ),
        ));
    }
    let anchor = l1::block_by_number(provider, head_block)
        .await
        .map_err(|e| {
            Error::fail(
                Class::Transient,
                "l1_anchor_unavailable",
                format!("head block {head_block}: {e}"),
            )
        })?;
    if !format!("{:#x}", anchor.hash).eq_ignore_ascii_case(head_hash) {
        return Err(Error::fail(
            Class::Operator,
            "l1_anchor_mismatch",
            format!(
                "block {head_block} has hash {:#x} on L1, the head recorded {head_hash}; verify with another provider, then re-init from a trusted snapshot",
                anchor.hash
            ),
        ));
    }
    let at_target = l1::block_by_number(provider, target).await?;
    let input_count = reader.input_count_at(at_target.hash).await?;
    if input_count < head_count {
        return Err(Error::fail(
            Class::Transient,
            "l1_incomplete",
            format!("{input_count} inputs at block {target}, fewer than the head's {head_count}"),
        ));
    }
    Ok(Anchor {
        block: target,
        hash: at_target.hash,
        input_count,
    })
}

/// Step 10: streams the inputs of `(from, to]` starting at `start_index`, appending each to
/// `log` (the `inputs.jsonl` format) and feeding it with reference host semantics. `progress`
/// hears the number fed after each input.
///
/// The next `eth_getLogs` page is read while the machine folds the second half of the current
/// one, so L1 and the machine work at the same time; inputs still reach the machine one by one
/// in L1 order, and at most one page and a half are held (the half being fed and the page being
/// read, which the `l1` reader decodes as its response streams in). A page read ahead of a
/// machine stop is dropped unused, and a read error surfaces only once the page before it was
/// fed, as without the overlap.
#[allow(clippy::too_many_arguments)] // one call per command; a struct would only rename them
pub(crate) async fn feed(
    reader: &InputReader<L1Provider>,
    worker: &MachineWorker,
    from_exclusive: u64,
    to: u64,
    start_index: u64,
    log: &mut dyn Write,
    ctl: &RunControl,
    progress: Option<&dyn ProgressSink>,
) -> Result<Fed> {
    let mut fed = Fed {
        next_index: start_index,
        ..Fed::default()
    };
    if to <= from_exclusive {
        return Ok(fed);
    }
    let mut cursor = reader.cursor(from_exclusive + 1, to, start_index);
    let mut page = cursor.next_page().await?;
    while let Some(mut inputs) = page {
        // The first half is fed alone and its buffer freed, so the read overlaps the second
        // half: half a page and the next one are held, not two pages.
        let second = inputs.split_off(inputs.len() / 2);
        Sink::new(worker, log, ctl, progress)
            .feed_page(inputs, &mut fed)
            .await?;
        if fed.stop.is_some() {
            break;
        }
        // The read is polled first, so the request goes out before the second half is fed.
        let (next, folded) = tokio::join!(
            biased;
            cursor.next_page(),
            Sink::new(worker, log, ctl, progress).feed_page(second, &mut fed)
        );
        folded?;
        if fed.stop.is_some() {
            break;
        }
        page = next?;
    }
    fed.report = Some(cursor.report().clone());
    tracing::debug!(
        target: "watchdog::feed",
        event = "recovery_threads",
        threads = canonical::recovery_threads(),
        workers = canonical::recovery_workers(),
        "native signature recovery: threads per batch, worker threads spawned"
    );
    Ok(fed)
}

/// Where fed inputs go: the machine, `inputs.jsonl` and the progress display.
struct Sink<'a> {
    worker: &'a MachineWorker,
    log: &'a mut dyn Write,
    ctl: &'a RunControl,
    progress: Option<&'a dyn ProgressSink>,
}

impl<'a> Sink<'a> {
    fn new(
        worker: &'a MachineWorker,
        log: &'a mut dyn Write,
        ctl: &'a RunControl,
        progress: Option<&'a dyn ProgressSink>,
    ) -> Self {
        Self {
            worker,
            log,
            ctl,
            progress,
        }
    }

    /// Feeds one page in order, dropping each input once fed; stops at a machine fixed point.
    async fn feed_page(self, mut inputs: VecDeque<l1::Input>, fed: &mut Fed) -> Result<()> {
        while let Some(input) = inputs.pop_front() {
            let sha256: [u8; 32] = Sha256::digest(&input.raw).into();
            writeln!(self.log, "{}", input_line_hashed(&input, &sha256)).map_err(|e| {
                Error::fail(
                    Class::Internal,
                    "publish_failed",
                    format!("inputs.jsonl: {e}"),
                )
            })?;
            let report = self
                .worker
                .advance(input.raw.to_vec(), self.ctl.clone())
                .await
                .map_err(machine_error)?;
            fed.inputs += 1;
            fed.next_index = input.index + 1;
            // A crash between two inputs: nothing of the tick is durable yet.
            fail::fail_point!("feed.after_input");
            if let Some(progress) = self.progress {
                progress.update(fed.inputs);
            }
            fed.fingerprints.push(&input, &sha256);
            if report.outcome.is_fixed_point() {
                tracing::warn!(target: "watchdog::feed", event = "machine_stopped", index = input.index, block = input.block_number, outcome = %report.outcome, "the canonical machine reached a fixed point");
                fed.stop = Some(StopRecord {
                    status: report.outcome.kind().to_owned(),
                    description: report.outcome.to_string(),
                    input_index: input.index,
                    input_block: input.block_number,
                });
                break;
            }
        }
        Ok(())
    }
}

/// Step 11: the count at B is covered and B's hash did not change.
pub(crate) async fn completeness(
    reader: &InputReader<L1Provider>,
    fed: &Fed,
    anchor: &Anchor,
) -> Result<()> {
    if fed.next_index != anchor.input_count {
        return Err(Error::fail(
            Class::Transient,
            "l1_incomplete",
            format!(
                "replayed up to index {} but block {} has {} inputs",
                fed.next_index, anchor.block, anchor.input_count
            ),
        ));
    }
    let again = l1::block_by_number(reader.provider(), anchor.block).await?;
    if again.hash != anchor.hash {
        return Err(Error::fail(
            Class::Transient,
            "l1_reorged_during_tick",
            format!("block {} changed hash during the tick", anchor.block),
        ));
    }
    Ok(())
}

/// Step 12: the state bytes, from a throw-away copy of the machine.
pub(crate) async fn extract(
    worker: &MachineWorker,
    source: &str,
    ctl: &RunControl,
) -> Result<Vec<u8>> {
    let source = match source.strip_prefix("range:") {
        Some(label) => StateSource::Range {
            label: label.to_owned(),
            max_len: 1 << 30,
        },
        None => StateSource::Inspect(b"state".to_vec()),
    };
    worker
        .extract_state(source, ctl.clone())
        .await
        .map_err(|e| {
            if is_panic(&e) {
                machine_error(e)
            } else {
                Error::fail(Class::Operator, "state_extraction_failed", e.to_string())
            }
        })
}

/// A reader for `app` with the plan of this run.
pub(crate) fn reader(
    provider: L1Provider,
    app: alloy_primitives::Address,
    input_box: alloy_primitives::Address,
    chain_id: u64,
    codes: Vec<i64>,
    span: Option<u64>,
) -> InputReader<L1Provider> {
    InputReader::new(
        provider,
        app,
        input_box,
        chain_id,
        RangePlan::new().with_codes(codes).with_span(span),
    )
}

/// Maps a failure to store the machine of a new checkpoint or replay output.
pub(crate) fn store_error(error: machine::Error) -> Error {
    match error {
        machine::Error::WorkerGone => machine_error(error),
        other => Error::fail(
            Class::Internal,
            "publish_failed",
            format!("storing the machine: {other}"),
        ),
    }
}

/// A caught panic: the machine thread only goes away by panicking, and a panic in the native
/// engine (a signature recovery included) is a bug of ours, never a verdict on the input.
fn is_panic(error: &machine::Error) -> bool {
    matches!(
        error,
        machine::Error::WorkerGone
            | machine::Error::WorkerPanic(_)
            | machine::Error::EnginePanic { .. }
    )
}

/// Maps a machine failure during a run to a class and reason.
pub(crate) fn machine_error(error: machine::Error) -> Error {
    let reason = match &error {
        machine::Error::Library(_) => "libcartesi_unavailable",
        machine::Error::RevertMismatch { .. } | machine::Error::ReplayMismatch(_) => {
            "revert_failed"
        }
        _ if is_panic(&error) => "panic",
        _ => match error.class() {
            machine::Class::Operator => "checkpoint_corrupt",
            machine::Class::Transient => "deadline_exceeded",
            machine::Class::Internal => "internal_error",
        },
    };
    let class = match error.class() {
        machine::Class::Operator => Class::Operator,
        machine::Class::Transient => Class::Transient,
        machine::Class::Internal => Class::Internal,
    };
    Error::fail(class, reason, error.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
    use alloy::transports::mock::{Asserter, MockTransport};
    use alloy::transports::{TransportError, TransportFut};
    use alloy_primitives::{Address, B256, U256};
    use canonical::{InputBuilder, WalletConfig};
    use machine::NativeBackend;
    use serde_json::{Value, json};
    use tower::Service;

    use super::*;

    const APP: Address = Address::repeat_byte(0xaa);
    const INPUT_BOX: Address = Address::repeat_byte(0xbb);

    /// Counts the inputs fed.
    struct Counter(Arc<AtomicU64>);

    impl ProgressSink for Counter {
        fn start(&self, _: u64) {}
        fn update(&self, done: u64) {
            self.0.store(done, Ordering::SeqCst);
        }
        fn finish(&self) {}
    }

    /// Answers from the asserter; records, as each request is sent, how many inputs the
    /// machine had been fed.
    #[derive(Clone)]
    struct Recorder {
        inner: MockTransport,
        fed: Arc<AtomicU64>,
        seen: Arc<Mutex<Vec<u64>>>,
    }

    impl Service<RequestPacket> for Recorder {
        type Response = ResponsePacket;
        type Error = TransportError;
        type Future = TransportFut<'static>;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.inner.poll_ready(cx)
        }

        fn call(&mut self, request: RequestPacket) -> Self::Future {
            self.seen
                .lock()
                .unwrap()
                .push(self.fed.load(Ordering::SeqCst));
            self.inner.call(request)
        }
    }

    /// The `InputAdded` log of input `index` in `block`.
    fn log(index: u64, block: u64) -> Value {
        let raw = InputBuilder::new(WalletConfig::devnet(), APP).advance(
            Address::repeat_byte(0x42),
            block,
            index,
            vec![index as u8],
        );
        let data = l1::input_added_data(&raw);
        json!({
            "address": INPUT_BOX,
            "topics": [l1::INPUT_ADDED_TOPIC, APP.into_word(), B256::from(U256::from(index))],
            "data": format!("0x{}", hex::encode(&data)),
            "blockNumber": format!("{block:#x}"),
            "blockHash": B256::repeat_byte(block as u8),
            "transactionHash": B256::repeat_byte(index as u8),
            "transactionIndex": "0x0",
            "logIndex": format!("{index:#x}"),
            "removed": false,
        })
    }

    /// Three pages of three inputs: each page is requested while the machine folds the second
    /// half of the one before it, and every input still reaches the machine in order.
    #[test]
    fn the_next_page_is_read_while_the_machine_folds_the_current_one() {
        let asserter = Asserter::new();
        for page in 0..3u64 {
            let logs: Vec<Value> = (0..3)
                .map(|k| log(page * 3 + k, page * 10 + 1 + k))
                .collect();
            asserter.push_success(&logs);
        }
        let fed = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let transport = Recorder {
            inner: MockTransport::new(asserter),
            fed: Arc::clone(&fed),
            seen: Arc::clone(&seen),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (result, log_text) = runtime.block_on(async {
            let provider = l1::provider_with_transport(
                transport,
                true,
                &l1::RpcConfig::default(),
                &l1::RequestBudget::unlimited(),
            );
            let reader = reader(provider, APP, INPUT_BOX, 31337, Vec::new(), Some(10));
            let (worker, _) =
                MachineWorker::spawn(Arc::new(NativeBackend), "genesis:devnet".into())
                    .await
                    .unwrap();
            let mut log = Vec::new();
            let sink = Counter(Arc::clone(&fed));
            let ctl = RunControl::default();
            let result = feed(&reader, &worker, 0, 29, 0, &mut log, &ctl, Some(&sink))
                .await
                .unwrap();
            (result, String::from_utf8(log).unwrap())
        });
        assert_eq!(result.inputs, 9);
        assert_eq!(result.next_index, 9);
        assert_eq!(log_text.lines().count(), 9);
        // Windows [1, 10], [11, 20], [21, 29]: each later page was requested as the machine
        // started on the second half of the page before it (reading after feeding would have
        // sent 3 and 6).
        assert_eq!(*seen.lock().unwrap(), [0, 1, 4]);
    }
}

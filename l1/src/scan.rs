//! The streaming scan: one `eth_getLogs` response at a time, split on range errors, checked and
//! handed out in L1 order.

use std::collections::VecDeque;

use alloy::providers::Provider;
use alloy::transports::TransportError;

use crate::classify::{Verdict, classify};
use crate::error::{Error, Result};
use crate::log::{Expect, Input, LogFilter};
use crate::page::Page;
use crate::plan::Worklist;
use crate::range::BlockRange;
use crate::reader::InputReader;
use crate::report::ScanReport;

const GET_LOGS: &str = "eth_getLogs";

/// The entry points of a scan.
impl<P: Provider> InputReader<P> {
    /// A pull-based scan of `[from, to]` whose first input must carry `start_index`. Nothing is
    /// requested before the first [`InputCursor::next`]; `from > to` makes no request at all.
    pub fn cursor(&self, from: u64, to: u64, start_index: u64) -> InputCursor<'_, P> {
        InputCursor::new(self, from, to, start_index)
    }

    /// Scans `[from, to]`, calling `visit` with each checked input in L1 order, one provider
    /// response at a time. On error, inputs already visited must be discarded by the caller
    /// (nothing from a failed read may be applied).
    pub async fn scan<F>(
        &self,
        from: u64,
        to: u64,
        start_index: u64,
        mut visit: F,
    ) -> Result<ScanReport>
    where
        F: FnMut(Input),
    {
        let mut cursor = self.cursor(from, to, start_index);
        while let Some(input) = cursor.next().await? {
            visit(input);
        }
        Ok(cursor.report().clone())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Done,
    Failed,
}

/// A pull-based scan of `[from, to]`: [`next`](Self::next) yields checked inputs in L1 order,
/// requesting the next range only when the previous page is used up, so memory holds at most
/// one page of decoded inputs.
///
/// Use it directly when each input needs async work (feeding a machine); use
/// [`InputReader::scan`] for a synchronous callback.
#[derive(Debug)]
pub struct InputCursor<'r, P> {
    reader: &'r InputReader<P>,
    work: Worklist,
    in_flight: Option<BlockRange>,
    pending: VecDeque<Input>,
    last_position: Option<(u64, u64, u64)>,
    report: ScanReport,
    state: State,
}

impl<'r, P: Provider> InputCursor<'r, P> {
    pub(crate) fn new(reader: &'r InputReader<P>, from: u64, to: u64, start_index: u64) -> Self {
        let span = reader.plan().span();
        Self {
            reader,
            work: Worklist::new(from, to, span),
            in_flight: None,
            pending: VecDeque::new(),
            last_position: None,
            report: ScanReport {
                from,
                to,
                start_index,
                next_index: start_index,
                covered: Vec::new(),
                get_logs_calls: 0,
                range_errors: 0,
                span_used: span,
                largest_ok: None,
            },
            state: State::Running,
        }
    }

    /// The next input, `Ok(None)` once `[from, to]` is covered. After an error the scan is over
    /// and further calls return [`Error::Poisoned`].
    ///
    /// Cancel-safe: if the returned future is dropped before it completes, the next call
    /// requests the same range again, so no range is skipped.
    pub async fn next(&mut self) -> Result<Option<Input>> {
        self.fill().await?;
        let input = self.pending.pop_front();
        if self.pending.is_empty() {
            // The used-up page's buffer is freed before the next page is read.
            self.pending = VecDeque::new();
        }
        Ok(input)
    }

    /// The inputs of the next provider response that has any, in L1 order; `Ok(None)` once
    /// `[from, to]` is covered. Same errors and cancel safety as [`next`](Self::next).
    ///
    /// A caller that overlaps requests with its own work holds at most two pages of decoded
    /// inputs: the one it works through and the one being read (whose response is decoded as
    /// it arrives, never held whole).
    pub async fn next_page(&mut self) -> Result<Option<VecDeque<Input>>> {
        self.fill().await?;
        Ok(Some(std::mem::take(&mut self.pending)).filter(|page| !page.is_empty()))
    }

    /// Requests ranges until an input is pending or the scan is over.
    async fn fill(&mut self) -> Result<()> {
        while self.pending.is_empty() {
            match self.state {
                State::Running => {}
                State::Done => return Ok(()),
                State::Failed => return Err(Error::Poisoned),
            }
            // A range stays in flight until its answer is processed, so that dropping this
            // future (a deadline, a `select!`) re-requests it instead of skipping it.
            let Some(range) = self.in_flight.or_else(|| self.work.pop()) else {
                self.state = State::Done;
                return Ok(());
            };
            self.in_flight = Some(range);
            let step = self.step(range).await;
            self.in_flight = None;
            if let Err(err) = step {
                self.state = State::Failed;
                self.pending.clear();
                return Err(err);
            }
        }
        Ok(())
    }

    /// The report so far; complete once [`next`](Self::next) returned `Ok(None)`.
    pub fn report(&self) -> &ScanReport {
        &self.report
    }

    /// Whether every range was read and every input handed out.
    pub fn is_finished(&self) -> bool {
        self.state == State::Done && self.pending.is_empty()
    }

    /// Requests one range and either queues its inputs or splits it.
    async fn step(&mut self, range: BlockRange) -> Result<()> {
        self.report.get_logs_calls += 1;
        match self.get_logs(range).await {
            Ok(logs) => self.accept(range, logs),
            Err(err) => self.on_error(range, err),
        }
    }

    /// One `eth_getLogs` request, its logs decoded as they arrive.
    async fn get_logs(&self, range: BlockRange) -> std::result::Result<Page, TransportError> {
        let filter = LogFilter {
            input_box: self.reader.input_box(),
            app: self.reader.app(),
            range,
            index: None,
        };
        crate::transport::get_logs(self.reader.provider().client(), filter, &self.expect(range))
            .await
    }

    /// What the logs of `range` are checked against.
    fn expect(&self, range: BlockRange) -> Expect {
        Expect {
            input_box: self.reader.input_box(),
            app: self.reader.app(),
            range,
            index: self.report.next_index,
        }
    }

    fn on_error(&mut self, range: BlockRange, err: TransportError) -> Result<()> {
        match classify(&err, self.reader.plan().codes()) {
            Verdict::RangeTooLarge(_) if range.is_single() => Err(Error::RangeSingleBlock {
                block: range.from,
                source: err,
            }),
            Verdict::RangeTooLarge(hint) => {
                let (left, right) = self.work.split(range, hint);
                tracing::debug!(target: "l1::bisect", %range, %left, %right, ?hint, "split");
                self.report.range_errors += 1;
                Ok(())
            }
            Verdict::Budget(limit) => Err(Error::BudgetExhausted { limit }),
            Verdict::HeadOverrun(message) => Err(Error::HeadLags {
                method: GET_LOGS,
                range,
                message,
            }),
            Verdict::BadResponse(detail) => Err(Error::BadResponse {
                method: GET_LOGS,
                detail,
            }),
            Verdict::RateLimited | Verdict::Other => Err(Error::Unavailable {
                method: GET_LOGS,
                range: Some(range),
                source: err,
            }),
        }
    }

    /// Puts one response in L1 order, checks it, and queues its inputs.
    fn accept(&mut self, range: BlockRange, page: Page) -> Result<()> {
        let (inputs, next_index) = page.into_inputs(
            &self.expect(range),
            self.reader.chain_id(),
            &mut self.last_position,
        )?;
        self.report.next_index = next_index;
        self.report.covered.push(range);
        self.work.succeeded(range);
        self.report.largest_ok = self.work.largest_ok();
        self.pending = inputs;
        Ok(())
    }
}

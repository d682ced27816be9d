//! [`InputReader`]: the identity of one application's input stream and the entry points of a
//! scan.

use alloy::providers::Provider;
use alloy_primitives::{Address, B256};

use crate::block::BlockParam;
use crate::error::{Error, Result};
use crate::inputbox::input_count;
use crate::plan::RangePlan;
use crate::report::ScanReport;

/// Reads the inputs of one application from its InputBox.
///
/// ```no_run
/// # async fn demo() -> l1::Result<()> {
/// use l1::{InputReader, RangePlan, RequestBudget, RpcConfig};
/// # let (app, input_box) = (alloy_primitives::Address::ZERO, alloy_primitives::Address::ZERO);
/// let provider = l1::connect("http://127.0.0.1:8545", &RpcConfig::default(), &RequestBudget::new(5000))?;
/// let reader = InputReader::new(provider, app, input_box, 31337, RangePlan::new());
/// let safe = l1::block_by_tag(reader.provider(), l1::HeadTag::Safe).await?;
/// let mut inputs = Vec::new();
/// let report = reader.scan(0, safe.number, 0, |input| inputs.push(input)).await?;
/// reader.verify_count(&report, safe.hash).await?;
/// let span_to_persist = report.learned_span();
/// # let _ = span_to_persist;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InputReader<P> {
    provider: P,
    app: Address,
    input_box: Address,
    chain_id: u64,
    plan: RangePlan,
}

impl<P: Provider> InputReader<P> {
    /// A reader of `app`'s inputs in `input_box` on chain `chain_id`, scanning with `plan`.
    pub fn new(
        provider: P,
        app: Address,
        input_box: Address,
        chain_id: u64,
        plan: RangePlan,
    ) -> Self {
        Self {
            provider,
            app,
            input_box,
            chain_id,
            plan,
        }
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The application.
    pub fn app(&self) -> Address {
        self.app
    }

    /// The InputBox.
    pub fn input_box(&self) -> Address {
        self.input_box
    }

    /// The configured chain id every input must carry.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The range plan.
    pub fn plan(&self) -> &RangePlan {
        &self.plan
    }

    /// `getNumberOfInputs(app)` at the block with hash `block_hash` (EIP-1898).
    pub async fn input_count_at(&self, block_hash: B256) -> Result<u64> {
        input_count(
            &self.provider,
            self.input_box,
            self.app,
            BlockParam::Hash(block_hash),
        )
        .await
    }

    /// The completeness check: `getNumberOfInputs(app)` at `block_hash` (the hash of the
    /// report's `to` block) must equal the report's next index.
    pub async fn verify_count(&self, report: &ScanReport, block_hash: B256) -> Result<()> {
        let on_chain = self.input_count_at(block_hash).await?;
        if on_chain == report.next_index {
            Ok(())
        } else {
            Err(Error::CountMismatch {
                block_hash,
                on_chain,
                scanned: report.next_index,
            })
        }
    }
}

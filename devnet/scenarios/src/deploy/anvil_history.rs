//! anvil's L1 history controls, shared by [`Devnet`](devnet_stack::Devnet) and
//! [`AttachedL1`](super::AttachedL1): reorgs with replacement transactions anvil signs, and
//! rewrites that replay every transaction of the rewritten blocks but the ones they swap.

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::TransactionRequest;
use alloy::rpc::types::anvil::{ReorgOptions, TransactionData};
use alloy::sol_types::SolCall as _;
use cartesi_rollups_contracts::{
    erc20_portal::Erc20Portal, input_box::InputBox, test_usdc::TestUsdc,
};
use devnet_pins::{ANVIL_ADDRESSES, addresses};
use synthetic_l1::{Reorged, Replacement, ReplacementInput};

use super::l1_error::{L1Error, head_number, rpc_error};

/// Gas given to each replacement transaction of an anvil reorg (skips estimation against the
/// pre-reorg state, where an `approve` has not happened yet).
const REPLACEMENT_GAS: u64 = 1_000_000;

/// The hashes of blocks `from..=to`.
async fn hashes(provider: &DynProvider, from: u64, to: u64) -> Result<Vec<B256>, L1Error> {
    let mut out = Vec::new();
    for number in from..=to {
        out.push(l1::block_by_number(provider, number).await?.hash);
    }
    Ok(out)
}

/// The JSON transactions anvil mines for one replacement.
fn replacement_txs(input: &ReplacementInput) -> Vec<TransactionRequest> {
    let tx = |from: Address, to: Address, data: Vec<u8>| {
        TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(data)
            .with_gas_limit(REPLACEMENT_GAS)
    };
    match input {
        ReplacementInput::Deposit { depositor, amount } => vec![
            tx(
                ANVIL_ADDRESSES[0],
                addresses::TOKEN,
                TestUsdc::mint_0Call {
                    to: *depositor,
                    value: *amount,
                }
                .abi_encode(),
            ),
            tx(
                *depositor,
                addresses::TOKEN,
                TestUsdc::approveCall {
                    spender: addresses::ERC20_PORTAL,
                    value: *amount,
                }
                .abi_encode(),
            ),
            tx(
                *depositor,
                addresses::ERC20_PORTAL,
                Erc20Portal::depositErc20TokensCall {
                    token: addresses::TOKEN,
                    appContract: addresses::APPLICATION,
                    value: *amount,
                    execLayerData: Bytes::new(),
                }
                .abi_encode(),
            ),
        ],
        ReplacementInput::Direct { sender, payload } => vec![tx(
            *sender,
            addresses::INPUT_BOX,
            InputBox::addInputCall {
                appContract: addresses::APPLICATION,
                payload: payload.clone(),
            }
            .abi_encode(),
        )],
    }
}

/// One `anvil_reorg` of the newest `depth` blocks with `tx_block_pairs` (raw signed bytes, or
/// requests anvil signs for its own accounts, each with its block offset); returns the old and
/// new hashes of the rewritten heights.
pub(crate) async fn anvil_reorg_pairs(
    provider: &DynProvider,
    depth: u64,
    tx_block_pairs: Vec<(TransactionData, u64)>,
) -> Result<Reorged, L1Error> {
    let latest = head_number(provider).await?;
    if depth == 0 || depth > latest {
        return Err(L1Error::Depth { depth, latest });
    }
    let from_block = latest + 1 - depth;
    let old = hashes(provider, from_block, latest).await?;
    reorg_read(provider, latest, old, tx_block_pairs).await
}

/// The `anvil_reorg` of blocks `latest + 1 − old.len() ..= latest`, whose current hashes the
/// caller has just read (`old`), so head and range come from one reading.
async fn reorg_read(
    provider: &DynProvider,
    latest: u64,
    old: Vec<B256>,
    tx_block_pairs: Vec<(TransactionData, u64)>,
) -> Result<Reorged, L1Error> {
    let depth = u64::try_from(old.len()).unwrap_or(u64::MAX);
    let from_block = latest + 1 - depth;
    provider
        .anvil_reorg(ReorgOptions {
            depth,
            tx_block_pairs,
        })
        .await
        .map_err(rpc_error("anvil_reorg"))?;
    let new = hashes(provider, from_block, latest).await?;
    Ok(Reorged {
        from_block,
        old,
        new,
    })
}

/// `anvil_reorg` with replacement transactions signed by anvil's own accounts.
pub(super) async fn anvil_reorg(
    provider: &DynProvider,
    depth: u64,
    replacements: &[Replacement],
) -> Result<Reorged, L1Error> {
    let tx_block_pairs = replacements
        .iter()
        .flat_map(|r| {
            replacement_txs(&r.input)
                .into_iter()
                .map(move |tx| (TransactionData::JSON(tx), r.offset))
        })
        .collect();
    anvil_reorg_pairs(provider, depth, tx_block_pairs).await
}

/// The one transaction a rewrite puts in place of an input (a deposit is the portal call).
fn rewrite_tx(input: &ReplacementInput) -> TransactionData {
    let txs = replacement_txs(input);
    // Deposits are mint, approve, deposit: the portal call is the last.
    TransactionData::JSON(txs.into_iter().last().unwrap_or_default())
}

/// Rewrites blocks `from..=head` of an anvil node with one `anvil_reorg` that replays every
/// transaction (its signed bytes) in its block, except those in `replace`, plus `extra`
/// transactions at block offsets from `from`. The head and the old hashes are read once.
pub(crate) async fn anvil_rewrite(
    provider: &DynProvider,
    from: u64,
    replace: &[(B256, Option<TransactionData>)],
    extra: Vec<(TransactionData, u64)>,
) -> Result<Reorged, L1Error> {
    let head = head_number(provider).await?;
    if from == 0 || from > head {
        return Err(L1Error::Depth {
            depth: head.saturating_sub(from).saturating_add(1),
            latest: head,
        });
    }
    let mut txs = Vec::new();
    let mut old = Vec::new();
    for number in from..=head {
        let block = provider
            .get_block_by_number(number.into())
            .await
            .map_err(rpc_error("eth_getBlockByNumber"))?
            .ok_or(L1Error::Unsupported {
                what: "rewriting a block the node does not return",
                node: "anvil",
            })?;
        old.push(block.header.hash);
        for hash in block.transactions.hashes() {
            let tx = match replace.iter().find(|(h, _)| *h == hash) {
                Some((_, replacement)) => replacement.clone(),
                None => {
                    let raw = provider
                        .get_raw_transaction_by_hash(hash)
                        .await
                        .map_err(rpc_error("eth_getRawTransactionByHash"))?
                        .ok_or(L1Error::Unsupported {
                            what: "replaying a transaction the node does not return",
                            node: "anvil",
                        })?;
                    Some(TransactionData::Raw(raw))
                }
            };
            if let Some(tx) = tx {
                txs.push((tx, number - from));
            }
        }
    }
    txs.extend(extra);
    reorg_read(provider, head, old, txs).await
}

/// [`L1Node::rewrite`] on an anvil node.
pub(super) async fn rewrite_on(
    provider: &DynProvider,
    from: u64,
    replace: &[(B256, Option<ReplacementInput>)],
    extra: &[Replacement],
) -> Result<Reorged, L1Error> {
    let replace: Vec<_> = replace
        .iter()
        .map(|(hash, input)| (*hash, input.as_ref().map(rewrite_tx)))
        .collect();
    let extra = extra
        .iter()
        .map(|r| (rewrite_tx(&r.input), r.offset))
        .collect();
    anvil_rewrite(provider, from, &replace, extra).await
}

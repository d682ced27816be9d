//! A sequencer on the fake L1, a typed client, raw HTTP helpers and the settle pump.

use std::future::Future;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use canonical::{Engine, InputBuilder, Method, WalletConfig, WalletSnapshot};
use devnet_pins::{ANVIL_ADDRESSES, ANVIL_KEYS, roles};
use devnet_sequencer::{Sequencer, SequencerConfig, SequencerHandle};
use sequencer_client::{RedactedUrl, SequencerClient, TxRequest};
use serde_json::Value;

use crate::fake_l1::{APP, FakeL1, INPUT_BOX};

pub(crate) const ALICE: usize = roles::ALICE;
pub(crate) const BOB: usize = roles::BOB;
pub(crate) const FEE: u64 = 38_276;

pub(crate) fn address(account: usize) -> Address {
    ANVIL_ADDRESSES[account]
}

pub(crate) struct Harness {
    pub(crate) l1: FakeL1,
    pub(crate) seq: SequencerHandle,
    pub(crate) client: SequencerClient,
    pub(crate) http: reqwest::Client,
}

pub(crate) fn config_for(l1: &FakeL1) -> SequencerConfig {
    let mut config = SequencerConfig::devnet(l1.url(), APP);
    config.input_box = Some(INPUT_BOX);
    config.poll_interval = Duration::from_millis(20);
    config.batch_interval = Duration::from_millis(50);
    config.boot_timeout = Duration::from_secs(5);
    config
}

pub(crate) async fn harness(tweak: impl FnOnce(&mut SequencerConfig)) -> Harness {
    let l1 = FakeL1::start(3).await;
    let mut config = config_for(&l1);
    tweak(&mut config);
    on(l1, config).await
}

pub(crate) async fn on(l1: FakeL1, config: SequencerConfig) -> Harness {
    let seq = Sequencer::start(config).await.unwrap();
    let client = SequencerClient::new(RedactedUrl::parse(&seq.url()).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Harness {
        l1,
        seq,
        client,
        http,
    }
}

/// Polls `check` every 20 ms, mining one block per round, until it holds or 15 s pass.
pub(crate) async fn settle<F, Fut>(l1: &FakeL1, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        l1.mine(1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Harness {
    pub(crate) async fn get(&self, base: &str, path: &str) -> reqwest::Response {
        self.http.get(format!("{base}{path}")).send().await.unwrap()
    }

    pub(crate) async fn status(&self) -> Value {
        let response = self.get(&self.seq.control_url(), "/status").await;
        assert_eq!(response.status(), 200);
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }

    /// `POST` a JSON body to the control API.
    pub(crate) async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.seq.control_url()))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn arm(&self, specs: &[&str]) {
        let body = serde_json::json!({ "set": specs }).to_string();
        let (status, answer) = self.control(reqwest::Method::POST, "/faults", &body).await;
        assert_eq!(status, 200, "{answer}");
    }

    /// `POST /tx` with a raw body; returns status and JSON body.
    pub(crate) async fn post_tx(&self, content_type: Option<&str>, body: String) -> (u16, Value) {
        let mut request = self.http.post(format!("{}/tx", self.seq.url())).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn checkpoint_block(&self) -> u64 {
        self.status().await["checkpoint"]["inclusion_block"]
            .as_u64()
            .unwrap()
    }

    /// Deposits `value` for `account` and waits until the open frame has drained it.
    pub(crate) async fn fund(&self, account: usize, value: u64) {
        self.l1.deposit(address(account), value);
        self.l1.mine(1);
        let block = self.l1.latest();
        settle(&self.l1, "the deposit to be drained", || async {
            self.status().await["open_batch"]["safe_block"]
                .as_u64()
                .unwrap()
                >= block
        })
        .await;
    }

    /// A transfer signed by `from`, accepted by `POST /tx`.
    pub(crate) async fn transfer(&self, from: usize, to: usize, amount: u64, nonce: u32) {
        let tx = signed(from, nonce, 1400, &transfer_to(to, amount));
        let accepted = self.client.submit_tx(&tx).await.unwrap();
        assert_eq!((accepted.sender, accepted.nonce), (address(from), nonce));
    }

    /// Mines until the finalized checkpoint is past `block`; returns the new inclusion block.
    pub(crate) async fn finalize_past(&self, block: u64) -> u64 {
        settle(&self.l1, "the finalized checkpoint to advance", || async {
            self.checkpoint_block().await > block
        })
        .await;
        self.checkpoint_block().await
    }

    /// The served `/finalized_state` bytes.
    pub(crate) async fn served_state(&self) -> Vec<u8> {
        self.client
            .download_state(1 << 20, None)
            .await
            .unwrap()
            .modified()
            .unwrap()
            .bytes
    }

    /// The canonical machine's state after every input of blocks `..= block`.
    pub(crate) fn replay(&self, block: u64) -> WalletSnapshot {
        replay(&self.l1.inputs_up_to(block))
    }
}

pub(crate) fn replay(inputs: &[Vec<u8>]) -> WalletSnapshot {
    let mut engine = Engine::new(WalletConfig::devnet());
    for input in inputs {
        engine.advance(input).unwrap();
    }
    engine.snapshot()
}

pub(crate) fn transfer_to(to: usize, amount: u64) -> Method {
    Method::Transfer {
        amount: U256::from(amount),
        to: address(to),
    }
}

pub(crate) fn builder() -> InputBuilder {
    InputBuilder::new(WalletConfig::devnet(), APP)
}

/// A `POST /tx` request signed by anvil account `from`.
pub(crate) fn signed(from: usize, nonce: u32, max_fee: u16, method: &Method) -> TxRequest {
    let key: B256 = ANVIL_KEYS[from];
    let op = builder().sign(&key, nonce, max_fee, method).unwrap();
    TxRequest {
        nonce,
        max_fee,
        data: op.data,
        signature: op.signature,
        sender: address(from),
    }
}

/// The JSON body of a `POST /tx` request.
pub(crate) fn tx_json(tx: &TxRequest) -> Value {
    serde_json::json!({
        "message": {"nonce": tx.nonce, "max_fee": tx.max_fee, "data": tx.data},
        "signature": tx.signature,
        "sender": tx.sender,
    })
}

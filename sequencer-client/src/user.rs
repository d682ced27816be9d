//! The user API (`POST /tx`, `/fee`, `/nonce`, `/domain`) and the health routes.

use alloy_primitives::{Address, Bytes};
use reqwest::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Route, SequencerClient, body::sanitize};

/// A signed user operation as `POST /tx` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    /// The sender's expected wallet nonce.
    pub nonce: u32,
    /// The fee exponent the signer accepts as a ceiling.
    pub max_fee: u16,
    /// The method bytes.
    pub data: Bytes,
    /// `r ‖ s ‖ v`, normally 65 bytes (sent as is, so malformed signatures can be tested).
    pub signature: Bytes,
    /// The claimed sender.
    pub sender: Address,
}

/// `200 {"ok": true, "sender", "nonce"}`: the op was executed and durably committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxAccepted {
    /// The recovered sender.
    pub sender: Address,
    /// The nonce the op consumed.
    pub nonce: u32,
}

/// `GET /fee`: fee exponents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct FeeQuote {
    /// The open frame's frozen exponent (what `POST /tx` checks against).
    pub fee: u16,
    /// What the next frame will sample.
    pub recommended_fee: u16,
    /// A `max_fee` a wallet can sign.
    pub suggested_max_fee: u16,
}

/// `GET /nonce?sender=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct NextNonce {
    /// The sender asked about.
    pub sender: Address,
    /// The nonce to sign next.
    pub next_nonce: u32,
}

/// `GET /domain`: the EIP-712 domain in `eth_signTypedData_v4` key names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// `CartesiAppSequencer`.
    pub name: String,
    /// `1`.
    pub version: String,
    /// The L1 chain id.
    pub chain_id: u64,
    /// The application contract.
    pub verifying_contract: Address,
}

/// `GET /healthz` (200 or 503, both with a body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Whether the answer was 200 (same as `/readyz`).
    pub ready: bool,
    /// `ok` or `degraded` (sanitized peer text).
    pub status: String,
    /// `ok` or `stopped` (sanitized peer text).
    pub inclusion_lane: String,
}

#[derive(Serialize)]
struct WireTx<'a> {
    message: WireMessage<'a>,
    signature: String,
    sender: String,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    nonce: u32,
    max_fee: u16,
    data: &'a Bytes,
}

#[derive(Deserialize)]
struct RawAccepted {
    ok: bool,
    sender: Address,
    nonce: u32,
}

#[derive(Deserialize)]
struct RawHealth {
    status: String,
    inclusion_lane: String,
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

impl SequencerClient {
    /// `POST /tx`. A refusal with the sequencer's JSON error body is [`Error::Rejected`]
    /// (400, 413, 422, 429) or [`Error::Unavailable`] (503).
    pub async fn submit_tx(&self, tx: &TxRequest) -> Result<TxAccepted> {
        let route = Route::Tx;
        let wire = WireTx {
            message: WireMessage {
                nonce: tx.nonce,
                max_fee: tx.max_fee,
                data: &tx.data,
            },
            signature: hex0x(&tx.signature),
            sender: hex0x(tx.sender.as_slice()),
        };
        let body = serde_json::to_vec(&wire).map_err(|e| Error::bad(route, e.to_string()))?;
        let request = self
            .post(route)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let raw: RawAccepted = self.get_json(route, request).await?;
        if !raw.ok {
            return Err(Error::bad(route, "200 with \"ok\": false"));
        }
        Ok(TxAccepted {
            sender: raw.sender,
            nonce: raw.nonce,
        })
    }

    /// `GET /fee`.
    pub async fn fee(&self) -> Result<FeeQuote> {
        self.get_json(Route::Fee, self.get(Route::Fee)).await
    }

    /// `GET /nonce?sender=0x…` (lowercase hex).
    pub async fn next_nonce(&self, sender: Address) -> Result<NextNonce> {
        let route = Route::Nonce;
        let mut url = self.url(route);
        url.query_pairs_mut()
            .append_pair("sender", &hex0x(sender.as_slice()));
        let request = self.get_url(url);
        self.get_json(route, request).await
    }

    /// `GET /domain`.
    pub async fn domain(&self) -> Result<Domain> {
        self.get_json(Route::Domain, self.get(Route::Domain)).await
    }

    /// `GET /livez`: `Ok(())` on 200.
    pub async fn livez(&self) -> Result<()> {
        let route = Route::Livez;
        let reply = self.send(route, self.get(route)).await?;
        if reply.status() == 200 {
            Ok(())
        } else {
            Err(self.refuse(reply).await)
        }
    }

    /// `GET /readyz`: `Ok(true)` on 200, `Ok(false)` on 503.
    pub async fn readyz(&self) -> Result<bool> {
        let route = Route::Readyz;
        let reply = self.send(route, self.get(route)).await?;
        match reply.status() {
            200 => Ok(true),
            503 => Ok(false),
            _ => Err(self.refuse(reply).await),
        }
    }

    /// `GET /healthz`: the JSON body of a 200 or 503.
    pub async fn healthz(&self) -> Result<Health> {
        let route = Route::Healthz;
        let mut reply = self.send(route, self.get(route)).await?;
        let ready = match reply.status() {
            200 => true,
            503 => false,
            _ => return Err(self.refuse(reply).await),
        };
        let body = reply.read_capped(self.limits().json_bytes).await?;
        let raw: RawHealth = crate::body::decode_json(route, &body)?;
        Ok(Health {
            ready,
            status: sanitize(raw.status.as_bytes(), 64),
            inclusion_lane: sanitize(raw.inclusion_lane.as_bytes(), 64),
        })
    }
}

//! The JSON-RPC answers the proxy writes itself instead of the node's.

use serde_json::{Value, json};

/// A JSON-RPC error answer to the request with `id`.
pub(super) fn error_response(id: Value, code: i64, message: &str, data: Option<&Value>) -> Value {
    let mut error = json!({"code": code, "message": message});
    if let Some(data) = data {
        error["data"] = data.clone();
    }
    json!({"jsonrpc": "2.0", "id": id, "error": error})
}

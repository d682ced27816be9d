//! A JSON-RPC response read as its bytes arrive: the members of the top-level object are cut
//! out one by one, and the elements of a `result` array are handed out one at a time, so an
//! `eth_getLogs` answer is never held whole.
//!
//! Only the framing is checked here (the object, its keys, the array, commas and colons); every
//! member and every element is parsed by `serde_json` afterwards, from its own bytes, so what is
//! accepted is what a whole-body parse accepts, with alloy's rules for the envelope: a duplicate
//! `result`, `error` or `id` is refused, other members are ignored once they parse as JSON, and
//! exactly one of `result` and `error` must be present.

use alloy::rpc::json_rpc::{ErrorPayload, Id};
use serde::de::IgnoredAny;

/// How a response body is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Malformed {
    /// The framing of the top-level object or of the `result` array is not JSON.
    #[error("not a JSON-RPC response object: {0}")]
    Framing(&'static str),
    /// The body ended inside the object.
    #[error("the response ends before its object does")]
    Truncated,
    /// A member that parses, but not as what it must be.
    #[error("member {member:?}: {detail}")]
    Member {
        /// The member's key.
        member: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// `result` and `error` are both present, or neither is.
    #[error("{0}")]
    Envelope(&'static str),
}

/// What a complete response carried besides the elements handed out.
#[derive(Debug)]
pub(crate) struct Envelope {
    /// The response id (`Id::None` when absent, as alloy reads it).
    pub(crate) id: Id,
    /// The JSON-RPC error object, when the response is an error.
    pub(crate) error: Option<ErrorPayload>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the top-level `{`.
    Start,
    /// After `{`: a key or `}`.
    Open,
    /// After `,` in the object: a key.
    NextKey,
    /// Inside a key's string.
    Key,
    /// After a key: `:`.
    Colon,
    /// After `:`: a value.
    Value,
    /// Inside a member's value (buffered).
    Member,
    /// After `[` of the `result` array: an element or `]`.
    ArrayOpen,
    /// After `,` in the array: an element.
    NextElement,
    /// Inside an element (buffered, then handed out).
    Element,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After a member's value: `,` or `}`.
    AfterValue,
    /// After the closing `}`: whitespace only.
    End,
}

/// Which member a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Result,
    Error,
    Id,
    Other,
}

/// Where one JSON value ends, fed in slices.
#[derive(Debug, Clone, Copy, Default)]
struct ValueEnd {
    depth: u32,
    in_string: bool,
    escaped: bool,
    scalar: bool,
}

impl ValueEnd {
    /// Starts a value whose first byte is `first` (not whitespace); returns whether that byte
    /// alone completes it (never: strings, arrays and objects need their closing byte, scalars
    /// end at the next delimiter).
    fn start(first: u8) -> Self {
        match first {
            b'{' | b'[' => Self {
                depth: 1,
                ..Self::default()
            },
            b'"' => Self {
                in_string: true,
                ..Self::default()
            },
            _ => Self {
                scalar: true,
                ..Self::default()
            },
        }
    }

    /// Scans `bytes` (which follow the first byte); returns how many belong to the value and
    /// whether the value ended there.
    fn scan(&mut self, bytes: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < bytes.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                // Fast path over the string's body (hex data is most of a log).
                match bytes[i..].iter().position(|&b| b == b'"' || b == b'\\') {
                    None => return (bytes.len(), false),
                    Some(at) => {
                        i += at;
                        if bytes[i] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                            if self.depth == 0 {
                                return (i + 1, true);
                            }
                        }
                        i += 1;
                    }
                }
                continue;
            }
            let b = bytes[i];
            if self.scalar {
                if is_delimiter(b) {
                    return (i, true);
                }
                i += 1;
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth = self.depth.saturating_add(1),
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        (bytes.len(), false)
    }
}

const fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether a JSON value can start with `b`.
const fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
    )
}

const fn is_delimiter(b: u8) -> bool {
    is_whitespace(b) || matches!(b, b',' | b'}' | b']')
}

/// Cuts a JSON-RPC response into members and `result` elements as its bytes arrive.
#[derive(Debug)]
pub(crate) struct ResponseReader {
    state: State,
    /// The key being read, then the value of the member being read, or the element being read.
    buf: Vec<u8>,
    end: ValueEnd,
    which: Which,
    escaped_key: bool,
    elements: usize,
    result: bool,
    id: Option<Id>,
    error: Option<ErrorPayload>,
}

impl Default for ResponseReader {
    fn default() -> Self {
        Self {
            state: State::Start,
            buf: Vec::new(),
            end: ValueEnd::default(),
            which: Which::Other,
            escaped_key: false,
            elements: 0,
            result: false,
            id: None,
            error: None,
        }
    }
}

/// A result that is not an array.
const NOT_AN_ARRAY: &str = "result is not an array";

impl ResponseReader {
    /// A reader before the first byte.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Reads the next bytes of the body, handing each complete element of the `result` array
    /// to `element` (its bytes and its position). An error of `element` stops the read.
    pub(crate) fn feed<E>(
        &mut self,
        mut bytes: &[u8],
        element: &mut impl FnMut(&[u8], usize) -> Result<(), E>,
    ) -> Result<(), Fed<E>> {
        while let Some((&b, rest)) = bytes.split_first() {
            match self.state {
                State::Member | State::Element => {
                    let (used, done) = self.end.scan(bytes);
                    self.buf.extend_from_slice(&bytes[..used]);
                    bytes = &bytes[used..];
                    if done {
                        self.value_done(element)?;
                    }
                    continue;
                }
                State::Key => {
                    self.buf.push(b);
                    bytes = rest;
                    if self.escaped_key {
                        self.escaped_key = false;
                    } else if b == b'\\' {
                        self.escaped_key = true;
                    } else if b == b'"' {
                        self.which = self.member()?;
                        self.state = State::Colon;
                    }
                    continue;
                }
                _ => {}
            }
            bytes = rest;
            if is_whitespace(b) {
                continue;
            }
            self.state = match (self.state, b) {
                (State::Start, b'{') => State::Open,
                (State::Open | State::NextKey, b'"') => {
                    self.buf.clear();
                    self.buf.push(b);
                    self.escaped_key = false;
                    State::Key
                }
                (State::Open, b'}') | (State::AfterValue, b'}') => State::End,
                (State::Colon, b':') => State::Value,
                (State::Value, b'[') if self.which == Which::Result => {
                    self.result = true;
                    State::ArrayOpen
                }
                (State::Value, _) if starts_value(b) => {
                    self.begin(b);
                    State::Member
                }
                (State::ArrayOpen, b']') | (State::AfterElement, b']') => State::AfterValue,
                (State::ArrayOpen | State::NextElement, _) if starts_value(b) => {
                    self.begin(b);
                    State::Element
                }
                (State::AfterElement, b',') => State::NextElement,
                (State::AfterValue, b',') => State::NextKey,
                (state, _) => return Err(Fed::Malformed(Malformed::Framing(expected(state)))),
            };
        }
        Ok(())
    }

    /// The envelope once the body has ended.
    pub(crate) fn finish(self) -> Result<Envelope, Malformed> {
        match self.state {
            State::End => {}
            State::Start => return Err(Malformed::Framing("an empty body")),
            _ => return Err(Malformed::Truncated),
        }
        match (self.result, &self.error) {
            (true, None) => {}
            (false, Some(_)) => {}
            (false, None) => return Err(Malformed::Envelope("missing field `result or error`")),
            (true, Some(_)) => {
                return Err(Malformed::Envelope(
                    "result and error are mutually exclusive",
                ));
            }
        }
        Ok(Envelope {
            id: self.id.unwrap_or(Id::None),
            error: self.error,
        })
    }

    /// Starts a buffered value at its first byte.
    fn begin(&mut self, first: u8) {
        self.buf.clear();
        self.buf.push(first);
        self.end = ValueEnd::start(first);
    }

    /// The member whose key was just read; a duplicate `result`, `error` or `id` is refused.
    fn member<E>(&mut self) -> Result<Which, Fed<E>> {
        let key: std::borrow::Cow<'_, str> =
            serde_json::from_slice(&self.buf).map_err(|e| member_error("key", e))?;
        let (which, seen, name) = match &*key {
            "result" => (Which::Result, self.result, "result"),
            "error" => (Which::Error, self.error.is_some(), "error"),
            "id" => (Which::Id, self.id.is_some(), "id"),
            _ => return Ok(Which::Other),
        };
        if seen {
            return Err(Fed::Malformed(Malformed::Member {
                member: name,
                detail: "duplicate field".to_owned(),
            }));
        }
        Ok(which)
    }

    /// A member's value or an element is complete in `buf`.
    fn value_done<E>(
        &mut self,
        element: &mut impl FnMut(&[u8], usize) -> Result<(), E>,
    ) -> Result<(), Fed<E>> {
        if self.state == State::Element {
            element(&self.buf, self.elements).map_err(Fed::Element)?;
            self.elements += 1;
            self.state = State::AfterElement;
            return Ok(());
        }
        match self.which {
            Which::Result => {
                // Not an array: a null, an object, a string... refused whole.
                serde_json::from_slice::<IgnoredAny>(&self.buf)
                    .map_err(|e| member_error("result", e))?;
                return Err(Fed::Malformed(Malformed::Member {
                    member: "result",
                    detail: NOT_AN_ARRAY.to_owned(),
                }));
            }
            Which::Error => {
                self.error =
                    Some(serde_json::from_slice(&self.buf).map_err(|e| member_error("error", e))?);
            }
            Which::Id => {
                self.id =
                    Some(serde_json::from_slice(&self.buf).map_err(|e| member_error("id", e))?);
            }
            Which::Other => {
                serde_json::from_slice::<IgnoredAny>(&self.buf)
                    .map_err(|e| member_error("member", e))?;
            }
        }
        self.state = State::AfterValue;
        Ok(())
    }
}

fn member_error<E>(member: &'static str, err: serde_json::Error) -> Fed<E> {
    Fed::Malformed(Malformed::Member {
        member,
        detail: err.to_string(),
    })
}

/// What the framing expected in `state`.
const fn expected(state: State) -> &'static str {
    match state {
        State::Start => "expected `{`",
        State::Open => "expected a key or `}`",
        State::NextKey => "expected a key",
        State::Colon => "expected `:`",
        State::AfterValue => "expected `,` or `}`",
        State::AfterElement => "expected `,` or `]`",
        State::End => "trailing characters after the object",
        State::Value | State::ArrayOpen | State::NextElement => "expected a value",
        State::Key | State::Member | State::Element => "unexpected byte",
    }
}

/// Why [`ResponseReader::feed`] stopped.
#[derive(Debug)]
pub(crate) enum Fed<E> {
    /// The body is not a JSON-RPC response.
    Malformed(Malformed),
    /// The element handler refused an element.
    Element(E),
}

#[cfg(test)]
mod tests;

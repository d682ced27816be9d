//! Deterministic compact JSON: keys in the order written, no whitespace, exact integers, and
//! every control or non-ASCII character escaped (spec `watchdog.md` §8.1, "Determinism").

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

/// A `serde_json` formatter that escapes every non-ASCII character as `\uXXXX`.
#[derive(Debug, Clone, Copy, Default)]
struct AsciiFormatter;

impl Formatter for AsciiFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() && c != '\u{7f}' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let text: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(writer, "\\u{byte:04x}"),
        };
        writer.write_all(text)
    }
}

/// Serializes `value` as deterministic compact JSON.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, AsciiFormatter);
    value.serialize(&mut serializer)?;
    // The formatter only ever writes ASCII.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// An already rendered JSON value, embedded verbatim (e.g. a summary extra).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(String);

impl RawJson {
    /// Renders `value` deterministically. A value that cannot be rendered as JSON (a map with
    /// non-string keys: a programming error) becomes `null` and is logged.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Self {
        match to_string(value) {
            Ok(text) => Self(text),
            Err(e) => {
                tracing::error!(target: "watchdog::json", error = %e, "value not representable as JSON");
                Self::null()
            }
        }
    }

    /// A JSON integer from decimal digits; anything that is not all digits becomes `null`.
    pub(crate) fn decimal_digits(digits: String) -> Self {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Self(digits)
        } else {
            Self::null()
        }
    }

    /// `null`.
    pub fn null() -> Self {
        Self("null".to_owned())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Builds one JSON object with keys in insertion order.
#[derive(Debug)]
pub struct ObjectWriter {
    buf: String,
    empty: bool,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectWriter {
    /// An empty object.
    pub fn new() -> Self {
        Self {
            buf: String::from("{"),
            empty: true,
        }
    }

    /// Appends `key: value`.
    pub fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> &mut Self {
        let raw = RawJson::of(value);
        self.raw(key, &raw)
    }

    /// Appends `key: raw` verbatim.
    pub fn raw(&mut self, key: &str, raw: &RawJson) -> &mut Self {
        if !self.empty {
            self.buf.push(',');
        }
        self.empty = false;
        self.buf.push_str(RawJson::of(key).as_str());
        self.buf.push(':');
        self.buf.push_str(raw.as_str());
        self
    }

    /// The object text, without a newline.
    pub fn finish(&mut self) -> String {
        let mut out = std::mem::take(&mut self.buf);
        out.push('}');
        self.empty = true;
        self.buf.push('{');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_non_ascii() {
        let s = to_string("a\"b\\c\n\u{0}\u{1}é😀\u{7f}").unwrap();
        assert_eq!(s, r#""a\"b\\c\n\u0000\u0001\u00e9\ud83d\ude00\u007f""#);
        // Still valid JSON that decodes to the same text.
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\n\u{0}\u{1}é😀\u{7f}");
    }

    #[test]
    fn objects_keep_insertion_order_and_exact_integers() {
        let mut w = ObjectWriter::new();
        w.field("z", &u64::MAX)
            .field("a", &Option::<u64>::None)
            .field("m", "x");
        assert_eq!(w.finish(), r#"{"z":18446744073709551615,"a":null,"m":"x"}"#);
        assert_eq!(ObjectWriter::new().finish(), "{}");
    }
}

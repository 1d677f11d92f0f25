//! RFC 8785 JSON Canonicalization Scheme (JCS) over [`serde_json::Value`].
//!
//! Object members are sorted by the UTF-16 code units of their keys, strings are escaped with the
//! minimal JSON escapes, and numbers are written as ECMAScript `Number.prototype.toString` would.
//!
//! Numbers are IEEE 754 doubles. Integers up to ±2^53 are exact; a larger integer is accepted only
//! if the double it rounds to prints back as the same digits (as `1683770791375294000`, the way
//! ECMAScript prints 1.683770791375294e18), so nothing is ever silently rounded (I-JSON).

use serde_json::{Map, Number, Value};

/// Largest integer magnitude that an IEEE 754 double holds exactly (I-JSON limit).
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// Why a value cannot be canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// An integer beyond ±2^53 that would lose precision as an IEEE 754 double (I-JSON).
    #[error("integer {value} is beyond ±2^53 and cannot be represented exactly as a double")]
    IntegerOutOfRange {
        /// The offending integer, as text.
        value: String,
    },
    /// A number that is not representable as a finite double.
    #[error("number {value} is not a finite IEEE 754 double")]
    UnsupportedNumber {
        /// The offending number, as text.
        value: String,
    },
}

impl CanonicalError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IntegerOutOfRange { .. } => "integer_out_of_range",
            Self::UnsupportedNumber { .. } => "unsupported_number",
        }
    }
}

/// Serializes `value` in RFC 8785 canonical form.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_value(value, &mut out)?;
    Ok(out)
}

/// Canonicalizes `map` as a JSON object, leaving out the member named `excluded_key`.
pub(crate) fn canonicalize_object_excluding(
    map: &Map<String, Value>,
    excluded_key: &str,
) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_object(
        map.iter().filter(|(k, _)| k.as_str() != excluded_key),
        &mut out,
    )?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map.iter(), out)?,
    }
    Ok(())
}

fn write_object<'a>(
    members: impl Iterator<Item = (&'a String, &'a Value)>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    let mut members: Vec<_> = members.collect();
    // RFC 8785 §3.2.3: compare keys as arrays of UTF-16 code units.
    members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push(b'{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write_value(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_number(n: &Number, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    let mut buffer = ryu_js::Buffer::new();
    let text = if let Some(i) = n.as_u64() {
        integer_text(i, i.to_string(), &mut buffer)?
    } else if let Some(i) = n.as_i64() {
        integer_text(i.unsigned_abs(), i.to_string(), &mut buffer)?
    } else {
        match n.as_f64() {
            Some(f) if f.is_finite() => format_double(f, &mut buffer).to_owned(),
            _ => {
                return Err(CanonicalError::UnsupportedNumber {
                    value: n.to_string(),
                });
            }
        }
    };
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// Canonical text of an integer with magnitude `magnitude`, whose own decimal text is `text`.
///
/// Integers up to 2^53 are always exact. Larger ones are accepted only when the IEEE double they
/// round to prints back as the very same digits (e.g. `1683770791375294000`, which is how
/// ECMAScript prints the double 1.683770791375294e18); anything else (e.g. 2^53 + 1) would
/// silently lose precision and is rejected.
fn integer_text(
    magnitude: u64,
    text: String,
    buffer: &mut ryu_js::Buffer,
) -> Result<String, CanonicalError> {
    if magnitude <= MAX_SAFE_INTEGER {
        return Ok(text);
    }
    let digits = text.trim_start_matches('-');
    if format_double(magnitude as f64, buffer) == digits {
        Ok(text)
    } else {
        Err(CanonicalError::IntegerOutOfRange { value: text })
    }
}

/// ECMAScript `Number.prototype.toString` of a finite double.
fn format_double(f: f64, buffer: &mut ryu_js::Buffer) -> &str {
    if f == 0.0 {
        // Covers -0, which ECMAScript prints as "0".
        "0"
    } else {
        buffer.format_finite(f)
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{0C}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                let b = c as u8;
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0x0f)]);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canon_str(value: &Value) -> String {
        String::from_utf8(canonicalize(value).unwrap()).unwrap()
    }

    fn canon_text(text: &str) -> String {
        canon_str(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn rfc8785_section_3_2_2_example() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let expected = concat!(
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"#,
            r#""string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        assert_eq!(canon_text(input), expected);
    }

    #[test]
    fn rfc8785_section_3_2_3_sorting() {
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = concat!(
            "{\"\\r\":\"Carriage Return\",",
            "\"1\":\"One\",",
            "\"\u{80}\":\"Control\",",
            "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",",
            "\"\u{20ac}\":\"Euro Sign\",",
            "\"\u{1f600}\":\"Emoji: Grinning Face\",",
            "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
        );
        assert_eq!(canon_text(input), expected);
    }

    #[test]
    fn utf16_order_differs_from_utf8_order() {
        // U+1F600 is above U+FFFF (surrogate 0xD83D) and sorts before U+FB33 in UTF-16.
        let value = json!({"\u{fb33}": 1, "\u{1f600}": 2});
        assert_eq!(canon_str(&value), "{\"\u{1f600}\":2,\"\u{fb33}\":1}");
    }

    #[test]
    fn rfc8785_appendix_b_numbers() {
        let cases: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, expected) in cases {
            let value = Value::Number(Number::from_f64(f64::from_bits(bits)).unwrap());
            assert_eq!(canon_str(&value), expected, "bits {bits:#018x}");
        }
    }

    #[test]
    fn integers_within_2_pow_53_are_accepted() {
        assert_eq!(canon_text("9007199254740992"), "9007199254740992");
        assert_eq!(canon_text("-9007199254740992"), "-9007199254740992");
        assert_eq!(canon_text("-0"), "0");
        assert_eq!(canon_text("100"), "100");
        assert_eq!(canon_text("1.0"), "1");
    }

    #[test]
    fn inexact_integers_beyond_2_pow_53_are_rejected() {
        for text in [
            "9007199254740993",
            "-9007199254740993",
            "18446744073709551615",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let err = canonicalize(&value).unwrap_err();
            assert_eq!(err.code(), "integer_out_of_range");
            assert!(err.to_string().contains(text), "{err}");
        }
        // Beyond 2^53, only integers that print back identically from a double are accepted:
        // this is how ECMAScript (and this module) prints doubles between 2^53 and 1e21.
        for text in [
            "9007199254740994",
            "1683770791375294000",
            "-1683770791375294000",
        ] {
            assert_eq!(canon_text(text), text);
        }
        // Nested values are checked too.
        let err = canonicalize(&json!({"a": [1, {"b": 9007199254740993u64}]})).unwrap_err();
        assert_eq!(err.code(), "integer_out_of_range");
    }

    #[test]
    fn string_escapes() {
        let value = json!("\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f} /\"\\é\u{2028}");
        assert_eq!(
            canon_str(&value),
            "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\u{7f} /\\\"\\\\é\u{2028}\""
        );
    }

    #[test]
    fn nested_structures_and_empty_containers() {
        let value = json!({"b": [], "a": {}, "c": [{"z": null, "y": [true]}]});
        assert_eq!(
            canon_str(&value),
            r#"{"a":{},"b":[],"c":[{"y":[true],"z":null}]}"#
        );
    }

    #[test]
    fn excluding_a_member() {
        let value = json!({"b": 1, "sig": {"x": 1}, "a": 2});
        let Value::Object(map) = value else {
            unreachable!()
        };
        let bytes = canonicalize_object_excluding(&map, "sig").unwrap();
        assert_eq!(bytes, br#"{"a":2,"b":1}"#);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        const LIMIT: i64 = 1 << 53;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-LIMIT..=LIMIT).prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_form_is_a_fixed_point(value in arb_json()) {
            let once = canonicalize(&value).unwrap();
            let reparsed: Value = serde_json::from_slice(&once).unwrap();
            let twice = canonicalize(&reparsed).unwrap();
            prop_assert_eq!(once, twice);
        }
    }
}

//! The structured fields of a signed request (`Signature-Input`, `Signature`,
//! `Content-Digest`), parsed by the `sfv` crate (RFC 8941).
//!
//! `sfv` does the parsing; this module only keeps, for the one dictionary member we read, what
//! our checks need and a plain RFC 8941 map would hide: every instance of the member and every
//! instance of each parameter, in wire order. RFC 8941 lets the last duplicate win; a signer
//! never sends duplicates, so `httpsig` refuses them instead of guessing which one was signed.

use std::convert::Infallible;

use ::sfv::visitor::{
    DictionaryVisitor, EntryVisitor, InnerListVisitor, ItemVisitor, ParameterVisitor,
};
use ::sfv::{BareItemFromInput, KeyRef, Parser, Version};

/// A bare item, reduced to the kinds the signature headers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BareItem {
    /// sf-integer.
    Integer(i64),
    /// sf-string, unescaped.
    String(String),
    /// sf-binary, decoded.
    Bytes(Vec<u8>),
    /// A decimal, token, boolean, date or display string: never valid where we look.
    Other,
}

/// Parameters of an item or inner list, in wire order, duplicates kept.
pub(crate) type Parameters = Vec<(String, BareItem)>;

/// An item with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) bare: BareItem,
    pub(crate) params: Parameters,
}

/// A dictionary member value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Member {
    /// A single item.
    Item(Item),
    /// An inner list of items, with the list's own parameters.
    InnerList(Vec<Item>, Parameters),
}

/// Every member named `key` of the sf-dictionary `input`, in wire order. The whole field must
/// be a valid dictionary (other members are checked and skipped).
pub(crate) fn members(input: &str, key: &str) -> Result<Vec<Member>, ::sfv::Error> {
    Parser::new(input)
        .with_version(Version::Rfc8941)
        .parse_dictionary_with_visitor(Members {
            key,
            found: Vec::new(),
        })
}

fn bare(value: BareItemFromInput<'_>) -> BareItem {
    match value {
        BareItemFromInput::Integer(n) => BareItem::Integer(i64::from(n)),
        BareItemFromInput::String(s) => BareItem::String(s.as_str().to_owned()),
        BareItemFromInput::ByteSequence(b) => BareItem::Bytes(b),
        _ => BareItem::Other,
    }
}

struct Members<'k> {
    key: &'k str,
    found: Vec<Member>,
}

impl<'de> DictionaryVisitor<'de> for Members<'_> {
    type Out = Vec<Member>;
    type Error = Infallible;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        Ok((key.as_str() == self.key).then_some(Entry(&mut self.found)))
    }

    fn finish(self) -> Result<Self::Out, Self::Error> {
        Ok(self.found)
    }
}

struct Entry<'a>(&'a mut Vec<Member>);

impl<'de> EntryVisitor<'de> for Entry<'_> {
    type Error = Infallible;

    fn item(self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        let dest = self.0;
        Ok(move |value: BareItemFromInput<'de>| {
            let bare = bare(value);
            Ok::<_, Infallible>(Params::new(move |params| {
                dest.push(Member::Item(Item { bare, params }));
            }))
        })
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Self::Error> {
        Ok(InnerList {
            dest: self.0,
            items: Vec::new(),
        })
    }
}

struct InnerList<'a> {
    dest: &'a mut Vec<Member>,
    items: Vec<Item>,
}

impl<'de> InnerListVisitor<'de> for InnerList<'_> {
    type Error = Infallible;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        let items = &mut self.items;
        Ok(move |value: BareItemFromInput<'de>| {
            let bare = bare(value);
            Ok::<_, Infallible>(Params::new(move |params| items.push(Item { bare, params })))
        })
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, Self::Error> {
        let Self { dest, items } = self;
        Ok(Params::new(move |params| {
            dest.push(Member::InnerList(items, params));
        }))
    }
}

/// Collects parameters, then hands them to `done`.
struct Params<F> {
    params: Parameters,
    done: F,
}

impl<F: FnOnce(Parameters)> Params<F> {
    fn new(done: F) -> Self {
        Self {
            params: Vec::new(),
            done,
        }
    }
}

impl<'de, F: FnOnce(Parameters)> ParameterVisitor<'de> for Params<F> {
    type Out = ();
    type Error = Infallible;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Self::Error> {
        self.params.push((key.as_str().to_owned(), bare(value)));
        Ok(())
    }

    fn finish(self) -> Result<Self::Out, Self::Error> {
        (self.done)(self.params);
        Ok(())
    }
}

/// Serializes an sf-string (the caller checked [`is_valid_string`]).
pub(crate) fn serialize_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Whether `s` can be carried as an sf-string (printable ASCII only).
pub(crate) fn is_valid_string(s: &str) -> bool {
    ::sfv::StringRef::from_str(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> BareItem {
        BareItem::String(s.to_owned())
    }

    #[test]
    fn reads_signature_input_shape_and_skips_other_members() {
        let input = concat!(
            r#"sig1=("@method" "@path");created=1618884473;keyid="test-key", "#,
            r#"atalaya=("@method" "@query");created=7;keyid="k";alg="ed25519""#
        );
        let found = members(input, "atalaya").unwrap();
        assert_eq!(found.len(), 1);
        let Member::InnerList(items, params) = &found[0] else {
            panic!("{found:?}")
        };
        assert_eq!(
            items.iter().map(|i| i.bare.clone()).collect::<Vec<_>>(),
            [string("@method"), string("@query")]
        );
        assert_eq!(
            params,
            &vec![
                ("created".to_owned(), BareItem::Integer(7)),
                ("keyid".to_owned(), string("k")),
                ("alg".to_owned(), string("ed25519")),
            ]
        );
        assert!(members(input, "sig2").unwrap().is_empty());
    }

    #[test]
    fn keeps_duplicates_that_rfc_8941_would_hide() {
        let found = members("a=:aGk=:;p=1;p=\"x\", b=?0, a=tok", "a").unwrap();
        assert_eq!(
            found,
            vec![
                Member::Item(Item {
                    bare: BareItem::Bytes(b"hi".to_vec()),
                    params: vec![
                        ("p".to_owned(), BareItem::Integer(1)),
                        ("p".to_owned(), string("x")),
                    ]
                }),
                Member::Item(Item {
                    bare: BareItem::Other,
                    params: vec![]
                }),
            ]
        );
        let found = members("a", "a").unwrap();
        assert_eq!(
            found,
            vec![Member::Item(Item {
                bare: BareItem::Other,
                params: vec![]
            })]
        );
    }

    #[test]
    fn rejects_malformed_input_anywhere_in_the_field() {
        for bad in [
            "A=1",
            "a=1,",
            "a=1 b=2",
            "a=(\"x\"\"y\")",
            "a=\"unterminated",
            "a=\"bad\\n\"",
            "a=:notbase64!:",
            "a=1234567890123456",
            "a=1.2345",
            "a=?2",
            "a=\"é\"",
            "a=(\"x\"",
            "z=1, a=1, b=@",
            "a=@2024",
        ] {
            assert!(members(bad, "a").is_err(), "{bad}");
        }
        assert_eq!(members("", "a").unwrap(), vec![]);
    }

    #[test]
    fn string_serialization_escapes() {
        let mut out = String::new();
        serialize_string("a\"b\\c", &mut out);
        assert_eq!(out, r#""a\"b\\c""#);
        assert!(is_valid_string("cl-csirt#01"));
        assert!(!is_valid_string("ñ") && !is_valid_string("a\tb"));
    }
}

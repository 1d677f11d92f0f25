//! A small RFC 8941 Structured Field Values parser: just enough to read `Signature-Input` and
//! `Signature` dictionaries (and skip members we do not understand).

/// A bare item (RFC 8941 §3.3).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BareItem {
    /// sf-integer.
    Integer(i64),
    /// sf-decimal.
    Decimal(f64),
    /// sf-string, unescaped.
    String(String),
    /// sf-token.
    Token(String),
    /// sf-binary, decoded.
    Bytes(Vec<u8>),
    /// sf-boolean.
    Boolean(bool),
}

/// Parameters attached to an item or inner list, in wire order.
pub(crate) type Parameters = Vec<(String, BareItem)>;

/// An item with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) bare: BareItem,
    pub(crate) params: Parameters,
}

/// A dictionary member value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member {
    /// A single item.
    Item(Item),
    /// An inner list of items, with the list's own parameters.
    InnerList(Vec<Item>, Parameters),
}

/// Parses an sf-dictionary. Members are returned in wire order; duplicate keys are kept.
pub(crate) fn parse_dictionary(input: &str) -> Result<Vec<(String, Member)>, &'static str> {
    let mut parser = Parser {
        input: input.trim_matches(' ').as_bytes(),
        pos: 0,
    };
    let mut members = Vec::new();
    while !parser.at_end() {
        let key = parser.key()?;
        let member = if parser.eat(b'=') {
            parser.item_or_inner_list()?
        } else {
            Member::Item(Item {
                bare: BareItem::Boolean(true),
                params: parser.parameters()?,
            })
        };
        members.push((key, member));
        parser.skip_ows();
        if parser.at_end() {
            break;
        }
        if !parser.eat(b',') {
            return Err("expected ',' between dictionary members");
        }
        parser.skip_ows();
        if parser.at_end() {
            return Err("trailing ',' in dictionary");
        }
    }
    Ok(members)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let matched = self.peek() == Some(byte);
        if matched {
            self.pos += 1;
        }
        matched
    }

    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    fn skip_ows(&mut self) {
        while self.eat(b' ') || self.eat(b'\t') {}
    }

    fn take_while(&mut self, accept: impl Fn(u8) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&accept) {
            self.pos += 1;
        }
        // Every accepted byte is ASCII, so the slice is valid UTF-8.
        std::str::from_utf8(&self.input[start..self.pos]).unwrap_or_default()
    }

    fn item_or_inner_list(&mut self) -> Result<Member, &'static str> {
        if self.peek() == Some(b'(') {
            self.inner_list()
        } else {
            self.item().map(Member::Item)
        }
    }

    fn inner_list(&mut self) -> Result<Member, &'static str> {
        self.pos += 1; // '('
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                return Ok(Member::InnerList(items, self.parameters()?));
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err("expected ' ' or ')' in inner list");
            }
        }
    }

    fn item(&mut self) -> Result<Item, &'static str> {
        let bare = self.bare_item()?;
        Ok(Item {
            bare,
            params: self.parameters()?,
        })
    }

    fn parameters(&mut self) -> Result<Parameters, &'static str> {
        let mut params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            params.push((key, value));
        }
        Ok(params)
    }

    fn key(&mut self) -> Result<String, &'static str> {
        if !self
            .peek()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
        {
            return Err("expected a key");
        }
        let key = self.take_while(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
        });
        Ok(key.to_owned())
    }

    fn bare_item(&mut self) -> Result<BareItem, &'static str> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => self.boolean(),
            Some(b) if b.is_ascii_alphabetic() || b == b'*' => self.token(),
            _ => Err("expected a bare item"),
        }
    }

    fn number(&mut self) -> Result<BareItem, &'static str> {
        let negative = self.eat(b'-');
        let digits = self
            .take_while(|b| b.is_ascii_digit() || b == b'.')
            .to_owned();
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits.as_str(), None),
        };
        if int_part.is_empty() {
            return Err("number without digits");
        }
        match frac_part {
            None if int_part.len() <= 15 => int_part
                .parse::<i64>()
                .map(|n| BareItem::Integer(if negative { -n } else { n }))
                .map_err(|_| "bad integer"),
            Some(frac)
                if int_part.len() <= 12 && (1..=3).contains(&frac.len()) && !frac.contains('.') =>
            {
                digits
                    .parse::<f64>()
                    .map(|d| BareItem::Decimal(if negative { -d } else { d }))
                    .map_err(|_| "bad decimal")
            }
            _ => Err("number too long or malformed"),
        }
    }

    fn string(&mut self) -> Result<BareItem, &'static str> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(BareItem::String(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(char::from(c)),
                        _ => return Err("bad escape in string"),
                    }
                }
                Some(c @ 0x20..=0x7e) => out.push(char::from(c)),
                Some(_) => return Err("invalid character in string"),
            }
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<BareItem, &'static str> {
        let token =
            self.take_while(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b));
        Ok(BareItem::Token(token.to_owned()))
    }

    fn bytes(&mut self) -> Result<BareItem, &'static str> {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        self.pos += 1; // ':'
        let encoded = self
            .take_while(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            .to_owned();
        if !self.eat(b':') {
            return Err("unterminated byte sequence");
        }
        STANDARD
            .decode(encoded)
            .map(BareItem::Bytes)
            .map_err(|_| "bad base64 in byte sequence")
    }

    fn boolean(&mut self) -> Result<BareItem, &'static str> {
        self.pos += 1; // '?'
        if self.eat(b'1') {
            Ok(BareItem::Boolean(true))
        } else if self.eat(b'0') {
            Ok(BareItem::Boolean(false))
        } else {
            Err("bad boolean")
        }
    }
}

/// Serializes an sf-string (caller guarantees printable ASCII).
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
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> BareItem {
        BareItem::String(s.to_owned())
    }

    #[test]
    fn parses_signature_input_shape() {
        let input = concat!(
            r#"sig1=("@method" "@path");created=1618884473;keyid="test-key", "#,
            r#"atalaya=();alg="ed25519""#
        );
        let dict = parse_dictionary(input).unwrap();
        assert_eq!(dict.len(), 2);
        assert_eq!(dict[0].0, "sig1");
        let Member::InnerList(items, params) = &dict[0].1 else {
            panic!()
        };
        assert_eq!(
            items.iter().map(|i| i.bare.clone()).collect::<Vec<_>>(),
            [string("@method"), string("@path")]
        );
        assert_eq!(
            params,
            &vec![
                ("created".to_owned(), BareItem::Integer(1618884473)),
                ("keyid".to_owned(), string("test-key")),
            ]
        );
    }

    #[test]
    fn parses_other_item_kinds() {
        let dict =
            parse_dictionary("a=:aGk=:, b=-12.5, c=?0, d, e=tok/en:x;p;q=\"a\\\"b\", f=(1 2);x=-3")
                .unwrap();
        let values: Vec<_> = dict.iter().map(|(_, m)| m.clone()).collect();
        assert_eq!(
            values[0],
            Member::Item(Item {
                bare: BareItem::Bytes(b"hi".to_vec()),
                params: vec![]
            })
        );
        assert_eq!(
            values[1],
            Member::Item(Item {
                bare: BareItem::Decimal(-12.5),
                params: vec![]
            })
        );
        assert_eq!(
            values[2],
            Member::Item(Item {
                bare: BareItem::Boolean(false),
                params: vec![]
            })
        );
        assert_eq!(
            values[3],
            Member::Item(Item {
                bare: BareItem::Boolean(true),
                params: vec![]
            })
        );
        let Member::Item(e) = &values[4] else {
            panic!()
        };
        assert_eq!(e.bare, BareItem::Token("tok/en:x".into()));
        assert_eq!(
            e.params,
            vec![
                ("p".to_owned(), BareItem::Boolean(true)),
                ("q".to_owned(), string("a\"b")),
            ]
        );
        let Member::InnerList(items, params) = &values[5] else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(params, &vec![("x".to_owned(), BareItem::Integer(-3))]);
    }

    #[test]
    fn rejects_malformed_input() {
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
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_dictionary("").unwrap(), vec![]);
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

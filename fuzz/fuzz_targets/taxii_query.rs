//! The TAXII query, cursor, media-type and envelope readers must never panic or loop, and a
//! cursor they accept must encode back to a token they accept again.
#![no_main]
use atalaya_formats::taxii;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(q) = taxii::parse_query(text)
            && let Some(c) = q.next
        {
            assert_eq!(taxii::Cursor::decode(&c.encode()), Ok(c));
        }
        let _ = taxii::Cursor::decode(text);
        let _ = taxii::parse_timestamp(text);
        let _ = taxii::accepts_taxii(Some(text));
        let _ = taxii::is_taxii_content_type(Some(text));
    }
    let _ = taxii::read_envelope(data);
});

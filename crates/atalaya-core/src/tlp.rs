//! The Traffic Light Protocol 2.0 labels (FIRST). Labels are never translated.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A TLP 2.0 label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tlp {
    /// Disclosure is not limited.
    #[serde(rename = "CLEAR")]
    Clear,
    /// Limited to the community.
    #[serde(rename = "GREEN")]
    Green,
    /// Limited to the recipient's organisation and its clients on need-to-know.
    #[serde(rename = "AMBER")]
    Amber,
    /// Limited to the recipient's organisation only.
    #[serde(rename = "AMBER+STRICT")]
    AmberStrict,
    /// For the eyes and ears of individual recipients only.
    #[serde(rename = "RED")]
    Red,
}

impl Tlp {
    /// The label as written by the standard, e.g. `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// Parse `CLEAR`, `TLP:CLEAR`, `clear`, `amber+strict`, …; `WHITE` (TLP 1.0) maps to CLEAR.
    pub fn parse(s: &str) -> Option<Tlp> {
        let s = s.trim();
        let s = s
            .strip_prefix("TLP:")
            .or_else(|| s.strip_prefix("tlp:"))
            .unwrap_or(s);
        match s.to_ascii_uppercase().as_str() {
            "CLEAR" | "WHITE" => Some(Tlp::Clear),
            "GREEN" => Some(Tlp::Green),
            "AMBER" => Some(Tlp::Amber),
            "AMBER+STRICT" => Some(Tlp::AmberStrict),
            "RED" => Some(Tlp::Red),
            _ => None,
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_standards() {
        assert_eq!(
            serde_json::to_string(&Tlp::AmberStrict).unwrap(),
            "\"AMBER+STRICT\""
        );
        assert_eq!(Tlp::parse("tlp:amber+strict"), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::parse("WHITE"), Some(Tlp::Clear));
        assert_eq!(Tlp::parse("orange"), None);
        assert!(serde_json::from_str::<Tlp>("\"amber\"").is_err());
    }
}

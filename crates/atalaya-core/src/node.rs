//! Nodes: the deployment a national CSIRT (or the coordinator) runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a node id or country code was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// Not a valid node id.
    #[error(
        "invalid node id {0:?}: use 2-63 lowercase letters, digits or '-', starting with a letter"
    )]
    NodeId(String),
    /// Not an ISO 3166-1 alpha-2 code.
    #[error("invalid country code {0:?}: use an ISO 3166-1 alpha-2 code such as CL")]
    Country(String),
}

/// A node's id: a lowercase slug such as `cl-csirt`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NodeId(String);

impl NodeId {
    /// Validate and wrap a node id.
    pub fn new(s: &str) -> Result<Self, NameError> {
        let ok = (2..=63).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError::NodeId(s.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NodeId {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NodeId::new(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Validate a code (`cl` and `CL` are both accepted; stored upper case).
    pub fn new(s: &str) -> Result<Self, NameError> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(NameError::Country(s.to_owned())),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for CountryCode {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            CountryCode::new(&s).map_err(serde::de::Error::custom)
        } else {
            Err(serde::de::Error::custom(NameError::Country(s)))
        }
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a node is in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A national CSIRT's node.
    Member,
    /// The network secretariat: a node with the extra right to sign the roster.
    Coordinator,
}

/// A deployment: one national CSIRT's node (or the coordinator's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The node's id, e.g. `cl-csirt`.
    pub node_id: NodeId,
    /// ISO 3166-1 alpha-2 country of the team.
    pub country: CountryCode,
    /// The team's name.
    pub team: String,
    /// Member or coordinator.
    pub role: Role,
    /// Ed25519 public signing key, base64.
    pub signing_key: String,
    /// X25519 public sealing key, base64.
    pub sealing_key: String,
    /// Base URL other nodes use to reach this node, e.g. `https://atalaya.csirt.gob.cl`.
    pub endpoint: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        assert!(NodeId::new("cl-csirt").is_ok());
        assert!(NodeId::new("coordinator").is_ok());
        for bad in [
            "",
            "a",
            "Cl-csirt",
            "1abc",
            "ab_c",
            "abc-",
            "a b",
            &"x".repeat(64),
        ] {
            assert!(NodeId::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn country_codes() {
        assert_eq!(CountryCode::new("cl").unwrap().as_str(), "CL");
        assert!(CountryCode::new("CHL").is_err());
        assert!(CountryCode::new("C1").is_err());
        assert!(serde_json::from_str::<CountryCode>("\"cl\"").is_err());
        assert!(serde_json::from_str::<CountryCode>("\"CL\"").is_ok());
    }
}

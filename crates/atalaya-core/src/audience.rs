//! Who an item is addressed to: the whole network, named nodes, or named countries.

use serde::{Deserialize, Serialize};

use crate::{CountryCode, NodeId};

/// The audience of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "lowercase", deny_unknown_fields)]
pub enum Audience {
    /// Every member of the roster.
    Network,
    /// Only the named nodes.
    Nodes {
        /// The recipients.
        nodes: Vec<NodeId>,
    },
    /// The nodes of the named countries.
    Countries {
        /// The recipient countries.
        countries: Vec<CountryCode>,
    },
}

impl Audience {
    /// Whether a node of `country` with id `node` is addressed.
    pub fn includes(&self, node: &NodeId, country: CountryCode) -> bool {
        match self {
            Audience::Network => true,
            Audience::Nodes { nodes } => nodes.contains(node),
            Audience::Countries { countries } => countries.contains(&country),
        }
    }

    /// An audience that names nobody is a mistake, never a valid target.
    pub fn is_empty(&self) -> bool {
        match self {
            Audience::Network => false,
            Audience::Nodes { nodes } => nodes.is_empty(),
            Audience::Countries { countries } => countries.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        let a: Audience = serde_json::from_str(r#"{"scope":"network"}"#).unwrap();
        assert_eq!(a, Audience::Network);
        let a: Audience =
            serde_json::from_str(r#"{"scope":"nodes","nodes":["cl-csirt","mx-csirt"]}"#).unwrap();
        assert!(a.includes(
            &NodeId::new("cl-csirt").unwrap(),
            CountryCode::new("CL").unwrap()
        ));
        assert!(!a.includes(
            &NodeId::new("ar-csirt").unwrap(),
            CountryCode::new("AR").unwrap()
        ));
        assert!(serde_json::from_str::<Audience>(r#"{"scope":"planet"}"#).is_err());
    }
}

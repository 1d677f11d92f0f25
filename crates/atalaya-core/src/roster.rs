//! The roster: the coordinator-signed list of the network's member nodes.

use serde::{Deserialize, Serialize};

use crate::{CountryCode, Node, NodeId, Timestamp};

/// A member of the roster: a node with its keys and endpoint.
pub type Member = Node;

/// The signed list of member nodes. Each new version replaces the previous one entirely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    /// Name of the network, e.g. `oas-csirt-americas`.
    pub network: String,
    /// Monotonically increasing version; a node only accepts a higher one.
    pub version: u64,
    /// When this version was issued.
    pub issued: Timestamp,
    /// The coordinator node that signs the roster.
    pub coordinator: NodeId,
    /// The current members (the coordinator is one of them).
    pub members: Vec<Member>,
    /// Nodes that were members and have been removed: their envelopes are refused.
    #[serde(default)]
    pub removed: Vec<NodeId>,
}

/// What is wrong with a roster.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RosterError {
    /// Two members share an id.
    #[error("node {0} is listed twice")]
    Duplicate(NodeId),
    /// The coordinator is not among the members.
    #[error("the coordinator {0} is not a member of its own roster")]
    CoordinatorMissing(NodeId),
    /// A removed node is still listed as a member.
    #[error("node {0} is both a member and removed")]
    RemovedMember(NodeId),
    /// A node id the roster does not know.
    #[error("no member {0} in the roster")]
    NoSuchMember(NodeId),
    /// A member's endpoint is not an http(s) URL.
    #[error("endpoint of {0} must start with http:// or https://")]
    BadEndpoint(NodeId),
}

impl Roster {
    /// A new, empty roster (version 0) for a network run by `coordinator`.
    pub fn new(network: &str, coordinator: Node, issued: Timestamp) -> Self {
        Self {
            network: network.to_owned(),
            version: 1,
            issued,
            coordinator: coordinator.node_id.clone(),
            members: vec![coordinator],
            removed: Vec::new(),
        }
    }

    /// The member with this id, if it is a current member.
    pub fn member(&self, id: &NodeId) -> Option<&Member> {
        self.members.iter().find(|m| &m.node_id == id)
    }

    /// Whether this id was removed from the network.
    pub fn is_removed(&self, id: &NodeId) -> bool {
        self.removed.contains(id)
    }

    /// All members except `me`: the peers a node talks to.
    pub fn peers_of<'a>(&'a self, me: &'a NodeId) -> impl Iterator<Item = &'a Member> + 'a {
        self.members.iter().filter(move |m| &m.node_id != me)
    }

    /// The members of a country.
    pub fn in_country(&self, country: CountryCode) -> impl Iterator<Item = &Member> + '_ {
        self.members.iter().filter(move |m| m.country == country)
    }

    /// Add or replace a member (a node re-keyed or moved keeps its id); bumps the version.
    pub fn upsert(&mut self, node: Node, issued: Timestamp) {
        self.removed.retain(|r| r != &node.node_id);
        match self.members.iter_mut().find(|m| m.node_id == node.node_id) {
            Some(m) => *m = node,
            None => self.members.push(node),
        }
        self.version += 1;
        self.issued = issued;
    }

    /// Remove a member; its later envelopes are refused. Bumps the version.
    pub fn remove(&mut self, id: &NodeId, issued: Timestamp) -> Result<(), RosterError> {
        if id == &self.coordinator {
            return Err(RosterError::CoordinatorMissing(id.clone()));
        }
        let before = self.members.len();
        self.members.retain(|m| &m.node_id != id);
        if self.members.len() == before {
            return Err(RosterError::NoSuchMember(id.clone()));
        }
        if !self.removed.contains(id) {
            self.removed.push(id.clone());
        }
        self.version += 1;
        self.issued = issued;
        Ok(())
    }

    /// Check the roster's internal consistency.
    pub fn validate(&self) -> Result<(), RosterError> {
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.members {
            if !seen.insert(&m.node_id) {
                return Err(RosterError::Duplicate(m.node_id.clone()));
            }
            if self.removed.contains(&m.node_id) {
                return Err(RosterError::RemovedMember(m.node_id.clone()));
            }
            if !(m.endpoint.starts_with("http://") || m.endpoint.starts_with("https://")) {
                return Err(RosterError::BadEndpoint(m.node_id.clone()));
            }
        }
        if self.member(&self.coordinator).is_none() {
            return Err(RosterError::CoordinatorMissing(self.coordinator.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn node(id: &str, role: Role) -> Node {
        Node {
            node_id: NodeId::new(id).unwrap(),
            country: CountryCode::new("CL").unwrap(),
            team: id.to_uppercase(),
            role,
            signing_key: "k".into(),
            sealing_key: "s".into(),
            endpoint: format!("http://127.0.0.1/{id}"),
        }
    }

    #[test]
    fn add_remove_versions() {
        let t = Timestamp::from_unix_millis(0).unwrap();
        let mut r = Roster::new("test", node("coord", Role::Coordinator), t);
        r.upsert(node("cl-csirt", Role::Member), t);
        assert_eq!(r.version, 2);
        r.validate().unwrap();
        r.remove(&NodeId::new("cl-csirt").unwrap(), t).unwrap();
        assert_eq!(r.version, 3);
        assert!(r.is_removed(&NodeId::new("cl-csirt").unwrap()));
        assert!(r.member(&NodeId::new("cl-csirt").unwrap()).is_none());
        assert!(r.remove(&NodeId::new("coord").unwrap(), t).is_err());
        // Re-admitting clears the removal.
        r.upsert(node("cl-csirt", Role::Member), t);
        assert!(!r.is_removed(&NodeId::new("cl-csirt").unwrap()));
        r.validate().unwrap();
    }
}

//! The one place that decides where an item may go.
//!
//! Federation (push, pull, relay) asks `decide` before anything leaves the node. This version
//! enforces roster membership and the audience; the TLP 2.0 rules, each state's own policy and
//! the sharing agreement extend this same function, so no caller changes when they arrive.

use crate::{Audience, EnvelopeKind, NodeId, Roster, Tlp};

/// What someone wants to do with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The origin pushes its own item to a peer.
    Deliver,
    /// A node passes on an item it holds from another origin.
    Relay,
    /// A peer asks for the item through `GET /fed/v1/outbox`.
    ServeOnPull,
}

/// The labels of an item that the policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// Who created it.
    pub origin: &'a NodeId,
    /// What it is.
    pub kind: EnvelopeKind,
    /// Its sharing label.
    pub tlp: Tlp,
    /// Who it is addressed to.
    pub audience: &'a Audience,
}

/// Why something was denied. Every denial has a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The recipient is not in the current roster.
    NotAMember(NodeId),
    /// The recipient was removed from the network.
    Removed(NodeId),
    /// The recipient is not in the item's audience.
    NotInAudience(NodeId),
    /// Items are never sent back to their origin.
    IsOrigin(NodeId),
}

impl Denial {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::NotAMember(_) => "not_a_member",
            Denial::Removed(_) => "removed_member",
            Denial::NotInAudience(_) => "not_in_audience",
            Denial::IsOrigin(_) => "is_origin",
        }
    }
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denial::NotAMember(n) => write!(f, "{n} is not a member of the current roster"),
            Denial::Removed(n) => write!(f, "{n} has been removed from the network"),
            Denial::NotInAudience(n) => write!(f, "{n} is not in the item's audience"),
            Denial::IsOrigin(n) => write!(f, "{n} is the item's origin"),
        }
    }
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Don't, for this reason.
    Deny(Denial),
}

impl Decision {
    /// Whether it is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Decide whether `recipient` may receive `item` through `action`, under `roster`.
pub fn decide(item: &Item<'_>, recipient: &NodeId, _action: Action, roster: &Roster) -> Decision {
    if roster.is_removed(recipient) {
        return Decision::Deny(Denial::Removed(recipient.clone()));
    }
    let Some(member) = roster.member(recipient) else {
        return Decision::Deny(Denial::NotAMember(recipient.clone()));
    };
    if recipient == item.origin {
        return Decision::Deny(Denial::IsOrigin(recipient.clone()));
    }
    // The roster itself goes to every member: it is how they learn who the members are.
    if item.kind == EnvelopeKind::Roster {
        return Decision::Allow;
    }
    if !item.audience.includes(&member.node_id, member.country) {
        return Decision::Deny(Denial::NotInAudience(recipient.clone()));
    }
    Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CountryCode, Node, Role, Timestamp};
    use proptest::prelude::*;

    fn node(id: &str, cc: &str) -> Node {
        Node {
            node_id: NodeId::new(id).unwrap(),
            country: CountryCode::new(cc).unwrap(),
            team: id.into(),
            role: Role::Member,
            signing_key: String::new(),
            sealing_key: String::new(),
            endpoint: "http://127.0.0.1:1".into(),
        }
    }

    fn roster() -> Roster {
        let t = Timestamp::from_unix_millis(0).unwrap();
        let mut r = Roster::new("t", node("coord", "US"), t);
        for (id, cc) in [
            ("cl-csirt", "CL"),
            ("ar-csirt", "AR"),
            ("mx-csirt", "MX"),
            ("br-cert", "BR"),
        ] {
            r.upsert(node(id, cc), t);
        }
        r.remove(&NodeId::new("br-cert").unwrap(), t).unwrap();
        r
    }

    fn audience() -> impl Strategy<Value = Audience> {
        let ids = prop::sample::subsequence(
            vec!["cl-csirt", "ar-csirt", "mx-csirt", "br-cert", "xx-nobody"],
            0..4,
        );
        let ccs = prop::sample::subsequence(vec!["CL", "AR", "MX", "BR", "US"], 0..4);
        prop_oneof![
            Just(Audience::Network),
            ids.prop_map(|v| Audience::Nodes {
                nodes: v.into_iter().map(|s| NodeId::new(s).unwrap()).collect()
            }),
            ccs.prop_map(|v| Audience::Countries {
                countries: v
                    .into_iter()
                    .map(|s| CountryCode::new(s).unwrap())
                    .collect()
            }),
        ]
    }

    proptest! {
        #[test]
        fn only_current_members_in_the_audience_receive(
            aud in audience(),
            origin in prop::sample::select(vec!["cl-csirt", "ar-csirt", "coord"]),
            recipient in prop::sample::select(vec!["cl-csirt", "ar-csirt", "mx-csirt", "br-cert", "xx-nobody", "coord"]),
            action in prop::sample::select(vec![Action::Deliver, Action::Relay, Action::ServeOnPull]),
        ) {
            let r = roster();
            let origin = NodeId::new(origin).unwrap();
            let recipient = NodeId::new(recipient).unwrap();
            let item = Item { origin: &origin, kind: EnvelopeKind::Bulletin, tlp: Tlp::Green, audience: &aud };
            let d = decide(&item, &recipient, action, &r);
            let member = r.member(&recipient);
            let expected = member.is_some()
                && recipient != origin
                && member.is_some_and(|m| aud.includes(&m.node_id, m.country));
            prop_assert_eq!(d.is_allowed(), expected);
            if let Decision::Deny(reason) = d {
                prop_assert!(!reason.code().is_empty());
                prop_assert!(!reason.to_string().is_empty());
            }
        }
    }

    #[test]
    fn removed_members_get_nothing_not_even_the_roster() {
        let r = roster();
        let coord = NodeId::new("coord").unwrap();
        let item = Item {
            origin: &coord,
            kind: EnvelopeKind::Roster,
            tlp: Tlp::Green,
            audience: &Audience::Network,
        };
        let d = decide(&item, &NodeId::new("br-cert").unwrap(), Action::Deliver, &r);
        assert_eq!(
            d,
            Decision::Deny(Denial::Removed(NodeId::new("br-cert").unwrap()))
        );
        assert!(
            decide(
                &item,
                &NodeId::new("mx-csirt").unwrap(),
                Action::Deliver,
                &r
            )
            .is_allowed()
        );
    }
}

//! The one place that decides where an item may go (DESIGN §6).
//!
//! Every case goes through [`decide`]: a node pushing to a peer, relaying, serving a pull,
//! accepting what arrives, a person viewing, an officer notifying a national constituent,
//! public release, and export. It looks at the item's labels (TLP 2.0, audience, embargo, named
//! people), the actor, the action, and the context it is decided in (the roster, the time, the
//! sharing agreement, this node's own policy), and answers allow, or deny with a reason.
//!
//! TLP 2.0 as the network enforces it:
//!
//! | Label | Nodes that may receive it | What a receiving node may do with it |
//! |---|---|---|
//! | CLEAR | the audience; the public | anything |
//! | GREEN | the audience | its national community (constituents); never public |
//! | AMBER | the audience | named constituents, by an explicit officer action |
//! | AMBER+STRICT | the audience | nothing beyond its own users |
//! | RED | only the named nodes | only the named people inside them |

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Audience, CountryCode, EnvelopeKind, NodeId, Roster, Timestamp, Tlp};

/// What someone wants to do with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The origin pushes its own item to a peer.
    Deliver,
    /// A node passes on an item it holds from another origin.
    Relay,
    /// A peer asks for the item through `GET /fed/v1/outbox`.
    ServeOnPull,
    /// This node takes in an item that arrived from a peer.
    Accept,
    /// A person at this node reads the item.
    View,
    /// An officer passes the item to an organisation of the node's country.
    NotifyConstituent,
    /// The item appears on the public portal and feeds.
    PublishPublic,
    /// The item leaves in an exchange format (STIX, MISP, CSAF, CAP) to the actor.
    Export,
    /// A node holds and passes on a sealed envelope it cannot open (a carrier, for relaying).
    Carry,
}

/// Who the action is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    /// A node of the network (the recipient of a push, relay or pull; the origin for `Accept`).
    Node(&'a NodeId),
    /// A person with an account at the node deciding (`user` is their account name).
    Person {
        /// Account name.
        user: &'a str,
    },
    /// An organisation in the deciding node's country; `approved` when a duty officer
    /// explicitly chose to pass this item on to it (an audited act).
    Constituent {
        /// The organisation.
        name: &'a str,
        /// An officer's explicit decision.
        approved: bool,
    },
    /// Anyone: the public portal, feeds, unauthenticated exports.
    Public,
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
    /// Not public before this instant.
    pub embargo_until: Option<Timestamp>,
    /// For RED: the people (`user@node`) who may read it.
    pub people: &'a [String],
    /// The origin retracted it.
    pub retracted: bool,
}

impl<'a> Item<'a> {
    /// A bulletin's labels as the policy sees them (`retracted`: its origin withdrew it).
    pub fn of_bulletin(b: &'a crate::Bulletin, retracted: bool) -> Self {
        Item {
            origin: &b.origin,
            kind: EnvelopeKind::Bulletin,
            tlp: b.tlp,
            audience: &b.audience,
            embargo_until: b.embargo_until,
            people: &b.people,
            retracted,
        }
    }
}

/// The network's sharing agreement in force, and who accepted it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgreementStatus {
    /// The current version, if the coordinator issued one.
    pub version: Option<u64>,
    /// Nodes that accepted that version.
    pub accepted: BTreeSet<NodeId>,
}

impl AgreementStatus {
    /// Whether `node` may receive more than CLEAR.
    pub fn allows_beyond_clear(&self, node: &NodeId) -> bool {
        self.version.is_none() || self.accepted.contains(node)
    }
}

/// One rule of a node's outbound policy: what it shares with some peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundRule {
    /// The peers the rule is about (empty: every peer).
    #[serde(default)]
    pub peers: Vec<NodeId>,
    /// The highest label shared with them (CLEAR < GREEN < AMBER < AMBER+STRICT < RED).
    pub max_tlp: Tlp,
    /// The kinds shared with them (empty: every kind).
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// A member state's own policy: what it sends to whom, and whom it accepts from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePolicy {
    /// Outbound rules; the first rule naming a peer applies to it, then the first general
    /// rule; no applicable rule means no restriction beyond the network's rules.
    #[serde(default)]
    pub outbound: Vec<OutboundRule>,
    /// Origins whose items this node refuses.
    #[serde(default)]
    pub refuse_from: Vec<NodeId>,
}

impl NodePolicy {
    /// The rule that applies to `peer`.
    pub fn rule_for(&self, peer: &NodeId) -> Option<&OutboundRule> {
        self.outbound
            .iter()
            .find(|r| r.peers.contains(peer))
            .or_else(|| self.outbound.iter().find(|r| r.peers.is_empty()))
    }

    /// Every peer this policy names must be in the roster.
    pub fn check(&self, roster: &Roster) -> Result<(), LabelError> {
        for id in self
            .outbound
            .iter()
            .flat_map(|r| &r.peers)
            .chain(&self.refuse_from)
        {
            if roster.member(id).is_none() {
                return Err(LabelError::UnknownPeer(id.clone()));
            }
        }
        Ok(())
    }
}

/// Where the decision is taken.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The node deciding.
    pub me: &'a NodeId,
    /// The roster in force.
    pub roster: &'a Roster,
    /// The current time.
    pub now: Timestamp,
    /// The sharing agreement.
    pub agreement: &'a AgreementStatus,
    /// This node's own policy.
    pub node_policy: &'a NodePolicy,
}

/// Why something was denied. Every denial has a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The node is not in the current roster.
    NotAMember(NodeId),
    /// The node was removed from the network.
    Removed(NodeId),
    /// The node is not in the item's audience.
    NotInAudience(NodeId),
    /// Items are never sent back to their origin.
    IsOrigin(NodeId),
    /// The node has not accepted the current sharing agreement: CLEAR only.
    AgreementNotAccepted(NodeId),
    /// This node's outbound policy does not share this with that peer.
    OutboundPolicy(NodeId),
    /// This node's inbound policy refuses items from that origin.
    InboundPolicy(NodeId),
    /// RED: only the named people may read it.
    NotANamedRecipient(String),
    /// Only CLEAR may be public.
    NotPublic(Tlp),
    /// Under embargo until then.
    Embargoed(Timestamp),
    /// AMBER needs a duty officer's explicit decision to reach a constituent.
    NeedsOfficerApproval,
    /// AMBER+STRICT and RED never leave the node's own users.
    StaysWithinNode(Tlp),
    /// The origin retracted it.
    Retracted,
    /// Only sealed items can be carried by nodes outside their audience.
    NotSealed(Tlp),
    /// The action does not apply to this actor.
    NotApplicable,
}

impl Denial {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::NotAMember(_) => "not_a_member",
            Denial::Removed(_) => "removed_member",
            Denial::NotInAudience(_) => "not_in_audience",
            Denial::IsOrigin(_) => "is_origin",
            Denial::AgreementNotAccepted(_) => "agreement_not_accepted",
            Denial::OutboundPolicy(_) => "outbound_policy",
            Denial::InboundPolicy(_) => "inbound_policy",
            Denial::NotANamedRecipient(_) => "not_a_named_recipient",
            Denial::NotPublic(_) => "not_public",
            Denial::Embargoed(_) => "embargoed",
            Denial::NeedsOfficerApproval => "needs_officer_approval",
            Denial::StaysWithinNode(_) => "stays_within_node",
            Denial::Retracted => "retracted",
            Denial::NotSealed(_) => "not_sealed",
            Denial::NotApplicable => "not_applicable",
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
            Denial::AgreementNotAccepted(n) => write!(
                f,
                "{n} has not accepted the current sharing agreement and receives only TLP:CLEAR"
            ),
            Denial::OutboundPolicy(n) => {
                write!(
                    f,
                    "this node's outbound policy does not share this with {n}"
                )
            }
            Denial::InboundPolicy(n) => {
                write!(f, "this node's inbound policy refuses items from {n}")
            }
            Denial::NotANamedRecipient(p) => {
                write!(f, "{p} is not one of the people this TLP:RED item is for")
            }
            Denial::NotPublic(t) => write!(f, "{t} is not public; only TLP:CLEAR is"),
            Denial::Embargoed(t) => write!(f, "under embargo until {t}"),
            Denial::NeedsOfficerApproval => write!(
                f,
                "TLP:AMBER reaches a constituent only by a duty officer's explicit decision"
            ),
            Denial::StaysWithinNode(t) => write!(f, "{t} never leaves the receiving team"),
            Denial::Retracted => write!(f, "the origin retracted it"),
            Denial::NotSealed(t) => {
                write!(f, "{t} travels in clear: only its audience may hold it")
            }
            Denial::NotApplicable => write!(f, "this action does not apply to this actor"),
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

fn deny(d: Denial) -> Decision {
    Decision::Deny(d)
}

/// Messages about the network itself (the roster, audit checkpoints and inconsistency reports,
/// the sharing agreement and acceptances of it) go to every member whatever the labels.
fn is_network_control(kind: EnvelopeKind) -> bool {
    matches!(
        kind,
        EnvelopeKind::Roster
            | EnvelopeKind::AuditCheckpoint
            | EnvelopeKind::AuditInconsistency
            | EnvelopeKind::Agreement
            | EnvelopeKind::AgreementAcceptance
    )
}

/// Decide whether `actor` may have `item` through `action`.
pub fn decide(item: &Item<'_>, actor: &Actor<'_>, action: Action, ctx: &Context<'_>) -> Decision {
    match (action, actor) {
        (Action::Deliver | Action::Relay | Action::ServeOnPull, Actor::Node(peer)) => {
            node_may_receive(item, peer, ctx, false)
        }
        (Action::Carry, Actor::Node(peer)) => {
            if !is_sealed(item) {
                return deny(Denial::NotSealed(item.tlp));
            }
            node_may_receive(item, peer, ctx, true)
        }
        (Action::Accept, Actor::Node(origin)) => {
            if ctx.node_policy.refuse_from.contains(origin) && !is_network_control(item.kind) {
                return deny(Denial::InboundPolicy((*origin).clone()));
            }
            // This node must itself be someone the item may go to (or, sealed, may carry).
            if item.origin == ctx.me {
                return Decision::Allow;
            }
            network_rules(item, ctx.me, ctx, true)
        }
        (Action::View, Actor::Person { user }) => {
            if item.tlp == Tlp::Red {
                let me = format!("{user}@{}", ctx.me);
                if !item.people.iter().any(|p| p == &me) {
                    return deny(Denial::NotANamedRecipient(me));
                }
            }
            Decision::Allow
        }
        (Action::NotifyConstituent | Action::Export, Actor::Constituent { approved, .. }) => {
            if item.retracted {
                return deny(Denial::Retracted);
            }
            match item.tlp {
                Tlp::Clear | Tlp::Green => Decision::Allow,
                Tlp::Amber if *approved => Decision::Allow,
                Tlp::Amber => deny(Denial::NeedsOfficerApproval),
                Tlp::AmberStrict | Tlp::Red => deny(Denial::StaysWithinNode(item.tlp)),
            }
        }
        (Action::Export, Actor::Person { user }) => {
            decide(item, &Actor::Person { user }, Action::View, ctx)
        }
        (Action::PublishPublic | Action::Export, Actor::Public) => {
            if item.retracted {
                return deny(Denial::Retracted);
            }
            if item.tlp != Tlp::Clear {
                return deny(Denial::NotPublic(item.tlp));
            }
            match item.embargo_until {
                Some(t) if ctx.now < t => deny(Denial::Embargoed(t)),
                _ => Decision::Allow,
            }
        }
        _ => deny(Denial::NotApplicable),
    }
}

/// Push, relay, pull and carry: may `peer` hold this item? A carrier holds a sealed item
/// without being in its audience (it cannot open it); every other rule still applies.
fn node_may_receive(
    item: &Item<'_>,
    peer: &NodeId,
    ctx: &Context<'_>,
    as_carrier: bool,
) -> Decision {
    if peer == item.origin {
        return deny(Denial::IsOrigin(peer.clone()));
    }
    if let Decision::Deny(d) = network_rules(item, peer, ctx, as_carrier) {
        return deny(d);
    }
    if item.retracted && !is_network_control(item.kind) {
        // The retraction itself travels; the retracted item is no longer passed on.
        return deny(Denial::Retracted);
    }
    // This node's own choice of what it shares, for what it originates and what it relays.
    if !is_network_control(item.kind)
        && let Some(rule) = ctx.node_policy.rule_for(peer)
    {
        let kind_ok = rule.kinds.is_empty() || rule.kinds.iter().any(|k| k == item.kind.as_str());
        if item.tlp > rule.max_tlp || !kind_ok {
            return deny(Denial::OutboundPolicy(peer.clone()));
        }
    }
    Decision::Allow
}

/// The network's rules for a node holding an item: membership, agreement, and (unless it only
/// carries a sealed item) the audience.
fn network_rules(item: &Item<'_>, node: &NodeId, ctx: &Context<'_>, as_carrier: bool) -> Decision {
    if ctx.roster.is_removed(node) {
        return deny(Denial::Removed(node.clone()));
    }
    let Some(member) = ctx.roster.member(node) else {
        return deny(Denial::NotAMember(node.clone()));
    };
    if is_network_control(item.kind) {
        return Decision::Allow;
    }
    if item.tlp != Tlp::Clear && !ctx.agreement.allows_beyond_clear(node) {
        return deny(Denial::AgreementNotAccepted(node.clone()));
    }
    let carried = as_carrier && is_sealed(item);
    if !carried && !item.audience.includes(&member.node_id, member.country) {
        return deny(Denial::NotInAudience(node.clone()));
    }
    Decision::Allow
}

/// Labels that contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// RED needs named recipient nodes.
    #[error("TLP:RED must be addressed to named nodes, not to {0}")]
    RedNeedsNamedNodes(&'static str),
    /// RED needs named people.
    #[error("TLP:RED needs the people it is for (`user@node`, one per recipient node at least)")]
    RedNeedsPeople,
    /// A named person at a node outside the audience.
    #[error("{0} is at a node outside the audience")]
    PersonOutsideAudience(String),
    /// People named on something that is not RED.
    #[error("named people only apply to TLP:RED")]
    PeopleWithoutRed,
    /// Not `user@node`.
    #[error("{0:?} is not user@node")]
    BadPerson(String),
    /// An embargo in the past.
    #[error("the embargo ({0}) is already over")]
    EmbargoInPast(Timestamp),
    /// Constituents named on AMBER+STRICT or RED.
    #[error("{0} never goes to constituents")]
    ConstituentsForbidden(Tlp),
    /// An unknown peer.
    #[error("{0} is not a member of the roster")]
    UnknownPeer(NodeId),
    /// A country outside the network.
    #[error("no member of the roster is in {0}")]
    UnknownCountry(CountryCode),
}

impl LabelError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LabelError::RedNeedsNamedNodes(_) => "red_needs_named_nodes",
            LabelError::RedNeedsPeople => "red_needs_people",
            LabelError::PersonOutsideAudience(_) => "person_outside_audience",
            LabelError::PeopleWithoutRed => "people_without_red",
            LabelError::BadPerson(_) => "bad_person",
            LabelError::EmbargoInPast(_) => "embargo_in_past",
            LabelError::ConstituentsForbidden(_) => "constituents_forbidden",
            LabelError::UnknownPeer(_) => "unknown_peer",
            LabelError::UnknownCountry(_) => "unknown_country",
        }
    }
}

/// Labels an officer gives a new item.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// Sharing label.
    pub tlp: Tlp,
    /// Recipients.
    pub audience: &'a Audience,
    /// Not public before.
    pub embargo_until: Option<Timestamp>,
    /// RED: the people it is for.
    pub people: &'a [String],
    /// Constituents to notify on release.
    pub constituents: &'a [String],
}

/// Refuse labels that contradict each other, or name nodes the roster does not know.
pub fn check_labels(l: &Labels<'_>, roster: &Roster, now: Timestamp) -> Result<(), LabelError> {
    match l.audience {
        Audience::Network => {}
        Audience::Nodes { nodes } => {
            if let Some(unknown) = nodes.iter().find(|n| roster.member(n).is_none()) {
                return Err(LabelError::UnknownPeer(unknown.clone()));
            }
        }
        Audience::Countries { countries } => {
            if let Some(c) = countries
                .iter()
                .find(|c| roster.in_country(**c).next().is_none())
            {
                return Err(LabelError::UnknownCountry(*c));
            }
        }
    }
    if l.tlp == Tlp::Red {
        let Audience::Nodes { nodes } = l.audience else {
            return Err(LabelError::RedNeedsNamedNodes(match l.audience {
                Audience::Network => "the whole network",
                _ => "whole countries",
            }));
        };
        if l.people.is_empty() {
            return Err(LabelError::RedNeedsPeople);
        }
        for p in l.people {
            let (_, node) = p
                .split_once('@')
                .filter(|(u, n)| !u.is_empty() && NodeId::new(n).is_ok())
                .ok_or_else(|| LabelError::BadPerson(p.clone()))?;
            if !nodes.iter().any(|n| n.as_str() == node) {
                return Err(LabelError::PersonOutsideAudience(p.clone()));
            }
        }
    } else if !l.people.is_empty() {
        return Err(LabelError::PeopleWithoutRed);
    }
    if matches!(l.tlp, Tlp::AmberStrict | Tlp::Red) && !l.constituents.is_empty() {
        return Err(LabelError::ConstituentsForbidden(l.tlp));
    }
    if let Some(t) = l.embargo_until
        && t <= now
    {
        return Err(LabelError::EmbargoInPast(t));
    }
    Ok(())
}

/// Whether an item with this label travels sealed (body encrypted to the recipient nodes).
pub fn travels_sealed(tlp: Tlp) -> bool {
    matches!(tlp, Tlp::AmberStrict | Tlp::Red)
}

/// Whether this item's body travels sealed.
pub fn is_sealed(item: &Item<'_>) -> bool {
    item.kind == EnvelopeKind::Bulletin && travels_sealed(item.tlp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Node, Role};
    use proptest::prelude::*;

    const IDS: [&str; 6] = [
        "coord",
        "cl-csirt",
        "ar-csirt",
        "mx-csirt",
        "br-cert",
        "xx-nobody",
    ];

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

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn tlp() -> impl Strategy<Value = Tlp> {
        prop::sample::select(vec![
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ])
    }

    fn audience() -> impl Strategy<Value = Audience> {
        let ids = prop::sample::subsequence(IDS.to_vec(), 1..4);
        let ccs = prop::sample::subsequence(vec!["CL", "AR", "MX", "BR", "US"], 1..4);
        prop_oneof![
            Just(Audience::Network),
            ids.prop_map(|v| Audience::Nodes {
                nodes: v.into_iter().map(id).collect()
            }),
            ccs.prop_map(|v| Audience::Countries {
                countries: v
                    .into_iter()
                    .map(|s| CountryCode::new(s).unwrap())
                    .collect()
            }),
        ]
    }

    fn action() -> impl Strategy<Value = Action> {
        prop::sample::select(vec![
            Action::Deliver,
            Action::Relay,
            Action::ServeOnPull,
            Action::Accept,
            Action::View,
            Action::NotifyConstituent,
            Action::PublishPublic,
            Action::Export,
            Action::Carry,
        ])
    }

    #[derive(Debug, Clone)]
    enum A {
        Node(&'static str),
        Person(&'static str),
        Constituent(bool),
        Public,
    }

    fn actor() -> impl Strategy<Value = A> {
        prop_oneof![
            prop::sample::select(IDS.to_vec()).prop_map(A::Node),
            prop::sample::select(vec!["ana", "bruno", "carla"]).prop_map(A::Person),
            any::<bool>().prop_map(A::Constituent),
            Just(A::Public),
        ]
    }

    fn as_actor<'a>(a: &'a A, ids: &'a [NodeId]) -> Actor<'a> {
        match a {
            A::Node(n) => Actor::Node(&ids[IDS.iter().position(|x| x == n).unwrap()]),
            A::Person(u) => Actor::Person { user: u },
            A::Constituent(ok) => Actor::Constituent {
                name: "bank",
                approved: *ok,
            },
            A::Public => Actor::Public,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_rules_hold_for_every_item_actor_and_action(
            tlp in tlp(),
            aud in audience(),
            origin in prop::sample::select(vec!["cl-csirt", "ar-csirt", "coord"]),
            me in prop::sample::select(vec!["cl-csirt", "ar-csirt", "mx-csirt", "coord"]),
            a in actor(),
            act in action(),
            people in prop::sample::subsequence(vec!["ana@cl-csirt", "bruno@mx-csirt", "carla@ar-csirt"], 0..3),
            accepted in prop::sample::subsequence(IDS.to_vec(), 0..6),
            agreement_in_force in any::<bool>(),
            embargo_offset in prop::option::of(-1000i64..1000),
            retracted in any::<bool>(),
        ) {
            let roster = roster();
            let ids: Vec<NodeId> = IDS.iter().map(|s| id(s)).collect();
            let origin = id(origin);
            let me = id(me);
            let people: Vec<String> = people.into_iter().map(str::to_owned).collect();
            let agreement = AgreementStatus {
                version: agreement_in_force.then_some(3),
                accepted: accepted.iter().map(|s| id(s)).collect(),
            };
            let now = Timestamp::from_unix_millis(1_000_000).unwrap();
            let node_policy = NodePolicy::default();
            let ctx = Context { me: &me, roster: &roster, now, agreement: &agreement, node_policy: &node_policy };
            let item = Item {
                origin: &origin,
                kind: EnvelopeKind::Bulletin,
                tlp,
                audience: &aud,
                embargo_until: embargo_offset.map(|o| now.plus_millis(o)),
                people: &people,
                retracted,
            };
            let actor = as_actor(&a, &ids);
            let d = decide(&item, &actor, act, &ctx);
            if let Decision::Deny(reason) = &d {
                prop_assert!(!reason.code().is_empty());
                prop_assert!(!reason.to_string().is_empty());
            }
            if !d.is_allowed() {
                return Ok(());
            }
            // Whatever was allowed obeys TLP 2.0 and the network's rules.
            match actor {
                Actor::Node(_) if act == Action::Accept => {
                    // Taking in an item: this node itself must be a member it may go to.
                    if item.origin != &me {
                        let m = roster.member(&me);
                        prop_assert!(m.is_some());
                        prop_assert!(is_sealed(&item) || m.is_some_and(|m| aud.includes(&m.node_id, m.country)), "accepted outside the audience, in clear");
                        prop_assert!(tlp == Tlp::Clear || agreement.allows_beyond_clear(&me), "agreement bypassed on accept");
                    }
                }
                Actor::Node(n) => {
                    let m = roster.member(n);
                    prop_assert!(m.is_some(), "a non-member got it");
                    let m = m.unwrap();
                    if act == Action::Carry {
                        prop_assert!(matches!(tlp, Tlp::Red | Tlp::AmberStrict), "carried in clear");
                    } else {
                        prop_assert!(aud.includes(&m.node_id, m.country), "outside the audience");
                    }
                    prop_assert!(n != item.origin);
                    prop_assert!(!retracted);
                    if tlp != Tlp::Clear {
                        prop_assert!(agreement.allows_beyond_clear(n), "agreement bypassed");
                    }
                }
                Actor::Person { user } => {
                    if tlp == Tlp::Red {
                        prop_assert!(people.contains(&format!("{user}@{me}")), "RED reached an unnamed person");
                    }
                }
                Actor::Constituent { approved, .. } => {
                    prop_assert!(!matches!(tlp, Tlp::Red | Tlp::AmberStrict), "{tlp} left the node");
                    prop_assert!(tlp != Tlp::Amber || approved, "AMBER without an officer");
                    prop_assert!(!retracted);
                }
                Actor::Public => {
                    prop_assert_eq!(tlp, Tlp::Clear, "non-CLEAR published");
                    prop_assert!(item.embargo_until.is_none_or(|t| now >= t), "embargo broken");
                    prop_assert!(!retracted);
                }
            }
        }
    }

    static NETWORK: Audience = Audience::Network;

    /// A bulletin from `origin` to the whole network.
    fn network_item(origin: &NodeId, tlp: Tlp) -> Item<'_> {
        Item {
            origin,
            kind: EnvelopeKind::Bulletin,
            tlp,
            audience: &NETWORK,
            embargo_until: None,
            people: &[],
            retracted: false,
        }
    }

    fn ctx_parts() -> (Roster, AgreementStatus, NodePolicy) {
        (roster(), AgreementStatus::default(), NodePolicy::default())
    }

    #[test]
    fn outbound_policy_limits_what_a_state_shares() {
        let (roster, agreement, _) = ctx_parts();
        let me = id("cl-csirt");
        let policy = NodePolicy {
            outbound: vec![
                OutboundRule {
                    peers: vec![id("mx-csirt")],
                    max_tlp: Tlp::Green,
                    kinds: vec![],
                },
                OutboundRule {
                    peers: vec![],
                    max_tlp: Tlp::Red,
                    kinds: vec!["bulletin".into()],
                },
            ],
            refuse_from: vec![id("ar-csirt")],
        };
        policy.check(&roster).unwrap();
        let ctx = Context {
            me: &me,
            roster: &roster,
            now: Timestamp::from_unix_millis(0).unwrap(),
            agreement: &agreement,
            node_policy: &policy,
        };
        let item = |tlp| network_item(&me, tlp);
        let mx = id("mx-csirt");
        assert!(decide(&item(Tlp::Green), &Actor::Node(&mx), Action::Deliver, &ctx).is_allowed());
        assert_eq!(
            decide(&item(Tlp::Amber), &Actor::Node(&mx), Action::Deliver, &ctx),
            Decision::Deny(Denial::OutboundPolicy(mx.clone()))
        );
        assert!(
            decide(
                &item(Tlp::Amber),
                &Actor::Node(&id("ar-csirt")),
                Action::Deliver,
                &ctx
            )
            .is_allowed()
        );
        let ar = id("ar-csirt");
        let theirs = Item {
            origin: &ar,
            ..item(Tlp::Green)
        };
        assert_eq!(
            decide(&theirs, &Actor::Node(&ar), Action::Accept, &ctx),
            Decision::Deny(Denial::InboundPolicy(ar.clone()))
        );
        let bad = NodePolicy {
            refuse_from: vec![id("zz-unknown")],
            ..Default::default()
        };
        assert_eq!(
            bad.check(&roster),
            Err(LabelError::UnknownPeer(id("zz-unknown")))
        );
    }

    #[test]
    fn the_agreement_gates_everything_but_clear() {
        let (roster, _, policy) = ctx_parts();
        let me = id("cl-csirt");
        let agreement = AgreementStatus {
            version: Some(2),
            accepted: [id("mx-csirt")].into(),
        };
        let ctx = Context {
            me: &me,
            roster: &roster,
            now: Timestamp::from_unix_millis(0).unwrap(),
            agreement: &agreement,
            node_policy: &policy,
        };
        let item = |tlp| network_item(&me, tlp);
        let ar = id("ar-csirt");
        assert!(decide(&item(Tlp::Clear), &Actor::Node(&ar), Action::Deliver, &ctx).is_allowed());
        assert_eq!(
            decide(&item(Tlp::Green), &Actor::Node(&ar), Action::Deliver, &ctx),
            Decision::Deny(Denial::AgreementNotAccepted(ar.clone()))
        );
        assert!(
            decide(
                &item(Tlp::Green),
                &Actor::Node(&id("mx-csirt")),
                Action::Deliver,
                &ctx
            )
            .is_allowed()
        );
        // The roster always travels.
        let roster_item = Item {
            kind: EnvelopeKind::Roster,
            ..item(Tlp::Green)
        };
        assert!(decide(&roster_item, &Actor::Node(&ar), Action::Deliver, &ctx).is_allowed());
    }

    #[test]
    fn contradicting_labels_are_refused() {
        let roster = roster();
        let now = Timestamp::from_unix_millis(1_000_000).unwrap();
        let nodes = Audience::Nodes {
            nodes: vec![id("cl-csirt"), id("mx-csirt")],
        };
        let people = vec!["ana@cl-csirt".to_owned()];
        let ok = Labels {
            tlp: Tlp::Red,
            audience: &nodes,
            embargo_until: None,
            people: &people,
            constituents: &[],
        };
        check_labels(&ok, &roster, now).unwrap();
        let code = |l: Labels<'_>| check_labels(&l, &roster, now).unwrap_err().code();
        assert_eq!(
            code(Labels {
                audience: &Audience::Network,
                ..ok
            }),
            "red_needs_named_nodes"
        );
        assert_eq!(code(Labels { people: &[], ..ok }), "red_needs_people");
        assert_eq!(
            code(Labels {
                people: &["zoe@ar-csirt".to_owned()],
                ..ok
            }),
            "person_outside_audience"
        );
        assert_eq!(
            code(Labels {
                people: &["nobody".to_owned()],
                ..ok
            }),
            "bad_person"
        );
        assert_eq!(
            code(Labels {
                tlp: Tlp::Amber,
                ..ok
            }),
            "people_without_red"
        );
        assert_eq!(
            code(Labels {
                tlp: Tlp::AmberStrict,
                people: &[],
                constituents: &["bank".to_owned()],
                ..ok
            }),
            "constituents_forbidden"
        );
        assert_eq!(
            code(Labels {
                tlp: Tlp::Green,
                people: &[],
                embargo_until: Some(now),
                ..ok
            }),
            "embargo_in_past"
        );
        let unknown = Audience::Nodes {
            nodes: vec![id("zz-nobody")],
        };
        assert_eq!(
            code(Labels {
                tlp: Tlp::Green,
                people: &[],
                audience: &unknown,
                ..ok
            }),
            "unknown_peer"
        );
        let nowhere = Audience::Countries {
            countries: vec![CountryCode::new("FR").unwrap()],
        };
        assert_eq!(
            code(Labels {
                tlp: Tlp::Green,
                people: &[],
                audience: &nowhere,
                ..ok
            }),
            "unknown_country"
        );
    }
}

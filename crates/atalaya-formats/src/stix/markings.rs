//! TLP as STIX 2.1 marking definitions.
//!
//! TLP 2.0 markings are the fixed objects of the OASIS extension definition
//! `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d` (cti-stix-common-objects,
//! `extension-definition-specifications/tlp-2.0`): every producer uses the same ids, so a
//! consumer recognises the label by id alone. STIX 2.1 §7.2.1.4 also defines TLP 1.0 markings
//! (`definition_type: "tlp"`), which older producers still emit; they are read as the TLP 2.0
//! label they became (WHITE → CLEAR), and never written.

use atalaya_core::Tlp;
use serde_json::{Value, json};

/// The id of the TLP 2.0 property extension.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// When the TLP 2.0 marking objects were created (the same for all five).
pub const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The TLP 2.0 marking-definition id of a label.
pub fn tlp2_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The value of the extension's `tlp_2_0` property for a label.
fn tlp2_value(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "clear",
        Tlp::Green => "green",
        Tlp::Amber => "amber",
        Tlp::AmberStrict => "amber+strict",
        Tlp::Red => "red",
    }
}

/// The marking-definition object of a TLP 2.0 label, exactly as OASIS publishes it.
pub fn tlp2_marking(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp2_id(tlp),
        "created": TLP2_CREATED,
        "name": format!("TLP:{}", tlp2_value(tlp).to_ascii_uppercase()),
        "extensions": {
            TLP2_EXTENSION: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp2_value(tlp),
            }
        }
    })
}

/// The TLP 1.0 marking ids of STIX 2.1 §7.2.1.4, read as the TLP 2.0 label they became.
const TLP1: [(&str, Tlp); 4] = [
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
];

const ALL: [Tlp; 5] = [
    Tlp::Clear,
    Tlp::Green,
    Tlp::Amber,
    Tlp::AmberStrict,
    Tlp::Red,
];

/// The label a well-known marking id stands for (TLP 2.0 or TLP 1.0), or `None` for any other
/// marking (statements, custom markings).
pub fn tlp_of_marking_id(id: &str) -> Option<Tlp> {
    ALL.into_iter()
        .find(|t| tlp2_id(*t) == id)
        .or_else(|| TLP1.iter().find(|(i, _)| *i == id).map(|(_, t)| *t))
}

/// The label a marking-definition object stands for: by its well-known id, or by its content
/// (a TLP 2.0 extension property, or a TLP 1.0 `definition_type: "tlp"`) when a producer
/// minted its own id.
pub fn tlp_of_marking(object: &Value) -> Option<Tlp> {
    if let Some(t) = object
        .get("id")
        .and_then(Value::as_str)
        .and_then(tlp_of_marking_id)
    {
        return Some(t);
    }
    let from_extension = object
        .pointer(&format!("/extensions/{TLP2_EXTENSION}/tlp_2_0"))
        .and_then(Value::as_str);
    let from_tlp1 = (object.get("definition_type").and_then(Value::as_str) == Some("tlp"))
        .then(|| object.pointer("/definition/tlp").and_then(Value::as_str))
        .flatten();
    let name = from_extension.or(from_tlp1)?.to_ascii_lowercase();
    match name.as_str() {
        "clear" | "white" => Some(Tlp::Clear),
        "green" => Some(Tlp::Green),
        "amber" => Some(Tlp::Amber),
        "amber+strict" => Some(Tlp::AmberStrict),
        "red" => Some(Tlp::Red),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_label_round_trips_through_its_id_and_object() {
        for t in ALL {
            assert_eq!(tlp_of_marking_id(tlp2_id(t)), Some(t));
            assert_eq!(tlp_of_marking(&tlp2_marking(t)), Some(t));
        }
        assert_eq!(
            tlp2_marking(Tlp::AmberStrict)["name"],
            json!("TLP:AMBER+STRICT")
        );
    }

    #[test]
    fn tlp1_markings_read_as_their_tlp2_successors() {
        assert_eq!(
            tlp_of_marking_id("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Some(Tlp::Clear)
        );
        let minted = json!({"type": "marking-definition", "id": "marking-definition--00000000-0000-4000-8000-000000000000",
            "definition_type": "tlp", "definition": {"tlp": "white"}});
        assert_eq!(tlp_of_marking(&minted), Some(Tlp::Clear));
        let statement = json!({"type": "marking-definition", "id": "marking-definition--00000000-0000-4000-8000-000000000001",
            "definition_type": "statement", "definition": {"statement": "Copyright"}});
        assert_eq!(tlp_of_marking(&statement), None);
    }
}

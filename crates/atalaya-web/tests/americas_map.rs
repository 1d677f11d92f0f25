#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The embedded map of the Americas (`assets/americas-map.json`, generated from Natural Earth by
//! `tools/americas-map/gen.mjs`) has exactly one shape per OAS member state.

use std::collections::BTreeMap;

use atalaya_core::member_states;
use serde_json::Value;

const MAP: &str = include_str!("../assets/americas-map.json");

fn map() -> Value {
    serde_json::from_str(MAP).expect("americas-map.json is valid JSON")
}

fn view_box(map: &Value) -> (f64, f64) {
    let vb = map["view_box"].as_array().expect("view_box is an array");
    assert_eq!(vb.len(), 2, "view_box is [width, height]");
    let w = vb[0].as_f64().expect("width is a number");
    let h = vb[1].as_f64().expect("height is a number");
    assert!(w > 0.0 && h > 0.0, "view box {w}x{h}");
    (w, h)
}

fn countries(map: &Value) -> &Vec<Value> {
    map["countries"].as_array().expect("countries is an array")
}

#[test]
fn one_shape_per_member_state_and_no_other() {
    let map = map();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in countries(&map) {
        let code = c["code"].as_str().expect("code is a string");
        *seen.entry(code.to_owned()).or_default() += 1;
    }

    let states = member_states::all();
    assert_eq!(states.len(), 35);
    for s in &states {
        let n = seen.get(s.iso2.as_str()).copied().unwrap_or(0);
        assert_eq!(
            n,
            1,
            "{} ({}) has {n} entries in the map",
            s.iso2.as_str(),
            s.name_en
        );
    }
    for code in seen.keys() {
        assert!(
            states.iter().any(|s| s.iso2.as_str() == code),
            "unknown country code {code} in the map"
        );
    }
}

#[test]
fn paths_are_non_empty_svg_paths() {
    let map = map();
    for c in countries(&map) {
        let code = c["code"].as_str().unwrap();
        let d = c["d"].as_str().expect("d is a string");
        assert!(d.starts_with('M'), "{code}: path does not start with M");
        assert!(d.len() > 10, "{code}: path is too short: {d:?}");
        assert!(
            d.chars()
                .all(|ch| ch.is_ascii_digit() || "MLlzZ.,- ".contains(ch)),
            "{code}: unexpected character in path"
        );
        assert!(
            c["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{code}: no name"
        );
        assert!(c["small"].is_boolean(), "{code}: small is not a boolean");
    }
}

#[test]
fn labels_lie_inside_the_view_box() {
    let map = map();
    let (w, h) = view_box(&map);
    for c in countries(&map) {
        let code = c["code"].as_str().unwrap();
        let label = c["label"].as_array().expect("label is an array");
        assert_eq!(label.len(), 2, "{code}: label is [x, y]");
        let x = label[0].as_f64().expect("label x is a number");
        let y = label[1].as_f64().expect("label y is a number");
        assert!((0.0..=w).contains(&x), "{code}: label x {x} outside 0..{w}");
        assert!((0.0..=h).contains(&y), "{code}: label y {y} outside 0..{h}");
    }
}

#[test]
fn sorted_by_code_and_credits_natural_earth() {
    let map = map();
    let codes: Vec<&str> = countries(&map)
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(codes, sorted, "countries are sorted by code");

    let source = map["source"].as_str().expect("source is a string");
    assert!(source.contains("Natural Earth"), "source: {source}");
    assert!(source.contains("public domain"), "source: {source}");
}

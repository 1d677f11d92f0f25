//! CVSS vectors and scores for the mandatory tests 6.1.9 (Invalid CVSS computation) and
//! 6.1.10 (Inconsistent CVSS): the vector string parsed, the properties of the CVSS object
//! compared with it, and the base, temporal and environmental scores (and v3 severities)
//! computed with the formulas of the CVSS v2.0 guide (§3.2), v3.0 and v3.1 specifications
//! (§7, with v3.1's Roundup of Appendix A).

use std::collections::HashMap;

use serde_json::Value;

/// A parsed vector: metric abbreviation → value abbreviation.
pub(crate) type Vector<'a> = HashMap<&'a str, &'a str>;

/// The metrics of a vector string; `None` when it is not `CVSS:<version>/...` (v3) or a v2
/// vector, or repeats a metric.
pub(crate) fn parse<'a>(vector: &'a str, v3: Option<&str>) -> Option<Vector<'a>> {
    let rest = match v3 {
        Some(version) => vector
            .strip_prefix("CVSS:")?
            .strip_prefix(version)?
            .strip_prefix('/')?,
        None => vector,
    };
    let mut out = HashMap::new();
    for part in rest.split('/') {
        let (k, v) = part.split_once(':')?;
        if out.insert(k, v).is_some() {
            return None;
        }
    }
    Some(out)
}

/// A JSON property, its vector metric, and its values: (abbreviation, property value).
type Property = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The properties of CVSS v3.
const V3_PROPERTIES: &[Property] = &[
    (
        "attackVector",
        "AV",
        &[
            ("N", "NETWORK"),
            ("A", "ADJACENT_NETWORK"),
            ("L", "LOCAL"),
            ("P", "PHYSICAL"),
        ],
    ),
    ("attackComplexity", "AC", &[("L", "LOW"), ("H", "HIGH")]),
    (
        "privilegesRequired",
        "PR",
        &[("N", "NONE"), ("L", "LOW"), ("H", "HIGH")],
    ),
    ("userInteraction", "UI", &[("N", "NONE"), ("R", "REQUIRED")]),
    ("scope", "S", &[("U", "UNCHANGED"), ("C", "CHANGED")]),
    ("confidentialityImpact", "C", CIA3),
    ("integrityImpact", "I", CIA3),
    ("availabilityImpact", "A", CIA3),
    (
        "exploitCodeMaturity",
        "E",
        &[
            ("X", "NOT_DEFINED"),
            ("U", "UNPROVEN"),
            ("P", "PROOF_OF_CONCEPT"),
            ("F", "FUNCTIONAL"),
            ("H", "HIGH"),
        ],
    ),
    (
        "remediationLevel",
        "RL",
        &[
            ("X", "NOT_DEFINED"),
            ("O", "OFFICIAL_FIX"),
            ("T", "TEMPORARY_FIX"),
            ("W", "WORKAROUND"),
            ("U", "UNAVAILABLE"),
        ],
    ),
    (
        "reportConfidence",
        "RC",
        &[
            ("X", "NOT_DEFINED"),
            ("U", "UNKNOWN"),
            ("R", "REASONABLE"),
            ("C", "CONFIRMED"),
        ],
    ),
    ("confidentialityRequirement", "CR", REQ3),
    ("integrityRequirement", "IR", REQ3),
    ("availabilityRequirement", "AR", REQ3),
    (
        "modifiedAttackVector",
        "MAV",
        &[
            ("X", "NOT_DEFINED"),
            ("N", "NETWORK"),
            ("A", "ADJACENT_NETWORK"),
            ("L", "LOCAL"),
            ("P", "PHYSICAL"),
        ],
    ),
    (
        "modifiedAttackComplexity",
        "MAC",
        &[("X", "NOT_DEFINED"), ("L", "LOW"), ("H", "HIGH")],
    ),
    (
        "modifiedPrivilegesRequired",
        "MPR",
        &[
            ("X", "NOT_DEFINED"),
            ("N", "NONE"),
            ("L", "LOW"),
            ("H", "HIGH"),
        ],
    ),
    (
        "modifiedUserInteraction",
        "MUI",
        &[("X", "NOT_DEFINED"), ("N", "NONE"), ("R", "REQUIRED")],
    ),
    (
        "modifiedScope",
        "MS",
        &[("X", "NOT_DEFINED"), ("U", "UNCHANGED"), ("C", "CHANGED")],
    ),
    ("modifiedConfidentialityImpact", "MC", MCIA3),
    ("modifiedIntegrityImpact", "MI", MCIA3),
    ("modifiedAvailabilityImpact", "MA", MCIA3),
];
const CIA3: &[(&str, &str)] = &[("H", "HIGH"), ("L", "LOW"), ("N", "NONE")];
const MCIA3: &[(&str, &str)] = &[
    ("X", "NOT_DEFINED"),
    ("H", "HIGH"),
    ("L", "LOW"),
    ("N", "NONE"),
];
const REQ3: &[(&str, &str)] = &[
    ("X", "NOT_DEFINED"),
    ("L", "LOW"),
    ("M", "MEDIUM"),
    ("H", "HIGH"),
];

/// The same for CVSS v2.
const V2_PROPERTIES: &[Property] = &[
    (
        "accessVector",
        "AV",
        &[("L", "LOCAL"), ("A", "ADJACENT_NETWORK"), ("N", "NETWORK")],
    ),
    (
        "accessComplexity",
        "AC",
        &[("H", "HIGH"), ("M", "MEDIUM"), ("L", "LOW")],
    ),
    (
        "authentication",
        "Au",
        &[("M", "MULTIPLE"), ("S", "SINGLE"), ("N", "NONE")],
    ),
    ("confidentialityImpact", "C", CIA2),
    ("integrityImpact", "I", CIA2),
    ("availabilityImpact", "A", CIA2),
    (
        "exploitability",
        "E",
        &[
            ("U", "UNPROVEN"),
            ("POC", "PROOF_OF_CONCEPT"),
            ("F", "FUNCTIONAL"),
            ("H", "HIGH"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    (
        "remediationLevel",
        "RL",
        &[
            ("OF", "OFFICIAL_FIX"),
            ("TF", "TEMPORARY_FIX"),
            ("W", "WORKAROUND"),
            ("U", "UNAVAILABLE"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    (
        "reportConfidence",
        "RC",
        &[
            ("UC", "UNCONFIRMED"),
            ("UR", "UNCORROBORATED"),
            ("C", "CONFIRMED"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    (
        "collateralDamagePotential",
        "CDP",
        &[
            ("N", "NONE"),
            ("L", "LOW"),
            ("LM", "LOW_MEDIUM"),
            ("MH", "MEDIUM_HIGH"),
            ("H", "HIGH"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    (
        "targetDistribution",
        "TD",
        &[
            ("N", "NONE"),
            ("L", "LOW"),
            ("M", "MEDIUM"),
            ("H", "HIGH"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    ("confidentialityRequirement", "CR", REQ2),
    ("integrityRequirement", "IR", REQ2),
    ("availabilityRequirement", "AR", REQ2),
];
const CIA2: &[(&str, &str)] = &[("N", "NONE"), ("P", "PARTIAL"), ("C", "COMPLETE")];
const REQ2: &[(&str, &str)] = &[
    ("L", "LOW"),
    ("M", "MEDIUM"),
    ("H", "HIGH"),
    ("ND", "NOT_DEFINED"),
];

/// Properties of the CVSS object that contradict a metric of its vector:
/// `(property, says, vector says)`.
pub(crate) fn inconsistencies(cvss: &Value, v3: bool) -> Vec<(String, String, String)> {
    let version = cvss.get("version").and_then(Value::as_str);
    let Some(vector) = cvss
        .get("vectorString")
        .and_then(Value::as_str)
        .and_then(|s| parse(s, if v3 { version } else { None }))
    else {
        return Vec::new();
    };
    let table = if v3 { V3_PROPERTIES } else { V2_PROPERTIES };
    let mut out = Vec::new();
    for (prop, metric, values) in table {
        // A metric the vector leaves out constrains nothing (as BSI's validator reads 6.1.10).
        let (Some(said), Some(&abbr)) =
            (cvss.get(*prop).and_then(Value::as_str), vector.get(metric))
        else {
            continue;
        };
        let expected = values.iter().find(|(a, _)| *a == abbr).map(|(_, v)| *v);
        if expected != Some(said) {
            out.push((
                (*prop).to_owned(),
                said.to_owned(),
                expected.unwrap_or(abbr).to_owned(),
            ));
        }
    }
    out
}

/// The scores a CVSS object should hold, computed from its vector: `(property, value)` for
/// the score and severity properties; `None` when the vector is unusable.
pub(crate) fn computed(cvss: &Value, v3: bool) -> Option<Vec<(&'static str, Value)>> {
    let version = cvss.get("version").and_then(Value::as_str)?;
    let vector = parse(cvss.get("vectorString")?.as_str()?, v3.then_some(version))?;
    if v3 {
        v3_scores(&vector, version == "3.1")
    } else {
        v2_scores(&vector)
    }
}

fn pick(vector: &Vector<'_>, metric: &str, default: &str, table: &[(&str, f64)]) -> Option<f64> {
    let v = vector.get(metric).copied().unwrap_or(default);
    table.iter().find(|(a, _)| *a == v).map(|(_, w)| *w)
}

fn severity(score: f64) -> &'static str {
    match score {
        s if s <= 0.0 => "NONE",
        s if s < 4.0 => "LOW",
        s if s < 7.0 => "MEDIUM",
        s if s < 9.0 => "HIGH",
        _ => "CRITICAL",
    }
}

fn v3_scores(v: &Vector<'_>, v31: bool) -> Option<Vec<(&'static str, Value)>> {
    let roundup = |x: f64| -> f64 {
        if v31 {
            let i = (x * 100_000.0).round() as i64;
            if i % 10_000 == 0 {
                i as f64 / 100_000.0
            } else {
                ((i / 10_000) + 1) as f64 / 10.0
            }
        } else {
            (x * 10.0).ceil() / 10.0
        }
    };
    let av_t = [("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)];
    let ac_t = [("L", 0.77), ("H", 0.44)];
    let ui_t = [("N", 0.85), ("R", 0.62)];
    let cia_t = [("H", 0.56), ("L", 0.22), ("N", 0.0)];
    let pr = |changed: bool| {
        if changed {
            [("N", 0.85), ("L", 0.68), ("H", 0.5)]
        } else {
            [("N", 0.85), ("L", 0.62), ("H", 0.27)]
        }
    };
    let changed = match *v.get("S")? {
        "C" => true,
        "U" => false,
        _ => return None,
    };
    let av = pick(v, "AV", "", &av_t)?;
    let ac = pick(v, "AC", "", &ac_t)?;
    let prv = pick(v, "PR", "", &pr(changed))?;
    let ui = pick(v, "UI", "", &ui_t)?;
    let (c, i, a) = (
        pick(v, "C", "", &cia_t)?,
        pick(v, "I", "", &cia_t)?,
        pick(v, "A", "", &cia_t)?,
    );
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let expl = 8.22 * av * ac * prv * ui;
    let base = if impact <= 0.0 {
        0.0
    } else if changed {
        roundup((1.08 * (impact + expl)).min(10.0))
    } else {
        roundup((impact + expl).min(10.0))
    };

    let e = pick(
        v,
        "E",
        "X",
        &[
            ("X", 1.0),
            ("H", 1.0),
            ("F", 0.97),
            ("P", 0.94),
            ("U", 0.91),
        ],
    )?;
    let rl = pick(
        v,
        "RL",
        "X",
        &[
            ("X", 1.0),
            ("U", 1.0),
            ("W", 0.97),
            ("T", 0.96),
            ("O", 0.95),
        ],
    )?;
    let rc = pick(
        v,
        "RC",
        "X",
        &[("X", 1.0), ("C", 1.0), ("R", 0.96), ("U", 0.92)],
    )?;
    let temporal = roundup(base * e * rl * rc);

    let req = [("X", 1.0), ("L", 0.5), ("M", 1.0), ("H", 1.5)];
    let (cr, ir, ar) = (
        pick(v, "CR", "X", &req)?,
        pick(v, "IR", "X", &req)?,
        pick(v, "AR", "X", &req)?,
    );
    let modified = |m: &str, base_metric: &str| -> &str {
        match v.get(m).copied() {
            None | Some("X") => v.get(base_metric).copied().unwrap_or(""),
            Some(x) => x,
        }
    };
    let mchanged = modified("MS", "S") == "C";
    let mav = av_t
        .iter()
        .find(|(k, _)| *k == modified("MAV", "AV"))
        .map(|x| x.1)?;
    let mac = ac_t
        .iter()
        .find(|(k, _)| *k == modified("MAC", "AC"))
        .map(|x| x.1)?;
    let mpr = pr(mchanged)
        .iter()
        .find(|(k, _)| *k == modified("MPR", "PR"))
        .map(|x| x.1)?;
    let mui = ui_t
        .iter()
        .find(|(k, _)| *k == modified("MUI", "UI"))
        .map(|x| x.1)?;
    let w = |m: &str, b: &str| {
        cia_t
            .iter()
            .find(|(k, _)| *k == modified(m, b))
            .map(|x| x.1)
    };
    let (mc, mi, ma) = (w("MC", "C")?, w("MI", "I")?, w("MA", "A")?);
    let miss = (1.0 - (1.0 - cr * mc) * (1.0 - ir * mi) * (1.0 - ar * ma)).min(0.915);
    let mimpact = if mchanged {
        if v31 {
            7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02).powi(13)
        } else {
            7.52 * (miss - 0.029) - 3.25 * (miss - 0.02).powi(15)
        }
    } else {
        6.42 * miss
    };
    let mexpl = 8.22 * mav * mac * mpr * mui;
    let environmental = if mimpact <= 0.0 {
        0.0
    } else if mchanged {
        roundup(roundup((1.08 * (mimpact + mexpl)).min(10.0)) * e * rl * rc)
    } else {
        roundup(roundup((mimpact + mexpl).min(10.0)) * e * rl * rc)
    };
    Some(vec![
        ("baseScore", Value::from(base)),
        ("baseSeverity", Value::from(severity(base))),
        ("temporalScore", Value::from(temporal)),
        ("temporalSeverity", Value::from(severity(temporal))),
        ("environmentalScore", Value::from(environmental)),
        (
            "environmentalSeverity",
            Value::from(severity(environmental)),
        ),
    ])
}

fn v2_scores(v: &Vector<'_>) -> Option<Vec<(&'static str, Value)>> {
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let av = pick(v, "AV", "", &[("L", 0.395), ("A", 0.646), ("N", 1.0)])?;
    let ac = pick(v, "AC", "", &[("H", 0.35), ("M", 0.61), ("L", 0.71)])?;
    let au = pick(v, "Au", "", &[("M", 0.45), ("S", 0.56), ("N", 0.704)])?;
    let cia = [("N", 0.0), ("P", 0.275), ("C", 0.660)];
    let (c, i, a) = (
        pick(v, "C", "", &cia)?,
        pick(v, "I", "", &cia)?,
        pick(v, "A", "", &cia)?,
    );
    let base_of = |impact: f64| {
        let f = if impact == 0.0 { 0.0 } else { 1.176 };
        round1(((0.6 * impact) + (0.4 * 20.0 * av * ac * au) - 1.5) * f)
    };
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let base = base_of(impact);
    let e = pick(
        v,
        "E",
        "ND",
        &[
            ("U", 0.85),
            ("POC", 0.9),
            ("F", 0.95),
            ("H", 1.0),
            ("ND", 1.0),
        ],
    )?;
    let rl = pick(
        v,
        "RL",
        "ND",
        &[
            ("OF", 0.87),
            ("TF", 0.9),
            ("W", 0.95),
            ("U", 1.0),
            ("ND", 1.0),
        ],
    )?;
    let rc = pick(
        v,
        "RC",
        "ND",
        &[("UC", 0.9), ("UR", 0.95), ("C", 1.0), ("ND", 1.0)],
    )?;
    let temporal = round1(base * e * rl * rc);
    let req = [("L", 0.5), ("M", 1.0), ("H", 1.51), ("ND", 1.0)];
    let (cr, ir, ar) = (
        pick(v, "CR", "ND", &req)?,
        pick(v, "IR", "ND", &req)?,
        pick(v, "AR", "ND", &req)?,
    );
    let adjusted_impact =
        (10.41 * (1.0 - (1.0 - c * cr) * (1.0 - i * ir) * (1.0 - a * ar))).min(10.0);
    let adjusted_temporal = round1(base_of(adjusted_impact) * e * rl * rc);
    let cdp = pick(
        v,
        "CDP",
        "ND",
        &[
            ("N", 0.0),
            ("L", 0.1),
            ("LM", 0.3),
            ("MH", 0.4),
            ("H", 0.5),
            ("ND", 0.0),
        ],
    )?;
    let td = pick(
        v,
        "TD",
        "ND",
        &[
            ("N", 0.0),
            ("L", 0.25),
            ("M", 0.75),
            ("H", 1.0),
            ("ND", 1.0),
        ],
    )?;
    let environmental = round1((adjusted_temporal + (10.0 - adjusted_temporal) * cdp) * td);
    Some(vec![
        ("baseScore", Value::from(base)),
        ("temporalScore", Value::from(temporal)),
        ("environmentalScore", Value::from(environmental)),
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn score(vector: &str, version: &str) -> f64 {
        let v3 = version != "2.0";
        let c = computed(&json!({"version": version, "vectorString": vector}), v3).unwrap();
        c[0].1.as_f64().unwrap()
    }

    #[test]
    fn known_base_scores() {
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.1"),
            9.8
        );
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "3.1"),
            10.0
        );
        assert_eq!(
            score("CVSS:3.1/AV:L/AC:L/PR:H/UI:R/S:U/C:H/I:H/A:H", "3.1"),
            6.5
        );
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", "3.1"),
            6.4
        );
        assert_eq!(
            score("CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", "3.0"),
            3.1
        );
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "3.1"),
            0.0
        );
        assert_eq!(score("AV:N/AC:L/Au:N/C:C/I:C/A:C", "2.0"), 10.0);
        assert_eq!(score("AV:N/AC:L/Au:N/C:N/I:N/A:C", "2.0"), 7.8);
        assert_eq!(score("AV:N/AC:M/Au:N/C:P/I:P/A:P", "2.0"), 6.8);
    }

    #[test]
    fn temporal_and_environmental_scores() {
        let c = computed(
            &json!({"version": "3.1", "vectorString":
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L"}),
            true,
        )
        .unwrap();
        let get = |k: &str| c.iter().find(|(n, _)| *n == k).unwrap().1.as_f64().unwrap();
        // Expected values from FIRST's calculator (cvsscalc31.js, as BSI's validator ships it).
        assert_eq!(get("temporalScore"), 8.8);
        assert_eq!(get("environmentalScore"), 7.6);
        let c = computed(
            &json!({"version": "3.1", "vectorString":
                "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H/E:U/RL:W/RC:R/CR:L/IR:H/AR:M/MAV:A/MAC:H/MPR:H/MUI:R/MS:U/MC:L/MI:H/MA:N"}),
            true,
        )
        .unwrap();
        let get = |k: &str| c.iter().find(|(n, _)| *n == k).unwrap().1.as_f64().unwrap();
        assert_eq!(get("baseScore"), 9.9);
        assert_eq!(get("temporalScore"), 8.4);
        assert_eq!(get("environmentalScore"), 5.0);
        let c = computed(
            &json!({"version": "2.0", "vectorString":
                "AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:H"}),
            false,
        )
        .unwrap();
        let get = |k: &str| c.iter().find(|(n, _)| *n == k).unwrap().1.as_f64().unwrap();
        assert_eq!(get("temporalScore"), 6.4);
        assert_eq!(get("environmentalScore"), 9.2);
    }

    #[test]
    fn properties_must_agree_with_the_vector() {
        let c = json!({"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "attackVector": "LOCAL", "scope": "UNCHANGED", "exploitCodeMaturity": "NOT_DEFINED"});
        let bad = inconsistencies(&c, true);
        assert_eq!(
            bad,
            vec![("attackVector".into(), "LOCAL".into(), "NETWORK".into())]
        );
        let c = json!({"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:C/I:C/A:C",
            "accessVector": "NETWORK", "authentication": "SINGLE"});
        assert_eq!(inconsistencies(&c, false).len(), 1);
    }
}

//! The CSAF 2.0 JSON schemas bundled in `data/csaf/` (see its README for their sources and
//! licences), compiled once and used to check documents.
//!
//! The CSAF schema references the FIRST CVSS 2.0, 3.0 and 3.1 schemas for `cvss_v2` and
//! `cvss_v3`. Here those references resolve to schemas that only tell 3.0 from 3.1, and the CVSS objects are checked against the real CVSS schemas by the mandatory
//! test 6.1.8 (Invalid CVSS) instead: a document passes both steps exactly when it passes the full schema, and a bad
//! score is reported under the test the standard names for it.

use std::sync::OnceLock;

use boon::{Compiler, SchemaIndex, Schemas};
use serde_json::Value;

use crate::exchange::ImportProblem;

/// `$id` of the CSAF 2.0 document schema.
pub const CSAF_SCHEMA_URL: &str =
    "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json";
/// `$id` of the CSAF 2.0 provider-metadata schema.
pub const PROVIDER_SCHEMA_URL: &str =
    "https://docs.oasis-open.org/csaf/csaf/v2.0/provider_json_schema.json";
/// `$id` of the CSAF 2.0 aggregator schema.
pub const AGGREGATOR_SCHEMA_URL: &str =
    "https://docs.oasis-open.org/csaf/csaf/v2.0/aggregator_json_schema.json";

const CSAF_JSON: &str = include_str!("../../../../data/csaf/csaf_json_schema.json");
const PROVIDER_JSON: &str = include_str!("../../../../data/csaf/provider_json_schema.json");
const AGGREGATOR_JSON: &str = include_str!("../../../../data/csaf/aggregator_json_schema.json");
const CVSS_V2_JSON: &str = include_str!("../../../../data/csaf/cvss-v2.0.json");
const CVSS_V30_JSON: &str = include_str!("../../../../data/csaf/cvss-v3.0.json");
const CVSS_V31_JSON: &str = include_str!("../../../../data/csaf/cvss-v3.1.json");

const CVSS_REFS: [&str; 3] = [
    "https://www.first.org/cvss/cvss-v2.0.json",
    "https://www.first.org/cvss/cvss-v3.0.json",
    "https://www.first.org/cvss/cvss-v3.1.json",
];

/// Which bundled schema to check against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// A CSAF document (without its CVSS objects; see the module doc).
    Csaf,
    /// `provider-metadata.json`.
    Provider,
    /// `aggregator.json`.
    Aggregator,
    /// A `cvss_v2` object.
    CvssV2,
    /// A `cvss_v3` object of version 3.0.
    CvssV30,
    /// A `cvss_v3` object of version 3.1.
    CvssV31,
}

struct Compiled {
    schemas: Schemas,
    csaf: SchemaIndex,
    provider: SchemaIndex,
    aggregator: SchemaIndex,
    v2: SchemaIndex,
    v30: SchemaIndex,
    v31: SchemaIndex,
}

fn compiled() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| match compile() {
        Ok(c) => c,
        // The bundled schemas are part of the build; a failure here is a packaging error
        // caught by every test of this module.
        Err(e) => panic!("the bundled CSAF schemas do not compile: {e}"),
    })
}

fn parse(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn compile() -> Result<Compiled, String> {
    let mut schemas = Schemas::new();
    let mut c = Compiler::new();
    c.enable_format_assertions();
    let err = |e: boon::CompileError| e.to_string();
    c.add_resource(CSAF_SCHEMA_URL, parse(CSAF_JSON)?)
        .map_err(err)?;
    c.add_resource(PROVIDER_SCHEMA_URL, parse(PROVIDER_JSON)?)
        .map_err(err)?;
    c.add_resource(AGGREGATOR_SCHEMA_URL, parse(AGGREGATOR_JSON)?)
        .map_err(err)?;
    // The CVSS references only tell the `cvss_v3` versions apart (the CSAF schema's `oneOf`
    // needs exactly one to match); 6.1.8 checks the objects themselves.
    let v31 =
        serde_json::json!({"properties": {"version": {"const": "3.1"}}, "required": ["version"]});
    let stubs = [
        serde_json::json!({"type": "object"}),
        serde_json::json!({"type": "object", "not": v31}),
        serde_json::json!({"type": "object", "allOf": [v31]}),
    ];
    for (url, stub) in CVSS_REFS.iter().zip(stubs) {
        c.add_resource(url, stub).map_err(err)?;
    }
    // The real CVSS schemas, under their own (query-carrying) ids, for test 6.1.8.
    let mut cvss = Vec::new();
    for (name, text) in [
        ("urn:atalaya:cvss-v2.0", CVSS_V2_JSON),
        ("urn:atalaya:cvss-v3.0", CVSS_V30_JSON),
        ("urn:atalaya:cvss-v3.1", CVSS_V31_JSON),
    ] {
        let mut v = parse(text)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("$id");
        }
        c.add_resource(name, v).map_err(err)?;
        cvss.push(c.compile(name, &mut schemas).map_err(err)?);
    }
    let csaf = c.compile(CSAF_SCHEMA_URL, &mut schemas).map_err(err)?;
    let provider = c.compile(PROVIDER_SCHEMA_URL, &mut schemas).map_err(err)?;
    let aggregator = c
        .compile(AGGREGATOR_SCHEMA_URL, &mut schemas)
        .map_err(err)?;
    Ok(Compiled {
        schemas,
        csaf,
        provider,
        aggregator,
        v2: cvss[0],
        v30: cvss[1],
        v31: cvss[2],
    })
}

/// Most schema problems listed in one refusal (a broken document can yield thousands).
pub const MAX_PROBLEMS: usize = 50;

/// Check `value` against a bundled schema; every leaf error with its JSON pointer, or nothing.
pub fn validate(which: Which, value: &Value) -> Vec<ImportProblem> {
    let c = compiled();
    let idx = match which {
        Which::Csaf => c.csaf,
        Which::Provider => c.provider,
        Which::Aggregator => c.aggregator,
        Which::CvssV2 => c.v2,
        Which::CvssV30 => c.v30,
        Which::CvssV31 => c.v31,
    };
    let Err(e) = c.schemas.validate(value, idx) else {
        return Vec::new();
    };
    let mut out: Vec<ImportProblem> = Vec::new();
    collect_leaves(&e, &mut out);
    if out.is_empty() {
        out.push(ImportProblem {
            path: e.instance_location.to_string(),
            message: e.kind.to_string(),
        });
    }
    out.dedup();
    out.truncate(MAX_PROBLEMS);
    out
}

fn collect_leaves(e: &boon::ValidationError<'_, '_>, out: &mut Vec<ImportProblem>) {
    if out.len() >= MAX_PROBLEMS {
        return;
    }
    if e.causes.is_empty() {
        out.push(ImportProblem {
            path: e.instance_location.to_string(),
            message: e.kind.to_string(),
        });
    } else {
        for c in &e.causes {
            collect_leaves(c, out);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bundled_schemas_compile() {
        let _ = compiled();
    }

    #[test]
    fn a_document_without_tracking_names_the_pointer() {
        let doc = json!({"document": {"category": "csaf_base", "csaf_version": "2.0",
            "title": "t", "publisher": {"category": "other", "name": "n",
            "namespace": "https://example.com"}}});
        let p = validate(Which::Csaf, &doc);
        assert!(
            p.iter()
                .any(|p| p.path == "/document" && p.message.contains("tracking")),
            "{p:?}"
        );
    }

    #[test]
    fn cvss_objects_are_left_to_6_1_8() {
        let bad = json!({"version": "3.1", "vectorString": "nope", "baseScore": 99});
        assert!(!validate(Which::CvssV31, &bad).is_empty());
        let good = json!({"version": "3.1",
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "baseScore": 9.8, "baseSeverity": "CRITICAL"});
        assert!(
            validate(Which::CvssV31, &good).is_empty(),
            "{:?}",
            validate(Which::CvssV31, &good)
        );
    }
}

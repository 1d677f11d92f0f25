//! The directory formats, end to end: import, export and round trips on the fixtures, and every
//! way an importer refuses input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use atalaya_core::directory::{Day, PhoneUsage, TeamRecord, TeamType, TiStatus};
use atalaya_core::{NodeId, Timestamp};
use atalaya_formats::directory::csv::{COLUMNS, CsvRow, export_csv, parse_csv};
use atalaya_formats::directory::first::{export_first, import_first};
use atalaya_formats::directory::json::{export_directory, import_directory};
use atalaya_formats::directory::rfc2350::rfc2350;
use atalaya_formats::directory::ti::{export_ti, import_ti};
use atalaya_formats::directory::vcard::{parse_vcards, tel_uri, vcard, vcards};
use atalaya_formats::directory::{FormatError, MAX_INPUT_BYTES, View};

const TI_FIXTURE: &str = include_str!("fixtures/ti-teams.json");
const TEAM_FIXTURE: &str = include_str!("fixtures/team-ejemplo.json");

fn host() -> NodeId {
    NodeId::new("uy-csirt").unwrap()
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-22T10:00:00.000Z").unwrap()
}

fn today() -> Day {
    Day::parse("2026-11-22").unwrap()
}

fn fixture_team() -> TeamRecord {
    serde_json::from_str(TEAM_FIXTURE).unwrap()
}

fn ti_teams() -> Vec<TeamRecord> {
    import_ti(TI_FIXTURE.as_bytes(), &host(), now())
        .unwrap()
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn oversized() -> Vec<u8> {
    vec![b' '; MAX_INPUT_BYTES + 1]
}

// ---- Trusted Introducer ----

#[test]
fn ti_import_reads_the_published_record_and_the_fictitious_ones() {
    let teams = ti_teams();
    assert_eq!(teams.len(), 3);
    let cert_at = &teams[0];
    assert_eq!(cert_at.id.as_str(), "uy-csirt/cert-at");
    assert_eq!(cert_at.short_name, "CERT.at");
    assert_eq!(
        cert_at.country.as_str(),
        "AT",
        "a non-OAS country still imports"
    );
    assert_eq!(cert_at.team_type, TeamType::National);
    assert_eq!(
        cert_at.pgp_keys[0].fingerprint,
        "0381BEF56694B5325BF04DDCA1DAC3EDFF4DFFB7"
    );
    assert_eq!(
        cert_at.pgp_keys[0].expires,
        Some(Day::parse("2024-02-24").unwrap())
    );
    assert_eq!(
        cert_at
            .trusted_introducer
            .as_ref()
            .map(|c| (c.status, c.since)),
        Some((TiStatus::Certified, Some(Day::parse("2018-02-05").unwrap())))
    );
    assert_eq!(cert_at.constituency.domains.len(), 4);
    assert!(!cert_at.available_24x7, "CERT.at lists no emergency phone");
    assert!(cert_at.emails.iter().all(|e| e.public));
    assert!(cert_at.phones.iter().all(|p| p.public));
    assert_eq!(cert_at.updated, now());
    assert_eq!(
        cert_at.postal_address.as_deref(),
        Some("CERT Team nic.at\nKarlsplatz 1/3\nA-1010 Wien\nAustria")
    );

    let ejemplo = &teams[1];
    assert_eq!(ejemplo.id.as_str(), "uy-csirt/csirt-ejemplo");
    assert!(ejemplo.available_24x7, "an emergency phone means 24/7");
    assert_eq!(ejemplo.constituency.asns, vec![64512, 64513]);
    assert_eq!(
        ejemplo.constituency.ip_ranges,
        vec!["192.0.2.0/24", "2001:db8::/32"]
    );
    assert_eq!(
        ejemplo.business_hours.as_ref().unwrap().timezone,
        "America/Montevideo"
    );

    let banca = &teams[2];
    assert_eq!(banca.id.as_str(), "uy-csirt/banca-csirt-ejemplo");
    assert_eq!(banca.team_type, TeamType::Sectoral);
    assert_eq!(
        banca.trusted_introducer.as_ref().unwrap().status,
        TiStatus::Listed
    );
}

#[test]
fn ti_round_trip_keeps_every_field_ti_carries() {
    let first = ti_teams();
    let exported = serde_json::to_vec(&export_ti(&first)).unwrap();
    let again: Vec<TeamRecord> = import_ti(&exported, &host(), now())
        .unwrap()
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(first, again);
}

#[test]
fn ti_export_has_the_published_shape() {
    let out = export_ti(&ti_teams());
    let ejemplo = &out[1];
    assert_eq!(ejemplo["country"]["code"], "UY");
    assert_eq!(ejemplo["country"]["name"], "Uruguay");
    assert_eq!(ejemplo["classification"]["code"], "a");
    assert_eq!(ejemplo["classification"]["name"], "Accredited");
    assert_eq!(
        ejemplo["pgp_keys"][0]["fingerprint"],
        "0000 1111 2222 3333 4444 5555 6666 7777 8888 9999"
    );
    assert_eq!(ejemplo["constituency"]["ipranges"][1], "2001:db8::/32");
    assert_eq!(ejemplo["business_hours_timezone"], "America/Montevideo");
    assert_eq!(ejemplo["phones"][1]["usage"][1], "emergency");
}

#[test]
fn ti_export_leaves_member_only_contacts_out() {
    let out = export_ti(&[fixture_team()]).to_string();
    assert!(out.contains("incidentes@csirt-ejemplo.example.org"));
    assert!(!out.contains("guardia-interna"));
    assert!(!out.contains("+598 9 111 1111"));
}

#[test]
fn ti_refuses_a_team_without_its_names_or_country_and_keeps_the_others() {
    let doc = r#"[
        {"official_name": "No Short Name", "country": {"code": "CL", "name": "Chile"}},
        {"short_name": "NO-OFFICIAL", "country": {"code": "CL", "name": "Chile"}},
        {"short_name": "NO-COUNTRY", "official_name": "No Country"},
        {"short_name": "BAD-DATE", "official_name": "Bad Date", "country": {"code": "CL"}, "established": "yesterday"},
        {"short_name": "BAD-CLASS", "official_name": "Bad Class", "country": {"code": "CL"}, "classification": {"code": "x"}},
        {"short_name": "BAD-SHAPE", "official_name": "Bad Shape", "country": "CL"},
        {"short_name": "OK-TEAM", "official_name": "Fine", "country": {"code": "CL", "name": "Chile"}},
        {"short_name": "ok team", "official_name": "Same slug", "country": {"code": "CL"}}
    ]"#;
    let results = import_ti(doc.as_bytes(), &host(), now()).unwrap();
    let problems: Vec<(String, &str)> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|p| (p.team.clone(), p.code))
        .collect();
    assert_eq!(
        problems,
        vec![
            ("#1".to_owned(), "missing-field"),
            ("NO-OFFICIAL".to_owned(), "missing-field"),
            ("NO-COUNTRY".to_owned(), "missing-field"),
            ("BAD-DATE".to_owned(), "invalid-field"),
            ("BAD-CLASS".to_owned(), "invalid-field"),
            ("BAD-SHAPE".to_owned(), "invalid-field"),
            ("ok team".to_owned(), "duplicate-id"),
        ]
    );
    assert_eq!(results[6].as_ref().unwrap().short_name, "OK-TEAM");
    let missing = results[1].as_ref().unwrap_err();
    assert!(missing.message.contains("official_name"), "{missing}");
}

#[test]
fn ti_refuses_oversized_and_malformed_documents() {
    assert_eq!(
        import_ti(&oversized(), &host(), now()).unwrap_err().code(),
        "too-large"
    );
    let e = import_ti(b"{\"teams\": []}", &host(), now()).unwrap_err();
    assert_eq!(e.code(), "malformed");
    let e = import_ti(b"[\n  {\"short_name\": }\n]", &host(), now()).unwrap_err();
    match e {
        FormatError::Malformed { line, column, .. } => assert_eq!((line, column), (2, 18)),
        other => panic!("{other:?}"),
    }
}

// ---- FIRST ----

const FIRST_FIXTURE: &str = r#"{
    "status": "OK", "status-code": 200, "version": "1", "access": "public",
    "last-modified": "Thu, 21 Jul 2026 19:02:52 GMT", "total": 2, "limit": 100, "offset": 0,
    "data": [
        {"id": "csirt-ejemplo", "team": "CSIRT-Ejemplo",
         "team-full": "Centro de Respuesta a Incidentes de Seguridad Informática de Ejemplo",
         "host": "Agencia Ficticia (fictitious)", "establishment": "2012-05-14",
         "address": "Calle Ficticia 1234\n11000 Montevideo", "country": "UY",
         "region": "South America", "member-since": "2014-06-01",
         "website": "https://csirt-ejemplo.example.org/", "constituency": "National, Government",
         "email": "incidentes@csirt-ejemplo.example.org", "phone": "+598 2 000 0000",
         "emergency-phone": "+598 9 000 0000", "timezone": "America/Montevideo",
         "business-hours": "09:00 to 18:00 Monday to Friday"},
        {"id": "banca", "team": "BANCA-CSIRT", "team-full": "Equipo de la Banca de Ejemplo",
         "country": "PE", "constituency": "Financial", "fax": "+51 1 000 0001"}
    ]
}"#;

fn first_teams() -> Vec<TeamRecord> {
    import_first(FIRST_FIXTURE.as_bytes(), &host(), now())
        .unwrap()
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn first_import_reads_membership_contacts_and_type() {
    let teams = first_teams();
    let t = &teams[0];
    assert_eq!(t.id.as_str(), "uy-csirt/csirt-ejemplo");
    assert_eq!(t.team_type, TeamType::National);
    assert_eq!(
        t.first.as_ref().map(|f| (f.member, f.since)),
        Some((true, Some(Day::parse("2014-06-01").unwrap())))
    );
    assert!(t.available_24x7);
    assert_eq!(t.emergency_phones().count(), 1);
    assert_eq!(
        t.website.as_deref(),
        Some("https://csirt-ejemplo.example.org/")
    );
    assert_eq!(teams[1].team_type, TeamType::Sectoral);
    assert_eq!(teams[1].phones[0].usage, vec![PhoneUsage::Fax]);
}

#[test]
fn first_round_trip() {
    let teams = first_teams();
    let doc = export_first(&teams);
    assert_eq!(doc["status"], "OK");
    assert_eq!(doc["total"], 2);
    assert_eq!(doc["data"][0]["team-full"], teams[0].official_name);
    assert_eq!(doc["data"][0]["country-name"], "Uruguay");
    let again: Vec<TeamRecord> = import_first(&serde_json::to_vec(&doc).unwrap(), &host(), now())
        .unwrap()
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(teams, again);
}

#[test]
fn first_export_uses_public_contacts_only() {
    let doc = export_first(&[fixture_team()]).to_string();
    assert!(doc.contains("incidentes@csirt-ejemplo.example.org"));
    assert!(!doc.contains("guardia-interna"));
    assert!(!doc.contains("+598 9 111 1111"));
}

#[test]
fn first_refuses_bad_documents_and_bad_teams() {
    let code = |doc: &[u8]| import_first(doc, &host(), now()).unwrap_err().code();
    assert_eq!(code(&oversized()), "too-large");
    assert_eq!(code(b"[]"), "malformed");
    assert_eq!(code(b"{\"status\": \"OK\"}"), "malformed");
    assert_eq!(code(b"{\"status\": \"error\", \"data\": []}"), "malformed");
    assert_eq!(code(b"{\"data\": [} "), "malformed");
    let doc = br#"{"data": [{"team-full": "x", "country": "CL"},
        {"team": "A", "country": "CL"}, {"team": "B", "team-full": "b"},
        {"team": "C", "team-full": "c", "country": "Chile"},
        {"team": "D", "team-full": "d", "country": "CL", "member-since": "2020-13-01"}]}"#;
    let codes: Vec<&str> = import_first(doc, &host(), now())
        .unwrap()
        .iter()
        .map(|r| r.as_ref().unwrap_err().code)
        .collect();
    assert_eq!(
        codes,
        [
            "missing-field",
            "missing-field",
            "missing-field",
            "invalid-field",
            "invalid-field"
        ]
    );
}

// ---- our JSON ----

#[test]
fn directory_json_round_trip_and_public_view() {
    let teams = vec![fixture_team(), ti_teams().remove(1)];
    let doc = export_directory(&teams, now(), View::Members);
    assert_eq!(doc["format"], "atalaya-directory");
    assert_eq!(doc["version"], 1);
    let back = import_directory(&serde_json::to_vec(&doc).unwrap()).unwrap();
    assert_eq!(back.generated, now());
    assert_eq!(back.teams, teams);

    let public = export_directory(&teams, now(), View::Public).to_string();
    assert!(!public.contains("guardia-interna"));
    assert!(!public.contains("Members only"));
    assert!(!public.contains("\"sim3\""));
    let back = import_directory(public.as_bytes()).unwrap();
    assert_eq!(back.teams[0], teams[0].public_view());
}

#[test]
fn directory_json_refuses_other_formats_versions_and_bad_teams() {
    let code = |doc: &str| import_directory(doc.as_bytes()).unwrap_err().code();
    assert_eq!(
        import_directory(&oversized()).unwrap_err().code(),
        "too-large"
    );
    assert_eq!(code("not json"), "malformed");
    assert_eq!(code("[]"), "malformed");
    assert_eq!(
        code(r#"{"format":"misp","version":1,"generated":"2026-11-22T10:00:00.000Z","teams":[]}"#),
        "unknown-format"
    );
    assert_eq!(code(r#"{"version":1,"teams":[]}"#), "unknown-format");
    assert_eq!(
        code(
            r#"{"format":"atalaya-directory","version":2,"generated":"2026-11-22T10:00:00.000Z","teams":[]}"#
        ),
        "unsupported-version"
    );
    assert_eq!(
        code(
            r#"{"format":"atalaya-directory","version":1,"generated":"2026-11-22T10:00:00.000Z","teams":[{"id":"x"}]}"#
        ),
        "malformed"
    );
    let ok = r#"{"format":"atalaya-directory","version":1,"generated":"2026-11-22T10:00:00.000Z","teams":[]}"#;
    assert!(import_directory(ok.as_bytes()).unwrap().teams.is_empty());
}

// ---- CSV ----

#[test]
fn csv_round_trip_on_the_columns_it_carries() {
    let teams: Vec<TeamRecord> = std::iter::once(fixture_team()).chain(ti_teams()).collect();
    let text = export_csv(&teams, View::Members);
    assert!(text.starts_with(&COLUMNS.join(",")));
    let rows = parse_csv(text.as_bytes()).unwrap();
    let expected: Vec<CsvRow> = teams.iter().map(CsvRow::of).collect();
    assert_eq!(rows, expected);
    let row = &rows[0];
    assert_eq!(
        row.get("services"),
        Some(
            "incident-report-acceptance;incident-coordination;vulnerability-coordination;communication;training-and-education"
        )
    );
    assert_eq!(
        row.get("emergency_phones"),
        Some("+598 9 000 0000;+598 9 111 1111")
    );
    assert_eq!(row.get("sim3_mean"), Some("3.0"));
    assert_eq!(row.get("ti_status"), Some("accredited"));
    assert_eq!(row.get("first_member"), Some("true"));
    assert_eq!(
        row.get("designation_reference"),
        Some("Decreto Ficticio N° 000/2012")
    );
    assert_eq!(row.get("next_key_expiry"), Some("2027-03-31"));
    assert_eq!(rows[1].get("sim3_mean"), Some(""), "no assessment, no mean");
}

#[test]
fn csv_public_view_has_no_member_contacts_or_sim3() {
    let text = export_csv(&[fixture_team()], View::Public);
    assert!(!text.contains("guardia-interna"));
    assert!(!text.contains("+598 9 111 1111"));
    let rows = parse_csv(text.as_bytes()).unwrap();
    assert_eq!(rows[0].get("sim3_mean"), Some(""));
}

#[test]
fn csv_cells_cannot_become_formulas() {
    let mut team = fixture_team();
    team.short_name = "=HYPERLINK(\"http://evil.example/\",\"click\")".into();
    team.official_name = "@SUM(1+1)".into();
    team.host_organisation = Some("-2+3".into());
    team.emails[0].address = "+cmd|' /C calc'!A0".into();
    team.phones[1].number = "=1+1".into();
    let text = export_csv(&[team.clone()], View::Members);
    let data_line = text.lines().nth(1).unwrap();
    for cell in [
        "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"click\"\")\"",
        ",'@SUM(1+1),",
        ",'-2+3,",
    ] {
        assert!(data_line.contains(cell), "{cell} not in {data_line}");
    }
    // No cell starts with a formula character unguarded, except plain phone numbers.
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let record = reader.records().next().unwrap().unwrap();
    for (i, cell) in record.iter().enumerate() {
        let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let plain_phones = COLUMNS[i] == "emergency_phones"
            && cell
                .chars()
                .all(|c| c.is_ascii_digit() || "+ -.();".contains(c));
        assert!(!risky || plain_phones, "column {} = {cell:?}", COLUMNS[i]);
    }
    assert_eq!(
        &record[12], "'=1+1;+598 9 111 1111",
        "a non-number in the phone column is guarded"
    );
    // and the parse-back gives the original values
    assert_eq!(parse_csv(text.as_bytes()).unwrap()[0], CsvRow::of(&team));
}

#[test]
fn csv_plain_phone_numbers_are_left_readable() {
    let text = export_csv(&[fixture_team()], View::Members);
    assert!(text.contains(",+598 9 000 0000;+598 9 111 1111,"));
}

#[test]
fn csv_parse_refuses_foreign_or_broken_files() {
    assert_eq!(parse_csv(&oversized()).unwrap_err().code(), "too-large");
    let e = parse_csv(b"name,email\nx,y\n").unwrap_err();
    assert!(matches!(e, FormatError::Malformed { line: 1, .. }), "{e:?}");
    let mut text = export_csv(&[fixture_team()], View::Members);
    text.push_str("only,three,cells\n");
    let e = parse_csv(text.as_bytes()).unwrap_err();
    assert!(matches!(e, FormatError::Malformed { line: 3, .. }), "{e:?}");
}

// ---- RFC 2350 ----

#[test]
fn rfc2350_has_every_section_of_the_template() {
    let text = rfc2350(&fixture_team(), today());
    for heading in [
        "1. Document Information",
        "1.1. Date of Last Update",
        "1.2. Distribution List for Notifications",
        "1.3. Locations where this Document May Be Found",
        "2. Contact Information",
        "2.1. Name of the Team",
        "2.2. Address",
        "2.3. Time Zone",
        "2.4. Telephone Number",
        "2.5. Facsimile Number",
        "2.6. Other Telecommunication",
        "2.7. Electronic Mail Address",
        "2.8. Public Keys and Encryption Information",
        "2.9. Team Members",
        "2.10. Other Information",
        "2.11. Points of Customer Contact",
        "3. Charter",
        "3.1. Mission Statement",
        "3.2. Constituency",
        "3.3. Sponsorship and/or Affiliation",
        "3.4. Authority",
        "4. Policies",
        "4.1. Types of Incidents and Level of Support",
        "4.2. Co-operation, Interaction and Disclosure of Information",
        "4.3. Communication and Authentication",
        "5. Services",
        "6. Incident Reporting Forms",
        "7. Disclaimers",
    ] {
        assert!(
            text.lines().any(|l| l == heading),
            "missing heading {heading:?}"
        );
    }
    assert!(text.contains("TLP 2.0"));
    assert!(text.contains("2026-11-01"), "the date of last update");
    assert!(text.contains("AS64512"));
    assert!(text.contains("2001:db8::/32"));
    assert!(text.contains("Decreto Ficticio"));
    assert!(text.contains("Sectors: Energy, Financial Services"));
    assert!(text.contains("5.1. Information Security Incident Management"));
    assert!(text.contains("   - Information security incident coordination\n"));
    assert!(text.contains("5.4. Knowledge Transfer"));
    assert!(
        !text.contains("Event Management"),
        "no event-management service offered"
    );
}

#[test]
fn rfc2350_never_shows_member_only_data() {
    let text = rfc2350(&fixture_team(), today());
    assert!(text.contains("incidentes@csirt-ejemplo.example.org"));
    assert!(!text.contains("guardia-interna"));
    assert!(!text.contains("111 1111"));
    assert!(!text.contains("duty officer mobile"));
    assert!(!text.contains("Members only"));
}

#[test]
fn rfc2350_lines_fit_72_columns() {
    let text = rfc2350(&fixture_team(), today());
    for line in text.lines() {
        assert!(
            line.chars().count() <= 72 || !line.trim().contains(' '),
            "too long: {line:?}"
        );
    }
}

#[test]
fn rfc2350_marks_expired_keys() {
    let cert_at = ti_teams().remove(0);
    let text = rfc2350(&cert_at, today())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("0381 BEF5 6694 B532 5BF0 4DDC A1DA C3ED FF4D FFB7, expired on 2024-02-24")
    );
}

#[test]
fn rfc2350_golden() {
    let text = rfc2350(&fixture_team(), today());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/team-ejemplo.rfc2350.txt"
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(path).expect("golden file; run with UPDATE_GOLDEN=1");
    assert_eq!(
        text, golden,
        "the RFC 2350 text changed; review and run with UPDATE_GOLDEN=1"
    );
}

// ---- vCard ----

#[test]
fn vcard_round_trip_has_every_public_contact_and_no_private_one() {
    let team = fixture_team();
    let text = vcard(&team);
    assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:org\r\n"));
    assert!(text.ends_with("END:VCARD\r\n"));
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF"
    );
    let cards = parse_vcards(text.as_bytes()).unwrap();
    assert_eq!(cards.len(), 1);
    let card = &cards[0];
    assert_eq!(card.first("FN").unwrap().value, team.official_name);
    let emails: Vec<&str> = card.all("EMAIL").map(|p| p.value.as_str()).collect();
    for e in team.emails.iter().filter(|e| e.public) {
        assert!(emails.contains(&e.address.as_str()), "{}", e.address);
    }
    assert_eq!(
        emails.len(),
        1,
        "the member-only address is not on the card"
    );
    assert_eq!(card.first("EMAIL").unwrap().param("PREF"), Some("1"));
    let tels: Vec<&str> = card.all("TEL").map(|p| p.value.as_str()).collect();
    for p in team.phones.iter().filter(|p| p.public) {
        assert!(tels.contains(&tel_uri(&p.number).as_str()), "{}", p.number);
    }
    assert_eq!(tels.len(), 2);
    let emergency = card
        .all("TEL")
        .find(|p| p.value == "tel:+598-9-000-0000")
        .unwrap();
    assert_eq!(emergency.param("TYPE"), Some("voice,x-emergency"));
    assert_eq!(emergency.param("VALUE"), Some("uri"));
    assert_eq!(
        card.first("ADR").unwrap().value,
        ";;Calle Ficticia 1234, piso 5\n11000 Montevideo\nUruguay;;;;Uruguay"
    );
    assert_eq!(card.first("TZ").unwrap().value, "America/Montevideo");
    assert_eq!(
        card.first("URL").unwrap().value,
        "https://csirt-ejemplo.example.org/"
    );
    assert_eq!(card.first("REV").unwrap().value, "20261101T120000Z");
    assert!(
        card.first("NOTE")
            .unwrap()
            .value
            .contains("0000 1111 2222 3333")
    );
    assert!(!text.contains("111-1111"));
}

#[test]
fn vcard_escapes_and_folds_without_breaking_utf8() {
    let mut team = fixture_team();
    team.official_name =
        "Centro de Respuesta a Incidentes de Seguridad Informática, Ciberseguridad; \
        Protección de Infraestructuras Críticas y Coordinación Nacional \\ Ñandú"
            .into();
    let text = vcard(&team);
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    assert!(
        text.contains("Informática\\, Ciberseguridad\\; "),
        "escaped , and ;"
    );
    // Folding happened and only between characters (the text is still valid UTF-8 per line).
    let fn_lines: Vec<&str> = text
        .split("\r\n")
        .skip_while(|l| !l.starts_with("FN:"))
        .take_while(|l| l.starts_with("FN:") || l.starts_with(' '))
        .collect();
    assert!(fn_lines.len() >= 3, "{fn_lines:?}");
    let card = &parse_vcards(text.as_bytes()).unwrap()[0];
    assert_eq!(card.first("FN").unwrap().value, team.official_name);
}

#[test]
fn vcard_carries_an_armoured_key_as_a_data_uri() {
    use base64::Engine as _;
    let mut team = fixture_team();
    let armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGfictitious\n-----END PGP PUBLIC KEY BLOCK-----\n";
    team.pgp_keys[0].armored = Some(armored.into());
    let card = &parse_vcards(vcard(&team).as_bytes()).unwrap()[0];
    let key = card.first("KEY").unwrap();
    assert_eq!(key.param("MEDIATYPE"), Some("application/pgp-keys"));
    let b64 = key
        .value
        .strip_prefix("data:application/pgp-keys;base64,")
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(decoded, armored.as_bytes());
    assert!(card.first("NOTE").is_none());
}

#[test]
fn vcards_concatenate_and_parse_back() {
    let teams = ti_teams();
    let cards = parse_vcards(vcards(&teams).as_bytes()).unwrap();
    assert_eq!(cards.len(), 3);
    assert_eq!(cards[0].first("NICKNAME").unwrap().value, "CERT.at");
    assert_eq!(
        cards[0].first("ORG").unwrap().value,
        "nic.at, the Austrian domain registry.;Computer Emergency Response Team Austria"
    );
    let fax = cards[0]
        .all("TEL")
        .find(|p| p.param("TYPE") == Some("fax"))
        .unwrap();
    assert_eq!(fax.value, "tel:+43-1-5056416-79");
}

#[test]
fn vcard_parser_refuses_broken_input() {
    let code_line = |s: &[u8]| match parse_vcards(s).unwrap_err() {
        FormatError::Malformed { line, .. } => line,
        other => panic!("{other:?}"),
    };
    assert_eq!(parse_vcards(&oversized()).unwrap_err().code(), "too-large");
    assert_eq!(parse_vcards(b"\xff\xfe").unwrap_err().code(), "malformed");
    assert_eq!(code_line(b" folded first\r\n"), 1);
    assert_eq!(
        code_line(b"BEGIN:VCARD\r\nno colon here\r\nEND:VCARD\r\n"),
        2
    );
    assert_eq!(code_line(b"FN:outside\r\n"), 1);
    assert_eq!(code_line(b"BEGIN:VCARD\r\nBEGIN:VCARD\r\n"), 2);
    assert_eq!(
        parse_vcards(b"BEGIN:VCARD\r\nFN:x\r\n").unwrap_err().code(),
        "malformed"
    );
}

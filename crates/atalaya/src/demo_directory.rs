//! The demo network's directory: plausible, clearly fictitious records for the 35 OAS member
//! states (every one marked `demo`, named "(demo)", with reserved domains, documentation IP
//! ranges, private ASNs and 555 phone numbers), varied by a hash of each state's code so that
//! the coverage report, the map and the census have something to show.
//!
//! Pure and deterministic: the same state, `today` and `now` always give the same records.
//!
//! How the 35 states are spread (each dimension ranks the states by its own hash):
//!
//! | What | States |
//! |---|---|
//! | no national CSIRT, only a government point of contact | 4 |
//! | national CSIRT missing a minimum requirement (no designation, or a mandate flag false) | 6 |
//! | not reachable 24/7 | 8 |
//! | PGP key expiring within 30 days | 5 |
//! | contacts last confirmed over a year ago | 1 |
//! | SIM3 band (0–4) | 7 per band |
//! | a hosted sectoral (finance) CSIRT | 4 |
//! | an academic CSIRT hosted by the coordinator | 3 |

use std::collections::BTreeMap;

use atalaya_core::directory::{
    Adoption, AdoptionStatus, AuthorityContact, AuthorityKind, BusinessHours, Constituency,
    CountryCybercrime, CybercrimeAuthority, CybercrimeLaw, Day, Designation, Email,
    FirstMembership, LawKind, Mandate, PgpKey, Phone, PhoneUsage, SecurityStandard, Sim3Assessment,
    StandardsAdoption, StandardsRegistry, TeamId, TeamRecord, TeamType, TiClassification, TiStatus,
    vocab,
};
use atalaya_core::member_states::{self, MemberState};
use atalaya_core::{NodeId, Timestamp};
use sha2::{Digest, Sha256};

/// How many states have no national CSIRT (only a government point of contact).
pub const WITHOUT_NATIONAL_TEAM: usize = 4;
/// How many national CSIRTs miss a minimum requirement.
pub const MISSING_MINIMUM: usize = 6;
/// How many states' teams are not reachable 24/7.
pub const NOT_24X7: usize = 8;
/// How many teams' PGP keys expire within 30 days.
pub const KEYS_EXPIRING_SOON: usize = 5;
/// How many states host a sectoral finance CSIRT.
pub const FINANCE_CSIRTS: usize = 4;
/// How many states have an academic CSIRT hosted by the coordinator.
pub const ACADEMIC_CSIRTS: usize = 3;

/// SHA-256 of `seed:text`.
fn digest(seed: &str, text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update(b":");
    h.update(text.as_bytes());
    h.finalize().into()
}

/// A number from the hash of `seed:text`.
fn number(seed: &str, text: &str) -> u64 {
    let d = digest(seed, text);
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// The state's position (0..35) when every member state is ordered by the hash of `seed`.
fn rank(seed: &str, state: &MemberState) -> usize {
    let mut codes: Vec<String> = member_states::all()
        .iter()
        .map(|s| s.iso2.as_str().to_owned())
        .collect();
    codes.sort_by_key(|c| (digest(seed, c), c.clone()));
    codes
        .iter()
        .position(|c| c == state.iso2.as_str())
        .unwrap_or(codes.len())
}

/// The state's position in the member-state list (distinct IP ranges and ASNs).
fn index(state: &MemberState) -> usize {
    member_states::all()
        .iter()
        .position(|s| s.iso2 == state.iso2)
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A v4-style fingerprint: the first 40 hex digits of SHA-256 of `text`.
fn fingerprint(text: &str) -> String {
    let d: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    hex(&d[..20])
}

fn days_before(today: Day, days: i64) -> Day {
    days_after(today, -days)
}

fn days_after(today: Day, days: i64) -> Day {
    Day::from_date(
        today
            .date()
            .checked_add(time::Duration::days(days))
            .unwrap_or(today.date()),
    )
}

fn days_ago(now: Timestamp, days: i64) -> Timestamp {
    now.plus_millis(-days * 86_400_000)
}

/// The international calling code of a member state (`+56`, `+1 268`).
fn calling_code(iso2: &str) -> &'static str {
    match iso2 {
        "AG" => "+1 268",
        "AR" => "+54",
        "BS" => "+1 242",
        "BB" => "+1 246",
        "BZ" => "+501",
        "BO" => "+591",
        "BR" => "+55",
        "CL" => "+56",
        "CO" => "+57",
        "CR" => "+506",
        "CU" => "+53",
        "DM" => "+1 767",
        "DO" => "+1 809",
        "EC" => "+593",
        "SV" => "+503",
        "GD" => "+1 473",
        "GT" => "+502",
        "GY" => "+592",
        "HT" => "+509",
        "HN" => "+504",
        "JM" => "+1 876",
        "MX" => "+52",
        "NI" => "+505",
        "PA" => "+507",
        "PY" => "+595",
        "PE" => "+51",
        "KN" => "+1 869",
        "LC" => "+1 758",
        "VC" => "+1 784",
        "SR" => "+597",
        "TT" => "+1 868",
        "UY" => "+598",
        "VE" => "+58",
        // Canada and the United States.
        _ => "+1 202",
    }
}

/// The language the demo names a state's teams in.
fn language(iso2: &str) -> &'static str {
    match iso2 {
        "AR" | "BO" | "CL" | "CO" | "CR" | "CU" | "DO" | "EC" | "SV" | "GT" | "HN" | "MX"
        | "NI" | "PA" | "PY" | "PE" | "UY" | "VE" => "es",
        "BR" => "pt",
        "HT" => "fr",
        "SR" => "nl",
        _ => "en",
    }
}

/// Whether the state has no national CSIRT in the demo (only a government point of contact).
pub fn without_national_team(state: &MemberState) -> bool {
    rank("national", state) < WITHOUT_NATIONAL_TEAM
}

/// Whether the state's national CSIRT misses a minimum requirement in the demo.
pub fn misses_minimum(state: &MemberState) -> bool {
    let r = rank("national", state);
    (WITHOUT_NATIONAL_TEAM..WITHOUT_NATIONAL_TEAM + MISSING_MINIMUM).contains(&r)
}

/// Whether the state's team is reachable 24/7 in the demo.
pub fn reachable_24x7(state: &MemberState) -> bool {
    rank("24x7", state) >= NOT_24X7
}

/// The state's SIM3 band (0–4) in the demo: seven states per band.
pub fn sim3_band(state: &MemberState) -> u8 {
    u8::try_from(rank("sim3", state) / 7).unwrap_or(4).min(4)
}

/// Whether the state's contacts were last confirmed long ago (one state).
pub fn stale_contacts(state: &MemberState) -> bool {
    rank("stale", state) == 0
}

/// `<cc>` in lower case.
fn cc(state: &MemberState) -> String {
    state.iso2.as_str().to_ascii_lowercase()
}

fn team_names(state: &MemberState, national: bool) -> (String, String) {
    let code = state.iso2.as_str();
    let official = match (language(code), national) {
        ("es", true) => format!("CSIRT Nacional de {} (demo)", state.name_es),
        ("es", false) => format!(
            "Punto de contacto de ciberseguridad del Gobierno de {} (demo)",
            state.name_es
        ),
        ("pt", true) => format!("CSIRT Nacional do {} (demo)", state.name_pt),
        ("pt", false) => format!(
            "Ponto de contato de cibersegurança do Governo do {} (demo)",
            state.name_pt
        ),
        ("fr", true) => format!("CSIRT national d'{} (démo)", state.name_fr),
        ("fr", false) => format!(
            "Point de contact cybersécurité du gouvernement d'{} (démo)",
            state.name_fr
        ),
        ("nl", true) => format!("Nationaal CSIRT {} (demo)", state.name_en),
        ("nl", false) => format!("Cyberbeveiligingscontactpunt {} (demo)", state.name_en),
        (_, true) => format!("National CSIRT of {} (demo)", state.name_en),
        (_, false) => format!(
            "Government cybersecurity point of contact of {} (demo)",
            state.name_en
        ),
    };
    let short = if national {
        format!("CSIRT-{code} (demo)")
    } else {
        format!("GOV-POC-{code} (demo)")
    };
    (official, short)
}

/// Services of the framework chosen by `keep`, in the framework's order.
fn services_where(keep: impl Fn(&str) -> bool) -> Vec<String> {
    vocab::services()
        .iter()
        .filter(|s| keep(&s.id))
        .map(|s| s.id.clone())
        .collect()
}

/// SIM3 levels for all 44 parameters around `band`.
fn sim3_levels(band: u8, key: &str) -> BTreeMap<String, u8> {
    vocab::sim3_parameters()
        .iter()
        .map(|p| {
            let level = match number("sim3-level", &format!("{key}:{}", p.id)) % 8 {
                0 => band.saturating_sub(1),
                1 => (band + 1).min(4),
                _ => band,
            };
            (p.id.clone(), level)
        })
        .collect()
}

/// The IPv4 documentation /28 of the state at `i` (16 per documentation /24, 48 in all).
fn ipv4_range(i: usize) -> String {
    let (net, block) = match i {
        0..16 => ("192.0.2", i),
        16..32 => ("198.51.100", i - 16),
        _ => ("203.0.113", i - 32),
    };
    format!("{net}.{}/28", block * 16)
}

/// A member state's own team: its national CSIRT, or for a few states only a government point
/// of contact (`government`), published by `node`.
pub fn demo_team(state: &MemberState, node: &NodeId, today: Day, now: Timestamp) -> TeamRecord {
    let code = state.iso2.as_str();
    let lc = cc(state);
    let i = index(state);
    let seed = |what: &str| number(what, code);
    let national = !without_national_team(state);
    let missing = misses_minimum(state);
    let all_day = reachable_24x7(state);
    let (official_name, short_name) = team_names(state, national);
    let call = calling_code(code);
    let domain = format!("{lc}.example.org");

    let established = days_before(
        today,
        365 * 3 + i64::try_from(seed("est") % 5000).unwrap_or(0),
    );
    let designation = if national && !(missing && seed("missing") % 2 == 0) {
        let year = established.date().year();
        Some(Designation {
            reference: format!(
                "Decree {}/{year} (fictitious, demo)",
                100 + seed("decree") % 900
            ),
            date: days_after(
                established,
                30 + i64::try_from(seed("desig") % 300).unwrap_or(0),
            )
            .min(today),
            url: Some(format!(
                "https://laws.{domain}/decree-{}",
                seed("decree") % 900
            )),
        })
    } else {
        None
    };
    let mandate = if national {
        let unshared = missing && designation.is_some();
        Mandate {
            disseminates_nationally: true,
            authorised_to_share: !unshared,
            assists_other_teams: true,
        }
    } else {
        Mandate {
            disseminates_nationally: false,
            authorised_to_share: true,
            assists_other_teams: false,
        }
    };

    let extra = seed("services");
    let services = services_where(|id| {
        let core = matches!(
            id,
            "incident-report-acceptance"
                | "incident-coordination"
                | "communication"
                | "awareness-building"
        );
        let national_core = national
            && matches!(
                id,
                "monitoring-and-detection" | "incident-analysis" | "vulnerability-coordination"
            );
        let bit = number("service", &format!("{code}:{id}")).is_multiple_of(3);
        core || national_core || (bit && extra % 5 != 0)
    });

    let sector_bits = seed("sectors");
    let sectors: Vec<String> = vocab::sectors()
        .iter()
        .enumerate()
        .filter(|(k, s)| s.key == "government" || (national && (sector_bits >> k) & 3 == 0))
        .map(|(_, s)| s.key.clone())
        .collect();

    let mut emails = vec![
        Email {
            address: format!("incidents@csirt.{domain}"),
            usage: vec!["contact".into(), "incident-report".into()],
            public: true,
        },
        Email {
            address: format!("pgp@csirt.{domain}"),
            usage: vec!["pgp".into()],
            public: true,
        },
    ];
    let mut phones = vec![Phone {
        number: format!("{call} 555 0100"),
        usage: vec![PhoneUsage::Voice],
        timezone: state.timezone.clone(),
        comments: Some("Fictitious number (demo)".into()),
        public: true,
    }];
    if all_day {
        emails.push(Email {
            address: format!("duty-officer@csirt.{domain}"),
            usage: vec!["emergency".into()],
            public: false,
        });
        phones.push(Phone {
            number: format!("{call} 555 0199"),
            usage: vec![PhoneUsage::Emergency],
            timezone: state.timezone.clone(),
            comments: Some("24/7 duty officer, members only (demo)".into()),
            public: false,
        });
    }

    let key_rank = rank("key", state);
    let expires = if key_rank < KEYS_EXPIRING_SOON {
        days_after(today, 3 + 5 * i64::try_from(key_rank).unwrap_or(0))
    } else {
        days_after(today, 60 + i64::try_from(seed("key") % 700).unwrap_or(0))
    };
    let pgp_keys = vec![PgpKey {
        fingerprint: fingerprint(code),
        expires: Some(expires),
        armored: None,
    }];

    let first = (seed("first") % 3 != 0).then(|| FirstMembership {
        member: national,
        since: Some(days_after(established, 365).min(today)),
    });
    let trusted_introducer = (national && seed("ti") % 3 == 0).then(|| TiClassification {
        status: if sim3_band(state) >= 3 {
            TiStatus::Accredited
        } else {
            TiStatus::Listed
        },
        since: Some(days_after(established, 700).min(today)),
    });

    let confirmed_days = if stale_contacts(state) {
        400 + i64::try_from(seed("stale") % 200).unwrap_or(0)
    } else {
        5 + i64::try_from(seed("confirmed") % 120).unwrap_or(0)
    };

    TeamRecord {
        id: TeamId::of_node(node),
        official_name,
        short_name,
        country: state.iso2,
        team_type: if national {
            TeamType::National
        } else {
            TeamType::Government
        },
        host_organisation: Some(if national {
            format!(
                "Fictitious National Cybersecurity Agency of {} (demo)",
                state.name_en
            )
        } else {
            format!(
                "Fictitious Ministry of Technology of {} (demo)",
                state.name_en
            )
        }),
        postal_address: Some(format!(
            "Demo Avenue {}\nCapital city, {}\n(fictitious address)",
            1 + seed("street") % 999,
            state.name_en
        )),
        website: Some(format!("https://csirt.{domain}")),
        established: Some(established),
        designation,
        constituency: Constituency {
            types: if national {
                vec!["National".into(), "Government".into()]
            } else {
                vec!["Government".into()]
            },
            sectors,
            asns: vec![64_512 + u32::try_from(i * 10).unwrap_or(0)],
            domains: vec![domain.clone(), format!("*.gob-{lc}.example")],
            ip_ranges: vec![ipv4_range(i), format!("2001:db8:{:x}::/48", i + 1)],
            countries: vec![state.iso2],
        },
        services,
        business_hours: Some(BusinessHours {
            hours: "08:00 to 17:00 Monday to Friday".into(),
            timezone: state.timezone.clone(),
        }),
        available_24x7: all_day,
        emails,
        phones,
        pgp_keys,
        first,
        trusted_introducer,
        mandate,
        sim3: Some(Sim3Assessment {
            assessed: days_before(
                today,
                20 + i64::try_from(seed("assessed") % 600).unwrap_or(0),
            ),
            levels: sim3_levels(sim3_band(state), code),
        }),
        member_notes: Some(
            "Demo data: a fictitious record made up by `atalaya demo`; not a real team.".into(),
        ),
        contacts_confirmed: Some(days_ago(now, confirmed_days)),
        updated: now,
        demo: true,
    }
}

/// A hosted team of a member state (a sectoral or academic CSIRT) under `node`.
#[allow(clippy::too_many_arguments)]
fn hosted_team(
    state: &MemberState,
    node: &NodeId,
    slug: &str,
    team_type: TeamType,
    names: (String, String),
    sectors: &[&str],
    services: &[&str],
    today: Day,
    now: Timestamp,
) -> Option<TeamRecord> {
    let id = TeamId::hosted(node, slug).ok()?;
    let code = state.iso2.as_str();
    let lc = cc(state);
    let i = index(state);
    let key = id.as_str().to_owned();
    let seed = |what: &str| number(what, &key);
    let domain = format!("{slug}.{lc}.example.org");
    let offset = if team_type == TeamType::Academic {
        2
    } else {
        1
    };
    let established = days_before(today, 400 + i64::try_from(seed("est") % 3000).unwrap_or(0));
    Some(TeamRecord {
        id,
        official_name: names.0,
        short_name: names.1,
        country: state.iso2,
        team_type,
        host_organisation: Some(format!(
            "Fictitious host organisation of {} (demo)",
            state.name_en
        )),
        postal_address: None,
        website: Some(format!("https://{domain}")),
        established: Some(established),
        designation: None,
        constituency: Constituency {
            types: vec![match team_type {
                TeamType::Academic => "Research & Education".into(),
                _ => "Financial".into(),
            }],
            sectors: sectors.iter().map(|s| (*s).to_owned()).collect(),
            asns: vec![64_512 + u32::try_from(i * 10 + offset).unwrap_or(0)],
            domains: vec![domain.clone()],
            ip_ranges: vec![format!("2001:db8:{:x}:{}00::/56", i + 1, offset)],
            countries: vec![state.iso2],
        },
        services: services_where(|id| services.contains(&id)),
        business_hours: Some(BusinessHours {
            hours: "09:00 to 18:00 Monday to Friday".into(),
            timezone: state.timezone.clone(),
        }),
        available_24x7: team_type == TeamType::Sectoral,
        emails: vec![Email {
            address: format!("csirt@{domain}"),
            usage: vec!["contact".into(), "incident-report".into()],
            public: true,
        }],
        phones: vec![Phone {
            number: format!("{} 555 01{}", calling_code(code), 10 + offset * 10),
            usage: if team_type == TeamType::Sectoral {
                vec![PhoneUsage::Voice, PhoneUsage::Emergency]
            } else {
                vec![PhoneUsage::Voice]
            },
            timezone: state.timezone.clone(),
            comments: Some("Fictitious number (demo)".into()),
            public: true,
        }],
        pgp_keys: vec![PgpKey {
            fingerprint: fingerprint(&key),
            expires: Some(days_after(
                today,
                90 + i64::try_from(seed("key") % 600).unwrap_or(0),
            )),
            armored: None,
        }],
        first: None,
        trusted_introducer: None,
        mandate: Mandate {
            disseminates_nationally: false,
            authorised_to_share: true,
            assists_other_teams: team_type == TeamType::Sectoral,
        },
        sim3: Some(Sim3Assessment {
            assessed: days_before(today, 60),
            levels: sim3_levels(u8::try_from(seed("band") % 4).unwrap_or(1), &key),
        }),
        member_notes: Some("Demo data: a fictitious hosted team made up by `atalaya demo`.".into()),
        contacts_confirmed: Some(days_ago(now, 30)),
        updated: now,
        demo: true,
    })
}

/// Whether the state hosts a sectoral finance CSIRT in the demo.
pub fn hosts_finance_csirt(state: &MemberState) -> bool {
    rank("finance", state) < FINANCE_CSIRTS
}

/// Whether the coordinator hosts an academic CSIRT of the state in the demo.
pub fn has_academic_csirt(state: &MemberState) -> bool {
    rank("academic", state) < ACADEMIC_CSIRTS
}

/// The teams `node` (the state's own node) hosts in the demo: a sectoral finance CSIRT for a
/// few states, nothing for the others.
pub fn demo_hosted_teams(
    state: &MemberState,
    node: &NodeId,
    today: Day,
    now: Timestamp,
) -> Vec<TeamRecord> {
    if !hosts_finance_csirt(state) {
        return Vec::new();
    }
    let code = state.iso2.as_str();
    let names = match language(code) {
        "es" => format!("CSIRT del Sector Financiero de {} (demo)", state.name_es),
        "pt" => format!("CSIRT do Setor Financeiro do {} (demo)", state.name_pt),
        _ => format!("Financial Sector CSIRT of {} (demo)", state.name_en),
    };
    hosted_team(
        state,
        node,
        "finance-csirt",
        TeamType::Sectoral,
        (names, format!("FIN-CSIRT-{code} (demo)")),
        &["financial-services"],
        &[
            "monitoring-and-detection",
            "incident-report-acceptance",
            "incident-coordination",
            "mitigation-and-recovery",
            "communication",
        ],
        today,
        now,
    )
    .into_iter()
    .collect()
}

/// The academic CSIRTs the coordinator hosts in the demo (teams of a few states' research and
/// education networks), ids `<coordinator>/<cc>-academic`.
pub fn demo_coordinator_teams(
    states: &[MemberState],
    coordinator: &NodeId,
    today: Day,
    now: Timestamp,
) -> Vec<TeamRecord> {
    states
        .iter()
        .filter(|s| has_academic_csirt(s))
        .filter_map(|state| {
            let code = state.iso2.as_str();
            let name = match language(code) {
                "es" => format!(
                    "CSIRT Académico de la Red de Investigación de {} (demo)",
                    state.name_es
                ),
                "pt" => format!(
                    "CSIRT Acadêmico da Rede de Pesquisa do {} (demo)",
                    state.name_pt
                ),
                _ => format!(
                    "Research and Education Network CSIRT of {} (demo)",
                    state.name_en
                ),
            };
            hosted_team(
                state,
                coordinator,
                &format!("{}-academic", cc(state)),
                TeamType::Academic,
                (name, format!("REN-CSIRT-{code} (demo)")),
                &["information-technology"],
                &[
                    "incident-report-acceptance",
                    "incident-coordination",
                    "vulnerability-report-intake",
                    "awareness-building",
                    "training-and-education",
                ],
                today,
                now,
            )
        })
        .collect()
}

/// A member state's cybercrime entry: fictitious authorities with 555 numbers, and laws
/// whose titles say they are demo data.
pub fn demo_cybercrime(state: &MemberState, now: Timestamp) -> CountryCybercrime {
    let code = state.iso2.as_str();
    let lc = cc(state);
    let call = calling_code(code);
    let seed = |what: &str| number(what, code);
    let mut authorities = vec![CybercrimeAuthority {
        name: format!("Fictitious National Police of {} (demo)", state.name_en),
        kind: AuthorityKind::Police,
        unit: Some("Cybercrime Unit (demo)".into()),
        contacts: vec![
            AuthorityContact {
                channel: "email".into(),
                value: format!("cybercrime@police.{lc}.example.org"),
                available_24x7: false,
                note: None,
            },
            AuthorityContact {
                channel: "phone".into(),
                value: format!("{call} 555 0142"),
                available_24x7: seed("police") % 2 == 0,
                note: Some("Fictitious number (demo)".into()),
            },
        ],
    }];
    if seed("prosecutor") % 3 != 0 {
        authorities.push(CybercrimeAuthority {
            name: format!(
                "Fictitious Public Prosecutor's Office of {} (demo)",
                state.name_en
            ),
            kind: AuthorityKind::Prosecutor,
            unit: Some("Specialised Cybercrime Prosecutor (demo)".into()),
            contacts: vec![AuthorityContact {
                channel: "url".into(),
                value: format!("https://prosecutor.{lc}.example.org/cybercrime"),
                available_24x7: false,
                note: None,
            }],
        });
    }
    if seed("247") % 2 == 0 {
        authorities.push(CybercrimeAuthority {
            name: format!("24/7 Network Point of Contact of {} (demo)", state.name_en),
            kind: AuthorityKind::Network247,
            unit: None,
            contacts: vec![AuthorityContact {
                channel: "phone".into(),
                value: format!("{call} 555 0147"),
                available_24x7: true,
                note: Some("Fictitious number (demo)".into()),
            }],
        });
    }
    let year = 2000 + seed("law") % 24;
    let mut laws = vec![CybercrimeLaw {
        title: format!(
            "Computer Crimes Act No. {} of {year} (fictitious, demo)",
            10 + seed("law-no") % 90
        ),
        kinds: vec![LawKind::Substantive],
        enacted: None,
        url: Some(format!("https://laws.{lc}.example.org/computer-crimes")),
    }];
    if seed("procedural") % 3 != 0 {
        laws.push(CybercrimeLaw {
            title: format!("Electronic Evidence Act of {} (fictitious, demo)", year + 1),
            kinds: vec![LawKind::Procedural, LawKind::MutualLegalAssistance],
            enacted: None,
            url: None,
        });
    }
    CountryCybercrime {
        country: state.iso2,
        authorities,
        laws,
        updated: now,
        demo: true,
    }
}

/// The network's recommended standards: real standards, titles and public links.
pub fn demo_standards_registry(now: Timestamp) -> StandardsRegistry {
    let itu = |n: &str, title: &str| SecurityStandard {
        id: format!("itu-t-{}", n.to_ascii_lowercase().replace('.', "")),
        body: "ITU-T".into(),
        number: n.into(),
        title: title.into(),
        url: Some(format!("https://www.itu.int/rec/T-REC-{n}")),
    };
    let other = |id: &str, body: &str, number: &str, title: &str, url: &str| SecurityStandard {
        id: id.into(),
        body: body.into(),
        number: number.into(),
        title: title.into(),
        url: Some(url.into()),
    };
    StandardsRegistry {
        standards: vec![
            itu(
                "X.1051",
                "Information technology – Security techniques – Code of practice for Information security controls based on ISO/IEC 27002 for telecommunications organizations",
            ),
            itu(
                "X.1054",
                "Information technology – Security techniques – Governance of information security",
            ),
            itu("X.1205", "Overview of cybersecurity"),
            itu("X.1500", "Overview of cybersecurity information exchange"),
            itu(
                "X.1208",
                "A cybersecurity indicator of risk to enhance confidence and security in the use of telecommunication/information and communication technologies",
            ),
            itu(
                "X.805",
                "Security architecture for systems providing end-to-end communications",
            ),
            itu(
                "E.409",
                "Incident organization and security incident handling: Guidelines for telecommunication organizations",
            ),
            other(
                "iso-iec-27001",
                "ISO/IEC",
                "27001:2022",
                "Information security, cybersecurity and privacy protection — Information security management systems — Requirements",
                "https://www.iso.org/standard/27001",
            ),
            other(
                "iso-iec-27035",
                "ISO/IEC",
                "27035-1:2023",
                "Information technology — Information security incident management — Part 1: Principles and process",
                "https://www.iso.org/standard/78973.html",
            ),
            other(
                "first-tlp-2",
                "FIRST",
                "TLP 2.0",
                "Traffic Light Protocol (TLP) version 2.0",
                "https://www.first.org/tlp/",
            ),
            other(
                "oasis-csaf-2",
                "OASIS",
                "CSAF 2.0",
                "Common Security Advisory Framework Version 2.0",
                "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0.html",
            ),
            other(
                "ietf-rfc2350",
                "IETF",
                "RFC 2350",
                "Expectations for Computer Security Incident Response",
                "https://www.rfc-editor.org/rfc/rfc2350",
            ),
            other(
                "ietf-rfc9116",
                "IETF",
                "RFC 9116",
                "A File Format to Aid in Security Vulnerability Disclosure",
                "https://www.rfc-editor.org/rfc/rfc9116",
            ),
        ],
        updated: now,
    }
}

/// A member state's (fictitious) adoption of every recommended standard.
pub fn demo_standards_adoption(state: &MemberState, now: Timestamp) -> StandardsAdoption {
    let code = state.iso2.as_str();
    let adoptions = demo_standards_registry(now)
        .standards
        .into_iter()
        .map(|s| {
            let status = match number("adoption", &format!("{code}:{}", s.id)) % 10 {
                0..4 => AdoptionStatus::Adopted,
                4..6 => AdoptionStatus::InProgress,
                6..8 => AdoptionStatus::Planned,
                _ => AdoptionStatus::NotAdopted,
            };
            let obstacles = match status {
                AdoptionStatus::NotAdopted => {
                    Some("Lack of trained staff and budget (demo)".to_owned())
                }
                AdoptionStatus::Planned => Some("Awaiting regulation (demo)".to_owned()),
                _ => None,
            };
            Adoption {
                standard: s.id,
                status,
                obstacles,
            }
        })
        .collect();
    StandardsAdoption {
        country: state.iso2,
        adoptions,
        updated: now,
        demo: true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]
mod tests {
    use super::*;
    use atalaya_core::directory::{DirectoryEntry, normalise, validate};

    fn today() -> Day {
        Day::parse("2026-06-01").unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-06-01T12:00:00Z").unwrap()
    }

    fn node_of(s: &MemberState) -> NodeId {
        NodeId::new(&format!("{}-csirt", s.iso2.as_str().to_ascii_lowercase())).unwrap()
    }

    fn all_teams() -> Vec<TeamRecord> {
        let states = member_states::all();
        let mut teams: Vec<TeamRecord> = states
            .iter()
            .flat_map(|s| {
                let mut v = vec![demo_team(s, &node_of(s), today(), now())];
                v.extend(demo_hosted_teams(s, &node_of(s), today(), now()));
                v
            })
            .collect();
        teams.extend(demo_coordinator_teams(
            &states,
            &NodeId::new("coordinator").unwrap(),
            today(),
            now(),
        ));
        teams
    }

    #[test]
    fn every_demo_record_is_valid_and_marked_demo() {
        let teams = all_teams();
        assert_eq!(
            teams.len(),
            35 + FINANCE_CSIRTS + ACADEMIC_CSIRTS,
            "35 own teams and the hosted ones"
        );
        for t in &teams {
            assert_eq!(validate(&normalise(t.clone()), today()), Ok(()), "{}", t.id);
            assert_eq!(&normalise(t.clone()), t, "{} is already normal", t.id);
            assert!(t.demo, "{}", t.id);
            assert!(
                t.official_name.contains("(demo)") || t.official_name.contains("(démo)"),
                "{}",
                t.official_name
            );
            assert!(t.short_name.contains("(demo)"), "{}", t.short_name);
            for d in &t.constituency.domains {
                assert!(
                    d.ends_with(".example") || d.ends_with(".example.org"),
                    "{d}"
                );
            }
            for e in &t.emails {
                assert!(e.address.ends_with(".example.org"), "{}", e.address);
            }
            for p in &t.phones {
                assert!(p.number.contains(" 555 01"), "{}", p.number);
            }
            for a in &t.constituency.asns {
                assert!((64_512..=65_534).contains(a), "{a}");
            }
            for r in &t.constituency.ip_ranges {
                assert!(
                    ["192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:"]
                        .iter()
                        .any(|p| r.starts_with(p)),
                    "{r}"
                );
            }
            let sim3 = t.sim3.as_ref().unwrap();
            assert_eq!(sim3.levels.len(), 44, "{}", t.id);
            for k in &t.pgp_keys {
                assert_eq!(k.fingerprint.len(), 40);
                assert!(k.expires.unwrap() >= today(), "no key already expired");
            }
            assert_eq!(
                DirectoryEntry::Team(Box::new(t.clone())).check_content(today()),
                Ok(())
            );
        }
    }

    #[test]
    fn ranges_asns_and_fingerprints_are_distinct() {
        let teams = all_teams();
        let mut ranges = std::collections::BTreeSet::new();
        let mut asns = std::collections::BTreeSet::new();
        let mut fps = std::collections::BTreeSet::new();
        let mut ids = std::collections::BTreeSet::new();
        for t in &teams {
            for r in &t.constituency.ip_ranges {
                assert!(ranges.insert(r.clone()), "{r} twice");
            }
            for a in &t.constituency.asns {
                assert!(asns.insert(*a), "{a} twice");
            }
            for k in &t.pgp_keys {
                assert!(fps.insert(k.fingerprint.clone()));
            }
            assert!(ids.insert(t.id.clone()));
        }
        let cl = member_states::by_code("CL").unwrap();
        let hex: [u8; 32] = Sha256::digest(b"CL").into();
        assert_eq!(
            demo_team(cl, &node_of(cl), today(), now()).pgp_keys[0].fingerprint,
            hex[..20]
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>(),
            "the fingerprint is SHA-256 of the state code"
        );
    }

    #[test]
    fn the_variety_the_coverage_report_shows_holds() {
        let states = member_states::all();
        let teams: Vec<TeamRecord> = states
            .iter()
            .map(|s| demo_team(s, &node_of(s), today(), now()))
            .collect();
        let national = teams
            .iter()
            .filter(|t| t.team_type == TeamType::National)
            .count();
        assert_eq!(national, 35 - WITHOUT_NATIONAL_TEAM);
        assert!(
            teams
                .iter()
                .filter(|t| t.team_type != TeamType::National)
                .all(|t| t.team_type == TeamType::Government)
        );
        let missing = teams
            .iter()
            .filter(|t| t.team_type == TeamType::National)
            .filter(|t| {
                t.designation.is_none()
                    || !t.mandate.authorised_to_share
                    || !t.mandate.disseminates_nationally
                    || !t.mandate.assists_other_teams
            })
            .count();
        assert_eq!(missing, MISSING_MINIMUM);
        let no_designation = teams
            .iter()
            .filter(|t| t.team_type == TeamType::National && t.designation.is_none())
            .count();
        assert!(
            (1..MISSING_MINIMUM).contains(&no_designation),
            "{no_designation}"
        );
        assert_eq!(teams.iter().filter(|t| !t.available_24x7).count(), NOT_24X7);
        for t in &teams {
            assert_eq!(
                t.available_24x7,
                t.emergency_phones().count() == 1,
                "{}: a 24/7 team has an emergency line",
                t.id
            );
        }
        let expiring = teams
            .iter()
            .filter(|t| {
                t.pgp_keys
                    .iter()
                    .any(|k| today().days_until(k.expires.unwrap()) <= 30)
            })
            .count();
        assert_eq!(expiring, KEYS_EXPIRING_SOON);
        let stale = teams
            .iter()
            .filter(|t| {
                t.contacts_confirmed
                    .unwrap()
                    .millis_since(days_ago(now(), 365))
                    < 0
            })
            .count();
        assert_eq!(stale, 1, "one state confirmed its contacts long ago");
        let mut bands = [0usize; 5];
        for s in &states {
            bands[usize::from(sim3_band(s))] += 1;
        }
        assert_eq!(bands, [7; 5]);
        let sector_sets: std::collections::BTreeSet<Vec<String>> = teams
            .iter()
            .map(|t| t.constituency.sectors.clone())
            .collect();
        assert!(
            sector_sets.len() > 10,
            "sector coverage differs between states"
        );
        let service_sets: std::collections::BTreeSet<Vec<String>> =
            teams.iter().map(|t| t.services.clone()).collect();
        assert!(service_sets.len() > 10);
        // The same inputs give the same records.
        let cl = member_states::by_code("CL").unwrap();
        assert_eq!(
            demo_team(cl, &node_of(cl), today(), now()),
            demo_team(cl, &node_of(cl), today(), now())
        );
    }

    #[test]
    fn cybercrime_and_standards_entries_are_valid_demo_data() {
        let registry = demo_standards_registry(now());
        assert_eq!(registry.standards.len(), 13);
        assert_eq!(
            DirectoryEntry::StandardsRegistry(Box::new(registry.clone())).check_content(today()),
            Ok(())
        );
        assert!(registry.standards.iter().any(|s| s.id == "itu-t-x1051"));
        let mut statuses = std::collections::BTreeSet::new();
        for s in member_states::all() {
            let c = demo_cybercrime(&s, now());
            assert!(c.demo);
            assert_eq!(
                DirectoryEntry::Cybercrime(Box::new(c.clone())).check_content(today()),
                Ok(()),
                "{}",
                s.iso2
            );
            assert!(c.laws.iter().all(|l| l.title.contains("demo")));
            let a = demo_standards_adoption(&s, now());
            assert!(a.demo);
            assert_eq!(a.adoptions.len(), registry.standards.len());
            assert_eq!(
                DirectoryEntry::StandardsAdoption(Box::new(a.clone())).check_content(today()),
                Ok(())
            );
            statuses.extend(a.adoptions.iter().map(|x| x.status));
        }
        assert_eq!(statuses.len(), 4, "every adoption status appears");
    }
}

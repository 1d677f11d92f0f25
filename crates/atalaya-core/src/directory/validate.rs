//! Whether a team record is well formed, and its canonical form.
//!
//! [`normalise`] puts a record in the one form that is validated, signed and compared (trimmed
//! text, upper-case fingerprints, lower-case domains, services in the framework's order, sorted
//! ASNs). [`validate`] then reports every problem at once, each with a stable code, the field
//! it is about and a message a team lead can act on, so a form can show them all.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::problem::Problem;
use super::team::{Day, TeamRecord};
use super::vocab;
use crate::member_states::is_member_state;

/// Longest name (official name, short name, host organisation, hours, constituency type, ...).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest note (member notes, postal address, phone comments).
pub const MAX_NOTE_CHARS: usize = 4000;
/// Longest URL.
pub const MAX_URL_CHARS: usize = 2000;
/// Longest ASCII-armoured key kept in a record.
pub const MAX_ARMORED_CHARS: usize = 64 * 1024;
/// Most entries in an ordinary list (services, e-mails, phones, keys, sectors, countries, ...).
pub const MAX_LIST_LEN: usize = 1000;
/// Most entries in the constituency's domains, IP ranges and ASNs.
pub const MAX_CONSTITUENCY_LEN: usize = 10_000;

/// What an e-mail address may be for.
pub const EMAIL_USAGES: [&str; 7] = [
    "contact",
    "incident-report",
    "emergency",
    "abuse",
    "vulnerability-report",
    "pgp",
    "info",
];

/// ASNs that never identify a network: 0 (RFC 7607), AS_TRANS 23456 (RFC 6793), 65535 and
/// 4294967295 (last of their ranges, RFC 7300).
const RESERVED_ASNS: [u32; 4] = [0, 23_456, 65_535, u32::MAX];

/// Collects problems while walking a record.
struct Report(Vec<Problem>);

impl Report {
    fn push(&mut self, code: &'static str, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            code,
            field: field.into(),
            message: message.into(),
        });
    }

    /// A free text: at most `max` characters, no control characters (`\n` only if `multiline`).
    fn text(&mut self, field: &str, text: &str, max: usize, multiline: bool) {
        let chars = text.chars().count();
        if chars > max {
            self.push(
                "bad-field",
                field,
                format!("is {chars} characters long; at most {max} are allowed"),
            );
        }
        if text
            .chars()
            .any(|c| c.is_control() && !(multiline && c == '\n'))
        {
            let allowed = if multiline {
                " (line breaks are allowed)"
            } else {
                ""
            };
            self.push(
                "bad-field",
                field,
                format!("contains control characters{allowed}"),
            );
        }
    }

    fn required(&mut self, field: &str, text: &str) {
        if text.trim().is_empty() {
            self.push("bad-field", field, "is required");
        }
        self.text(field, text, MAX_NAME_CHARS, false);
    }

    /// Whether a list is within its bound; an oversized list is reported once and its
    /// entries are not checked one by one.
    fn list_len(&mut self, field: &str, len: usize, max: usize) -> bool {
        if len > max {
            self.push(
                "bad-field",
                field,
                format!("has {len} entries; at most {max} are allowed"),
            );
            return false;
        }
        true
    }

    /// The list's entries to check one by one: none when it is over its bound.
    fn bounded<'a, T>(&mut self, field: &str, list: &'a [T], max: usize) -> &'a [T] {
        if self.list_len(field, list.len(), max) {
            list
        } else {
            &[]
        }
    }

    /// Check a list that names each thing once, entry by entry (`field[i]`), when within its
    /// bound: `check` gives an entry's identity or its problem (code and message), and an entry
    /// whose identity an earlier one has is a `duplicate` (`` `shown` is listed twice``).
    fn distinct_entries<'a, T, K: Ord>(
        &mut self,
        field: &str,
        list: &'a [T],
        max: usize,
        check: impl Fn(&'a T) -> Result<K, (&'static str, String)>,
        shown: impl Fn(&T) -> &str,
    ) {
        let mut seen = BTreeSet::new();
        for (i, entry) in self.bounded(field, list, max).iter().enumerate() {
            let entry_field = format!("{field}[{i}]");
            match check(entry) {
                Err((code, why)) => self.push(code, entry_field, why),
                Ok(identity) => {
                    if !seen.insert(identity) {
                        let shown = shown(entry);
                        self.push(
                            "duplicate",
                            entry_field,
                            format!("`{shown}` is listed twice"),
                        );
                    }
                }
            }
        }
    }

    fn url(&mut self, field: &str, url: &str) {
        self.text(field, url, MAX_URL_CHARS, false);
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match host {
            Some(rest)
                if !rest.is_empty()
                    && !rest.starts_with('/')
                    && !rest.chars().any(char::is_whitespace) => {}
            _ => self.push(
                "bad-field",
                field,
                format!("`{url}` is not a web address (https://...)"),
            ),
        }
    }

    fn not_after_today(&mut self, field: &str, day: Day, today: Day) {
        if day > today {
            self.push(
                "bad-date",
                field,
                format!("{day} is in the future (today is {today})"),
            );
        }
    }

    fn timezone(&mut self, field: &str, name: &str) {
        if name.is_empty() || jiff::tz::db().get(name).is_err() {
            self.push(
                "bad-timezone",
                field,
                format!("`{name}` is not an IANA time zone (like `America/Santiago`)"),
            );
        }
    }
}

/// Check a (normalised) record; every problem found, or `Ok`.
pub fn validate(record: &TeamRecord, today: Day) -> Result<(), Vec<Problem>> {
    let mut r = Report(Vec::new());

    // Names and free text.
    r.required("official_name", &record.official_name);
    r.required("short_name", &record.short_name);
    if let Some(host) = &record.host_organisation {
        r.text("host_organisation", host, MAX_NAME_CHARS, false);
    }
    if let Some(address) = &record.postal_address {
        r.text("postal_address", address, MAX_NOTE_CHARS, true);
    }
    if let Some(notes) = &record.member_notes {
        r.text("member_notes", notes, MAX_NOTE_CHARS, true);
    }
    if let Some(website) = &record.website {
        r.url("website", website);
    }

    // Dates.
    if let Some(established) = record.established {
        r.not_after_today("established", established, today);
    }
    if let Some(designation) = &record.designation {
        r.required("designation.reference", &designation.reference);
        r.not_after_today("designation.date", designation.date, today);
        if let Some(url) = &designation.url {
            r.url("designation.url", url);
        }
    }
    if let Some(since) = record.first.as_ref().and_then(|f| f.since) {
        r.not_after_today("first.since", since, today);
    }
    if let Some(since) = record.trusted_introducer.as_ref().and_then(|t| t.since) {
        r.not_after_today("trusted_introducer.since", since, today);
    }

    // Country and constituency.
    if !is_member_state(record.country) {
        r.push(
            "unknown-country",
            "country",
            format!("`{}` is not an OAS member state", record.country.as_str()),
        );
    }
    check_constituency(&mut r, record);

    // Services.
    let services = r.bounded("services", &record.services, MAX_LIST_LEN);
    let mut seen = BTreeSet::new();
    for (i, service) in services.iter().enumerate() {
        let field = format!("services[{i}]");
        if vocab::service(service).is_none() {
            r.push(
                "unknown-service",
                field,
                format!("`{service}` is not a service of the FIRST CSIRT Services Framework"),
            );
        } else if !seen.insert(service.as_str()) {
            r.push("duplicate", field, format!("`{service}` is listed twice"));
        }
    }

    // Contacts.
    if let Some(hours) = &record.business_hours {
        r.text("business_hours.hours", &hours.hours, MAX_NAME_CHARS, false);
        r.timezone("business_hours.timezone", &hours.timezone);
    }
    check_emails(&mut r, record);
    check_phones(&mut r, record);
    check_keys(&mut r, record, today);

    // SIM3.
    if let Some(sim3) = &record.sim3 {
        r.not_after_today("sim3.assessed", sim3.assessed, today);
        for (id, &level) in &sim3.levels {
            let field = format!("sim3.levels.{id}");
            if vocab::sim3_parameter(id).is_none() {
                r.push(
                    "bad-sim3",
                    field,
                    format!("`{id}` is not a SIM3 v1 parameter"),
                );
            } else if level > 4 {
                r.push(
                    "bad-sim3",
                    field,
                    format!("level {level} is not a SIM3 level (0 to 4)"),
                );
            }
        }
    }

    if r.0.is_empty() { Ok(()) } else { Err(r.0) }
}

fn check_constituency(r: &mut Report, record: &TeamRecord) {
    let c = &record.constituency;
    for (i, t) in r
        .bounded("constituency.types", &c.types, MAX_LIST_LEN)
        .iter()
        .enumerate()
    {
        let field = format!("constituency.types[{i}]");
        if t.trim().is_empty() {
            r.push("bad-field", &field, "is empty");
        }
        r.text(&field, t, MAX_NAME_CHARS, false);
    }

    r.distinct_entries(
        "constituency.countries",
        &c.countries,
        MAX_LIST_LEN,
        |country| {
            if is_member_state(*country) {
                Ok(*country)
            } else {
                Err((
                    "unknown-country",
                    format!("`{}` is not an OAS member state", country.as_str()),
                ))
            }
        },
        |country| country.as_str(),
    );

    r.distinct_entries(
        "constituency.sectors",
        &c.sectors,
        MAX_LIST_LEN,
        |sector| match vocab::sector(sector) {
            Some(_) => Ok(sector.as_str()),
            None => Err((
                "unknown-sector",
                format!("`{sector}` is not a sector of the directory"),
            )),
        },
        String::as_str,
    );

    let mut seen = BTreeSet::new();
    for (i, &asn) in r
        .bounded("constituency.asns", &c.asns, MAX_CONSTITUENCY_LEN)
        .iter()
        .enumerate()
    {
        let field = format!("constituency.asns[{i}]");
        if RESERVED_ASNS.contains(&asn) {
            r.push(
                "bad-asn",
                field,
                format!("AS{asn} is reserved and never identifies a network"),
            );
        } else if !seen.insert(asn) {
            r.push("bad-asn", field, format!("AS{asn} is listed twice"));
        }
    }

    r.distinct_entries(
        "constituency.domains",
        &c.domains,
        MAX_CONSTITUENCY_LEN,
        |domain| {
            check_domain(domain, true)
                .map(|()| domain.as_str())
                .map_err(|why| ("bad-domain", why))
        },
        String::as_str,
    );

    r.distinct_entries(
        "constituency.ip_ranges",
        &c.ip_ranges,
        MAX_CONSTITUENCY_LEN,
        |range| check_cidr(range).map_err(|why| ("bad-cidr", why)),
        String::as_str,
    );
}

fn check_emails(r: &mut Report, record: &TeamRecord) {
    for (i, email) in r
        .bounded("emails", &record.emails, MAX_LIST_LEN)
        .iter()
        .enumerate()
    {
        let field = format!("emails[{i}].address");
        if let Err(why) = check_email_address(&email.address) {
            r.push("bad-email", field, why);
        }
        let usages = r.bounded(&format!("emails[{i}].usage"), &email.usage, MAX_LIST_LEN);
        for (j, usage) in usages.iter().enumerate() {
            if !EMAIL_USAGES.contains(&usage.as_str()) {
                r.push(
                    "bad-email",
                    format!("emails[{i}].usage[{j}]"),
                    format!(
                        "`{usage}` is not an e-mail usage (one of {})",
                        EMAIL_USAGES.join(", ")
                    ),
                );
            }
        }
    }
}

fn check_phones(r: &mut Report, record: &TeamRecord) {
    for (i, phone) in r
        .bounded("phones", &record.phones, MAX_LIST_LEN)
        .iter()
        .enumerate()
    {
        let field = format!("phones[{i}].number");
        if let Err(why) = check_phone_number(&phone.number) {
            r.push("bad-phone", field, why);
        }
        if phone.usage.is_empty() {
            r.push(
                "bad-phone",
                format!("phones[{i}].usage"),
                "say what the number is for (voice, emergency or fax)",
            );
        }
        r.timezone(&format!("phones[{i}].timezone"), &phone.timezone);
        if let Some(comments) = &phone.comments {
            r.text(
                &format!("phones[{i}].comments"),
                comments,
                MAX_NAME_CHARS,
                false,
            );
        }
    }
}

fn check_keys(r: &mut Report, record: &TeamRecord, today: Day) {
    let mut seen = BTreeSet::new();
    for (i, key) in r
        .bounded("pgp_keys", &record.pgp_keys, MAX_LIST_LEN)
        .iter()
        .enumerate()
    {
        let field = format!("pgp_keys[{i}].fingerprint");
        let fpr = &key.fingerprint;
        let hex = fpr
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        if !hex || !(fpr.len() == 40 || fpr.len() == 64) {
            r.push(
                "bad-key",
                field,
                format!(
                    "`{fpr}` is not an OpenPGP fingerprint (40 or 64 upper-case hexadecimal digits)"
                ),
            );
        } else if !seen.insert(fpr.as_str()) {
            r.push("bad-key", field, format!("key {fpr} is listed twice"));
        }
        if let Some(expires) = key.expires
            && expires < today
        {
            r.push(
                "expired-key",
                format!("pgp_keys[{i}].expires"),
                format!("key {fpr} expired on {expires}"),
            );
        }
        if let Some(armored) = &key.armored {
            r.text(
                &format!("pgp_keys[{i}].armored"),
                armored,
                MAX_ARMORED_CHARS,
                true,
            );
        }
    }
}

/// A domain name in A-label form, lower case: LDH labels of 1–63 characters, at most 253 in
/// all, at least two labels unless it is a wildcard (`*.` first) over a top-level domain.
pub fn check_domain(domain: &str, allow_wildcard: bool) -> Result<(), String> {
    let (wildcard, name) = match domain.strip_prefix("*.") {
        Some(rest) if allow_wildcard => (true, rest),
        Some(_) => return Err(format!("`{domain}`: a wildcard is not allowed here")),
        None => (false, domain),
    };
    if name.is_empty() {
        return Err("a domain name is required".to_owned());
    }
    if domain.len() > 253 {
        return Err(format!(
            "`{domain}` is {} characters long; at most 253 are allowed",
            domain.len()
        ));
    }
    if name.contains('*') {
        return Err(format!(
            "`{domain}`: `*` may only be the whole first label (`*.example.org`)"
        ));
    }
    if name.ends_with('.') {
        return Err(format!("`{domain}`: remove the trailing dot"));
    }
    if !name.is_ascii() {
        return Err(format!(
            "`{domain}`: write internationalised names in A-label form (`xn--...`)"
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 && !wildcard {
        return Err(format!(
            "`{domain}` is a single label; give a full domain (`example.org`) or `*.{domain}`"
        ));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err(format!(
                "`{domain}`: each label must have 1 to 63 characters"
            ));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(if label.bytes().any(|b| b.is_ascii_uppercase()) {
                format!("`{domain}` must be lower case")
            } else {
                format!("`{domain}`: labels may hold only letters, digits and `-`")
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("`{domain}`: a label may not begin or end with `-`"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "`{domain}` looks like an IP address; put addresses in the IP ranges"
        ));
    }
    Ok(())
}

/// An IPv4 or IPv6 network in CIDR notation without host bits; the network, canonical.
pub fn check_cidr(range: &str) -> Result<(IpAddr, u8), String> {
    let (addr, prefix) = range
        .split_once('/')
        .ok_or_else(|| format!("`{range}` needs a prefix length (`192.0.2.0/24`)"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{range}`: `{addr}` is not an IP address"))?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= max && prefix.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("`{range}`: the prefix length must be 0 to {max}"))?;
    let network = match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
    };
    if network != addr {
        return Err(format!(
            "`{range}` has host bits set; the network is `{network}/{prefix}`"
        ));
    }
    Ok((network, prefix))
}

/// An addr-spec sanity check: one `@`, a local part of 1–64 visible characters, a domain.
pub fn check_email_address(address: &str) -> Result<(), String> {
    let (local, domain) = match address.split_once('@') {
        Some((l, d)) if !d.contains('@') => (l, d),
        _ => return Err(format!("`{address}` is not an e-mail address (one `@`)")),
    };
    if local.is_empty() || local.len() > 64 {
        return Err(format!(
            "`{address}`: the part before `@` must have 1 to 64 characters"
        ));
    }
    if !local.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{address}`: the part before `@` may not hold spaces or control characters"
        ));
    }
    let domain = domain.to_ascii_lowercase();
    check_domain(&domain, false).map_err(|why| format!("`{address}`: {why}"))
}

/// `+`, then digits, spaces, `-`, `(` and `)`, with 7 to 20 digits.
pub fn check_phone_number(number: &str) -> Result<(), String> {
    let Some(rest) = number.strip_prefix('+') else {
        return Err(format!(
            "`{number}`: write the number in international form, starting with `+`"
        ));
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
    {
        return Err(format!(
            "`{number}` may hold only digits, spaces, `-`, `(` and `)` after the `+`"
        ));
    }
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    if !(7..=20).contains(&digits) {
        return Err(format!(
            "`{number}` has {digits} digits; 7 to 20 are expected"
        ));
    }
    Ok(())
}

fn trim(s: &mut String) {
    let trimmed = s.trim();
    if trimmed.len() != s.len() {
        *s = trimmed.to_owned();
    }
}

fn trim_opt(s: &mut Option<String>) {
    if let Some(text) = s {
        trim(text);
        if text.is_empty() {
            *s = None;
        }
    }
}

/// The canonical form of a record: trimmed text (empty optional text removed), fingerprints in
/// upper case without spaces, domains in lower case, services de-duplicated in the framework's
/// order (unknown ones last, as given, so [`validate`] can name them), ASNs sorted.
pub fn normalise(mut record: TeamRecord) -> TeamRecord {
    trim(&mut record.official_name);
    trim(&mut record.short_name);
    trim_opt(&mut record.host_organisation);
    trim_opt(&mut record.postal_address);
    trim_opt(&mut record.website);
    trim_opt(&mut record.member_notes);
    if let Some(d) = &mut record.designation {
        trim(&mut d.reference);
        trim_opt(&mut d.url);
    }
    let c = &mut record.constituency;
    c.types.iter_mut().for_each(trim);
    c.sectors.iter_mut().for_each(trim);
    c.ip_ranges.iter_mut().for_each(trim);
    for domain in &mut c.domains {
        *domain = domain.trim().to_lowercase();
    }
    c.asns.sort_unstable();

    record.services.iter_mut().for_each(trim);
    let mut services: Vec<String> = vocab::services()
        .iter()
        .filter(|s| record.services.contains(&s.id))
        .map(|s| s.id.clone())
        .collect();
    let mut unknown: Vec<String> = Vec::new();
    for s in &record.services {
        if vocab::service(s).is_none() && !unknown.contains(s) {
            unknown.push(s.clone());
        }
    }
    services.extend(unknown);
    record.services = services;

    if let Some(hours) = &mut record.business_hours {
        trim(&mut hours.hours);
        trim(&mut hours.timezone);
    }
    for email in &mut record.emails {
        trim(&mut email.address);
        email.usage.iter_mut().for_each(trim);
    }
    for phone in &mut record.phones {
        trim(&mut phone.number);
        trim(&mut phone.timezone);
        trim_opt(&mut phone.comments);
    }
    for key in &mut record.pgp_keys {
        key.fingerprint = key
            .fingerprint
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        trim_opt(&mut key.armored);
    }
    if let Some(sim3) = &mut record.sim3 {
        sim3.levels = std::mem::take(&mut sim3.levels)
            .into_iter()
            .map(|(k, v)| (k.trim().to_owned(), v))
            .collect();
    }
    record
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::directory::team::{
        BusinessHours, Constituency, Designation, Email, FirstMembership, Mandate, PgpKey, Phone,
        PhoneUsage, Sim3Assessment, TeamId, TeamType, TiClassification, TiStatus,
    };
    use crate::{CountryCode, Timestamp};

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn today() -> Day {
        day("2026-06-01")
    }

    /// A complete record that uses every field.
    fn full() -> TeamRecord {
        TeamRecord {
            id: TeamId::new("cl-csirt").unwrap(),
            official_name: "Equipo de Respuesta ante Incidentes de Seguridad Informática".into(),
            short_name: "CSIRT-CL".into(),
            country: CountryCode::new("CL").unwrap(),
            team_type: TeamType::National,
            host_organisation: Some("Ministerio del Interior".into()),
            postal_address: Some("Teatinos 92\nSantiago".into()),
            website: Some("https://www.csirt.gob.cl/".into()),
            established: Some(day("2018-05-01")),
            designation: Some(Designation {
                reference: "Decreto 273".into(),
                date: day("2018-04-20"),
                url: Some("https://www.bcn.cl/leychile".into()),
            }),
            constituency: Constituency {
                types: vec!["National".into(), "Government".into()],
                sectors: vec!["energy".into(), "communications".into()],
                asns: vec![27_678, 64_512, 4_200_000_000],
                domains: vec!["*.gob.cl".into(), "csirt.gob.cl".into(), "*.cl".into()],
                ip_ranges: vec!["200.0.0.0/16".into(), "2001:db8::/32".into()],
                countries: vec![CountryCode::new("CL").unwrap()],
            },
            services: vec![
                "monitoring-and-detection".into(),
                "incident-coordination".into(),
            ],
            business_hours: Some(BusinessHours {
                hours: "08:00 to 18:00 Monday to Friday".into(),
                timezone: "America/Santiago".into(),
            }),
            available_24x7: true,
            emails: vec![Email {
                address: "incidentes@csirt.gob.cl".into(),
                usage: vec!["incident-report".into(), "emergency".into()],
                public: true,
            }],
            phones: vec![Phone {
                number: "+56 2 2486 3850".into(),
                usage: vec![PhoneUsage::Voice, PhoneUsage::Emergency],
                timezone: "America/Santiago".into(),
                comments: Some("24/7".into()),
                public: true,
            }],
            pgp_keys: vec![PgpKey {
                fingerprint: "94874EE43FC765E7F92D7EB92801CDF236D314C2".into(),
                expires: Some(day("2028-11-22")),
                armored: None,
            }],
            first: Some(FirstMembership {
                member: true,
                since: Some(day("2019-01-01")),
            }),
            trusted_introducer: Some(TiClassification {
                status: TiStatus::Listed,
                since: Some(day("2019-06-01")),
            }),
            mandate: Mandate {
                disseminates_nationally: true,
                authorised_to_share: true,
                assists_other_teams: true,
            },
            sim3: Some(Sim3Assessment {
                assessed: day("2025-01-10"),
                levels: BTreeMap::from([("O-1".into(), 3), ("P-14".into(), 0)]),
            }),
            member_notes: Some("Duty officer rota:\nweekdays".into()),
            contacts_confirmed: Some(Timestamp::parse("2026-05-01T00:00:00Z").unwrap()),
            updated: Timestamp::parse("2026-05-01T00:00:00Z").unwrap(),
            demo: false,
        }
    }

    /// The codes of the problems found in a changed copy of the full record.
    fn problems(change: impl FnOnce(&mut TeamRecord)) -> Vec<Problem> {
        let mut record = full();
        change(&mut record);
        validate(&record, today()).unwrap_err()
    }

    /// The only problem has this code and field.
    fn rejected(code: &str, field: &str, change: impl FnOnce(&mut TeamRecord)) -> Problem {
        let found = problems(change);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, code, "{found:?}");
        assert_eq!(found[0].field, field, "{found:?}");
        found[0].clone()
    }

    #[test]
    fn a_full_valid_record_passes() {
        assert_eq!(validate(&full(), today()), Ok(()));
        assert_eq!(validate(&normalise(full()), today()), Ok(()));
    }

    #[test]
    fn countries_must_be_oas_member_states() {
        rejected("unknown-country", "country", |r| {
            r.country = CountryCode::new("FR").unwrap();
        });
        rejected("unknown-country", "constituency.countries[1]", |r| {
            r.constituency
                .countries
                .push(CountryCode::new("ES").unwrap());
        });
        rejected("duplicate", "constituency.countries[1]", |r| {
            r.constituency
                .countries
                .push(CountryCode::new("CL").unwrap());
        });
    }

    #[test]
    fn services_must_be_in_the_framework_once() {
        let p = rejected("unknown-service", "services[2]", |r| {
            r.services.push("coffee-making".into());
        });
        assert!(p.message.contains("coffee-making"));
        rejected("duplicate", "services[2]", |r| {
            r.services.push("incident-coordination".into());
        });
    }

    #[test]
    fn sectors_must_be_known() {
        rejected("unknown-sector", "constituency.sectors[2]", |r| {
            r.constituency.sectors.push("Energy".into());
        });
    }

    #[test]
    fn reserved_and_duplicate_asns_are_refused_private_ones_accepted() {
        for asn in [0, 23_456, 65_535, u32::MAX] {
            rejected("bad-asn", "constituency.asns[3]", |r| {
                r.constituency.asns.push(asn);
            });
        }
        rejected("bad-asn", "constituency.asns[3]", |r| {
            r.constituency.asns.push(27_678);
        });
        let mut record = full();
        record.constituency.asns = vec![64_512, 65_534, 4_200_000_000, 4_294_967_294];
        assert_eq!(validate(&record, today()), Ok(()));
    }

    #[test]
    fn domains_follow_the_ldh_rules() {
        for bad in [
            "cl",
            "*",
            "**.cl",
            "a.*.cl",
            "*.*.cl",
            "gob.cl.",
            "-gob.cl",
            "gob-.cl",
            "go_b.cl",
            "gob..cl",
            "Gob.cl",
            "münchen.de",
            "192.0.2.1",
            &format!("{}.cl", "a".repeat(64)),
            &format!("{}cl", "abcdefghi.".repeat(26)),
        ] {
            let p = rejected("bad-domain", "constituency.domains[3]", |r| {
                r.constituency.domains.push(bad.to_owned());
            });
            assert!(p.message.contains('`'), "{bad}: {}", p.message);
        }
        let mut record = full();
        record.constituency.domains = vec![
            "*.at".into(),
            "xn--mnchen-3ya.de".into(),
            "a-b.example.org".into(),
            format!("{}.cl", "a".repeat(63)),
        ];
        assert_eq!(validate(&record, today()), Ok(()));
        let p = rejected("bad-domain", "constituency.domains[3]", |r| {
            r.constituency.domains.push("münchen.de".into());
        });
        assert!(p.message.contains("xn--"));
        rejected("duplicate", "constituency.domains[3]", |r| {
            r.constituency.domains.push("*.gob.cl".into());
        });
    }

    #[test]
    fn cidrs_need_a_valid_prefix_and_no_host_bits() {
        let p = rejected("bad-cidr", "constituency.ip_ranges[2]", |r| {
            r.constituency.ip_ranges.push("10.0.0.1/8".into());
        });
        assert!(p.message.contains("10.0.0.0/8"), "{}", p.message);
        let p = rejected("bad-cidr", "constituency.ip_ranges[2]", |r| {
            r.constituency.ip_ranges.push("2001:db8::1/32".into());
        });
        assert!(p.message.contains("2001:db8::/32"), "{}", p.message);
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "10.0.0/8",
            "example.org/24",
        ] {
            rejected("bad-cidr", "constituency.ip_ranges[2]", |r| {
                r.constituency.ip_ranges.push(bad.to_owned());
            });
        }
        let mut record = full();
        record.constituency.ip_ranges = vec![
            "0.0.0.0/0".into(),
            "192.0.2.7/32".into(),
            "::/0".into(),
            "2001:db8::1/128".into(),
        ];
        assert_eq!(validate(&record, today()), Ok(()));
        rejected("duplicate", "constituency.ip_ranges[2]", |r| {
            r.constituency.ip_ranges.push("200.0.0.0/16".into());
        });
    }

    #[test]
    fn emails_need_one_at_a_local_part_a_domain_and_known_usages() {
        for bad in [
            "no-at.example.org",
            "a@b@example.org",
            "@example.org",
            "a b@example.org",
            "cert@localhost",
            "cert@*.example.org",
            &format!("{}@example.org", "a".repeat(65)),
        ] {
            rejected("bad-email", "emails[0].address", |r| {
                r.emails[0].address = bad.to_owned();
            });
        }
        rejected("bad-email", "emails[0].usage[2]", |r| {
            r.emails[0].usage.push("spam".into());
        });
        let mut record = full();
        record.emails[0].address = "Cert+24x7@CSIRT.gob.cl".into();
        record.emails[0].usage = EMAIL_USAGES.iter().map(|u| (*u).to_owned()).collect();
        assert_eq!(validate(&record, today()), Ok(()));
    }

    #[test]
    fn phones_are_international_with_7_to_20_digits_and_a_usage() {
        for bad in [
            "56 2 2486 3850",
            "+56 2 2486 385O",
            "+123456",
            "+123456789012345678901",
            "+56.2.2486.3850",
        ] {
            rejected("bad-phone", "phones[0].number", |r| {
                r.phones[0].number = bad.to_owned();
            });
        }
        rejected("bad-phone", "phones[0].usage", |r| {
            r.phones[0].usage.clear()
        });
        let mut record = full();
        record.phones[0].number = "+1 (202) 555-0100".into();
        assert_eq!(validate(&record, today()), Ok(()));
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        rejected("bad-timezone", "business_hours.timezone", |r| {
            r.business_hours.as_mut().unwrap().timezone = "Chile/Santiago City".into();
        });
        rejected("bad-timezone", "phones[0].timezone", |r| {
            r.phones[0].timezone = "GMT-4 ".into();
        });
        rejected("bad-timezone", "phones[0].timezone", |r| {
            r.phones[0].timezone = String::new();
        });
    }

    #[test]
    fn keys_need_a_fingerprint_once_and_must_not_have_expired() {
        for bad in [
            "94874EE43FC765E7F92D7EB92801CDF236D314C",
            "94874ee43fc765e7f92d7eb92801cdf236d314c2",
            "94874EE43FC765E7F92D7EB92801CDF236D314CG",
            "",
        ] {
            rejected("bad-key", "pgp_keys[0].fingerprint", |r| {
                r.pgp_keys[0].fingerprint = bad.to_owned();
            });
        }
        rejected("bad-key", "pgp_keys[1].fingerprint", |r| {
            let copy = r.pgp_keys[0].clone();
            r.pgp_keys.push(copy);
        });
        let p = rejected("expired-key", "pgp_keys[0].expires", |r| {
            r.pgp_keys[0].expires = Some(day("2026-05-31"));
        });
        assert!(p.message.contains("2026-05-31"));
        let mut record = full();
        record.pgp_keys[0].expires = Some(today());
        record.pgp_keys.push(PgpKey {
            fingerprint: "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9".into(),
            expires: None,
            armored: None,
        });
        assert_eq!(validate(&record, today()), Ok(()), "expiring today is fine");
    }

    #[test]
    fn sim3_levels_name_real_parameters_at_levels_0_to_4() {
        rejected("bad-sim3", "sim3.levels.O-99", |r| {
            r.sim3.as_mut().unwrap().levels.insert("O-99".into(), 1);
        });
        rejected("bad-sim3", "sim3.levels.O-2", |r| {
            r.sim3.as_mut().unwrap().levels.insert("O-2".into(), 5);
        });
    }

    #[test]
    fn free_text_is_required_bounded_and_free_of_control_characters() {
        rejected("bad-field", "official_name", |r| {
            r.official_name = "  ".into()
        });
        rejected("bad-field", "short_name", |r| r.short_name = String::new());
        rejected("bad-field", "official_name", |r| {
            r.official_name = "x".repeat(201);
        });
        rejected("bad-field", "short_name", |r| {
            r.short_name = "CSIRT\nCL".into()
        });
        rejected("bad-field", "member_notes", |r| {
            r.member_notes = Some("n".repeat(4001));
        });
        rejected("bad-field", "postal_address", |r| {
            r.postal_address = Some("Teatinos 92\tSantiago".into());
        });
        rejected("bad-field", "designation.reference", |r| {
            r.designation.as_mut().unwrap().reference = String::new();
        });
        rejected("bad-field", "constituency.types[2]", |r| {
            r.constituency.types.push("\u{7}".into());
        });
        let p = rejected("bad-field", "services", |r| {
            r.services = vec!["incident-coordination".into(); 1001];
        });
        assert!(p.message.contains("1001"), "{}", p.message);
        rejected("bad-field", "constituency.domains", |r| {
            r.constituency.domains = vec!["a.cl".into(); 10_001];
        });
        let mut record = full();
        record.constituency.asns = (1..=10_000).collect();
        assert_eq!(validate(&record, today()), Ok(()), "10,000 ASNs are fine");
        for bad in [
            "ftp://example.org",
            "www.csirt.gob.cl",
            "https://",
            "https:///x",
            "https://a b",
        ] {
            rejected("bad-field", "website", |r| r.website = Some(bad.to_owned()));
        }
        rejected("bad-field", "designation.url", |r| {
            r.designation.as_mut().unwrap().url = Some("javascript:alert(1)".into());
        });
        let mut record = full();
        record.website = Some("http://csirt.example.org".into());
        record.official_name = "é".repeat(200);
        assert_eq!(validate(&record, today()), Ok(()));
    }

    #[test]
    fn dates_may_not_be_in_the_future() {
        rejected("bad-date", "established", |r| {
            r.established = Some(day("2026-06-02"));
        });
        rejected("bad-date", "designation.date", |r| {
            r.designation.as_mut().unwrap().date = day("2027-01-01");
        });
        let mut record = full();
        record.established = Some(today());
        assert_eq!(validate(&record, today()), Ok(()));
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let found = problems(|r| {
            r.short_name = String::new();
            r.services.push("nope".into());
            r.constituency.asns.push(0);
        });
        let codes: Vec<&str> = found.iter().map(|p| p.code).collect();
        assert_eq!(codes, ["bad-field", "bad-asn", "unknown-service"]);
    }

    #[test]
    fn normalise_puts_a_record_in_its_canonical_form() {
        let mut record = full();
        record.official_name = "  CSIRT de Chile \n".into();
        record.website = Some("   ".into());
        record.constituency.domains = vec![" *.GOB.cl ".into()];
        record.constituency.asns = vec![65_000, 27_678, 64_512];
        record.services = vec![
            "incident-coordination".into(),
            " monitoring-and-detection".into(),
            "bogus".into(),
            "incident-coordination".into(),
            "bogus".into(),
        ];
        record.pgp_keys[0].fingerprint =
            "9487 4ee4 3fc7 65e7 f92d  7eb9 2801 cdf2 36d3 14c2".into();
        let n = normalise(record);
        assert_eq!(n.official_name, "CSIRT de Chile");
        assert_eq!(n.website, None);
        assert_eq!(n.constituency.domains, ["*.gob.cl"]);
        assert_eq!(n.constituency.asns, [27_678, 64_512, 65_000]);
        assert_eq!(
            n.services,
            ["monitoring-and-detection", "incident-coordination", "bogus"]
        );
        assert_eq!(
            n.pgp_keys[0].fingerprint,
            "94874EE43FC765E7F92D7EB92801CDF236D314C2"
        );
        assert_eq!(n.postal_address, full().postal_address, "inner lines kept");
        let found = validate(&n, today()).unwrap_err();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "unknown-service");
        assert_eq!(normalise(n.clone()), n, "normalising twice changes nothing");
    }
}

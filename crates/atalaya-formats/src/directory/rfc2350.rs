//! A team's description in the form of RFC 2350 (BCP 21, "Expectations for Computer Security
//! Incident Response"), rendered from its directory record.
//!
//! The text follows the RFC's template, section by section (1 Document Information, 2 Contact
//! Information 2.1–2.11, 3 Charter, 4 Policies, 5 Services, 6 Incident Reporting Forms,
//! 7 Disclaimers), as plain text wrapped at 72 columns. Only the record's public view is used:
//! member-only contacts, the SIM3 assessment and member notes never appear. Where the record
//! says nothing, the section says so rather than inventing a policy.

use std::fmt::Write as _;

use atalaya_core::directory::vocab;
use atalaya_core::directory::{Day, PhoneUsage, TeamRecord, TeamType, TiStatus};

/// The width of the text.
pub const WIDTH: usize = 72;

const BODY: &str = "   ";
const ITEM: &str = "   - ";
const ITEM_NEXT: &str = "     ";

/// The RFC 2350 description of `team` as of `today` (which decides whether a key is marked
/// expired).
pub fn rfc2350(team: &TeamRecord, today: Day) -> String {
    let t = team.public_view();
    let mut d = Doc::default();
    let country = super::country_name(t.country.as_str());
    let name = &t.short_name;

    d.line(&format!("RFC 2350 description of {name}"));
    d.blank();
    d.para(&format!(
        "This document describes {name} ({}) according to RFC 2350. It was generated on {today} \
         from the team's record in the directory of the Inter-American CSIRT Watch and Warning \
         Network.",
        t.official_name
    ));

    d.heading("1. Document Information");
    d.heading("1.1. Date of Last Update");
    d.para(&format!(
        "The record was last updated on {}.",
        Day::of(t.updated)
    ));
    d.heading("1.2. Distribution List for Notifications");
    d.para(
        "There is no distribution list for notifications of changes to this document. Members \
         of the network are notified of changes through the network's directory.",
    );
    d.heading("1.3. Locations where this Document May Be Found");
    d.para(&format!(
        "The current version is kept in the network's directory under the team id {}.",
        t.id
    ));
    if let Some(site) = &t.website {
        d.para(&format!("The team's web site is {site}."));
    }

    d.heading("2. Contact Information");
    d.heading("2.1. Name of the Team");
    d.para(&format!("{name} - {}", t.official_name));
    d.heading("2.2. Address");
    match &t.postal_address {
        Some(a) => d.lines(a),
        None => d.para("Not published."),
    }
    d.heading("2.3. Time Zone");
    let tz = t
        .business_hours
        .as_ref()
        .map(|b| b.timezone.clone())
        .or_else(|| t.phones.first().map(|p| p.timezone.clone()))
        .or_else(|| {
            atalaya_core::member_states::by_code(t.country.as_str()).map(|s| s.timezone.clone())
        });
    d.para(&tz.map_or_else(
        || "Not published.".to_owned(),
        |tz| format!("{tz} (IANA time zone)"),
    ));
    d.heading("2.4. Telephone Number");
    let voice: Vec<String> = t
        .phones
        .iter()
        .filter(|p| p.usage.iter().any(|u| *u != PhoneUsage::Fax))
        .map(|p| {
            let mut s = p.number.clone();
            if p.usage.contains(&PhoneUsage::Emergency) {
                s.push_str(" (24/7 emergency line)");
            }
            if let Some(c) = &p.comments {
                let _ = write!(s, " - {c}");
            }
            s
        })
        .collect();
    d.list_or(&voice, "No public telephone number.");
    d.heading("2.5. Facsimile Number");
    let fax: Vec<String> = t
        .phones
        .iter()
        .filter(|p| p.usage.contains(&PhoneUsage::Fax))
        .map(|p| match &p.comments {
            Some(c) => format!("{} - {c}", p.number),
            None => p.number.clone(),
        })
        .collect();
    d.list_or(&fax, "Not available.");
    d.heading("2.6. Other Telecommunication");
    d.para("None published.");
    d.heading("2.7. Electronic Mail Address");
    let emails: Vec<String> = t
        .emails
        .iter()
        .map(|e| {
            if e.usage.is_empty() {
                e.address.clone()
            } else {
                format!("{} ({})", e.address, e.usage.join(", "))
            }
        })
        .collect();
    d.list_or(&emails, "No public e-mail address.");
    d.heading("2.8. Public Keys and Encryption Information");
    let keys: Vec<String> = t
        .pgp_keys
        .iter()
        .map(|k| {
            let fp = super::spaced_fingerprint(&k.fingerprint);
            match k.expires {
                Some(e) if e < today => format!("OpenPGP key {fp}, expired on {e}"),
                Some(e) => format!("OpenPGP key {fp}, valid until {e}"),
                None => format!("OpenPGP key {fp}, without expiry"),
            }
        })
        .collect();
    d.list_or(&keys, "No OpenPGP key is published.");
    d.heading("2.9. Team Members");
    d.para("No public information is provided about the team's members.");
    d.heading("2.10. Other Information");
    let mut other = Vec::new();
    if let Some(f) = t.first.as_ref().filter(|f| f.member) {
        other.push(match f.since {
            Some(s) => format!("{name} is a member of FIRST since {s}."),
            None => format!("{name} is a member of FIRST."),
        });
    }
    if let Some(c) = &t.trusted_introducer {
        let status = match c.status {
            TiStatus::Listed => "listed",
            TiStatus::Accredited => "accredited",
            TiStatus::Certified => "certified",
        };
        other.push(match c.since {
            Some(s) => format!("{name} is {status} by Trusted Introducer since {s}."),
            None => format!("{name} is {status} by Trusted Introducer."),
        });
    }
    if let Some(site) = &t.website {
        other.push(format!("Web site: {site}"));
    }
    d.list_or(&other, "None.");
    d.heading("2.11. Points of Customer Contact");
    let preferred: Vec<&str> = t
        .emails
        .iter()
        .filter(|e| {
            e.usage
                .iter()
                .any(|u| u == "incident-report" || u == "contact")
        })
        .map(|e| e.address.as_str())
        .collect();
    let preferred = if preferred.is_empty() {
        t.emails.iter().map(|e| e.address.as_str()).collect()
    } else {
        preferred
    };
    if preferred.is_empty() {
        d.para("No public point of contact is published.");
    } else {
        d.para(&format!(
            "The preferred method for contacting {name} is e-mail to {}.",
            preferred.join(" or ")
        ));
    }
    if let Some(b) = &t.business_hours {
        d.para(&format!("Business hours: {} ({}).", b.hours, b.timezone));
    }
    if t.available_24x7 {
        let numbers: Vec<&str> = t.emergency_phones().map(|p| p.number.as_str()).collect();
        if numbers.is_empty() {
            d.para(&format!(
                "{name} is reachable 24 hours a day, 7 days a week."
            ));
        } else {
            d.para(&format!(
                "{name} is reachable 24 hours a day, 7 days a week; outside business hours use \
                 the emergency line {}.",
                numbers.join(" or ")
            ));
        }
    }

    d.heading("3. Charter");
    d.heading("3.1. Mission Statement");
    let kind = match t.team_type {
        TeamType::National => format!("the national CSIRT of {country}"),
        TeamType::Government => format!("a government CSIRT of {country}"),
        TeamType::Sectoral => format!("a sectoral CSIRT in {country}"),
        TeamType::Academic => format!("an academic CSIRT in {country}"),
        TeamType::Private => format!("a CSIRT in {country}"),
    };
    d.para(&format!(
        "{name} is {kind}. Its mission is to help its constituency prevent, detect and respond to \
         computer security incidents, and to co-operate with other teams to that end."
    ));
    d.heading("3.2. Constituency");
    let c = &t.constituency;
    let mut lines = Vec::new();
    push_listed(&mut lines, "Types", &c.types);
    let sectors: Vec<String> = c
        .sectors
        .iter()
        .map(|s| vocab::sector(s).map_or_else(|| s.clone(), |x| x.name.clone()))
        .collect();
    push_listed(&mut lines, "Sectors", &sectors);
    push_listed(&mut lines, "Domains", &c.domains);
    let asns: Vec<String> = c.asns.iter().map(|a| format!("AS{a}")).collect();
    push_listed(&mut lines, "Autonomous systems", &asns);
    push_listed(&mut lines, "IP ranges", &c.ip_ranges);
    let names: Vec<String> = c
        .countries
        .iter()
        .map(|k| super::country_name(k.as_str()))
        .collect();
    push_listed(&mut lines, "Countries", &names);
    d.list_or(&lines, "The constituency is not published.");
    d.heading("3.3. Sponsorship and/or Affiliation");
    let mut aff = Vec::new();
    if let Some(h) = &t.host_organisation {
        aff.push(format!("{name} is hosted by {h}."));
    }
    if let Some(des) = &t.designation {
        let mut s = format!("Designated by {} of {}", des.reference, des.date);
        if let Some(u) = &des.url {
            let _ = write!(s, " ({u})");
        }
        s.push('.');
        aff.push(s);
    }
    aff.push(format!(
        "{name} is a member of the Inter-American CSIRT Watch and Warning Network."
    ));
    aff.iter().for_each(|a| d.para(a));
    d.heading("3.4. Authority");
    match &t.designation {
        Some(des) => d.para(&format!(
            "{name} operates under the authority given by {}.",
            des.reference
        )),
        None => d.para(&format!(
            "{name} has no published designation; it acts with the authority its host \
             organisation gives it."
        )),
    }
    if t.mandate.authorised_to_share {
        d.para(&format!(
            "{name} is authorised by its government to share information with other teams."
        ));
    }

    d.heading("4. Policies");
    d.heading("4.1. Types of Incidents and Level of Support");
    d.para(&format!(
        "{name} handles the computer security incidents that affect its constituency, with the \
         services listed in section 5. The level of support depends on the severity of the \
         incident, the resources at hand and the constituent affected."
    ));
    if t.available_24x7 {
        d.para("Incidents are handled 24 hours a day, 7 days a week.");
    } else if t.business_hours.is_some() {
        d.para("Incidents are handled during business hours (see 2.11).");
    }
    d.heading("4.2. Co-operation, Interaction and Disclosure of Information");
    d.para(&format!(
        "{name} co-operates with other CSIRTs, in particular those of the Inter-American CSIRT \
         Watch and Warning Network, FIRST and its national community. Information is labelled \
         and handled according to the Traffic Light Protocol (FIRST TLP 2.0): TLP:CLEAR, \
         TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT and TLP:RED. Information received under a TLP \
         label is never disclosed beyond what the label allows."
    ));
    if t.mandate.disseminates_nationally {
        d.para(&format!(
            "{name} passes the network's warnings on to the organisations of its country."
        ));
    }
    if t.mandate.assists_other_teams {
        d.para(&format!(
            "{name} assists other teams of the network when asked."
        ));
    }
    d.heading("4.3. Communication and Authentication");
    if t.pgp_keys.is_empty() {
        d.para(
            "Unencrypted e-mail and telephone may be used for information that is not \
             sensitive. No OpenPGP key is published for sensitive information.",
        );
    } else {
        d.para(
            "Unencrypted e-mail and telephone may be used for information that is not \
             sensitive. Sensitive information should be sent by e-mail encrypted and signed \
             with the OpenPGP key in 2.8.",
        );
    }

    d.heading("5. Services");
    let mut areas: Vec<(String, Vec<String>)> = vocab::SERVICE_AREAS
        .iter()
        .map(|(area, area_name)| {
            let services = vocab::services()
                .iter()
                .filter(|s| s.area == *area && t.offers(&s.id))
                .map(|s| s.name.clone())
                .collect();
            ((*area_name).to_owned(), services)
        })
        .collect();
    let unknown: Vec<String> = t
        .services
        .iter()
        .filter(|s| vocab::service(s).is_none())
        .cloned()
        .collect();
    areas.push(("Other Services".to_owned(), unknown));
    areas.retain(|(_, services)| !services.is_empty());
    if areas.is_empty() {
        d.para("The services offered are not published.");
    } else {
        d.para(&format!(
            "{name} offers the following services, named and grouped after the FIRST CSIRT \
             Services Framework, version 2.1."
        ));
    }
    for (n, (area_name, services)) in areas.iter().enumerate() {
        d.heading(&format!("5.{}. {area_name}", n + 1));
        d.list_or(services, "");
    }

    d.heading("6. Incident Reporting Forms");
    if preferred.is_empty() {
        d.para("No incident reporting form is published.");
    } else {
        d.para(&format!(
            "No reporting form is published here. Report incidents by e-mail to {}, \
             giving your contact details, the systems affected, what happened and when \
             (with the time zone), and any evidence.",
            preferred.join(" or ")
        ));
    }

    d.heading("7. Disclaimers");
    d.para(&format!(
        "While every precaution will be taken in the preparation of information, notifications \
         and alerts, {name} assumes no responsibility for errors or omissions, or for damages \
         resulting from the use of the information they contain."
    ));
    d.finish()
}

/// Text being laid out: headings flush left, paragraphs and lists wrapped at [`WIDTH`].
#[derive(Default)]
struct Doc {
    out: String,
}

impl Doc {
    fn line(&mut self, s: &str) {
        self.out.push_str(s.trim_end());
        self.out.push('\n');
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn heading(&mut self, s: &str) {
        self.blank();
        self.line(s);
        self.blank();
    }

    fn para(&mut self, s: &str) {
        self.wrapped(s, BODY, BODY);
        self.blank();
    }

    /// Lines kept as they are (an address), each wrapped on its own.
    fn lines(&mut self, s: &str) {
        s.lines().for_each(|l| self.wrapped(l, BODY, BODY));
        self.blank();
    }

    fn list_or(&mut self, items: &[String], none: &str) {
        if items.is_empty() {
            if !none.is_empty() {
                self.para(none);
            }
            return;
        }
        for i in items {
            self.wrapped(i, ITEM, ITEM_NEXT);
        }
        self.blank();
    }

    /// Word-wrap `s` to [`WIDTH`]; a word longer than the line (a URL) gets a line of its own.
    fn wrapped(&mut self, s: &str, first: &str, next: &str) {
        let mut line = first.to_owned();
        let mut empty = true;
        for word in s.split_whitespace() {
            let len = line.chars().count() + usize::from(!empty) + word.chars().count();
            if !empty && len > WIDTH {
                self.line(&line);
                line = next.to_owned();
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        if !empty {
            self.line(&line);
        }
    }

    fn finish(mut self) -> String {
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
        self.out
    }
}

/// A `Label: a, b, c` line of a list, when the list has anything.
fn push_listed(lines: &mut Vec<String>, label: &str, items: &[String]) {
    if !items.is_empty() {
        lines.push(format!("{label}: {}", items.join(", ")));
    }
}

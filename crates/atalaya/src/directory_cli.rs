//! `atalaya directory …`, `atalaya coverage`, `atalaya census …`: the CSIRT directory and the
//! census through a running node's API.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::{Value, json};

use crate::cli::ApiClient;
use crate::config::Config;

/// Files larger than this get a progress indicator while they are imported.
const LARGE_IMPORT_BYTES: usize = 256 * 1024;

fn client(config: &Path) -> Result<ApiClient> {
    ApiClient::for_config(&Config::load(config)?)
}

/// A team id as a path segment (hosted ids hold a `/`).
pub fn team_path(id: &str) -> String {
    format!(
        "/api/v1/teams/{}",
        id.replace('%', "%25").replace('/', "%2F")
    )
}

/// A query-string value (letters, digits and `-._~` kept, the rest percent-encoded).
fn query_value(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("-")
}

/// The strings of a JSON array (none when it is not one).
fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn yes(v: &Value) -> &'static str {
    if v.as_bool() == Some(true) {
        "yes"
    } else {
        "no"
    }
}

fn pretty(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// `atalaya directory …`
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// The teams this node holds, filtered.
    List {
        /// Only teams of this country (ISO code, e.g. CL).
        #[arg(long)]
        country: Option<String>,
        /// Only teams of this type: national, government, sectoral, academic, private.
        #[arg(long = "type")]
        team_type: Option<String>,
        /// Only teams offering this FIRST service (e.g. incident-coordination).
        #[arg(long)]
        service: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One team's record.
    Show {
        /// The team's id (`cl-csirt`, `cl-csirt/finance-csirt`).
        id: String,
        /// Print it as an RFC 2350 document.
        #[arg(long, conflicts_with_all = ["vcard", "json"])]
        rfc2350: bool,
        /// Print it as a vCard.
        #[arg(long, conflicts_with = "json")]
        vcard: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Publish a team record (a TeamRecord JSON file) this node is the authority for.
    Publish {
        /// The record.
        file: PathBuf,
    },
    /// Import team records (all or nothing).
    Import {
        /// ti (Trusted Introducer), first (FIRST members) or json.
        #[arg(long, value_parser = ["ti", "first", "json"])]
        format: String,
        /// The file.
        file: PathBuf,
    },
    /// Export the directory.
    Export {
        /// json, csv, ti, first or vcard.
        #[arg(long, default_value = "json", value_parser = ["json", "csv", "ti", "first", "vcard"])]
        format: String,
        /// Only what the public may see.
        #[arg(long)]
        public: bool,
        /// Write here instead of standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// PGP keys about to expire or that cannot be encrypted to, and contacts not confirmed
    /// for long.
    Hygiene {
        /// Keys expiring within this many days.
        #[arg(long, default_value_t = 30)]
        within_days: u32,
        /// Contacts not confirmed for this many days.
        #[arg(long, default_value_t = 180)]
        max_age_days: u32,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// `atalaya directory …`
pub async fn directory(config: &Path, cmd: DirectoryCommand) -> Result<()> {
    match cmd {
        DirectoryCommand::List {
            country,
            team_type,
            service,
            json,
        } => {
            let mut query = Vec::new();
            if let Some(c) = country {
                query.push(format!("country={}", query_value(&c.to_ascii_uppercase())));
            }
            if let Some(t) = team_type {
                query.push(format!("type={}", query_value(&t)));
            }
            if let Some(sv) = service {
                query.push(format!("service={}", query_value(&sv)));
            }
            let path = if query.is_empty() {
                "/api/v1/teams".to_owned()
            } else {
                format!("/api/v1/teams?{}", query.join("&"))
            };
            let r = client(config)?.get(&path).await?;
            if json {
                return pretty(&r);
            }
            let teams = r["teams"].as_array().cloned().unwrap_or_default();
            print_teams(&teams);
            Ok(())
        }
        DirectoryCommand::Show {
            id,
            rfc2350,
            vcard,
            json,
        } => {
            let api = client(config)?;
            if rfc2350 || vcard {
                let what = if rfc2350 { "rfc2350" } else { "vcard" };
                print!(
                    "{}",
                    api.get_text(&format!("{}/{what}", team_path(&id))).await?
                );
                return Ok(());
            }
            let t = api.get(&team_path(&id)).await?;
            if json {
                return pretty(&t);
            }
            print_team(&t);
            Ok(())
        }
        DirectoryCommand::Publish { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let record: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let Some(id) = record["id"].as_str() else {
                bail!("{} has no team `id`", file.display());
            };
            let r = client(config)?.put(&team_path(id), &record).await?;
            println!(
                "team {} published (envelope {}) to {} peer(s)",
                r["team"]["id"].as_str().unwrap_or(id),
                s(&r, "envelope"),
                r["recipients"].as_array().map_or(0, Vec::len)
            );
            Ok(())
        }
        DirectoryCommand::Import { format, file } => {
            let body =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let content_type = match format.as_str() {
                "json" => "application/json",
                "ti" => "application/json",
                _ => "text/plain",
            };
            let bar = (body.len() > LARGE_IMPORT_BYTES).then(|| {
                let b = indicatif::ProgressBar::new_spinner();
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} importing {msg} ({elapsed})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                b.set_message(format!(
                    "{} ({} KiB): sending, checking every record, storing",
                    file.display(),
                    body.len() / 1024
                ));
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            });
            let result = client(config)?
                .post_raw(
                    &format!("/api/v1/directory/import?format={format}"),
                    content_type,
                    body,
                )
                .await;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let r = result?;
            let ids: Vec<&str> = strings(&r["imported"]);
            println!("{} team(s) imported", ids.len());
            for id in ids {
                println!("  {id}");
            }
            Ok(())
        }
        DirectoryCommand::Export {
            format,
            public,
            output,
        } => {
            let view = if public { "public" } else { "members" };
            let text = client(config)?
                .get_text(&format!(
                    "/api/v1/directory/export?format={format}&view={view}"
                ))
                .await?;
            match output {
                Some(path) => {
                    std::fs::write(&path, &text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "directory ({view} view, {format}) written to {}",
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        DirectoryCommand::Hygiene {
            within_days,
            max_age_days,
            json,
        } => {
            let r = client(config)?
                .get(&format!(
                    "/api/v1/directory/hygiene?within_days={within_days}&max_age_days={max_age_days}"
                ))
                .await?;
            if json {
                return pretty(&r);
            }
            let keys = r["expiring_keys"].as_array().cloned().unwrap_or_default();
            println!(
                "PGP keys expiring within {within_days} days: {}",
                keys.len()
            );
            if !keys.is_empty() {
                println!(
                    "  {:<32} {:<10} {:>9}  fingerprint",
                    "team", "expires", "days left"
                );
            }
            for k in &keys {
                println!(
                    "  {:<32} {:<10} {:>9}  {}",
                    s(k, "team"),
                    s(k, "expires"),
                    k["days_left"],
                    s(k, "fingerprint")
                );
            }
            let problems = r["key_problems"].as_array().cloned().unwrap_or_default();
            println!("\nPGP keys that cannot be encrypted to: {}", problems.len());
            for p in &problems {
                let detail = ["subkey", "expires", "reason"]
                    .iter()
                    .filter_map(|f| p[*f].as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                println!(
                    "  {:<32} {:<20} {}  {detail}",
                    s(p, "team"),
                    s(p, "problem"),
                    s(p, "fingerprint")
                );
            }
            let stale = r["stale_contacts"].as_array().cloned().unwrap_or_default();
            println!(
                "\nContacts not confirmed for {max_age_days} days: {}",
                stale.len()
            );
            for c in &stale {
                println!(
                    "  {:<32} last confirmed {}",
                    s(c, "team"),
                    c["last_confirmed"].as_str().unwrap_or("never")
                );
            }
            Ok(())
        }
    }
}

/// A table of team records.
fn print_teams(teams: &[Value]) {
    println!(
        "{:<32} {:<2} {:<10} {:<5} {:>8}  name",
        "id", "cc", "type", "24/7", "services"
    );
    for t in teams {
        println!(
            "{:<32} {:<2} {:<10} {:<5} {:>8}  {}",
            s(t, "id"),
            s(t, "country"),
            s(t, "team_type"),
            yes(&t["available_24x7"]),
            t["services"].as_array().map_or(0, Vec::len),
            s(t, "official_name"),
        );
    }
    println!("{} team(s)", teams.len());
}

/// One team record, readable.
fn print_team(t: &Value) {
    println!("{} ({})", s(t, "official_name"), s(t, "short_name"));
    if t["demo"] == true {
        println!("  DEMO DATA: fictitious record");
    }
    println!("  id           {}", s(t, "id"));
    println!("  country      {}", s(t, "country"));
    println!("  type         {}", s(t, "team_type"));
    if let Some(h) = t["host_organisation"].as_str() {
        println!("  host         {h}");
    }
    if let Some(w) = t["website"].as_str() {
        println!("  website      {w}");
    }
    if let Some(d) = t["designation"].as_object() {
        println!(
            "  designation  {} of {}",
            d.get("reference").and_then(Value::as_str).unwrap_or("-"),
            d.get("date").and_then(Value::as_str).unwrap_or("-")
        );
    } else {
        println!("  designation  none");
    }
    let m = &t["mandate"];
    println!(
        "  mandate      disseminates nationally: {}, authorised to share: {}, assists other teams: {}",
        yes(&m["disseminates_nationally"]),
        yes(&m["authorised_to_share"]),
        yes(&m["assists_other_teams"])
    );
    println!("  24/7         {}", yes(&t["available_24x7"]));
    if let Some(h) = t["business_hours"].as_object() {
        println!(
            "  hours        {} ({})",
            h.get("hours").and_then(Value::as_str).unwrap_or("-"),
            h.get("timezone").and_then(Value::as_str).unwrap_or("-")
        );
    }
    for e in t["emails"].as_array().into_iter().flatten() {
        let usage: Vec<&str> = strings(&e["usage"]);
        println!("  e-mail       {} [{}]", s(e, "address"), usage.join(", "));
    }
    for p in t["phones"].as_array().into_iter().flatten() {
        let usage: Vec<&str> = strings(&p["usage"]);
        println!("  phone        {} [{}]", s(p, "number"), usage.join(", "));
    }
    for k in t["pgp_keys"].as_array().into_iter().flatten() {
        println!(
            "  PGP key      {} expires {}",
            s(k, "fingerprint"),
            k["expires"].as_str().unwrap_or("never")
        );
    }
    let list = |key: &str| -> String { strings(&t[key]).join(", ") };
    println!("  services     {}", list("services"));
    let c = &t["constituency"];
    let sub = |key: &str| -> String {
        c[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("  sectors      {}", sub("sectors"));
    println!("  domains      {}", sub("domains"));
    println!("  IP ranges    {}", sub("ip_ranges"));
    println!("  ASNs         {}", sub("asns"));
    if let Some(levels) = t["sim3"]["levels"].as_object() {
        let n = levels.len().max(1);
        let sum: u64 = levels.values().filter_map(Value::as_u64).sum();
        println!(
            "  SIM3         {} parameters, mean level {:.1} (assessed {})",
            levels.len(),
            sum as f64 / n as f64,
            s(&t["sim3"], "assessed")
        );
    }
    println!(
        "  contacts confirmed {}",
        t["contacts_confirmed"].as_str().unwrap_or("never")
    );
    println!("  updated      {}", s(t, "updated"));
}

/// `atalaya coverage`
pub async fn coverage(config: &Path, csv: bool, json: bool) -> Result<()> {
    let api = client(config)?;
    if csv {
        print!("{}", api.get_text("/api/v1/coverage?format=csv").await?);
        return Ok(());
    }
    let r = api.get("/api/v1/coverage").await?;
    if json {
        return pretty(&r);
    }
    let states = r["states"].as_array().cloned().unwrap_or_default();
    println!(
        "{:<2} {:<32} {:<12} {:<22} {:<5} {:>4} {:>5}  missing requirements",
        "cc", "member state", "status", "national team", "24/7", "SIM3", "teams"
    );
    for st in &states {
        let missing: Vec<&str> = strings(&st["missing_requirements"]);
        println!(
            "{:<2} {:<32} {:<12} {:<22} {:<5} {:>4} {:>5}  {}",
            s(st, "country"),
            s(st, "name_en"),
            s(st, "status"),
            st["national_team"]
                .as_str()
                .or_else(|| st["point_of_contact"]["team"].as_str())
                .unwrap_or("-"),
            yes(&st["available_24x7"]),
            st["sim3_band"]
                .as_u64()
                .map_or_else(|| "-".to_owned(), |b| b.to_string()),
            st["teams"],
            missing.join(", ")
        );
    }
    let totals = &r["totals"];
    if let Some(t) = totals.as_object() {
        let parts: Vec<String> = t.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("\ntotals: {}", parts.join(", "));
    }
    let list = |key: &str| -> String { strings(&r[key]).join(" ") };
    println!(
        "without a national CSIRT: {}",
        list("without_national_csirt")
    );
    println!("not reachable 24/7: {}", list("gaps_24x7"));
    if let Some(bands) = r["maturity"]["bands"].as_array() {
        let b: Vec<String> = bands.iter().map(Value::to_string).collect();
        println!(
            "SIM3 bands 0-4: {} (unassessed {})",
            b.join(" / "),
            r["maturity"]["unassessed"]
        );
    }
    Ok(())
}

/// `atalaya census …`
#[derive(Debug, Subcommand)]
pub enum CensusCommand {
    /// Open a census round (coordinator).
    Open {
        /// Its title (`Census 2026`).
        title: String,
        /// When it closes (RFC 3339).
        #[arg(long)]
        closes: Option<atalaya_core::Timestamp>,
    },
    /// The census rounds.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Answer a round for this node's team (or `--team`).
    Answer {
        /// The round's id.
        round: String,
        /// The answers: a JSON object (question id → answer), or `{"answers": {...}}`.
        #[arg(long)]
        file: PathBuf,
        /// Answer for this team (a team this node hosts).
        #[arg(long)]
        team: Option<String>,
    },
    /// A round's report.
    Report {
        /// The round's id.
        round: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Close a round (coordinator): no answer is accepted after.
    Close {
        /// The round's id.
        round: String,
    },
}

/// `atalaya census …`
pub async fn census(config: &Path, cmd: CensusCommand) -> Result<()> {
    match cmd {
        CensusCommand::Open { title, closes } => {
            let mut body = json!({ "title": title });
            if let Some(c) = closes {
                body["closes"] = json!(c);
            }
            let r = client(config)?.post("/api/v1/census/rounds", &body).await?;
            let round = &r["round"];
            println!(
                "census round {} opened: {}{}",
                s(round, "id"),
                s(round, "title"),
                round["closes"]
                    .as_str()
                    .map(|c| format!(", closes {c}"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        CensusCommand::List { json } => {
            let r = client(config)?.get("/api/v1/census/rounds").await?;
            if json {
                return pretty(&r);
            }
            println!(
                "{:<36}  {:<6} {:>9}  {:<24} title",
                "round", "open", "responses", "closes"
            );
            for row in r["rounds"].as_array().into_iter().flatten() {
                let round = &row["round"];
                println!(
                    "{:<36}  {:<6} {:>9}  {:<24} {}",
                    s(round, "id"),
                    yes(&row["open"]),
                    row["responses"]
                        .as_u64()
                        .map_or_else(|| "-".to_owned(), |n| n.to_string()),
                    round["closes"].as_str().unwrap_or("-"),
                    s(round, "title")
                );
            }
            Ok(())
        }
        CensusCommand::Answer { round, file, team } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let v: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let answers = if v["answers"].is_object() {
                v["answers"].clone()
            } else {
                v
            };
            if !answers.is_object() {
                bail!("{}: the answers must be a JSON object", file.display());
            }
            let mut body = json!({ "answers": answers });
            if let Some(t) = team {
                body["team"] = Value::String(t);
            }
            let r = client(config)?
                .post(&format!("/api/v1/census/rounds/{round}/responses"), &body)
                .await?;
            println!(
                "answers to round {round} recorded{}",
                r["response"]["team"]
                    .as_str()
                    .or_else(|| r["team"].as_str())
                    .map(|t| format!(" for {t}"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        CensusCommand::Report { round, json } => {
            let r = client(config)?
                .get(&format!("/api/v1/census/rounds/{round}/report"))
                .await?;
            if json {
                return pretty(&r);
            }
            print_report(&r);
            Ok(())
        }
        CensusCommand::Close { round } => {
            client(config)?
                .post(&format!("/api/v1/census/rounds/{round}/close"), &json!({}))
                .await?;
            println!("census round {round} closed");
            Ok(())
        }
    }
}

/// A census report: who responded, then each question's tally.
fn print_report(r: &Value) {
    println!("{} (round {})", s(r, "title"), s(r, "round"));
    println!(
        "responses: {}/{} teams ({:.0}%), {}/{} countries",
        r["responded_teams"],
        r["expected_teams"],
        r["response_rate"].as_f64().unwrap_or(0.0) * 100.0,
        r["responded_countries"],
        r["expected_countries"]
    );
    for q in r["questions"].as_array().into_iter().flatten() {
        let sm = &q["summary"];
        let mut line = format!("  {:<32} answered {:>3}", s(q, "question"), sm["answered"]);
        if sm["median"].is_number() {
            line.push_str(&format!(
                "  min {} median {} max {}",
                sm["min"], sm["median"], sm["max"]
            ));
        }
        if let Some(counts) = sm["counts"].as_array() {
            let parts: Vec<String> = counts
                .iter()
                .filter(|c| c["count"].as_u64().unwrap_or(0) > 0)
                .map(|c| {
                    format!(
                        "{} {}",
                        c["value"]
                            .as_str()
                            .map_or_else(|| c["value"].to_string(), str::to_owned),
                        c["count"]
                    )
                })
                .collect();
            line.push_str(&format!("  {}", parts.join(", ")));
        }
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosted_team_ids_are_one_path_segment() {
        assert_eq!(team_path("cl-csirt"), "/api/v1/teams/cl-csirt");
        assert_eq!(
            team_path("cl-csirt/finance-csirt"),
            "/api/v1/teams/cl-csirt%2Ffinance-csirt"
        );
        assert_eq!(
            query_value("incident coordination&x"),
            "incident%20coordination%26x"
        );
    }
}

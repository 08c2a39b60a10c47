//! Normalizes a list of indicators: trims, lower-cases domains and emails, drops duplicates
//! and sorts them into IPs, domains, emails and hashes. A pure transformation of its input.

use std::collections::BTreeSet;
use std::net::IpAddr;

use flowhost_step::StepError;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    indicators: Vec<String>,
}

#[derive(Serialize, Default)]
struct Output {
    ips: BTreeSet<String>,
    domains: BTreeSet<String>,
    emails: BTreeSet<String>,
    hashes: BTreeSet<String>,
    unrecognized: Vec<String>,
    count: usize,
}

fn normalize(input: Input) -> Result<Output, StepError> {
    let mut out = Output::default();
    for raw in input.indicators {
        let value = raw.trim();
        if value.is_empty() {
            continue;
        }
        if let Ok(ip) = value.parse::<IpAddr>() {
            out.ips.insert(ip.to_string());
        } else if value.contains('@') {
            out.emails.insert(value.to_lowercase());
        } else if is_hash(value) {
            out.hashes.insert(value.to_lowercase());
        } else if is_domain(value) {
            out.domains
                .insert(value.trim_end_matches('.').to_lowercase());
        } else {
            out.unrecognized.push(value.to_owned());
        }
    }
    out.count = out.ips.len() + out.domains.len() + out.emails.len() + out.hashes.len();
    Ok(out)
}

/// MD5, SHA-1 or SHA-256 in hex.
fn is_hash(s: &str) -> bool {
    matches!(s.len(), 32 | 40 | 64) && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn is_domain(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

flowhost_step::step!(normalize);

//! {{name}}: a Flowhost step in Rust. `flowhost step build` builds it, `flowhost step test`
//! runs the cases in step.test.json.

use std::net::Ipv4Addr;

use flowhost_step::{StepError, events, log};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    ip: String,
}

#[derive(Serialize)]
struct Checked {
    ip: String,
    private: bool,
}

/// Checks an IPv4 address. "Private" means what every language's template means by it:
/// RFC 1918's ranges (10/8, 172.16/12, 192.168/16) or loopback (127/8); anything but four
/// decimal numbers (IPv6 too) is invalid input. The templates share one `step.test.json`,
/// and each read another definition (round 26 steps review).
fn run(input: Input) -> Result<Checked, StepError> {
    let address: Ipv4Addr = input.ip.parse().map_err(|_| {
        StepError::InvalidInput(format!("`ip`: {:?} is not an IPv4 address", input.ip))
    })?;
    let private = address.is_private() || address.is_loopback();
    let checked = Checked { ip: input.ip, private };
    log::info(&format!("checked {}", checked.ip));
    events::emit("ip.checked", &checked)?;
    Ok(checked)
}

flowhost_step::step!(run);

//! {{name}}: a Flowhost step in Rust. `flowhost step build` builds it, `flowhost step test`
//! runs the cases in step.test.json.

use std::net::IpAddr;

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

fn run(input: Input) -> Result<Checked, StepError> {
    let address: IpAddr = input
        .ip
        .parse()
        .map_err(|_| StepError::InvalidInput(format!("`ip`: {:?} is not an IP address", input.ip)))?;
    let private = match address {
        IpAddr::V4(a) => a.is_private() || a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback(),
    };
    let checked = Checked { ip: input.ip, private };
    log::info(&format!("checked {}", checked.ip));
    events::emit("ip.checked", &checked)?;
    Ok(checked)
}

flowhost_step::step!(run);

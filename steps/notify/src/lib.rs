//! Asks for a notification: logs what it does and emits a `notification.requested` event that
//! a workflow can trigger on.

use flowhost_step::{StepError, events, log};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    to: Vec<String>,
    subject: String,
    #[serde(default)]
    case_id: Option<String>,
}

#[derive(Serialize)]
struct Notification<'a> {
    to: &'a [String],
    subject: &'a str,
    case_id: Option<&'a str>,
}

fn notify(input: Input) -> Result<serde_json::Value, StepError> {
    if input.to.is_empty() {
        return Err(StepError::InvalidInput("`to` names nobody".into()));
    }
    log::info(&format!(
        "notifying {} recipient(s): {}",
        input.to.len(),
        input.subject
    ));
    events::emit(
        "notification.requested",
        &Notification {
            to: &input.to,
            subject: &input.subject,
            case_id: input.case_id.as_deref(),
        },
    )?;
    Ok(serde_json::json!({ "notified": input.to }))
}

flowhost_step::step!(notify);

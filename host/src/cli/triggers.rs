//! `flowhost triggers list|release`: the events waiting for dispatch, those set aside
//! (quarantined) and why, and putting one back in line once its row is mended.

use std::path::Path;

use super::acting::{Acting, platform, print_json};

/// `flowhost triggers list`: pending events of a workspace, or (`quarantined`) those set
/// aside.
pub fn list(
    db: &Path,
    workspace: &str,
    acting: &Acting,
    quarantined: bool,
    json: bool,
) -> anyhow::Result<()> {
    let events = platform(db)?.waiting_events_for(&acting.required()?, workspace, quarantined)?;
    if json {
        return print_json(&events);
    }
    if events.is_empty() {
        let what = if quarantined {
            "quarantined"
        } else {
            "pending"
        };
        println!("no {what} events in `{workspace}`");
    }
    for e in &events {
        match &e.quarantined {
            Some(why) => println!(
                "event {} {} ({}): quarantined: {why}",
                e.id, e.kind, e.created_at
            ),
            None => println!("event {} {} ({})", e.id, e.kind, e.created_at),
        }
    }
    Ok(())
}

/// `flowhost triggers release`: a quarantined event back in line for dispatch.
pub fn release(db: &Path, workspace: &str, event: i64, acting: &Acting) -> anyhow::Result<()> {
    if !platform(db)?.release_event_for(&acting.required()?, workspace, event)? {
        anyhow::bail!("there is no quarantined event {event} in `{workspace}`");
    }
    println!("event {event} is pending again");
    Ok(())
}

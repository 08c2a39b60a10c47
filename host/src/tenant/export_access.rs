//! Who may export what (SPEC UA-1, ID-4): an export shows members, roles and SSO rules, which
//! only `user.write` holders manage and `user.read` holders see, so it holds only the
//! workspaces where the principal holds both. An organization where they hold them nowhere
//! reads as one that does not exist.

use std::collections::BTreeSet;

use crate::Error;
use crate::access::Scope;
use crate::platform::Platform;
use crate::principal::Principal;

use super::TenantSpec;
use super::store;

/// The organization `org` (or the only one `principal` may export, if `None`) in the
/// tenant-file format, with only the workspaces where `principal` holds `user.write` and
/// `user.read`.
pub fn export_for(
    platform: &Platform,
    principal: &Principal,
    org: Option<&str>,
) -> Result<TenantSpec, Error> {
    let all = store::all_workspaces(platform.db()?.conn())?;
    // The file names every member, role and rule: `user.read`'s to know, beside `user.write`
    // (leak review: a custom role of `user.write` alone exported what `users list` refused).
    let may = |ws: &str| {
        platform.check(principal, ws, Scope::UserWrite).allowed()
            && platform.check(principal, ws, Scope::UserRead).allowed()
    };
    let exportable: BTreeSet<&str> = all
        .iter()
        .filter(|(_, ws)| may(ws))
        .map(|(o, _)| o.as_str())
        .collect();
    let org = match org {
        Some(want) if exportable.contains(want) => want.to_owned(),
        // Missing and not theirs read the same (SPEC ID-4).
        Some(want) => {
            return Err(Error::NotFound(format!(
                "there is no organization `{want}` where {principal} holds {} and {}",
                Scope::UserWrite,
                Scope::UserRead
            )));
        }
        None => match exportable.iter().collect::<Vec<_>>().as_slice() {
            [only] => (**only).to_owned(),
            [] => {
                return Err(Error::NotFound(format!(
                    "there is no organization where {principal} holds {} and {}",
                    Scope::UserWrite,
                    Scope::UserRead
                )));
            }
            several => {
                let names: Vec<&str> = several.iter().map(|o| **o).collect();
                return Err(Error::Invalid(format!(
                    "name the organization to export (--org): {}",
                    names.join(", ")
                )));
            }
        },
    };
    let mut spec = {
        let db = platform.db()?;
        super::export(db.conn(), Some(&org))?
    };
    spec.workspaces.retain(|ws| may(&ws.name));
    Ok(spec)
}

//! [`SignIns`]: browser sign-in (SPEC SV-1, SV-2). Issuing a link is an Owner's act, decided
//! inside; redeeming a link and finding a session establish a principal instead of taking one
//! (as `authenticate_key` does for API keys).

use crate::Error;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::signin::oidc::{Callback, StartedLogin};
use crate::signin::{IssuedLink, OpenedSession, Session};

/// Sign-in links and sessions of a [`Platform`].
#[derive(Clone, Copy)]
pub struct SignIns<'p> {
    platform: &'p Platform,
}

impl<'p> SignIns<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// A one-time sign-in link for member `email` of `workspace`, valid 15 minutes; needs
    /// `user.write` there. Audited.
    pub fn issue_link(
        &self,
        actor: &Principal,
        workspace: &str,
        email: &str,
    ) -> Result<IssuedLink, Error> {
        self.platform.issue_signin_link(actor, workspace, email)
    }

    /// Whom link `token` signs in, and to which workspace, while it may be used; uses nothing.
    pub fn describe_link(
        &self,
        token: &str,
    ) -> Result<Option<(crate::principal::Email, String)>, Error> {
        self.platform.describe_signin_link(token)
    }

    /// Uses link `token` (once, unexpired): a session for the person it was issued for. The
    /// browser that used it (`browser`, its sign-in page's bound token) may use it again
    /// while it lasts, decided anew; any other may not.
    pub fn redeem_link(&self, token: &str, browser: &str) -> Result<OpenedSession, Error> {
        self.platform.redeem_signin_link(token, browser)
    }

    /// The live session whose cookie holds `secret`.
    pub fn session(&self, secret: &str) -> Result<Option<Session>, Error> {
        self.platform.session(secret)
    }

    /// The IdPs a browser may sign in to `workspace` through (OIDC); none for a workspace
    /// that does not exist, alike.
    pub fn oidc_idps(&self, workspace: &str) -> Result<Vec<String>, Error> {
        self.platform.oidc_idps(workspace)
    }

    /// The origins the OIDC sign-in page's buttons lead to (its `form-action`), by IdP, for
    /// those found within the page's time. Calls the IdPs (discovery, cached): run it off
    /// the async runtime.
    pub fn oidc_form_targets(
        &self,
        workspace: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, Error> {
        self.platform.oidc_form_targets(workspace)
    }

    /// Starts an OIDC sign-in through `idp` of `workspace`, coming back to its own callback
    /// under `public_url` (`crate::signin::oidc::callback_uri`).
    /// Calls the IdP (discovery): run it off the async runtime.
    pub fn start_oidc(
        &self,
        workspace: &str,
        idp: &str,
        public_url: &str,
    ) -> Result<StartedLogin, Error> {
        self.platform.start_oidc_login(workspace, idp, public_url)
    }

    /// Finishes an OIDC sign-in at its callback: a session for whom the workspace's claim
    /// mapping admits, a denial otherwise. Calls the IdP: run it off the async runtime.
    pub fn finish_oidc(
        &self,
        callback: &Callback,
        public_url: &str,
    ) -> Result<OpenedSession, Error> {
        self.platform.finish_oidc_login(callback, public_url)
    }

    /// Signs the session whose cookie holds `secret` out.
    pub fn sign_out(&self, secret: &str) -> Result<(), Error> {
        self.platform.end_session(secret)
    }
}

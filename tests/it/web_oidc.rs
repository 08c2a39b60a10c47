//! Browser sign-in through the workspace's IdP (issue 16, SPEC SV-1, SV-2, SSO-2..5, IX,
//! ID-4): the OIDC code flow against an in-process fake IdP (`common/fake_idp.rs`) and the
//! real `flowhost serve --http`. The ID token's claims go through the workspace's claim
//! mapping: a member provisioned by a rule and an external identity get a session; anyone
//! the mapping does not admit, any token that does not verify, and any callback that is not
//! this browser's own, once, get a refusal and no session.

use serde_json::Value;

use crate::common::Deployment;
use crate::web::{ANALYST, OWNER};

const CLIENT_ID: &str = "flowhost-web";
const CLIENT_SECRET: &str = "s3cret: with spaces & symbols";

/// `flowhost sso oidc set` for `idp` of `workspace` pointing at `issuer`, as `who`.
fn set_args<'a>(
    secret_file: &'a str,
    workspace: &'a str,
    idp: &'a str,
    issuer: &'a str,
    who: &'a str,
) -> Vec<&'a str> {
    vec![
        "sso",
        "oidc",
        "set",
        "--workspace",
        workspace,
        "--idp",
        idp,
        "--issuer",
        issuer,
        "--client-id",
        CLIENT_ID,
        "--client-secret-file",
        secret_file,
        "--as",
        who,
    ]
}

fn secret_file(d: &Deployment) -> String {
    let path = d.dir.path().join("client-secret");
    std::fs::write(&path, format!("{CLIENT_SECRET}\n")).expect("secret file");
    path.display().to_string()
}

#[test]
fn oidc_settings_are_set_by_an_owner_and_never_show_the_secret() {
    let d = Deployment::new();
    let file = secret_file(&d);
    let issuer = "https://idp.acme-mssp.test/oauth2";
    // A non-Owner is refused; an outsider is answered as for a workspace that does not
    // exist (SPEC ID-4).
    let denied = d.fails(&set_args(&file, "mssp-soc", "acme-okta", issuer, ANALYST));
    assert!(denied.contains("user.write"), "{denied}");
    let outsider = d.fails(&set_args(
        &file,
        "mssp-soc",
        "acme-okta",
        issuer,
        "x@else.test",
    ));
    let missing = d.fails(&set_args(
        &file,
        "no-such-ws",
        "acme-okta",
        issuer,
        "x@else.test",
    ));
    assert_eq!(
        outsider.replace("mssp-soc", "W"),
        missing.replace("no-such-ws", "W"),
        "an outsider learns nothing"
    );
    // Only an IdP the workspace trusts, only an https issuer (or loopback http).
    let untrusted = d.fails(&set_args(&file, "mssp-soc", "globex-entra", issuer, OWNER));
    assert!(
        untrusted.contains("does not trust IdP `globex-entra`"),
        "{untrusted}"
    );
    let plain = d.fails(&set_args(
        &file,
        "mssp-soc",
        "acme-okta",
        "http://idp.test",
        OWNER,
    ));
    assert!(plain.contains("must be an https:// URL"), "{plain}");
    assert!(plain.contains("127.0.0.1 or localhost"), "{plain}");

    d.ok(&set_args(&file, "mssp-soc", "acme-okta", issuer, OWNER));
    let shown = d.ok(&[
        "sso",
        "oidc",
        "show",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
        "--json",
    ]);
    assert!(
        !shown.contains("s3cret"),
        "the secret is never shown: {shown}"
    );
    let v: Value = serde_json::from_str(&shown).expect("JSON");
    assert_eq!(v[0]["idp"], "acme-okta");
    assert_eq!(v[0]["issuer"], issuer);
    assert_eq!(v[0]["client_id"], CLIENT_ID);
    assert_eq!(v[0]["scopes"], "openid email profile");
    assert_eq!(v[0]["groups_claim"], "groups");
    let audit = d.ok(&["audit", "--workspace", "mssp-soc", "--as", OWNER, "--json"]);
    assert!(audit.contains("sso.oidc.set"), "{audit}");
    assert!(
        !audit.contains("s3cret"),
        "the secret is not audited: {audit}"
    );

    let refused = d.fails(&[
        "sso",
        "oidc",
        "remove",
        "--workspace",
        "mssp-soc",
        "--idp",
        "acme-okta",
        "--as",
        ANALYST,
    ]);
    assert!(refused.contains("user.write"), "{refused}");
    d.ok(&[
        "sso",
        "oidc",
        "remove",
        "--workspace",
        "mssp-soc",
        "--idp",
        "acme-okta",
        "--as",
        OWNER,
    ]);
    let gone = d.ok(&[
        "sso",
        "oidc",
        "show",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
        "--json",
    ]);
    assert_eq!(gone.trim(), "[]");
    let audit = d.ok(&["audit", "--workspace", "mssp-soc", "--as", OWNER, "--json"]);
    assert!(audit.contains("sso.oidc.remove"), "{audit}");
}

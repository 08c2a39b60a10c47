//! Talking to an IdP: OIDC discovery (`{issuer}/.well-known/openid-configuration`) and its
//! JWKS, each cached briefly in memory, over one blocking HTTP client with timeouts and size
//! caps. Every URL an IdP names must be https (or loopback http), as its issuer must.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsa::BigUint;
use rsa::RsaPublicKey;
use serde::Deserialize;

use crate::admin::oidc::check_idp_url;

/// How long a discovery document or a key set is reused.
const CACHE_FOR: Duration = Duration::from_secs(300);
/// How long a failed discovery is answered from memory: the sign-in page is anonymous, so
/// visits must not each wait on (and call) an IdP that is down.
const FAILURE_FOR: Duration = Duration::from_secs(30);
/// The largest answer read from an IdP.
const MAX_BODY: u64 = 1 << 20;
/// How long one call to an IdP may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long the anonymous sign-in page waits on a discovery: anyone may load it, so it must
/// not hold a request (and a blocking thread) for long on an IdP that is slow.
pub(crate) const PAGE_TIMEOUT: Duration = Duration::from_secs(3);

/// The endpoints of an IdP, from its discovery document.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// One signing key of an IdP, by its `kid`.
#[derive(Clone, Debug)]
pub(crate) struct SigningKey {
    pub kid: Option<String>,
    pub key: RsaPublicKey,
}

/// Values by URL, each with the time it was fetched.
type Cache<T> = Mutex<Option<HashMap<String, (Instant, Arc<T>)>>>;

static DISCOVERY: Cache<Discovery> = Mutex::new(None);
static KEYS: Cache<Vec<SigningKey>> = Mutex::new(None);
static FAILED: Cache<String> = Mutex::new(None);
/// Failures within the page's shorter timeout: remembered for the page only, so an IdP slow
/// to answer still gets its full time when someone presses its button.
static PAGE_FAILED: Cache<String> = Mutex::new(None);
/// One lock per issuer, held while its discovery is fetched: concurrent misses wait for the
/// one fetch instead of each calling the IdP. Issuers are set by Owners, so the map stays
/// small.
static FETCHING: Mutex<Option<HashMap<String, Arc<parking_lot::Mutex<()>>>>> = Mutex::new(None);

fn cached<T>(cache: &Cache<T>, key: &str) -> Option<Arc<T>> {
    cached_for(cache, key, CACHE_FOR)
}

fn cached_for<T>(cache: &Cache<T>, key: &str, ttl: Duration) -> Option<Arc<T>> {
    let guard = cache.lock().ok()?;
    let (at, value) = guard.as_ref()?.get(key)?;
    (at.elapsed() < ttl).then(|| value.clone())
}

fn remember<T>(cache: &Cache<T>, key: &str, value: Arc<T>) {
    if let Ok(mut guard) = cache.lock() {
        let map = guard.get_or_insert_with(HashMap::new);
        map.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
        map.insert(key.to_owned(), (Instant::now(), value));
    }
}

/// The HTTP client for IdP calls: no redirects followed (an endpoint says where it is), every
/// status read by the caller.
pub(super) fn agent() -> ureq::Agent {
    agent_with(TIMEOUT)
}

fn agent_with(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// The status and body (capped) of an answer; a transport failure names `what`.
pub(super) fn read(
    what: &str,
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, String), String> {
    let mut answer = answer.map_err(|e| format!("{what} could not be reached: {e}"))?;
    let status = answer.status().as_u16();
    let body = answer
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| format!("{what} answered unreadably: {e}"))?;
    Ok((status, body))
}

/// The discovery document of `issuer` (cached); it must name that same issuer and only
/// https (or loopback http) endpoints.
pub(crate) fn discover(issuer: &str) -> Result<Arc<Discovery>, String> {
    discover_within(issuer, TIMEOUT)
}

/// The discovery document of `issuer` if it is cached, without fetching it.
pub(crate) fn cached_discovery(issuer: &str) -> Option<Arc<Discovery>> {
    cached(&DISCOVERY, issuer)
}

/// [`discover`], with a fetch (if one is needed) allowed `timeout`.
pub(crate) fn discover_within(issuer: &str, timeout: Duration) -> Result<Arc<Discovery>, String> {
    let failures = if timeout < TIMEOUT {
        &PAGE_FAILED
    } else {
        &FAILED
    };
    let known = || {
        if let Some(found) = cached(&DISCOVERY, issuer) {
            return Some(Ok(found));
        }
        cached_for(&FAILED, issuer, FAILURE_FOR)
            .or_else(|| cached_for(failures, issuer, FAILURE_FOR))
            .map(|failure| Err(failure.to_string()))
    };
    if let Some(answer) = known() {
        return answer;
    }
    let lock = FETCHING
        .lock()
        .map_err(|_| "the IdP discovery cache is unusable".to_owned())?
        .get_or_insert_with(HashMap::new)
        .entry(issuer.to_owned())
        .or_default()
        .clone();
    // Another's fetch is waited for within this one's own bound: the anonymous sign-in
    // page's 3 s, not the 10 s a login's fetch may take (holding a request worker every
    // tenant needs; web review). Not known by then, the page leaves its button out.
    let Some(_one_at_a_time) = lock.try_lock_for(timeout) else {
        return Err("the IdP's discovery document is being fetched".to_owned());
    };
    // Whoever held the lock before may have just answered it.
    if let Some(answer) = known() {
        return answer;
    }
    // A fetch the page's shared bound cut short (less than half its time left) is not the
    // IdP's failure; any other is remembered, so the page does not wait on it again (review).
    fetch_discovery(issuer, timeout).inspect_err(|e| {
        if timeout >= PAGE_TIMEOUT / 2 {
            remember(failures, issuer, Arc::new(e.clone()));
        }
    })
}

fn fetch_discovery(issuer: &str, timeout: Duration) -> Result<Arc<Discovery>, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let what = "the IdP's discovery document";
    let (status, body) = read(what, agent_with(timeout).get(&url).call())?;
    if status != 200 {
        return Err(format!("{what} ({url}) answered HTTP {status}"));
    }
    let found: Discovery = serde_json::from_str(&body)
        .map_err(|e| format!("{what} ({url}) is not a discovery document: {e}"))?;
    if found.issuer != issuer {
        return Err(format!(
            "{what} names issuer `{}`, not the configured `{issuer}`",
            crate::text::clip(&found.issuer)
        ));
    }
    for (name, endpoint) in [
        ("authorization_endpoint", &found.authorization_endpoint),
        ("token_endpoint", &found.token_endpoint),
        ("jwks_uri", &found.jwks_uri),
    ] {
        check_idp_url(&format!("the IdP's {name}"), endpoint)?;
    }
    let found = Arc::new(found);
    remember(&DISCOVERY, issuer, found.clone());
    Ok(found)
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The RSA signing keys at `jwks_uri`: from the cache unless `fresh`.
pub(crate) fn keys(jwks_uri: &str, fresh: bool) -> Result<Arc<Vec<SigningKey>>, String> {
    if !fresh && let Some(found) = cached(&KEYS, jwks_uri) {
        return Ok(found);
    }
    let what = "the IdP's key set (JWKS)";
    let (status, body) = read(what, agent().get(jwks_uri).call())?;
    if status != 200 {
        return Err(format!("{what} answered HTTP {status}"));
    }
    let set: Jwks =
        serde_json::from_str(&body).map_err(|e| format!("{what} is not a key set: {e}"))?;
    let keys: Vec<SigningKey> = set
        .keys
        .into_iter()
        // Only RSA keys meant for signatures with RS256 (or saying nothing of it).
        .filter(|k| k.kty == "RSA")
        .filter(|k| k.usage.as_deref().is_none_or(|u| u == "sig"))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == "RS256"))
        .filter_map(|k| {
            let n = super::verify::b64(k.n.as_deref()?).ok()?;
            let e = super::verify::b64(k.e.as_deref()?).ok()?;
            let key =
                RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).ok()?;
            Some(SigningKey { kid: k.kid, key })
        })
        .collect();
    let keys = Arc::new(keys);
    remember(&KEYS, jwks_uri, keys.clone());
    Ok(keys)
}

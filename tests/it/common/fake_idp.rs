//! An in-process fake OIDC IdP for the sign-in tests: a plain `TcpListener` thread serving
//! discovery, a JWKS, `/authorize` (which redirects straight back with a code, standing in
//! for the person typing a password) and `/token` (which checks the client's secret, the
//! code, PKCE and the redirect URI as a real IdP does, and answers an ID token signed with a
//! fixed test key, `tests/oidc/idp-key.pem`). What it puts in the token, and how it spoils
//! it, is the test's to set.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "flowhost-web";
pub const CLIENT_SECRET: &str = "s3cret: with spaces & symbols";
pub const KID: &str = "test-key-1";

/// How the next ID token is spoiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spoil {
    Nothing,
    /// Signed with another key under the published `kid`.
    BadSignature,
    WrongAudience,
    WrongIssuer,
    Expired,
    WrongNonce,
    /// `alg: none`, no signature.
    AlgNone,
    /// Signed with the right key under a `kid` the JWKS does not publish.
    UnknownKid,
}

struct Pending {
    nonce: String,
    challenge: String,
    redirect_uri: String,
    used: bool,
}

#[derive(Default)]
struct Inner {
    /// The person's claims the next token carries (besides iss, aud, exp, iat, nonce).
    person: Value,
    spoil: Option<Spoil>,
    codes: HashMap<String, Pending>,
    next_code: u64,
    /// How many times the JWKS was fetched.
    jwks_fetches: u32,
    /// How many code exchanges were asked for (whatever their answer).
    token_requests: u32,
    /// How many times the discovery document was fetched, and how long each answer waits.
    discoveries: u32,
    discovery_delay: std::time::Duration,
    /// Whether its authorization endpoint sends the browser back through another origin
    /// first (`localhost` for `127.0.0.1`), as a broker or a federated IdP does.
    hop: bool,
}

/// A running fake IdP; its thread stops with the test process.
pub struct FakeIdp {
    /// The issuer: `http://127.0.0.1:PORT`.
    pub issuer: String,
    inner: Arc<Mutex<Inner>>,
}

fn key(name: &str) -> RsaPrivateKey {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oidc")
        .join(name);
    let pem = std::fs::read_to_string(&path).expect("the test key");
    RsaPrivateKey::from_pkcs8_pem(&pem).expect("a PKCS#8 RSA key")
}

impl FakeIdp {
    pub fn start() -> FakeIdp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let inner = Arc::new(Mutex::new(Inner {
            person: json!({}),
            ..Inner::default()
        }));
        let (state, base) = (inner.clone(), issuer.clone());
        let keys = Arc::new((key("idp-key.pem"), key("other-key.pem")));
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (state, base, keys) = (state.clone(), base.clone(), keys.clone());
                std::thread::spawn(move || serve(stream, &state, &base, &keys));
            }
        });
        FakeIdp { issuer, inner }
    }

    /// The person the next sign-in is for: their claims (an `email`, groups, …).
    pub fn person(&self, claims: Value) {
        let mut inner = self.inner.lock().expect("idp state");
        inner.person = claims;
        inner.spoil = None;
    }

    /// From now on, sends the browser back through another origin (`/hop` on `localhost`)
    /// before the callback, as a broker or a federated IdP does.
    pub fn hop_through_another_origin(&self) {
        self.inner.lock().expect("idp state").hop = true;
    }

    /// Spoils every token from now on, as told.
    pub fn spoil(&self, how: Spoil) {
        self.inner.lock().expect("idp state").spoil = Some(how);
    }

    pub fn jwks_fetches(&self) -> u32 {
        self.inner.lock().expect("idp state").jwks_fetches
    }

    /// How many times the discovery document was fetched.
    pub fn discoveries(&self) -> u32 {
        self.inner.lock().expect("idp state").discoveries
    }

    /// Makes every discovery answer wait `delay` (a slow IdP).
    pub fn slow_discovery(&self, delay: std::time::Duration) {
        self.inner.lock().expect("idp state").discovery_delay = delay;
    }

    /// How many requests reached the token endpoint (a code sent here, honest or not).
    pub fn token_requests(&self) -> u32 {
        self.inner.lock().expect("idp state").token_requests
    }
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    form: HashMap<String, String>,
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}

fn pairs(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_owned(),
        query: pairs(query),
        headers,
        form: pairs(&String::from_utf8_lossy(&body)),
    })
}

fn respond(mut stream: TcpStream, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    let _ = stream.write_all(out.as_bytes());
}

fn json_answer(stream: TcpStream, status: &str, body: &Value) {
    respond(
        stream,
        status,
        &[("Content-Type", "application/json")],
        &body.to_string(),
    );
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn serve(
    stream: TcpStream,
    state: &Mutex<Inner>,
    base: &str,
    keys: &(RsaPrivateKey, RsaPrivateKey),
) {
    let Some(req) = read_request(&stream) else {
        return;
    };
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/.well-known/openid-configuration") => {
            let delay = {
                let mut inner = state.lock().expect("idp state");
                inner.discoveries += 1;
                inner.discovery_delay
            };
            std::thread::sleep(delay);
            json_answer(
                stream,
                "200 OK",
                &json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "jwks_uri": format!("{base}/jwks"),
                    "id_token_signing_alg_values_supported": ["RS256"],
                }),
            )
        }
        ("GET", "/jwks") => {
            state.lock().expect("idp state").jwks_fetches += 1;
            let public = keys.0.to_public_key();
            json_answer(
                stream,
                "200 OK",
                &json!({ "keys": [{
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
                    "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()),
                }]}),
            );
        }
        ("GET", "/authorize") => {
            let q = &req.query;
            let ok = q.get("response_type").map(String::as_str) == Some("code")
                && q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && q.get("code_challenge_method").map(String::as_str) == Some("S256")
                && q.get("scope")
                    .is_some_and(|s| s.split(' ').any(|s| s == "openid"));
            let (Some(redirect), Some(st), Some(nonce), Some(challenge), true) = (
                q.get("redirect_uri"),
                q.get("state"),
                q.get("nonce"),
                q.get("code_challenge"),
                ok,
            ) else {
                return respond(stream, "400 Bad Request", &[], "bad authorization request");
            };
            let mut inner = state.lock().expect("idp state");
            inner.next_code += 1;
            let code = format!("code-{}", inner.next_code);
            inner.codes.insert(
                code.clone(),
                Pending {
                    nonce: nonce.clone(),
                    challenge: challenge.clone(),
                    redirect_uri: redirect.clone(),
                    used: false,
                },
            );
            let location = format!("{redirect}?code={code}&state={}", encode(st));
            let location = if inner.hop {
                let port = base.rsplit(':').next().unwrap_or_default();
                format!("http://localhost:{port}/hop?to={}", encode(&location))
            } else {
                location
            };
            respond(stream, "302 Found", &[("Location", &location)], "");
        }
        ("GET", "/hop") => match req.query.get("to") {
            Some(to) => respond(stream, "302 Found", &[("Location", to)], ""),
            None => respond(stream, "400 Bad Request", &[], "where to?"),
        },
        ("POST", "/token") => {
            state.lock().expect("idp state").token_requests += 1;
            let expected = format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", encode(CLIENT_ID), encode(CLIENT_SECRET)))
            );
            if req.headers.get("authorization") != Some(&expected) {
                return json_answer(
                    stream,
                    "401 Unauthorized",
                    &json!({"error": "invalid_client"}),
                );
            }
            let mut inner = state.lock().expect("idp state");
            let f = &req.form;
            let code = f.get("code").cloned().unwrap_or_default();
            let Some(pending) = inner.codes.get_mut(&code) else {
                return json_answer(
                    stream,
                    "400 Bad Request",
                    &json!({"error": "invalid_grant"}),
                );
            };
            let verifier = f.get("code_verifier").cloned().unwrap_or_default();
            if pending.used
                || f.get("grant_type").map(String::as_str) != Some("authorization_code")
                || f.get("redirect_uri") != Some(&pending.redirect_uri)
                || b64(&Sha256::digest(verifier.as_bytes())) != pending.challenge
            {
                return json_answer(
                    stream,
                    "400 Bad Request",
                    &json!({"error": "invalid_grant"}),
                );
            }
            pending.used = true;
            let nonce = pending.nonce.clone();
            let token = id_token(&inner, base, &nonce, keys);
            json_answer(
                stream,
                "200 OK",
                &json!({"id_token": token, "token_type": "Bearer", "access_token": "unused"}),
            );
        }
        _ => respond(stream, "404 Not Found", &[], "not found"),
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn id_token(
    inner: &Inner,
    base: &str,
    nonce: &str,
    keys: &(RsaPrivateKey, RsaPrivateKey),
) -> String {
    let spoil = inner.spoil.unwrap_or(Spoil::Nothing);
    let mut claims = json!({
        "iss": base, "sub": "subject-1", "aud": CLIENT_ID,
        "iat": now(), "exp": now() + 300, "nonce": nonce,
    });
    for (k, v) in inner.person.as_object().into_iter().flatten() {
        claims[k] = v.clone();
    }
    match spoil {
        Spoil::WrongAudience => claims["aud"] = json!("another-client"),
        Spoil::WrongIssuer => claims["iss"] = json!("http://127.0.0.1:1"),
        Spoil::Expired => {
            claims["iat"] = json!(now() - 3600);
            claims["exp"] = json!(now() - 1800);
        }
        Spoil::WrongNonce => claims["nonce"] = json!("not-the-nonce"),
        _ => {}
    }
    let kid = if spoil == Spoil::UnknownKid {
        "rotated-away"
    } else {
        KID
    };
    let header = if spoil == Spoil::AlgNone {
        json!({"alg": "none", "typ": "JWT"})
    } else {
        json!({"alg": "RS256", "typ": "JWT", "kid": kid})
    };
    let signed = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    if spoil == Spoil::AlgNone {
        return format!("{signed}.");
    }
    let key = if spoil == Spoil::BadSignature {
        &keys.1
    } else {
        &keys.0
    };
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(signed.as_bytes());
    format!("{signed}.{}", b64(&signature.to_bytes()))
}

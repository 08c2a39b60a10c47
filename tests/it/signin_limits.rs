//! Per-client limits on the anonymous sign-in requests (`server/client_limit.rs`), against
//! the real `flowhost serve --http` and the fake IdP: an address past its attempts is
//! answered 429 with Retry-After and starts or uses nothing, while another address (a second
//! loopback address, 127.0.0.2) signs in as before, and a few sign-ins are never held up.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use flowhost::server::client_limit::BURST;

use crate::common::web::{Answer, Client, hidden_value, parse_head};
use crate::web::ANALYST;
use crate::web_oidc::Oidc;

/// One HTTP/1.1 exchange from source address `source` (the client the server sees), read
/// whole: a browser at another address.
fn exchange_from(source: Ipv4Addr, base: &str, request: &str) -> Answer {
    let addr: SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let stream = runtime
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
            socket.connect(addr).await?.into_std()
        })
        .expect("connects from the source address");
    let mut stream = stream;
    stream.set_nonblocking(false).expect("blocking");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("response read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let (status, headers) = parse_head(head);
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A browser at 127.0.0.2: GET `path`, then POST its form back with the cookie it was set.
fn form_from_second_address(base: &str, path: &str, action: &str) -> Answer {
    const SECOND: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
    let host = base.trim_start_matches("http://");
    let page = exchange_from(
        SECOND,
        base,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("the sign-in cookie")
        .to_owned();
    let csrf = hidden_value(&page.body, "csrf").expect("the form's token");
    let form = format!("csrf={csrf}");
    exchange_from(
        SECOND,
        base,
        &format!(
            "POST {action} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{form}",
            form.len()
        ),
    )
}

/// POSTs a form without its token until the address is refused; how many were not.
fn spend_attempts(o: &Oidc, client: &mut Client) -> u32 {
    let url = o.url("/signin/oidc/mssp-soc/acme-okta");
    for spent in 0..=BURST + 2 {
        let answer = client.post(&url, &[("csrf", "forged")]);
        if answer.status == 429 {
            return spent;
        }
        assert_eq!(answer.status, 403, "{}", answer.body);
    }
    panic!("never limited after {} attempts", BURST + 2);
}

fn count(o: &Oidc, table: &str) -> i64 {
    crate::common::db_at(&o.site.deployment.db)
        .conn()
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

#[test]
fn an_address_past_its_sign_in_attempts_gets_429_and_starts_nothing_while_others_sign_in() {
    let o = Oidc::new();
    // Normal use: a few sign-ins with links and an OIDC start, all answered.
    for _ in 0..3 {
        o.site.signed_in(ANALYST);
    }
    let mut browser = Client::new();
    let page = browser.get(&o.url("/signin/oidc/mssp-soc"));
    let start = browser.post(
        &o.url("/signin/oidc/mssp-soc/acme-okta"),
        &[("csrf", &page.csrf())],
    );
    crate::web_oidc::to_idp(&start);
    assert_eq!(count(&o, "oidc_logins"), 1);

    // The same address keeps going: refused once its burst is spent (7 already spent: a
    // link's page and its use each count, as the page looks the link up; and maybe one
    // earned back meanwhile).
    let spent = spend_attempts(&o, &mut browser);
    assert!((BURST - 7..=BURST - 5).contains(&spent), "{spent}");

    // A well-formed start from it now (another browser there) is refused before anything
    // is stored.
    let mut neighbour = Client::new();
    let page = neighbour.get(&o.url("/signin/oidc/mssp-soc"));
    assert_eq!(page.status, 200, "the sign-in page itself is not limited");
    spend_attempts(&o, &mut browser);
    let refused = neighbour.post(
        &o.url("/signin/oidc/mssp-soc/acme-okta"),
        &[("csrf", &page.csrf())],
    );
    assert_eq!(refused.status, 429, "{}", refused.body);
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=3).contains(&retry), "{retry}");
    assert!(
        refused.body.contains("Too many sign-in attempts"),
        "{}",
        refused.body
    );
    assert!(neighbour.cookie("fh_oidc").is_none(), "nothing started");
    assert_eq!(count(&o, "oidc_logins"), 1, "no login stored");

    // A link redeemed from that address: refused, the link left unused, no session opened.
    let link = o.site.link(ANALYST);
    let sessions = count(&o, "web_sessions");
    let mut someone = Client::new();
    // Its page looks the link up, so it counts too.
    let form = someone.get(&link);
    assert_eq!(form.status, 429, "{}", form.body);
    spend_attempts(&o, &mut browser);
    let used = someone.post(&link, &[("csrf", "any")]);
    assert_eq!(used.status, 429, "{}", used.body);
    assert!(used.header("retry-after").is_some());
    assert_eq!(count(&o, "web_sessions"), sessions, "no session opened");
    assert_eq!(
        count(&o, "signin_links WHERE used_at IS NOT NULL"),
        3,
        "the link is still unused"
    );

    // An IdP's callback from it: refused before the state is looked up or the IdP called.
    spend_attempts(&o, &mut browser);
    let callback = browser.get(&o.url("/signin/oidc/callback/mssp-soc/acme-okta?code=c&state=s"));
    assert_eq!(callback.status, 429, "{}", callback.body);
    assert_eq!(o.idp.token_requests(), 0);

    // A header naming another client changes nothing: the peer address counts.
    spend_attempts(&o, &mut browser);
    let host = o.site.server.base.trim_start_matches("http://").to_owned();
    let spoofed = exchange_from(
        Ipv4Addr::LOCALHOST,
        &o.site.server.base,
        &format!(
            "POST /signin/oidc/mssp-soc/acme-okta HTTP/1.1\r\nHost: {host}\r\n\
             X-Forwarded-For: 203.0.113.9\r\nX-Real-IP: 203.0.113.9\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(spoofed.status, 429, "{}", spoofed.body);

    // Another address is not held up: it starts an OIDC sign-in and uses that same link.
    let base = &o.site.server.base;
    let started = form_from_second_address(
        base,
        "/signin/oidc/mssp-soc",
        "/signin/oidc/mssp-soc/acme-okta",
    );
    crate::web_oidc::to_idp(&started);
    assert_eq!(count(&o, "oidc_logins"), 2);
    let path = link
        .strip_prefix(base.as_str())
        .expect("a link to this server");
    let signed_in = form_from_second_address(base, path, path);
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(count(&o, "web_sessions"), sessions + 1);
}

//! The web server under test: `flowhost serve --http 127.0.0.1:0` as a child process on a
//! deployment's database, and a small HTTP client (ureq) that keeps one person's cookies and
//! never follows redirects, so each answer can be looked at.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::flowhost_bin;

/// A running `flowhost serve --http`; stopped (SIGTERM, then killed) when dropped.
pub struct WebServer {
    child: Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
}

impl WebServer {
    /// Starts the server on a free loopback port over `db`, with `steps` as a step directory,
    /// and waits until it says where it listens.
    pub fn start(dir: &Path, db: &Path, steps: &str) -> WebServer {
        Self::start_polling(dir, db, steps, 50)
    }

    /// [`WebServer::start`] with the scheduler looking for work every `poll_ms` (which
    /// also refreshes its access data).
    pub fn start_polling(dir: &Path, db: &Path, steps: &str, poll_ms: u64) -> WebServer {
        Self::start_with(dir, db, steps, poll_ms, &[])
    }

    /// [`WebServer::start_polling`] with `extra` arguments to `serve`.
    pub fn start_with(
        dir: &Path,
        db: &Path,
        steps: &str,
        poll_ms: u64,
        extra: &[&str],
    ) -> WebServer {
        Self::start_with_env(dir, db, steps, poll_ms, extra, &[])
    }

    /// [`WebServer::start_with`] with `env` set for the server.
    pub fn start_with_env(
        dir: &Path,
        db: &Path,
        steps: &str,
        poll_ms: u64,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> WebServer {
        Self::start_on(dir, db, steps, "127.0.0.1:0", poll_ms, extra, env)
    }

    /// [`WebServer::start_with_env`] listening on `http` (`serve --http`).
    pub fn start_on(
        dir: &Path,
        db: &Path,
        steps: &str,
        http: &str,
        poll_ms: u64,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> WebServer {
        let poll_ms = poll_ms.to_string();
        let mut child = Command::new(flowhost_bin())
            .env(super::ALLOW_LOOPBACK_IDP.0, super::ALLOW_LOOPBACK_IDP.1)
            .envs(env.iter().copied())
            .current_dir(dir)
            .arg("--db")
            .arg(crate::common::db_arg(db))
            .args([
                "serve",
                "--http",
                http,
                "--poll-ms",
                &poll_ms,
                "--steps",
                steps,
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowhost serve starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("flowhost serve: http://") {
                    let _ = tx.send(addr.trim_end_matches('/').to_owned());
                }
                // Everything the server says stays visible in the test's output.
                eprintln!("[serve] {line}");
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server prints its address");
        WebServer {
            child,
            base: format!("http://{addr}"),
        }
    }

    /// `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status and headers (names in lower case) of an HTTP/1.1 answer's head, as read off
/// a raw socket (tests that must control the connection themselves).
pub fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of the hidden `csrf` field of the page.
    pub fn csrf(&self) -> String {
        hidden_value(&self.body, "csrf").expect("the page has a CSRF field")
    }
}

/// The value of the hidden input `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// A browser-like client: keeps the cookies servers set, follows no redirect.
pub struct Client {
    agent: ureq::Agent,
    cookies: Vec<(String, String)>,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    pub fn new() -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Client {
            agent,
            cookies: Vec::new(),
        }
    }

    /// This client with cookie `name` set, as a crafted request would carry it.
    pub fn with_cookie(mut self, name: &str, value: &str) -> Client {
        self.cookies.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The cookie header this client sends.
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The value of cookie `name`, if set.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn read(&mut self, response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut response = response.expect("the server answers");
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        for (k, v) in &headers {
            if !k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = v.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(n, _)| n != name);
            let removed = v.contains("Max-Age=0");
            if !removed {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// GET `url`.
    pub fn get(&mut self, url: &str) -> Answer {
        let cookies = self.cookie_header();
        let r = self.agent.get(url).header("Cookie", &cookies).call();
        self.read(r)
    }

    /// POST `fields` form-encoded to `url`.
    pub fn post(&mut self, url: &str, fields: &[(&str, &str)]) -> Answer {
        let cookies = self.cookie_header();
        let r = self
            .agent
            .post(url)
            .header("Cookie", &cookies)
            .send_form(fields.iter().copied());
        self.read(r)
    }

    /// [`Client::post`] as a browser posts a form of the same site: with
    /// `Sec-Fetch-Site: same-origin`.
    pub fn post_same_origin(&mut self, url: &str, fields: &[(&str, &str)]) -> Answer {
        let cookies = self.cookie_header();
        let r = self
            .agent
            .post(url)
            .header("Cookie", &cookies)
            .header("Sec-Fetch-Site", "same-origin")
            .send_form(fields.iter().copied());
        self.read(r)
    }

    /// POST `body` to `url` as a form, its bytes as written (`%E9`: a Latin-1 client's).
    pub fn post_raw(&mut self, url: &str, body: &str) -> Answer {
        let cookies = self.cookie_header();
        let r = self
            .agent
            .post(url)
            .header("Cookie", &cookies)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body);
        self.read(r)
    }

    /// Signs in with one-time `link` the way a browser does: open it, press the button.
    pub fn sign_in(&mut self, link: &str) -> Answer {
        let page = self.get(link);
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        self.post(link, &[("csrf", &csrf)])
    }
}

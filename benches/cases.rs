//! Case queries and restriction updates at scale (SPEC CS-2 in SQL): 1,000,000 cases in one
//! workspace, 30% restricted, restricted cases shared out among ~20 collaborator lists of 3–5
//! people. Measures *Query cases* (page of 50, with and without the access-mode filter) as an
//! analyst named on only a few restricted cases and as an Owner who bypasses restrictions,
//! *Get case restrictions*, and *Update case restrictions* with its events, timeline and audit.
//! Prints `EXPLAIN QUERY PLAN` for every query shape.
//!
//! Run: `cargo bench --bench cases` (setup inserts the cases in bulk, which takes a while).

use std::time::Instant;

use flowhost::platform::Platform;
use flowhost::principal::{Caller, Email, Principal};
use flowhost::services::CaseApi;
use flowhost::services::cases::{AccessMode, CaseFilter, CaseQuery, CaseSort, RestrictionUpdate};
use flowhost::store::Db;
use flowhost::tenant::{MemberSpec, TenantFile, TenantSpec, WorkspaceSpec};
use flowhost::testing::Internals;

const CASES: i64 = 1_000_000;
const RESTRICTED_PERCENT: i64 = 30;
const OWNER: &str = "owner@bench.test";
const ANALYST: &str = "analyst@bench.test";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cases.db");
    let t = Instant::now();
    let platform = setup(&path);
    println!(
        "setup: {CASES} cases ({RESTRICTED_PERCENT}% restricted) in {:.1} s, database {} MiB",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&path).map_or(0, |m| m.len()) >> 20
    );

    let analyst = caller(ANALYST);
    let owner = caller(OWNER);
    let shapes = [
        (
            "analyst, restricted filter",
            &analyst,
            Some(AccessMode::Restricted),
        ),
        (
            "analyst, full-access filter",
            &analyst,
            Some(AccessMode::FullAccess),
        ),
        ("analyst, no filter", &analyst, None),
        (
            "owner (bypass), restricted filter",
            &owner,
            Some(AccessMode::Restricted),
        ),
        ("owner (bypass), no filter", &owner, None),
    ];
    println!(
        "\nquery cases, page of 50 (200 queries each: first pages and follow-up pages by cursor)"
    );
    for (name, who, mode) in shapes {
        let query = |cursor| CaseQuery {
            filter: CaseFilter {
                access_mode: mode,
                ..Default::default()
            },
            sort: CaseSort::CreatedDesc,
            page_size: 50,
            cursor,
        };
        let mut samples = Vec::new();
        let mut cursor = None;
        let mut rows = 0;
        for _ in 0..200 {
            let t = Instant::now();
            let page = platform
                .query_cases(who, query(cursor.clone()))
                .expect("query");
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            rows += page.cases.len();
            cursor = page.next_cursor;
        }
        let (p50, p95) = percentiles(&mut samples);
        println!(
            "  {name:<36} p50 {p50:>6.2} ms  p95 {p95:>6.2} ms  ({} rows/page avg)",
            rows / 200
        );
        for line in platform
            .explain_case_query(who, &query(None))
            .expect("plan")
        {
            println!("      plan: {line}");
        }
    }

    let mut rng = Rng(42);
    let mut samples = Vec::new();
    for _ in 0..2000 {
        let id = format!("C-{}", 1 + rng.below(CASES as u64));
        let t = Instant::now();
        platform.get_case_restrictions(&owner, &id).expect("get");
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (p50, p95) = percentiles(&mut samples);
    println!("\nget case restrictions (owner)         p50 {p50:>6.3} ms  p95 {p95:>6.3} ms");

    let mut samples = Vec::new();
    let mut events = 0;
    for i in 0..2000 {
        let id = format!("C-{}", 1 + rng.below(CASES as u64));
        // A real change every time: toggle the mode and add a collaborator.
        let update = RestrictionUpdate {
            access_mode: Some(if i % 2 == 0 {
                AccessMode::Restricted
            } else {
                AccessMode::FullAccess
            }),
            add_collaborators: vec![format!("p{}@bench.test", rng.below(60))],
            ..Default::default()
        };
        let t = Instant::now();
        platform
            .update_case_restrictions(&owner, &id, update)
            .expect("update");
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        events += 1;
    }
    let (p50, p95) = percentiles(&mut samples);
    println!(
        "update case restrictions (owner)       p50 {p50:>6.3} ms  p95 {p95:>6.3} ms  ({events} updates, each with events, timeline and audit)"
    );
    println!("\ntargets: query p50 < 5 ms; restriction update < 1 ms");
}

fn caller(email: &str) -> Caller {
    Caller {
        workspace: "soc".into(),
        principal: Principal::local(Email::parse(email).expect("email")),
        cause: None,
        step: None,
    }
}

fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (
        samples[samples.len() / 2],
        samples[samples.len() * 95 / 100],
    )
}

/// The tenant through the real apply path; the million cases in bulk SQL (setup only).
fn setup(path: &std::path::Path) -> Platform {
    let mut members = vec![
        MemberSpec {
            email: OWNER.into(),
            role: "owner".into(),
            break_glass: false,
            sso: false,
        },
        MemberSpec {
            email: ANALYST.into(),
            role: "operator".into(),
            break_glass: false,
            sso: false,
        },
    ];
    members.extend((0..60).map(|i| MemberSpec {
        email: format!("p{i}@bench.test"),
        role: "operator".into(),
        break_glass: false,
        sso: false,
    }));
    let spec = TenantSpec {
        organization: "bench".into(),
        workspaces: vec![WorkspaceSpec {
            name: "soc".into(),
            sso_only: false,
            idps: vec![],
            custom_roles: vec![],
            members,
            groups: vec![],
            claim_rules: vec![],
        }],
    };
    let text = serde_json::to_string(&spec).expect("json");
    let platform = Platform::new(Db::open(path).expect("db")).expect("platform");
    flowhost::tenant::apply(
        &platform,
        &TenantFile {
            origin: "bench".into(),
            text,
            spec,
        },
        None,
    )
    .expect("tenant");

    let mut rng = Rng(7);
    let lists: Vec<Vec<String>> = (0..20)
        .map(|_| {
            (0..3 + rng.below(3))
                .map(|_| format!("p{}@bench.test", rng.below(60)))
                .collect()
        })
        .collect();
    platform
        .transact(|tx| {
            let internal = flowhost::platform::internal;
            let ws: i64 = tx.query_row("SELECT id FROM workspaces WHERE name = 'soc'", [], |r| r.get(0)).map_err(internal)?;
            let mut case = tx
                .prepare("INSERT INTO cases (id, workspace_id, title, severity, state, restricted, created_at, updated_at, number, public_id, shown_number) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?1, 'C-' || ?1, ?1)")
                .map_err(internal)?;
            let mut person = tx
                .prepare("INSERT OR IGNORE INTO case_people (case_id, workspace_id, email, part) VALUES (?1, ?2, ?3, 'collaborator')")
                .map_err(internal)?;
            let mut analyst_cases = 0;
            for id in 1..=CASES {
                let restricted = rng.below(100) < RESTRICTED_PERCENT as u64;
                let state = if rng.below(4) == 0 { "closed" } else { "open" };
                case.execute((id, ws, format!("case {id}"), rng.below(4) as i64, state, restricted, 1_700_000_000_000_000 + id * 1000))
                    .map_err(internal)?;
                if restricted {
                    for email in &lists[rng.below(20) as usize] {
                        person.execute((id, ws, email)).map_err(internal)?;
                    }
                    // The analyst collaborates on a handful of restricted cases only.
                    if analyst_cases < 12 && rng.below(20_000) == 0 {
                        person.execute((id, ws, ANALYST)).map_err(internal)?;
                        analyst_cases += 1;
                    }
                }
            }
            Ok(())
        })
        .expect("bulk insert");
    platform
        .db()
        .conn()
        .execute_batch("ANALYZE")
        .expect("analyze");
    platform
}

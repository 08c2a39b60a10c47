//! Access-check latency: a scope check through Flowhost's in-memory access index versus the
//! same rules encoded in Cedar (`cedar-policy`, constant policy set, every tenant as entities),
//! side by side in one process, for 10, 1,000 and 10,000 workspaces.
//!
//! Both sides answer the same precomputed queries (members, other-workspace principals,
//! non-members, an unknown workspace) and must agree on every allow/deny before anything is
//! timed. Targets (issue): a check under 0.5 µs, at least 50× faster than Cedar, and flat
//! (Flowhost at 10,000 workspaces ≤ 1.5× Flowhost at 10).
//!
//! Then access writes (issue 19), on a database file shared by two platforms (two processes):
//! at 10 and 10,000 workspaces of 50 members, a role change's latency in the process that
//! makes it (the whole write: decision, SQL, commit and its index update) and another
//! process's catch-up (`refresh_access`) after it, p50 and p99 (targets < 1 ms each at 10,000);
//! and a sign-in storm of 1,000 SSO logins, each provisioning a member of one workspace.
//! Then the storm again while the 3-step workflow of `benches/workflow.rs` runs without pause
//! on the same platform (two runs in flight, as `serve` beside its web sign-ins would): logins
//! per second, and the runs' p50/p99 during the storm beside the same runs' without it.
//!
//! Run: `cargo bench --bench access_check --features cedar-peer` (Cedar is an optional
//! dependency: its serde_json `preserve_order` would otherwise reach every test build, and
//! it reaches this bench's); `FLOWHOST_BENCH_WRITES_ONLY=1` skips the checks against Cedar (the
//! writes and storms alone, for short runs under `perf`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression,
};
use flowhost::access::{AccessDecision, AccessIndex, BuiltinRole, Reason, RoleName, Scope};
use flowhost::platform::{IndexLoads, Platform};
use flowhost::principal::{Email, Principal};
use flowhost::store::Db;
use flowhost::tenant::{MemberSpec, RoleSpec, RuleSpec, TenantFile, TenantSpec, WorkspaceSpec};
use flowhost::testing::Internals;
use flowhost::wasm::{EngineSettings, StepRuntime};
use flowhost::workflow::{Engine, Quiet, Resolver, Workflow};

#[path = "shared/mod.rs"]
mod shared;

const SIZES: [usize; 3] = [10, 1_000, 10_000];
const QUERIES: usize = 4_096;
/// The best of several rounds: the machine is shared, so the minimum is the least disturbed.
const ROUNDS: usize = 40;
/// Cedar is 100 times slower and far from its target; fewer rounds tell it well enough.
const CEDAR_ROUNDS: usize = 5;
/// Many short rounds rather than a few long ones: finely interleaved, a burst of load from
/// the VM's neighbours falls on every size alike.
const ROUND_BUDGET: Duration = Duration::from_millis(25);
const SEED: u64 = 0x5EED_F10B_0A57_C4EC;

/// The built-in ladder roles handed out to the varying member slots.
const LADDER: [BuiltinRole; 4] = [
    BuiltinRole::Viewer,
    BuiltinRole::Operator,
    BuiltinRole::Creator,
    BuiltinRole::Contributor,
];
const CUSTOM_ROLE: &str = "triage";
/// Member slots per workspace (owner, staff, kiosk, analyst, partner), then one non-member.
const SLOTS: usize = 6;
const STRANGER: usize = 5;
const UNKNOWN_WORKSPACE: &str = "ws-missing";
/// Workspaces in the hot-set query stream: the same working set at every size, so growth in
/// that column would be the index's own, not the CPU caches'.
const HOT_SET: usize = 8;

/// xorshift64*: deterministic queries without a new dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn workspace_name(i: usize) -> String {
    format!("ws-{i}")
}

/// The email in `slot` of workspace `i`. Partners are shared by workspaces `2k` and `2k+1`
/// with different roles, so a role must be tied to its workspace to decide correctly.
fn member_email(i: usize, slot: usize) -> String {
    match slot {
        0 => format!("owner.{i}@bench.test"),
        1 => format!("staff.{i}@bench.test"),
        2 => format!("kiosk.{i}@bench.test"),
        3 => format!("analyst.{i}@bench.test"),
        4 => format!("partner.{}@bench.test", i / 2),
        _ => format!("stranger.{i}@elsewhere.test"),
    }
}

fn member_role(i: usize, slot: usize) -> String {
    match slot {
        0 => BuiltinRole::Owner.name().to_owned(),
        1 => LADDER[i % LADDER.len()].name().to_owned(),
        2 => BuiltinRole::InteractOnly.name().to_owned(),
        3 => CUSTOM_ROLE.to_owned(),
        _ => LADDER[(i + 1) % LADDER.len()].name().to_owned(),
    }
}

/// The custom role's scopes differ between workspaces, so Cedar cannot share one action group.
fn custom_scopes(i: usize) -> Vec<String> {
    let mut scopes = vec!["case.read", "case.write", "interaction.submit"];
    if i.is_multiple_of(3) {
        scopes.push("playbook.execute");
    }
    scopes.into_iter().map(str::to_owned).collect()
}

fn tenant_spec(n: usize) -> TenantSpec {
    let workspaces = (0..n)
        .map(|i| WorkspaceSpec {
            name: workspace_name(i),
            sso_only: false,
            idps: Vec::new(),
            custom_roles: vec![RoleSpec {
                name: CUSTOM_ROLE.to_owned(),
                scopes: custom_scopes(i),
            }],
            members: (0..STRANGER)
                .map(|slot| MemberSpec {
                    email: member_email(i, slot),
                    role: member_role(i, slot),
                    break_glass: false,
                    sso: false,
                })
                .collect(),
            groups: Vec::new(),
            claim_rules: Vec::new(),
        })
        .collect();
    TenantSpec {
        organization: "bench-org".to_owned(),
        workspaces,
    }
}

/// Flowhost as deployed: an in-memory database, the tenant file applied as the console.
fn flowhost_platform(spec: &TenantSpec) -> Platform {
    let text = serde_json::to_string(spec).expect("tenant spec serializes");
    // Parsing validates (owners, roles, scopes) exactly as `flowhost tenant apply` would.
    let file = match TenantFile::parse("bench", &text) {
        Ok(file) => file,
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("bench tenant file is invalid:\n{}", lines.join("\n"));
        }
    };
    let db = Db::open_in_memory().expect("in-memory database");
    let platform = Platform::new(db).expect("platform");
    flowhost::tenant::apply(&platform, &file, None).expect("tenant apply");
    platform
}

/// The Cedar encoding. The policy set is constant: one policy per built-in role over a constant
/// action group (`Action::"role:operator"` holds the operator scopes), checked against the
/// workspace's role group named by an attribute of the workspace; and one policy for the custom
/// role, whose scopes are a per-workspace action group named by the workspace as well. That is
/// one custom-role slot per workspace (all the bench needs); more would take one policy per slot,
/// still independent of the number of workspaces.
fn cedar_policies() -> PolicySet {
    let mut text = String::new();
    for role in BuiltinRole::ALL {
        text.push_str(&format!(
            "permit(principal, action in Action::\"role:{}\", resource) when {{ principal in resource.{} }};\n",
            role.name(),
            role_attr(role.name())
        ));
    }
    text.push_str(
        "permit(principal, action, resource) when { resource has custom_holders && \
         principal in resource.custom_holders && action in resource.custom_actions };\n",
    );
    PolicySet::from_str(&text).expect("Cedar policies parse")
}

fn role_attr(role: &str) -> String {
    format!("role_{}", role.replace('-', "_"))
}

struct Types {
    user: EntityTypeName,
    role: EntityTypeName,
    workspace: EntityTypeName,
    action: EntityTypeName,
}

impl Types {
    fn new() -> Self {
        let ty = |name: &str| EntityTypeName::from_str(name).expect("entity type name");
        Types {
            user: ty("User"),
            role: ty("Role"),
            workspace: ty("Workspace"),
            action: ty("Action"),
        }
    }
}

fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
}

/// Every workspace, role group, user and action of the tenant as one Cedar entity set, built
/// from the same spec Flowhost applied.
fn cedar_entities(spec: &TenantSpec, t: &Types) -> Entities {
    let mut entities = Vec::new();
    let mut user_parents: BTreeMap<String, HashSet<EntityUid>> = BTreeMap::new();
    // Scope name -> the action groups it belongs to.
    let mut action_parents: BTreeMap<&'static str, HashSet<EntityUid>> = BTreeMap::new();
    for role in BuiltinRole::ALL {
        let group = uid(&t.action, &format!("role:{}", role.name()));
        for scope in role.scopes().iter() {
            action_parents
                .entry(scope.name())
                .or_default()
                .insert(group.clone());
        }
        entities.push(Entity::new_no_attrs(group, HashSet::new()));
    }

    for ws in &spec.workspaces {
        let mut attrs = HashMap::new();
        for role in BuiltinRole::ALL {
            let group = uid(&t.role, &format!("{}/{}", ws.name, role.name()));
            attrs.insert(
                role_attr(role.name()),
                RestrictedExpression::new_entity_uid(group.clone()),
            );
            entities.push(Entity::new_no_attrs(group, HashSet::new()));
        }
        assert!(
            ws.custom_roles.len() <= 1,
            "the Cedar encoding has one custom-role slot per workspace"
        );
        for custom in &ws.custom_roles {
            let holders = uid(&t.role, &format!("{}/{}", ws.name, custom.name));
            let actions = uid(&t.action, &format!("custom:{}/{}", ws.name, custom.name));
            for scope in &custom.scopes {
                let scope = Scope::parse(scope).expect("custom role scope");
                action_parents
                    .entry(scope.name())
                    .or_default()
                    .insert(actions.clone());
            }
            attrs.insert(
                "custom_holders".to_owned(),
                RestrictedExpression::new_entity_uid(holders.clone()),
            );
            attrs.insert(
                "custom_actions".to_owned(),
                RestrictedExpression::new_entity_uid(actions.clone()),
            );
            entities.push(Entity::new_no_attrs(holders, HashSet::new()));
            entities.push(Entity::new_no_attrs(actions, HashSet::new()));
        }
        for m in &ws.members {
            let email = Email::parse(&m.email).expect("bench email");
            // Named as Flowhost normalizes role names.
            let role = RoleName::parse(&m.role);
            user_parents
                .entry(email.as_str().to_owned())
                .or_default()
                .insert(uid(&t.role, &format!("{}/{role}", ws.name)));
        }
        let ws_uid = uid(&t.workspace, &ws.name);
        entities.push(Entity::new(ws_uid, attrs, HashSet::new()).expect("workspace entity"));
    }

    for (email, parents) in user_parents {
        entities.push(Entity::new_no_attrs(uid(&t.user, &email), parents));
    }
    for scope in Scope::ALL {
        let parents = action_parents.remove(scope.name()).unwrap_or_default();
        entities.push(Entity::new_no_attrs(uid(&t.action, scope.name()), parents));
    }
    Entities::from_entities(entities, None).expect("Cedar entities")
}

/// One query, prepared for both sides so that only the decision is timed. Cedar's request is
/// boxed so that the query array the Flowhost loop walks stays compact.
struct Query {
    principal: Principal,
    workspace: String,
    scope: Scope,
    request: Box<Request>,
}

/// Queries whose principals and workspaces come from the first `spread` of `n` workspaces.
fn make_queries(n: usize, spread: usize, t: &Types) -> Vec<Query> {
    let mut rng = Rng(SEED ^ ((n as u64) << 20) ^ spread as u64);
    (0..QUERIES)
        .map(|_| {
            let home = rng.below(spread);
            let email = member_email(home, rng.below(SLOTS));
            // Mostly the home workspace; some elsewhere (denials, or the partner's other role).
            let workspace = match rng.below(32) {
                0 => UNKNOWN_WORKSPACE.to_owned(),
                1..=4 => workspace_name(rng.below(spread)),
                5..=8 => workspace_name((home ^ 1).min(n - 1)),
                _ => workspace_name(home),
            };
            let scope = Scope::ALL[rng.below(Scope::ALL.len())];
            let request = Request::new(
                uid(&t.user, &email),
                uid(&t.action, scope.name()),
                uid(&t.workspace, &workspace),
                Context::empty(),
                None,
            )
            .expect("Cedar request");
            Query {
                principal: Principal::local(Email::parse(&email).expect("bench email")),
                workspace,
                scope,
                request: Box::new(request),
            }
        })
        .collect()
}

/// The lowest nanoseconds per call seen over the rounds timed so far, and the calls timed.
struct Best {
    ns: f64,
    calls: u64,
}

impl Best {
    fn new() -> Self {
        Best {
            ns: f64::INFINITY,
            calls: 0,
        }
    }

    /// Times one round: whole passes over the queries (`per_pass` calls each) for at least
    /// `ROUND_BUDGET`.
    fn round(&mut self, per_pass: usize, mut pass: impl FnMut() -> usize) {
        let mut sink = 0;
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < ROUND_BUDGET {
            sink += pass();
            calls += per_pass as u64;
        }
        black_box(sink);
        self.ns = self
            .ns
            .min(start.elapsed().as_nanos() as f64 / calls as f64);
        self.calls += calls;
    }
}

/// One tenant size, built for both sides, with its queries.
struct Setup {
    n: usize,
    platform: Platform,
    entities: Entities,
    queries: Vec<Query>,
    hot: Vec<Query>,
    apply: Duration,
    rebuild: Duration,
    cedar_build: Duration,
}

fn prepare(n: usize, policies: &PolicySet, t: &Types) -> Setup {
    // The queries are made before the tenant: a caller's principal and workspace name are
    // fresh in its cache when it asks. Made after, their strings came from the free lists of
    // the heap that building 10,000 workspaces (and their Cedar entities) had fragmented, one
    // to a cache line and a page, and that row paid about 13 ns per check to fetch its own inputs.
    let queries = make_queries(n, n, t);
    let hot = make_queries(n, n.min(HOT_SET), t);
    let spec = tenant_spec(n);
    let started = Instant::now();
    let platform = flowhost_platform(&spec);
    let apply = started.elapsed();

    // A whole load: start-up, and a process further behind than the change log (issue 19).
    let started = Instant::now();
    let rebuilt = AccessIndex::load(platform.db().conn()).expect("index rebuild");
    let rebuild = started.elapsed();
    drop(rebuilt);

    let started = Instant::now();
    let entities = cedar_entities(&spec, t);
    let cedar_build = started.elapsed();

    let index = platform.index();
    let authorizer = Authorizer::new();
    agree(&hot, &index, &authorizer, policies, &entities);
    let (allowed, missing, not_member, unknown) =
        agree(&queries, &index, &authorizer, policies, &entities);
    println!(
        "{n:>6} workspaces: {} queries, {allowed} allowed, {} denied ({missing} scope not in role, \
         {not_member} not a member, {unknown} unknown workspace); Flowhost and Cedar agree on all",
        queries.len(),
        queries.len() - allowed,
    );
    Setup {
        n,
        platform,
        entities,
        queries,
        hot,
        apply,
        rebuild,
        cedar_build,
    }
}

/// The Flowhost figures of one size: the index over all queries, over the hot set, and the
/// path services take (lock, clone the index snapshot, then check).
struct FlowhostTimes {
    index: Best,
    hot: Best,
    platform: Best,
}

/// Times Flowhost at every size in interleaved rounds (size after size, round after round), so
/// that a burst of load from other tenants of this shared machine falls on all sizes alike
/// instead of on whichever size was being timed; the best round of each is kept.
fn time_flowhost(setups: &[Setup]) -> Vec<FlowhostTimes> {
    let mut times: Vec<FlowhostTimes> = setups
        .iter()
        .map(|_| FlowhostTimes {
            index: Best::new(),
            hot: Best::new(),
            platform: Best::new(),
        })
        .collect();
    for _ in 0..ROUNDS {
        for (setup, times) in setups.iter().zip(&mut times) {
            let index = setup.platform.index();
            let queries = &setup.queries;
            times
                .index
                .round(queries.len(), || flowhost_pass(&index, queries));
            times
                .hot
                .round(setup.hot.len(), || flowhost_pass(&index, &setup.hot));
            times.platform.round(queries.len(), || {
                queries
                    .iter()
                    .filter(|q| {
                        black_box(setup.platform.check(
                            black_box(&q.principal),
                            black_box(&q.workspace),
                            black_box(q.scope),
                        ))
                        .allowed()
                    })
                    .count()
            });
        }
    }
    times
}

/// Times Cedar at one size over the same queries.
fn time_cedar(setup: &Setup, policies: &PolicySet) -> Best {
    let authorizer = Authorizer::new();
    let mut best = Best::new();
    for _ in 0..CEDAR_ROUNDS {
        best.round(setup.queries.len(), || {
            setup
                .queries
                .iter()
                .filter(|q| {
                    black_box(authorizer.is_authorized(
                        black_box(&q.request),
                        policies,
                        &setup.entities,
                    ))
                    .decision()
                        == Decision::Allow
                })
                .count()
        });
    }
    best
}

/// The figures of one size, as printed.
struct Row {
    n: usize,
    apply: Duration,
    rebuild: Duration,
    cedar_build: Duration,
    index_ns: f64,
    hot_ns: f64,
    platform_ns: f64,
    cedar_ns: f64,
    calls: (u64, u64),
}

/// Allowed checks in one pass of Flowhost over `queries`.
fn flowhost_pass(index: &AccessIndex, queries: &[Query]) -> usize {
    queries
        .iter()
        .filter(|q| {
            black_box(index.check(
                black_box(&q.principal),
                black_box(&q.workspace),
                black_box(q.scope),
            ))
            .allowed()
        })
        .count()
}

/// Asserts that both sides decide every query alike (Flowhost is the reference); returns the
/// allowed count and the denials by reason: scope not in role, not a member, unknown workspace.
fn agree(
    queries: &[Query],
    index: &AccessIndex,
    authorizer: &Authorizer,
    policies: &PolicySet,
    entities: &Entities,
) -> (usize, usize, usize, usize) {
    let (mut allowed, mut missing, mut not_member, mut unknown) = (0, 0, 0, 0);
    for q in queries {
        let ours = index.check(&q.principal, &q.workspace, q.scope);
        let cedar = authorizer.is_authorized(&q.request, policies, entities);
        assert_eq!(
            ours.allowed(),
            cedar.decision() == Decision::Allow,
            "Flowhost and Cedar disagree on {} in `{}` for `{}`: Flowhost says {}; Cedar {:?} ({:?})",
            q.principal,
            q.workspace,
            q.scope,
            ours.reason(),
            cedar.decision(),
            cedar
                .diagnostics()
                .errors()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
        match ours {
            AccessDecision::Allowed(_) => allowed += 1,
            AccessDecision::Denied(Reason::Missing { .. }) => missing += 1,
            AccessDecision::Denied(Reason::NotMember { .. }) => not_member += 1,
            AccessDecision::Denied(Reason::UnknownWorkspace(_)) => unknown += 1,
            AccessDecision::Denied(other) => {
                panic!("unexpected decision reason in the bench: {other}")
            }
        }
    }
    (allowed, missing, not_member, unknown)
}

// ---------------------------------------------------------------------------------------------
// Access writes (issue 19).

const WRITE_SIZES: [usize; 2] = [10, 10_000];
/// Members per workspace in the write bench.
const WRITE_MEMBERS: usize = 50;
/// Role changes timed per size.
const WRITES: usize = 400;
/// SSO logins in the sign-in storm.
const LOGINS: usize = 1_000;
/// The claim every storm login carries, matched by each workspace's one claim rule.
const SSO_GROUP: &str = "analysts";

fn write_member(i: usize, j: usize) -> String {
    format!("m{j}.{i}@bench.test")
}

fn idp(i: usize) -> String {
    format!("idp-{i}")
}

/// `n` workspaces of `WRITE_MEMBERS` members (an Owner, the rest on the ladder), each trusting
/// its own IdP with one claim rule.
fn write_tenant(n: usize) -> TenantSpec {
    let workspaces = (0..n)
        .map(|i| WorkspaceSpec {
            name: workspace_name(i),
            sso_only: false,
            idps: vec![idp(i)],
            custom_roles: Vec::new(),
            members: (0..WRITE_MEMBERS)
                .map(|j| MemberSpec {
                    email: write_member(i, j),
                    role: if j == 0 {
                        BuiltinRole::Owner.name().to_owned()
                    } else {
                        LADDER[j % LADDER.len()].name().to_owned()
                    },
                    break_glass: false,
                    sso: false,
                })
                .collect(),
            groups: Vec::new(),
            claim_rules: vec![RuleSpec {
                claim: "groups".to_owned(),
                value: SSO_GROUP.to_owned(),
                role: BuiltinRole::Viewer.name().to_owned(),
            }],
        })
        .collect();
    TenantSpec {
        organization: "bench-org".to_owned(),
        workspaces,
    }
}

/// The figures of one size of the write bench.
struct WriteRow {
    n: usize,
    apply: Duration,
    full_load: Duration,
    /// p50, p90, p99.
    write: (Duration, Duration, Duration),
    catch_up: (Duration, Duration, Duration),
    /// What the catching-up process reloaded over all the writes.
    loads: IndexLoads,
    /// Logins per second, and a login's p99.
    storm: Option<(f64, Duration)>,
    /// The other process's catch-up after the whole storm.
    storm_catch_up: Option<(Duration, IndexLoads)>,
    /// The storm again, with runs executing beside it.
    storm_with_runs: Option<StormWithRuns>,
}

/// Runs in flight while the storm runs (one per core of the 2-core bench machine).
const RUNS_IN_FLIGHT: usize = 2;
/// Runs timed without the storm, for comparison.
const QUIET_RUNS: usize = 1_000;

/// Runs' latency and rate over one stretch.
struct RunFigures {
    runs: usize,
    per_s: f64,
    p50: Duration,
    p99: Duration,
}

/// The sign-in storm with runs executing beside it.
struct StormWithRuns {
    logins_per_s: f64,
    login_p99: Duration,
    without: RunFigures,
    during: RunFigures,
}

/// The 3-step workflow of `benches/workflow.rs` (two WASM steps, then a case created by the
/// built-in step) in `workspace`.
fn three_step(workspace: &str) -> (Workflow, String) {
    let text = serde_json::json!({ "name": "three", "workspace": workspace, "steps": shared::three_steps() })
        .to_string();
    let wf = flowhost::workflow::parse("storm", &text, &Resolver::default()).expect("valid");
    (wf, text)
}

/// Runs the workflow on `RUNS_IN_FLIGHT` threads, `total` runs in all, or until `stop` is
/// set when `total` is `None`; every run must succeed.
fn run_workflows(
    engine: &Engine,
    (wf, text): &(Workflow, String),
    owner: &Principal,
    total: Option<usize>,
    stop: &AtomicBool,
) -> RunFigures {
    let started = Instant::now();
    let mut times: Vec<Duration> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..RUNS_IN_FLIGHT)
            .map(|_| {
                s.spawn(|| {
                    let mut times = Vec::new();
                    while total.map_or(!stop.load(Ordering::Relaxed), |t| {
                        times.len() < t / RUNS_IN_FLIGHT
                    }) {
                        let one = Instant::now();
                        let outcome = engine
                            .run_manual(
                                wf,
                                text,
                                "storm",
                                owner.clone(),
                                serde_json::json!({}),
                                &Quiet,
                            )
                            .expect("run");
                        assert!(outcome.error.is_none(), "{:?}", outcome.error);
                        times.push(one.elapsed());
                    }
                    times
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("a run thread panicked"))
            .collect()
    });
    let per_s = times.len() as f64 / started.elapsed().as_secs_f64();
    let (p50, _, p99) = percentiles(&mut times);
    RunFigures {
        runs: times.len(),
        per_s,
        p50,
        p99,
    }
}

/// `LOGINS` SSO logins of new people into the `n` workspaces of `platform`, each through its
/// workspace's IdP, emails starting `prefix`: logins per second and a login's p99.
fn sign_in_storm(platform: &Platform, n: usize, prefix: &str) -> (f64, Duration) {
    let mut logins = Vec::with_capacity(LOGINS);
    let started = Instant::now();
    for k in 0..LOGINS {
        let ws = (k * 7_919) % n;
        let claims = serde_json::json!({
            "email": format!("{prefix}.{k}@bench.test"),
            "groups": [SSO_GROUP],
        });
        let one = Instant::now();
        let results = platform
            .admin()
            .sso_login(&idp(ws), &claims)
            .expect("login");
        logins.push(one.elapsed());
        assert_eq!(results.len(), 1, "one workspace trusts idp-{ws}");
    }
    let per_s = LOGINS as f64 / started.elapsed().as_secs_f64();
    let (_, _, p99) = percentiles(&mut logins);
    (per_s, p99)
}

/// The storm again on `platform` (its database file in `dir`), this time while the 3-step
/// workflow runs without pause in workspace 0, as its Owner; first the same runs alone.
fn storm_with_runs(platform: &Arc<Platform>, dir: &std::path::Path, n: usize) -> StormWithRuns {
    let runtime = Arc::new(
        StepRuntime::new(&EngineSettings::default(), Some(dir.join("cache"))).expect("runtime"),
    );
    let engine = Engine::new(platform.clone(), runtime, vec![]);
    let owner = Principal::local(Email::parse(&write_member(0, 0)).expect("email"));
    let workflow = three_step(&workspace_name(0));
    let stop = AtomicBool::new(false);
    // Warm up: compile and cache the components.
    run_workflows(&engine, &workflow, &owner, Some(20), &stop);
    let without = run_workflows(&engine, &workflow, &owner, Some(QUIET_RUNS), &stop);
    let (during, (logins_per_s, login_p99)) = std::thread::scope(|s| {
        let runs = s.spawn(|| run_workflows(&engine, &workflow, &owner, None, &stop));
        let storm = sign_in_storm(platform, n, "sso.beside-runs");
        stop.store(true, Ordering::Relaxed);
        (runs.join().expect("the run threads panicked"), storm)
    });
    StormWithRuns {
        logins_per_s,
        login_p99,
        without,
        during,
    }
}

/// p50, p90 and p99 of `times` (sorted here).
fn percentiles(times: &mut [Duration]) -> (Duration, Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.50), at(0.90), at(0.99))
}

fn loads_since(p: &Platform, before: IndexLoads) -> IndexLoads {
    let now = p.index_loads();
    IndexLoads {
        full: now.full - before.full,
        workspaces: now.workspaces - before.workspaces,
    }
}

fn time_writes(n: usize, storm: bool) -> WriteRow {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("flowhost.db");
    let writer = Arc::new(Platform::new(Db::open(&path).expect("database")).expect("platform"));
    let text = serde_json::to_string(&write_tenant(n)).expect("tenant spec serializes");
    let file = TenantFile::parse("bench-writes", &text).expect("bench tenant is valid");
    let started = Instant::now();
    flowhost::tenant::apply(&writer, &file, None).expect("tenant apply");
    let apply = started.elapsed();
    // Another process on the same file.
    let other = Platform::new(Db::open(&path).expect("database")).expect("platform");

    // What every committed write paid before issue 19: the best of three whole loads.
    let full_load = (0..3)
        .map(|_| {
            let started = Instant::now();
            drop(AccessIndex::load(other.db().conn()).expect("load"));
            started.elapsed()
        })
        .min()
        .unwrap_or_default();

    let mut rng = Rng(SEED ^ n as u64);
    let (mut writes, mut catch_ups) = (Vec::new(), Vec::new());
    let before = other.index_loads();
    for k in 0..WRITES {
        let ws = rng.below(n);
        let member = 1 + rng.below(WRITE_MEMBERS - 1);
        let role = LADDER[k % LADDER.len()];
        let owner = Principal::local(Email::parse(&write_member(ws, 0)).expect("email"));
        let email = write_member(ws, member);
        let started = Instant::now();
        writer
            .admin()
            .set_user_role(&owner, &workspace_name(ws), &email, role.name())
            .expect("role change");
        writes.push(started.elapsed());
        let started = Instant::now();
        other.refresh_access().expect("refresh");
        catch_ups.push(started.elapsed());
        // The other process decides with the new role at once.
        let person = Principal::local(Email::parse(&email).expect("email"));
        let expect = role.scopes().contains(Scope::PlaybookExecute);
        let got = other
            .check(&person, &workspace_name(ws), Scope::PlaybookExecute)
            .allowed();
        assert_eq!(got, expect, "{email} as {} in ws-{ws}", role.name());
    }
    let loads = loads_since(&other, before);

    let (storm, storm_catch_up) = if storm {
        let (per_s, p99) = sign_in_storm(&writer, n, "sso");
        let before = other.index_loads();
        let started = Instant::now();
        other.refresh_access().expect("refresh");
        let catch_up = started.elapsed();
        let sso = Principal::sso(Email::parse("sso.999@bench.test").expect("email"));
        let ws = workspace_name((999 * 7_919) % n);
        assert!(other.check(&sso, &ws, Scope::CaseRead).allowed());
        (
            Some((per_s, p99)),
            Some((catch_up, loads_since(&other, before))),
        )
    } else {
        (None, None)
    };
    let storm_with_runs = storm.map(|_| storm_with_runs(&writer, dir.path(), n));

    WriteRow {
        n,
        apply,
        full_load,
        write: percentiles(&mut writes),
        catch_up: percentiles(&mut catch_ups),
        loads,
        storm,
        storm_catch_up,
        storm_with_runs,
    }
}

fn print_writes(rows: &[WriteRow]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "\naccess writes, {WRITE_MEMBERS} members a workspace, {WRITES} role changes each, on a \
         database file shared by two platforms:"
    );
    println!(
        "{:>10} {:>9} {:>13} {:>26} {:>26} {:>20}",
        "workspaces",
        "apply s",
        "full load ms",
        "write p50/p90/p99 ms",
        "catch-up p50/p90/p99 ms",
        "reloaded (full/ws)"
    );
    let three =
        |t: (Duration, Duration, Duration)| format!("{:.3}/{:.3}/{:.3}", ms(t.0), ms(t.1), ms(t.2));
    for r in rows {
        println!(
            "{:>10} {:>9.2} {:>13.1} {:>26} {:>26} {:>20}",
            r.n,
            r.apply.as_secs_f64(),
            ms(r.full_load),
            three(r.write),
            three(r.catch_up),
            format!("{}/{}", r.loads.full, r.loads.workspaces),
        );
    }
    for r in rows {
        if let (Some((per_s, p99)), Some((catch_up, loads))) = (r.storm, r.storm_catch_up) {
            println!(
                "sign-in storm at {} workspaces: {LOGINS} SSO logins (each provisions a member of \
                 one workspace): {per_s:.0} logins/s, p99 {:.3} ms; the other process caught up \
                 with all of them in {:.1} ms ({} full loads, {} workspaces reloaded)",
                r.n,
                ms(p99),
                ms(catch_up),
                loads.full,
                loads.workspaces
            );
        }
    }
    for r in rows {
        if let Some(s) = &r.storm_with_runs {
            let runs = |f: &RunFigures| {
                format!(
                    "{} runs, {:.0} runs/s, p50 {:.3} ms, p99 {:.3} ms",
                    f.runs,
                    f.per_s,
                    ms(f.p50),
                    ms(f.p99)
                )
            };
            println!(
                "sign-in storm at {} workspaces while the 3-step workflow runs ({RUNS_IN_FLIGHT} in \
                 flight, same platform): {:.0} logins/s, login p99 {:.3} ms;\n  runs during the \
                 storm: {}\n  runs without it:    {}",
                r.n,
                s.logins_per_s,
                ms(s.login_p99),
                runs(&s.during),
                runs(&s.without)
            );
        }
    }
    let last = &rows[rows.len() - 1];
    println!(
        "targets at {} workspaces: write p99 < 1 ms: {:.3} ms, {}; catch-up p99 < 1 ms: {:.3} ms, {}",
        last.n,
        ms(last.write.2),
        verdict(last.write.2 < Duration::from_millis(1)),
        ms(last.catch_up.2),
        verdict(last.catch_up.2 < Duration::from_millis(1)),
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn main() {
    if std::env::var_os("FLOWHOST_BENCH_WRITES_ONLY").is_none() {
        compare_checks();
    }
    let writes: Vec<WriteRow> = WRITE_SIZES
        .iter()
        .map(|&n| time_writes(n, n == WRITE_SIZES[WRITE_SIZES.len() - 1]))
        .collect();
    print_writes(&writes);
    println!("command: cargo bench --bench access_check --features cedar-peer");
}

/// Flowhost's checks against Cedar's at every size, and the targets.
fn compare_checks() {
    let types = Types::new();
    let policies = cedar_policies();
    println!(
        "access_check: Flowhost AccessIndex::check vs Cedar Authorizer::is_authorized \
         ({} constant Cedar policies, {QUERIES} precomputed queries per size)\n",
        policies.policies().count()
    );
    let setups: Vec<Setup> = SIZES
        .iter()
        .map(|&n| prepare(n, &policies, &types))
        .collect();
    let flowhost = time_flowhost(&setups);
    let rows: Vec<Row> = setups
        .iter()
        .zip(flowhost)
        .map(|(setup, times)| {
            let cedar = time_cedar(setup, &policies);
            Row {
                n: setup.n,
                apply: setup.apply,
                rebuild: setup.rebuild,
                cedar_build: setup.cedar_build,
                index_ns: times.index.ns,
                hot_ns: times.hot.ns,
                platform_ns: times.platform.ns,
                cedar_ns: cedar.ns,
                calls: (times.index.calls, cedar.calls),
            }
        })
        .collect();

    println!(
        "\nns per check, best of {ROUNDS} interleaved rounds (Cedar: {CEDAR_ROUNDS}) of >= {} ms each:",
        ROUND_BUDGET.as_millis()
    );
    println!(
        "{:>10} {:>12} {:>8} {:>15} {:>10} {:>12} {:>10} {:>12} {:>10} {:>14}",
        "workspaces",
        "flowhost ns",
        "hot set",
        "platform.check",
        "cedar ns",
        "cedar/flowh.",
        "apply s",
        "rebuild ms",
        "cedar s",
        "checks timed"
    );
    for r in &rows {
        println!(
            "{:>10} {:>12.1} {:>8.1} {:>15.1} {:>10.1} {:>11.1}x {:>10.2} {:>12.1} {:>10.2} {:>7}k/{}k",
            r.n,
            r.index_ns,
            r.hot_ns,
            r.platform_ns,
            r.cedar_ns,
            r.cedar_ns / r.index_ns,
            r.apply.as_secs_f64(),
            r.rebuild.as_secs_f64() * 1e3,
            r.cedar_build.as_secs_f64(),
            r.calls.0 / 1000,
            r.calls.1 / 1000,
        );
    }
    println!(
        "flowhost ns: AccessIndex::check, queries spread over all workspaces; hot set: the same \
         over {HOT_SET} workspaces at every size;\n\
         platform.check: Platform::check (index snapshot + check), same queries as flowhost ns; \
         cedar ns: Authorizer::is_authorized, same queries;\n\
         apply s: tenant file applied in one transaction; rebuild ms: one AccessIndex::load (what \
         every committed write paid before issue 19; now start-up and a process far behind);\n\
         cedar s: building the Cedar entity set; checks timed: Flowhost/Cedar, all rounds"
    );

    let worst = rows.iter().map(|r| r.index_ns).fold(0.0, f64::max);
    let ratio = rows
        .iter()
        .map(|r| r.cedar_ns / r.index_ns)
        .fold(f64::INFINITY, f64::min);
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    let flat = last.index_ns / first.index_ns;
    let hot_flat = last.hot_ns / first.hot_ns;
    println!(
        "\ntargets: check < 500 ns: worst {worst:.1} ns, {}; >= 50x faster than Cedar: worst {ratio:.1}x, {}; \
         flat <= 1.5x from {} to {} workspaces: {flat:.2}x, {}",
        verdict(worst < 500.0),
        verdict(ratio >= 50.0),
        first.n,
        last.n,
        verdict(flat <= 1.5),
    );
    println!(
        "(hot set, {} to {} workspaces: {hot_flat:.2}x; if this stays flat while the flowhost \
         column grows, the growth comes from the spread of the queries, not from the lookups)",
        first.n, last.n
    );
}

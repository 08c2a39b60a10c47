/**
 * The Flowhost step SDK for JavaScript and TypeScript: the typed surface of the Rust SDK
 * (`steps/sdk`), for components built with componentize-qjs (QuickJS, `--sync`).
 *
 * A step is a function from a JSON input to a JSON output; export it as `run`:
 *
 * ```ts
 * import { step, log, InvalidInput } from "./flowhost-step";
 *
 * interface Input { name: string }
 *
 * export const run = step((input: Input) => {
 *   log.info(`greeting ${input.name}`);
 *   return { greeting: `hello, ${input.name}` };
 * }, (raw) => {
 *   if (typeof raw.name !== "string") throw new InvalidInput("`name` must be a string");
 *   return raw as Input;
 * });
 * ```
 *
 * TypeScript types are erased at run time, so the optional second argument decodes (checks)
 * the parsed input into the step's type; `InvalidInput` thrown there or in the step fails it
 * as `invalid-input`, `Failed` as `failed`, an uncaught `HostError` as `host(...)`, and any
 * other throw as `failed` with its message and stack trace.
 */

// The host interfaces, resolved by componentize-qjs at build time (esbuild leaves them be).
// @ts-ignore -- no type declarations for WIT imports
import witCases from "flowhost:step/cases@0.1.0";
// @ts-ignore
import witAccess from "flowhost:step/access@0.1.0";
// @ts-ignore
import witEvents from "flowhost:step/events@0.1.0";
// @ts-ignore
import witLog from "flowhost:step/log@0.1.0";

export type AccessMode = "full-access" | "restricted";
export type Severity = "low" | "medium" | "high" | "critical";
export type HostErrorKind = "denied" | "not-found" | "invalid" | "conflict" | "internal";

/** A case as the run's principal sees it (SPEC CS-1). Step code reads it as the WIT spells
 *  it (`c.accessMode === "full-access"`, `c.fieldsJson` text); in an output or an event
 *  payload it is written as the host's case JSON has it (`access_mode: "full_access"`,
 *  `fields` an object), as Python and the built-in steps write it (round 26 steps review). */
export interface CaseRecord {
  id: string;
  title: string;
  description: string;
  severity: Severity;
  state: string;
  reporter: string | null;
  assignee: string | null;
  reviewers: string[];
  accessMode: AccessMode;
  collaborators: string[];
  fieldsJson: string;
  createdAt: string;
  updatedAt: string;
}

/** The access restriction of one case; written as the host's JSON has it (`access_mode`,
 *  `full_access`), as a [`CaseRecord`] is. */
export interface Restrictions {
  accessMode: AccessMode;
  collaborators: string[];
}

/** An allow/deny answer with its reason (SPEC RB-3). */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/** Input of *Create a case*. */
export interface NewCase {
  title: string;
  description: string;
  severity: Severity;
  state?: string | null;
  assignee?: string | null;
  reviewers?: string[];
  accessMode?: AccessMode | null;
  collaborators?: string[];
  fieldsJson?: string | null;
}

/** Filters of *Query cases*. */
export interface CaseFilter {
  accessMode?: AccessMode | null;
  state?: string | null;
  severity?: Severity | null;
  assignee?: string | null;
  text?: string | null;
}

export type CaseSort = "created-desc" | "created-asc" | "updated-desc" | "severity-desc";

export interface CaseQuery {
  filter?: CaseFilter;
  sort?: CaseSort;
  pageSize?: number;
  cursor?: string | null;
}

/** One page of visible cases; written as the host's JSON has it (`next_cursor`), as a
 *  [`CaseRecord`] is. */
export interface CasePage {
  cases: CaseRecord[];
  nextCursor: string | null;
}

export interface RestrictionUpdate {
  accessMode?: AccessMode | null;
  setCollaborators?: string[] | null;
  addCollaborators?: string[];
  removeCollaborators?: string[];
}

/** The input JSON did not have the shape the step needs (`invalid-input`). */
export class InvalidInput extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidInput";
  }
}

/** Any other failure, described for the person reading the run (`failed`). */
export class Failed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Failed";
  }
}

const HOST_KINDS: HostErrorKind[] = ["denied", "not-found", "invalid", "conflict", "internal"];

/** A host call did not succeed; `kind` is the WIT case a step branches on. */
export class HostError extends Error {
  readonly kind: HostErrorKind;
  readonly detail: string;
  constructor(kind: HostErrorKind, detail: string) {
    // The host's JSON spelling (`not_found`) is the WIT case too; a kind of neither is
    // refused here, by name: the bindings aborted the whole step on it (round 17 review).
    const wit = String(kind).replace(/_/g, "-") as HostErrorKind;
    if (!HOST_KINDS.includes(wit)) {
      throw new Failed(`HostError: kind ${JSON.stringify(kind)} is none of ${HOST_KINDS.join(", ")}`);
    }
    super(`${wit}: ${detail}`);
    this.name = "HostError";
    this.kind = wit;
    this.detail = String(detail);
  }

  /** Whether it is of `kind`, in either spelling (`not-found`, `not_found`): `kind` itself
   *  is the WIT's, so `e.kind === "not_found"` never holds (round 19 steps review). */
  is(kind: string): boolean {
    return this.kind === String(kind).replace(/_/g, "-");
  }
}

/** What a host record's `toJSON` cannot write as the host's JSON (a case's `fieldsJson` that
 *  is no JSON): [`toJson`] says where it was writing, as Python's `_Unwritable` is told. */
class Unwritable extends Error {}

/** A WIT enum's case as the host's JSON spells it (`full-access` as `full_access`), as the
 *  Python SDK writes one. */
function hostWord(value: unknown): unknown {
  return typeof value === "string" ? value.replace(/-/g, "_") : value;
}

/** The first integer of JSON `text` that a JavaScript number does not hold exactly, if any:
 *  parsed, it would be written back as another number without a word, where Python and the
 *  built-in steps write it as it is. */
function inexactInteger(text: string): string | undefined {
  // Strings are matched too, so that the digits inside one are not read as a number.
  const tokens = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
  for (const [token] of text.matchAll(tokens)) {
    if (!/^-?\d+$/.test(token) || Number.isSafeInteger(Number(token))) continue;
    if (BigInt(token) !== BigInt(Number(token))) return token;
  }
  return undefined;
}

/** A case's `fieldsJson` as the host's case JSON has it, `fields`, an object; one that is no
 *  JSON is refused, as Python refuses it. Fields holding an integer a JavaScript number does
 *  not hold exactly are written as their text, `fields_json`: parsed, the number would be
 *  written back as another, and refused, one person's case data failed every step that
 *  wrote the case out (round 26 self-review). */
function caseFields(record: CaseRecord): { fields: unknown } | { fields_json: string } {
  const given: unknown = record.fieldsJson;
  if (given === null || given === undefined) return { fields: null };
  let fields: unknown;
  try {
    if (typeof given !== "string") throw new TypeError("not text");
    fields = JSON.parse(given);
  } catch {
    throw new Unwritable(`case ${JSON.stringify(record.id)}: \`fieldsJson\` is not JSON`);
  }
  if (inexactInteger(given as string) !== undefined) {
    return { fields_json: given as string };
  }
  return { fields };
}

/** `record`, given a non-enumerable `toJSON` that writes it as `json` says: step code reads
 *  the WIT's shape (`c.accessMode`), an output or a payload holds the host's (round 26 steps
 *  review: the same step wrote `accessMode`, `fieldsJson` text and `full-access` in JS and
 *  `access_mode`, `fields` and `full_access` in Python). A record the bindings gave frozen is
 *  copied first. */
function writtenAs<T extends object>(record: T, json: (r: T) => object): T {
  const own = Object.isExtensible(record) ? record : { ...record };
  Object.defineProperty(own, "toJSON", {
    value: () => json(own),
    enumerable: false,
    configurable: true,
    writable: true,
  });
  return own;
}

/** A case record the host returned, written as the host's `CaseRecord` (SPEC CS-1). */
function hostCase(record: CaseRecord): CaseRecord {
  return writtenAs(record, (c) => ({
    id: c.id,
    title: c.title,
    description: c.description,
    severity: hostWord(c.severity),
    state: c.state,
    reporter: c.reporter ?? null,
    assignee: c.assignee ?? null,
    reviewers: c.reviewers,
    access_mode: hostWord(c.accessMode),
    collaborators: c.collaborators,
    ...caseFields(c),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  }));
}

/** A page the host returned, written as the host's `CasePage`, each case as [`hostCase`]. */
function hostPage(page: CasePage): CasePage {
  const own = writtenAs(page, (p) => ({ cases: p.cases, next_cursor: p.nextCursor ?? null }));
  if (Array.isArray(own.cases)) own.cases = own.cases.map(hostCase);
  return own;
}

/** Restrictions the host returned, written as the host's `Restrictions`. */
function hostRestrictions(restrictions: Restrictions): Restrictions {
  return writtenAs(restrictions, (r) => ({
    access_mode: hostWord(r.accessMode),
    collaborators: r.collaborators,
  }));
}

/** A UTF-16 surrogate without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `value` as JSON text, refusing what JSON has no number for (NaN, the infinities) rather
 *  than writing `null`, as Python's encoder refuses them: `what` names it in the error. */
function toJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, replacer(what));
  } catch (e) {
    if (e instanceof Unwritable) throw new Failed(`${what}: ${e.message}`);
    throw e;
  }
  // `undefined`, or what a `toJSON()` gives as `undefined`, is no JSON text: handed on, the
  // bindings trapped lowering it as a string (round 21 review).
  if (text === undefined) {
    throw new Failed(`${what}: not representable as JSON`);
  }
  return text;
}

/** The checks of [`toJson`], `what` naming what it writes. */
function replacer(what: string): (key: string, v: any) => unknown {
  return (key, v) => {
    // A key is text too: cut inside a character, it reached the host as `\udXXX` (review).
    if (LONE_SURROGATE.test(key)) {
      throw new Failed(
        `${what}: a key holds a lone UTF-16 surrogate (text cut inside a character); ` +
          "cut text by code points (Array.from) instead",
      );
    }
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new Failed(`${what}: ${v} is not a JSON number`);
    }
    // Half of a pair, as `slice()` leaves an emoji cut in two: JSON.stringify writes it as
    // `\udXXX`, which the host refuses, naming neither the field nor the cause (review).
    if (typeof v === "string" && LONE_SURROGATE.test(v)) {
      throw new Failed(
        `${what}: a string holds a lone UTF-16 surrogate (text cut inside a character); ` +
          "cut text by code points (Array.from) instead",
      );
    }
    // What JSON.stringify would write as something else without a word: a Promise (an
    // `async` step's output) and a Map or a Set as `{}`, a function or a symbol left out.
    if (typeof v?.then === "function") {
      throw new Failed(`${what}: a Promise; a step returns its output synchronously (no async)`);
    }
    if (v instanceof Map || v instanceof Set) {
      throw new Failed(`${what}: a ${v instanceof Map ? "Map" : "Set"} is not JSON; use an object or an array`);
    }
    if (typeof v === "function" || typeof v === "symbol") {
      throw new Failed(`${what}: a ${typeof v} is not JSON`);
    }
    // Written as `{}` or as an object keyed by index: an Error (its message is not its own
    // enumerable field), a RegExp, binary data (review).
    if (v instanceof Error) {
      throw new Failed(`${what}: an Error is not JSON; pass its message (\`e.message\`)`);
    }
    if (v instanceof RegExp || v instanceof WeakMap || v instanceof WeakSet) {
      throw new Failed(`${what}: a ${v.constructor.name} is not JSON`);
    }
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
      throw new Failed(`${what}: binary data (${v.constructor.name}) is not JSON; encode it as text`);
    }
    return v;
  };
}

/** The WIT variant a failed import throws, as a HostError. */
function hostError(thrown: unknown): HostError {
  const v = (thrown as { payload?: unknown })?.payload ?? thrown;
  const tagged = v as { tag?: string; val?: unknown };
  if (tagged && typeof tagged.tag === "string" && HOST_KINDS.includes(tagged.tag as HostErrorKind)) {
    return new HostError(tagged.tag as HostErrorKind, String(tagged.val ?? ""));
  }
  return new HostError("internal", String(thrown));
}

function hostCall<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    // Only the host's refusal (a WIT `host-error`, tagged) is a HostError; anything else is
    // the step's own (a TypeError building the call), not "the host failed; may retry".
    const v = (e as { payload?: unknown })?.payload ?? e;
    if (typeof (v as { tag?: unknown })?.tag === "string") throw hostError(e);
    throw e;
  }
}

/**
 * Refuses a field of `given` this SDK does not read: one it dropped reached the host as
 * nothing, so `{access_mode: "restricted"}` (the host's and the Rust and Python SDKs'
 * spelling) left a case full-access, and the host answered a restriction update of no change
 * as done (round 15 review). A snake_case name is told its spelling here.
 */
/**
 * A list of emails a host record takes: absent is the host's default, an empty list; `null`
 * or anything but a list of text is refused naming it, as the host and the other SDKs refuse
 * it (round 16 review: `removeCollaborators: null` read as `[]` removed nobody, and the step
 * reported success).
 */
function people(given: unknown, field: string, what: string): string[] {
  if (given === undefined) return [];
  if (!Array.isArray(given)) {
    throw new Failed(`${what}: \`${field}\` must be a list of emails, not ${given === null ? "null" : typeof given}`);
  }
  // `Array.from` visits a sparse list's holes too (as `undefined`, refused): `map` left
  // them holes, which reached the bindings.
  return Array.from(given, (e, i) => text(e, `${field}[${i}]`, what));
}

/**
 * `given` as one of `allowed` (the WIT spelling), the host's JSON spelling (`full_access`,
 * `created_desc`) read as the same; anything else is refused naming `field`. Types are erased,
 * not checked: the bindings aborted the whole step on a value outside the enum, past any
 * `catch` (round 17 steps review).
 */
function oneOf<T extends string>(given: unknown, allowed: readonly T[], field: string, what: string): T {
  const wit = typeof given === "string" ? given.replace(/_/g, "-") : given;
  if (typeof wit === "string" && (allowed as readonly string[]).includes(wit)) return wit as T;
  throw new Failed(
    `${what}: \`${field}\` must be one of ${allowed.join(", ")}, not ${JSON.stringify(given) ?? typeof given}`,
  );
}

/** [`oneOf`] for a field that may be left out (`null`). */
function optOneOf<T extends string>(given: unknown, allowed: readonly T[], field: string, what: string): T | null {
  return given === undefined || given === null ? null : oneOf(given, allowed, field, what);
}

/** `given` as text, refused naming `field` otherwise (a number traps in the bindings). */
function text(given: unknown, field: string, what: string): string {
  if (typeof given !== "string") {
    throw new Failed(`${what}: \`${field}\` must be text, not ${given === null ? "null" : typeof given}`);
  }
  // Half of a pair the bindings cannot lower: the whole step aborted past any `catch`
  // (round 18 steps review), where an output's is refused by name.
  if (LONE_SURROGATE.test(given)) {
    throw new Failed(
      `${what}: \`${field}\` holds a lone UTF-16 surrogate (text cut inside a character); ` +
        "cut text by code points (Array.from) instead",
    );
  }
  return given;
}

/** [`text`] for a field that may be left out. */
function optText(given: unknown, field: string, what: string): string | null {
  return given === undefined || given === null ? null : text(given, field, what);
}

/** `given`, refused naming `field` when it is `null`: left out (`undefined`), the host reads
 *  no filter or no mode; a `null` is a reference that found nothing, and read as left out it
 *  widened a case query to every case the run sees, or made a case full access, as the
 *  built-in steps and the API refuse it (round 26 self-review). */
function given<T>(value: T, field: string, what: string): T {
  if (value === null) {
    throw new Failed(`${what}: \`${field}\` is null; leave it out when it is not given`);
  }
  return value;
}

/** What `value` is, for an error: `null`, `a list`, or its `typeof`. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Map || value instanceof Set) return `a ${value instanceof Map ? "Map" : "Set"}`;
  return typeof value;
}

/** `value`, refused naming `field` unless it is an object (a record of the host's): `null`, a
 *  list, text or a number was read as a record of nothing given, so
 *  `updateCaseRestrictions(id, "restricted")` left the case full access and reported success,
 *  and a filter of `"open"` queried every case the run sees, where the host and the Python SDK
 *  refuse them (round 27 steps review). A Map or a Set holds no fields of its own either. */
function record<T>(value: T, field: string, what: string): T {
  if (
    value === null ||
    typeof value !== "object" ||
    Array.isArray(value) ||
    value instanceof Map ||
    value instanceof Set
  ) {
    throw new Failed(`${what}: \`${field}\` must be an object, not ${kindOf(value)}`);
  }
  return value;
}

const ACCESS_MODES: readonly AccessMode[] = ["full-access", "restricted"];
const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];
const SORTS: readonly CaseSort[] = ["created-desc", "created-asc", "updated-desc", "severity-desc"];

function onlyKnown(given: unknown, known: readonly string[], what: string): void {
  if (given === null || typeof given !== "object") return;
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const camel = key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    const hint = camel !== key && known.includes(camel)
      ? `; this SDK spells it \`${camel}\``
      : `; it takes ${known.join(", ")}`;
    throw new Failed(`${what}: unknown field \`${key}\`${hint}`);
  }
}

const NEW_CASE_FIELDS = [
  "title", "description", "severity", "state", "assignee", "reviewers", "accessMode",
  "collaborators", "fieldsJson",
] as const;
const QUERY_FIELDS = ["filter", "sort", "pageSize", "cursor"] as const;
const FILTER_FIELDS = ["accessMode", "state", "severity", "assignee", "text"] as const;
const UPDATE_FIELDS = [
  "accessMode", "setCollaborators", "addCollaborators", "removeCollaborators",
] as const;

/** The case steps (SPEC CS-4); each throws `HostError` when the host refuses. */
export const cases = {
  createCase(input: NewCase): CaseRecord {
    const what = "cases.createCase";
    onlyKnown(record(input, "input", what), NEW_CASE_FIELDS, what);
    const full = {
      title: text(input.title, "title", what),
      // Left out, the host's default, as the Rust and Python SDKs read a case without one;
      // `null` is refused, as the host refuses it (round 27 steps review).
      description: optText(given(input.description, "description", what), "description", what) ?? "",
      severity: oneOf(input.severity, SEVERITIES, "severity", what),
      // Refused as `null`, as the host refuses them (round 30 regression review).
      state: optText(given(input.state, "state", what), "state", what),
      assignee: optText(given(input.assignee, "assignee", what), "assignee", what),
      reviewers: people(input.reviewers, "reviewers", what),
      accessMode: optOneOf(given(input.accessMode, "accessMode", what), ACCESS_MODES, "accessMode", what),
      collaborators: people(input.collaborators, "collaborators", what),
      fieldsJson: optText(given(input.fieldsJson, "fieldsJson", what), "fieldsJson", what),
    };
    return hostCase(hostCall(() => witCases.createCase(full)));
  },
  createCaseFromJson(caseJson: string | object): CaseRecord {
    const json =
      typeof caseJson === "string"
        ? text(caseJson, "caseJson", "cases.createCaseFromJson")
        : toJson(caseJson, "case JSON");
    return hostCase(hostCall(() => witCases.createCaseFromJson(json)));
  },
  queryCases(query: CaseQuery = {}): CasePage {
    const what = "cases.queryCases";
    onlyKnown(record(query, "query", what), QUERY_FIELDS, what);
    // Left out, no filter; `null` or anything but an object is refused, as the host and the
    // Python SDK refuse it: read as no filter, it queried every case the run sees (round 27
    // steps review). So are a `sort` and a `pageSize` given as `null`, which read as the
    // defaults where the host refuses them.
    const f: CaseFilter =
      query.filter === undefined ? {} : record(given(query.filter, "filter", what), "filter", what);
    onlyKnown(f, FILTER_FIELDS, "cases.queryCases filter");
    const pageSize = given(query.pageSize, "pageSize", what) ?? 50;
    // A u32: -1 reached the host as 4294967295 and 10.7 as 10, without a word.
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > 0xffffffff) {
      throw new Failed(`${what}: \`pageSize\` must be a whole number from 0, not ${JSON.stringify(pageSize)}`);
    }
    const full = {
      filter: {
        accessMode: optOneOf(given(f.accessMode, "filter.accessMode", what), ACCESS_MODES, "filter.accessMode", what),
        state: optText(given(f.state, "filter.state", what), "filter.state", what),
        severity: optOneOf(given(f.severity, "filter.severity", what), SEVERITIES, "filter.severity", what),
        assignee: optText(given(f.assignee, "filter.assignee", what), "filter.assignee", what),
        text: optText(given(f.text, "filter.text", what), "filter.text", what),
      },
      sort: optOneOf(given(query.sort, "sort", what), SORTS, "sort", what) ?? "created-desc",
      // Lowered as an i32 by the bindings, which trapped on a number past 2^31 (QuickJS holds
      // it as a float); the host clamps to 200 whatever it is given (round 21 review).
      pageSize: Math.min(pageSize, 0x7fffffff) | 0,
      cursor: optText(query.cursor, "cursor", what),
    };
    return hostPage(hostCall(() => witCases.queryCases(full)));
  },
  getCaseRestrictions(caseId: string): Restrictions {
    const id = text(caseId, "caseId", "cases.getCaseRestrictions");
    return hostRestrictions(hostCall(() => witCases.getCaseRestrictions(id)));
  },
  updateCaseRestrictions(caseId: string, update: RestrictionUpdate): Restrictions {
    const what = "cases.updateCaseRestrictions";
    onlyKnown(record(update, "update", what), UPDATE_FIELDS, what);
    const id = text(caseId, "caseId", what);
    const full = {
      accessMode: optOneOf(given(update.accessMode, "accessMode", what), ACCESS_MODES, "accessMode", what),
      setCollaborators: given(update.setCollaborators, "setCollaborators", what) === undefined
        ? null
        : people(update.setCollaborators, "setCollaborators", "cases.updateCaseRestrictions"),
      addCollaborators: people(update.addCollaborators, "addCollaborators", "cases.updateCaseRestrictions"),
      removeCollaborators: people(update.removeCollaborators, "removeCollaborators", "cases.updateCaseRestrictions"),
    };
    return hostRestrictions(hostCall(() => witCases.updateCaseRestrictions(id, full)));
  },
};

/**
 * Access questions about the run's workspace. `hasScope` and `checkFlowAccess` answer a
 * `Decision` object, which is always truthy: ask `allows` and `mayAnswerFlow` for a yes or no
 * (round 16 review: `if (access.hasScope(...))` never denied).
 */
export const access = {
  /** Does the run's principal hold `scope` in the run's workspace, and why? (SPEC RB-3) */
  hasScope(scope: string): Decision {
    const s = text(scope, "scope", "access.hasScope");
    return witAccess.hasScope(s);
  },
  /** Whether the run's principal holds `scope` in the run's workspace (SPEC RB-3). A name
   *  that is no scope (`"cases:write"`, a grant's spelling), or a step its workflow does not
   *  grant `access:check`, throws `Failed`: each answered false, silently, where
   *  `mayAnswerFlow` threw (round 19 SDK review). */
  allows(scope: string): boolean {
    const s = text(scope, "scope", "access.allows");
    if (!SCOPES.includes(s)) {
      throw new Failed(`access.allows: scope: ${JSON.stringify(s)} is no scope (such as "case.read")`);
    }
    const decision = access.hasScope(s);
    if (!decision.allowed && decision.reason.includes("does not grant this step `access:check`")) {
      throw new Failed(`access.allows: ${decision.reason}`);
    }
    return decision.allowed;
  },
  /** May `email` access and answer the Interaction Flow `flow`, and why? */
  checkFlowAccess(flow: string, email: string): Decision {
    const what = "access.checkFlowAccess";
    const [f, e] = [text(flow, "flow", what), text(email, "email", what)];
    return hostCall(() => witAccess.checkFlowAccess(f, e));
  },
  /** Whether `email` may access and answer the Interaction Flow `flow`. */
  mayAnswerFlow(flow: string, email: string): boolean {
    return access.checkFlowAccess(flow, email).allowed;
  },
};

/** Every scope a role may hold (SPEC RB-2). */
const SCOPES = [
  "playbook.get", "playbook.list", "event.read", "integration.read", "case.read",
  "interaction.submit", "playbook.execute", "apikey.read", "apikey.write", "case.write",
  "playbook.write", "integration.write", "user.read", "secret.write", "interaction.write",
  "playbook.publish", "user.write", "support.write", "audit.read",
  "bypass.case.access.restriction", "resource.share",
];

/** Custom events that may start workflows. */
export const events = {
  /** Emits `kind` with `payload` (serialized to a JSON object) into the run's workspace. */
  emit(kind: string, payload: object): void {
    // Without one the bindings trapped, failing the step with no word of why (review).
    if (payload === undefined || payload === null || typeof payload !== "object") {
      throw new Failed(`events.emit(${JSON.stringify(kind)}): the payload must be an object`);
    }
    // What cannot be written as JSON (NaN, a BigInt, a cycle) is the step's own error.
    const k = text(kind, "kind", "events.emit");
    const json = toJson(payload, "event payload");
    hostCall(() => witEvents.emit(k, json));
  },
};

export type Level = "trace" | "debug" | "info" | "warn" | "error";

const LEVELS: readonly Level[] = ["trace", "debug", "info", "warn", "error"];

/** One log line, its level and text checked first: either one the bindings cannot lower
 *  aborted the whole step past any `catch` (round 18 steps review). */
function logLine(level: unknown, message: unknown, what: string): void {
  witLog.log(oneOf(level, LEVELS, "level", what), text(String(message), "message", what));
}

/** Log lines kept with the step's execution record. */
export const log = {
  at(level: Level, message: string): void {
    logLine(level, message, "log.at");
  },
  trace(message: string): void {
    logLine("trace", message, "log.trace");
  },
  debug(message: string): void {
    logLine("debug", message, "log.debug");
  },
  info(message: string): void {
    logLine("info", message, "log.info");
  },
  warn(message: string): void {
    logLine("warn", message, "log.warn");
  },
  error(message: string): void {
    logLine("error", message, "log.error");
  },
};

/** The WIT `step-error` a failed run throws. */
type WitStepError =
  | { tag: "invalid-input"; val: string }
  | { tag: "host"; val: { tag: HostErrorKind; val: string } }
  | { tag: "failed"; val: string };

/** `message` as text the host takes: `String()` of what is not text, half a surrogate pair
 *  written out (`\udXXX`). Either trapped the whole step in the bindings, its message and
 *  kind lost (round 19 SDK review: a message cut by `slice()`). */
function shown(message: unknown): string {
  return textOf(message).replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (half) => `\\u${half.charCodeAt(0).toString(16)}`,
  );
}

/** `String(value)`, or, where that throws (`Object.create(null)`, a `toString` that throws),
 *  what `Object.prototype.toString` says of it: the step's failure is told whatever was thrown
 *  (round 20 review: the `TypeError` escaped and trapped the step). */
function textOf(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A `HostError` thrown by the step as the WIT carries it: its kind's case, or the step's own
 *  failure when it holds no kind of the host's (an ES5-style subclass that skipped the
 *  constructor, a kind changed after it: the bindings trapped on it, as Python's did; round
 *  22 hostile-step review). */
function hostFailure(e: HostError): WitStepError {
  const wit = String(e.kind).replace(/_/g, "-") as HostErrorKind;
  if (!HOST_KINDS.includes(wit)) {
    return { tag: "failed", val: shown(`HostError: ${textOf(e.message)}`) };
  }
  return { tag: "host", val: { tag: wit, val: shown(e.detail) } };
}

function stepError(e: unknown): WitStepError {
  try {
    if (e instanceof InvalidInput) return { tag: "invalid-input", val: shown(e.message) };
    if (e instanceof Failed) return { tag: "failed", val: shown(e.message) };
    if (e instanceof HostError) return hostFailure(e);
    if (e instanceof Error) {
      const stack = e.stack ? `\n${textOf(e.stack)}` : "";
      return { tag: "failed", val: shown(`${textOf(e.name)}: ${textOf(e.message)}${stack}`) };
    }
    return { tag: "failed", val: shown(`thrown: ${textOf(e)}`) };
  } catch {
    return { tag: "failed", val: "the step threw a value that cannot be shown" };
  }
}

/** Decodes `inputJson`, runs `f`, encodes its output: the body of every exported step. */
export function runJson<I, O>(
  inputJson: string,
  f: (input: I) => O,
  decode?: (raw: any) => I,
): string {
  try {
    let raw: unknown;
    try {
      raw = JSON.parse(inputJson);
    } catch (e) {
      throw new InvalidInput(`input is not JSON: ${String(e)}`);
    }
    const input = decode ? decode(raw) : (raw as I);
    const output = f(input);
    return toJson(output === undefined ? null : output, "output");
  } catch (e) {
    throw stepError(e);
  }
}

/** Exports `f(input) -> output` as the component's `run`: `export const run = step(f)`. */
export function step<I, O>(
  f: (input: I) => O,
  decode?: (raw: any) => I,
): (inputJson: string) => string {
  return (inputJson: string) => runJson(inputJson, f, decode);
}

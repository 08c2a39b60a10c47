// Outputs the JS SDK must refuse rather than write as something else: an `async` step's
// Promise (`{}`), a function (left out), a Map, a Set, an Error or a RegExp (`{}`), binary data
// (an object keyed by index); a field the SDK would drop (`access_mode`), an event without a
// payload. `{"attack": "none"}` succeeds. `case-out` returns host records, which are written as
// the host's case JSON has them.
import { Failed, HostError, cases, events, log, step } from "../../../steps/sdk-js/flowhost-step";

interface Input {
  attack: string;
}

async function later(): Promise<unknown> {
  events.emit("hostile.async", {});
  throw new Error("thrown after the step returned");
}

export const run = step((input: Input): unknown => {
  switch (input.attack) {
    case "async":
      return later();
    case "function":
      return { ok: true, f: () => 1 };
    case "map":
      return { ips: new Map([["a", 1]]) };
    case "set":
      return [new Set([1, 2])];
    case "error":
      return { failure: new Error("kept only as {}") };
    case "bytes":
      return { packet: new Uint8Array([1, 2]) };
    case "regexp":
      return { pattern: /evil/ };
    case "cut-emoji":
      // "Ransomware 😀 note" cut at 12 UTF-16 units: half an emoji.
      return { title: "Ransomware \u{1F600} note".slice(0, 12) };
    case "cut-emoji-key": {
      // The same cut text as a key of an emitted event's payload.
      const by: Record<string, number> = {};
      by["Ransomware \u{1F600} note".slice(0, 12)] = 1;
      events.emit("hostile.keys", { by });
      return { ok: true };
    }
    case "snake-case":
      // The host's spelling, which this SDK would drop: refused, naming its own.
      cases.updateCaseRestrictions("C-1", { access_mode: "restricted" } as never);
      return { ok: true };
    case "no-payload":
      events.emit("hostile.none", undefined as never);
      return { ok: true };
    case "event-map":
      events.emit("hostile.map", { m: new Map([["a", 1]]) });
      return { ok: true };
    case "bad-enum":
      // Types are erased: a value outside the enum trapped in the bindings (round 17).
      cases.updateCaseRestrictions("C-1", { accessMode: "fully" } as never);
      return { ok: true };
    case "bad-title":
      cases.createCase({ title: 42, severity: "low" } as never);
      return { ok: true };
    case "page-size-wide":
      // Past 2^31, a float to QuickJS: the bindings trapped lowering it (round 21).
      cases.queryCases({ pageSize: 0xffffffff });
      return { ok: true };
    case "case-json-undefined":
      cases.createCaseFromJson((input as unknown as { missing: string }).missing);
      return { ok: true };
    case "payload-to-json-undefined":
      events.emit("hostile.x", { toJSON: () => undefined });
      return { ok: true };
    case "page-size":
      cases.queryCases({ pageSize: -1 });
      return { ok: true };
    case "bad-kind":
      throw new HostError("nope" as never, "x");
    case "host-error-es5": {
      // A subclass in the ES5 way, its constructor skipped: `kind` undefined (round 22).
      function Refused(this: { message: string }) {
        this.message = "feed refused the lookup";
      }
      Refused.prototype = Object.create(HostError.prototype);
      throw new (Refused as unknown as new () => Error)();
    }
    case "host-error-respelt": {
      // A kind changed after construction, in the host's JSON spelling (round 22).
      const e = new HostError("denied", "no such feed");
      (e as unknown as { kind: string }).kind = "not_found";
      throw e;
    }
    case "null-proto":
      // A value `String()` cannot convert (round 20: its TypeError trapped the step).
      throw Object.create(null);
    case "bad-to-string":
      throw { toString() { throw new Error("no text"); } };
    case "cut-error":
      // A step's own message cut inside a character (round 19: it trapped the step).
      throw new Failed("Ransomware \u{1F600} note".slice(0, 12));
    case "kind-is": {
      // A host error's kind in either spelling (round 19: `=== "not_found"` never held).
      const e = new HostError("not_found" as never, "x");
      return { alias: e.is("not_found"), wit: e.is("not-found"), other: e.is("denied") };
    }
    case "host-spelling":
      // The host's own spelling of an access mode, as its events carry it: read, not a trap.
      try {
        const r = cases.updateCaseRestrictions(
          (input as unknown as { case_id: string }).case_id,
          { accessMode: "full_access" } as never,
        );
        return { mode: r.accessMode, restrictions: r };
      } catch (e) {
        return { caught: String(e) };
      }
    case "case-out": {
      // Host records in the output and in an event payload are written as the host's case
      // JSON has them, as Python's `case_out` and `enum_out` are; step code still reads the
      // WIT's shape (round 26 steps review: `accessMode`, `fieldsJson` text, `full-access`).
      const c = cases.createCase({
        title: "case-out from js",
        severity: "high",
        accessMode: "restricted",
        fieldsJson: '{"priority": "p1"}',
      });
      events.emit("hostile.case", { case: c });
      return {
        case: c,
        page: cases.queryCases({ filter: { text: "case-out from js" }, pageSize: 1 }),
        restrictions: cases.getCaseRestrictions(c.id),
        read: { mode: c.accessMode, priority: JSON.parse(c.fieldsJson).priority },
      };
    }
    case "case-out-big-int": {
      // Fields holding an integer past 2^53 are written as their text, exact, not refused:
      // one person's case data failed every step writing the case (round 26 self-review).
      const c = cases.createCase({
        title: "case-out big int",
        severity: "low",
        fieldsJson: '{"event_id": 18446744073709551615}',
      });
      return { case: c };
    }
    case "null-filter":
      // A filter given as null is refused, as the built-in step and the API refuse it: read
      // as left out, it answered every case the run sees (round 26 self-review).
      cases.queryCases({ filter: { assignee: null } } as never);
      return { ok: true };
    case "update-as-text":
      // The mode given for the whole update, a plausible slip: read as a record of nothing
      // given, the case stayed full access and the step succeeded (round 27 steps review).
      cases.updateCaseRestrictions(
        (input as unknown as { case_id: string }).case_id,
        "restricted" as never,
      );
      return { ok: true };
    case "null-whole-filter":
      // The whole filter given as null, as the host and Python refuse it: read as no filter,
      // it queried every case the run sees (round 27 steps review).
      cases.queryCases({ filter: null } as never);
      return { ok: true };
    case "text-filter":
      cases.queryCases({ filter: "open" } as never);
      return { ok: true };
    case "null-sort":
      // Read as the defaults, where the host refuses them (round 27 steps review).
      cases.queryCases({ sort: null } as never);
      return { ok: true };
    case "null-page-size":
      cases.queryCases({ pageSize: null } as never);
      return { ok: true };
    case "null-description":
      cases.createCase({
        title: "refused for a null description",
        severity: "low",
        description: null,
      } as never);
      return { ok: true };
    case "null-state":
      // Refused as the host refuses it: stored as `open` before (round 30 regression review).
      cases.createCase({ title: "refused", severity: "low", state: null } as never);
      return { ok: true };
    case "null-assignee":
      cases.createCase({ title: "refused", severity: "low", assignee: null } as never);
      return { ok: true };
    case "null-fields":
      cases.createCase({ title: "refused", severity: "low", fieldsJson: null } as never);
      return { ok: true };
    case "case-out-bad-fields": {
      // Custom fields that are no JSON are refused naming the case, as Python refuses them.
      const c = cases.createCase({ title: "case-out bad fields", severity: "low" });
      c.fieldsJson = "{not json";
      return { case: c };
    }
    case "bad-level":
      // A level outside the enum, or log text cut inside a character, trapped (round 18).
      log.at("warning" as never, "x");
      return { ok: true };
    case "cut-log":
      log.info("Ransomware \u{1F600} note".slice(0, 12));
      return { ok: true };
    case "cut-title":
      cases.createCase({ title: "Phish \u{1F600}".slice(0, 7), severity: "low" });
      return { ok: true };
    case "null-list":
      // A list the host refuses as null, which read as `[]` removed nobody (round 16).
      cases.updateCaseRestrictions("C-1", { removeCollaborators: null } as never);
      return { ok: true };
    default:
      return { ok: true };
  }
});

// Summarizes the cases in a state (default "open") that the run's principal can see: how many,
// by severity, and the titles of the critical ones. Restricted cases the principal cannot see
// are not counted (SPEC CS-2: the host never returns them).
import { CaseRecord, InvalidInput, Severity, cases, log, step } from "../sdk-js/flowhost-step";

interface Input {
  state: string;
  limit: number;
}

interface Summary {
  state: string;
  total: number;
  bySeverity: Record<Severity, number>;
  critical: string[];
}

function summarize(input: Input): Summary {
  const seen: CaseRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = cases.queryCases({ filter: { state: input.state }, pageSize: 100, cursor });
    seen.push(...page.cases);
    cursor = page.nextCursor;
  } while (cursor !== null && seen.length < input.limit);
  const bySeverity: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
  for (const c of seen) bySeverity[c.severity] += 1;
  const critical = seen.filter((c) => c.severity === "critical").map((c) => c.title).sort();
  log.info(`${seen.length} ${input.state} case(s)`);
  return { state: input.state, total: seen.length, bySeverity, critical };
}

export const run = step(summarize, (raw: any): Input => {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new InvalidInput("input must be an object");
  }
  const state = raw.state ?? "open";
  if (typeof state !== "string") throw new InvalidInput("`state` must be a string");
  const limit = raw.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidInput("`limit` must be a positive integer");
  return { state, limit };
});

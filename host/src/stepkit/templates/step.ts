// {{name}}: a Flowhost step in TypeScript. `flowhost step build` builds it, `flowhost step test`
// runs the cases in step.test.json.
import { InvalidInput, events, log, step } from "./flowhost-step";

interface Input {
  ip: string;
}

function isPrivate(ip: string): boolean {
  // "Private" as every language's template means it: RFC 1918's ranges (10/8, 172.16/12,
  // 192.168/16) or loopback (127/8), IPv4 only; they share one step.test.json (round 26 steps
  // review: each read another definition). Four decimal numbers 0-255 as written, no more:
  // `Number` read "" as 0, "0x7f" as 127 and " 8" as 8, where the Rust and Python templates
  // refuse them.
  const written = ip.split(".");
  const parts = written.map(Number);
  if (
    written.length !== 4 ||
    written.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p)) ||
    parts.some((p) => p > 255)
  ) {
    throw new InvalidInput(`\`ip\`: ${JSON.stringify(ip)} is not an IPv4 address`);
  }
  const [a, b] = parts;
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function check(input: Input) {
  const result = { ip: input.ip, private: isPrivate(input.ip) };
  log.info(`checked ${input.ip}`);
  events.emit("ip.checked", result);
  return result;
}

// The component's export; the second argument checks the input's shape at run time: an
// object of `ip` only, as the Rust and Python templates read it. A field it does not read (a
// misspelt `with` key) is refused, not ignored.
export const run = step(check, (raw): Input => {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new InvalidInput("input: expected an object");
  }
  const unknown = Object.keys(raw).find((key) => key !== "ip");
  if (unknown !== undefined) {
    throw new InvalidInput(`input: unknown field \`${unknown}\`, expected \`ip\``);
  }
  if (typeof raw.ip !== "string") throw new InvalidInput("`ip` must be a string");
  return { ip: raw.ip };
});

// {{name}}: a Flowhost step in JavaScript. `flowhost step build` builds it, `flowhost step test`
// runs the cases in step.test.json.
import { InvalidInput, events, log, step } from "./flowhost-step";

function isPrivate(ip) {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new InvalidInput(`\`ip\`: ${JSON.stringify(ip)} is not an IPv4 address`);
  }
  const [a, b] = parts;
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

// The component's export; the second argument checks the input's shape.
export const run = step(
  (input) => {
    const result = { ip: input.ip, private: isPrivate(input.ip) };
    log.info(`checked ${input.ip}`);
    events.emit("ip.checked", result);
    return result;
  },
  (raw) => {
    if (typeof raw?.ip !== "string") throw new InvalidInput("`ip` must be a string");
    return raw;
  },
);

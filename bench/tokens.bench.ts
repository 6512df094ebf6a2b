/**
 * Issue 2: tokens signed and verified per second in-process, beside a bare HMAC-SHA256
 * over the same payload bytes. Target: signing and verifying each reach 40% of bare HMAC.
 */
import { createHmac } from "node:crypto";
import { Keyring, newSecret } from "../src/core/keyring.js";
import { signToken, verifyToken } from "../src/core/token.js";
import { measure, report } from "./lib.js";

const keyring = new Keyring([
  {
    kid: "k000000000001",
    secret: newSecret(),
    status: "active",
    createdAt: new Date(),
    retiredAt: null,
  },
]);
const claims = {
  p: "key:0123456789abcdef",
  m: ["GET" as const],
  b: "default",
  o: "reports/2026/q3/summary.pdf",
  e: Math.floor(Date.now() / 1000) + 900,
};
const { token } = signToken(keyring, claims);
const payload = token.slice(0, token.indexOf("."));
const secret = keyring.active.secret;
const noRevocations = { isRevoked: () => false };

report(
  "Tokens (core/token.ts)",
  [
    measure({
      name: "bare HMAC-SHA256 over the payload (reference)",
      run: () => createHmac("sha256", secret).update(payload).digest("base64url"),
    }),
    measure({ name: "signToken", run: () => signToken(keyring, claims).token }),
    measure({ name: "verifyToken", run: () => verifyToken(keyring, token, noRevocations) }),
  ],
  "signing and verifying each >= 40% of the bare HMAC rate",
);

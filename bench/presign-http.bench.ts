/**
 * Issue 17, issuance over HTTP on loopback:
 * - `POST /v1/presign` with an API key (a user role with a grant: the grant check runs, the
 *   audit record is written), `wrk -t1 -c50`, beside a bare Fastify route answering a similar
 *   JSON (bench/fixtures/bare-fastify.ts). Targets: >= 0.6x its req/s, p99 <= 2x its p99.
 * - `POST /v1/presign/batch` of 1,000 S3 URLs (admin key), beside an in-process
 *   `S3Signer.presign` loop signing the same requests (key, expiry, the response overrides
 *   Signet adds) on the same bucket. Target: >= 0.5x its URLs/s.
 * BENCH_SECONDS (default 5) sets each run's length; BENCH_PROFILE=DIR runs Signet alone under
 * `node --cpu-prof` with the single presign load (the batch load with BENCH_PROFILE_LOAD=batch).
 */
import { S3Signer } from "../src/backends/s3/s3-signing.js";
import { best, measure, publish, rate, seconds } from "./lib.js";
import { ADMIN_KEY, luaPost, startFixture, startSignet, wrk, wrkCommand } from "./servers.js";

const credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const s3 = { bucket: "signet-bench", region: "eu-west-3" };
const profile = process.env.BENCH_PROFILE;
const signet = await startSignet({
  config: {
    buckets: {
      default: { backend: "local" },
      s3: {
        backend: "s3",
        ...s3,
        accessKeyId: "${BENCH_S3_KEY_ID}",
        secretAccessKey: "${BENCH_S3_SECRET}",
      },
    },
  },
  env: { BENCH_S3_KEY_ID: credentials.accessKeyId, BENCH_S3_SECRET: credentials.secretAccessKey },
  nodeArgs: profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [],
});
const stops = [signet.stop];
const admin = async (path: string, body: unknown) => {
  const res = await fetch(`${signet.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
};
try {
  await admin("/v1/grants", {
    principal: "role:app",
    buckets: ["default"],
    prefix: "reports/",
    actions: ["read", "write"],
  });
  const key = (await admin("/v1/apikeys", { name: "bench", role: "app" })).key as string;
  const single = { bucket: "default", key: "reports/2026/q3/summary.pdf", method: "GET" };
  const batch = {
    requests: Array.from({ length: 1000 }, (_, i) => ({
      bucket: "s3",
      key: `reports/2026/q3/part-${i}.pdf`,
      method: "GET",
    })),
  };
  const check = await fetch(`${signet.url}/v1/presign`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(single),
  });
  if (check.status !== 200) throw new Error(`presign as the app: ${check.status}`);
  const checkBatch = (await admin("/v1/presign/batch", batch)) as {
    results: { ok: boolean; url?: string }[];
  };
  if (!checkBatch.results.every((r) => r.ok)) throw new Error("the batch was not all signed");
  // The reference signs the same requests: what Signet's URLs carry besides the key (the
  // response overrides its download safety adds) is signed in the loop too.
  const served = new URL(checkBatch.results[0]!.url!).searchParams;
  const overrides = {
    responseContentDisposition: served.get("response-content-disposition") ?? undefined,
    responseContentType: served.get("response-content-type") ?? undefined,
  };

  if (profile !== undefined) {
    const batched = process.env.BENCH_PROFILE_LOAD === "batch";
    const lua = batched
      ? luaPost("/v1/presign/batch", batch, ADMIN_KEY)
      : luaPost("/v1/presign", single, key);
    const connections = batched ? 4 : 50;
    const run = await wrk(signet.url, { seconds: seconds(5), connections, lua });
    console.log(`profiled run: ${rate(run.requestsPerSecond)} req/s, profile in ${profile}`);
  } else {
    const bare = await startFixture("bare-fastify.ts");
    stops.push(bare.stop);
    const one = { seconds: seconds(5), connections: 50, lua: luaPost("/v1/presign", single, key) };
    const [ours, theirs] = await best([() => wrk(signet.url, one), () => wrk(bare.url, one)]);
    const many = {
      seconds: seconds(5),
      connections: 4,
      lua: luaPost("/v1/presign/batch", batch, ADMIN_KEY),
    };
    const signer = new S3Signer(s3, credentials);
    const expiresAt = new Date(Date.now() + 900_000);
    let n = 0;
    const signLoop = async () => {
      const result = measure(
        {
          name: "S3Signer.presign",
          run: () =>
            signer.presign({
              method: "GET",
              key: `reports/2026/q3/part-${n++ % 1000}.pdf`,
              date: new Date(),
              expiresAt,
              ...overrides,
            }).url,
        },
        { seconds: seconds(5) / 2 },
      );
      return { ...result, requestsPerSecond: result.opsPerSecond };
    };
    // In turn with the batch load, best of three each: this VM's speed drifts by half within
    // a minute, and a reference measured once, after the load, drifted with it.
    const [batched, loop] = await best([() => wrk(signet.url, many), signLoop], 3);
    publish({
      id: "presign-http",
      title: "Issuance over HTTP: POST /v1/presign and /v1/presign/batch (issue 17)",
      command: "npm run bench -- presign-http",
      rows: [
        {
          case: "POST /v1/presign, API key, grant check, audit on: req/s",
          figure: `${rate(ours.requestsPerSecond)} req/s`,
          reference: `bare Fastify route, similar JSON: ${rate(theirs.requestsPerSecond)} req/s`,
          ratio: ours.requestsPerSecond / theirs.requestsPerSecond,
          how: wrkCommand(one, "(POST, JSON body, Bearer key)"),
        },
        {
          case: "the same: p99 latency (ratio: reference / ours)",
          figure: `${ours.p99Ms} ms`,
          reference: `bare Fastify route: ${theirs.p99Ms} ms`,
          ratio: theirs.p99Ms / ours.p99Ms,
          how: "the same run",
        },
        {
          case: "POST /v1/presign/batch, 1,000 S3 GET URLs: URLs/s",
          figure: `${rate(batched.requestsPerSecond * 1000)} URLs/s`,
          reference: `in-process S3Signer.presign loop: ${rate(loop.opsPerSecond)} URLs/s`,
          ratio: (batched.requestsPerSecond * 1000) / loop.opsPerSecond,
          how: wrkCommand(many, "(POST, 1,000 requests per body, admin key)"),
        },
      ],
      target:
        "presign >= 0.6x the bare route's req/s with p99 <= 2x (ratio >= 0.5); batch >= 0.5x the in-process loop",
      failures: ours.failures + theirs.failures + batched.failures,
    });
  }
} finally {
  for (const stop of stops.reverse()) await stop();
}

/**
 * Hostile keys: dot segments, encoded and double-encoded separators, backslashes, overlong
 * UTF-8, NUL and other controls, lone surrogates, 1,025-byte keys, Unicode normalization twins.
 * Each is presigned for PUT through the API and, where accepted, uploaded; each raw spelling is
 * also sent straight to the data plane with a whole-bucket token. Afterwards nothing may exist
 * outside the data directory, every blob is named by its id, and normalization twins never
 * share a blob (each reads back its own bytes).
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api, raw, statusOf } from "../helpers/http.js";
import { recordFigures } from "./report.js";

/** the least number of hostile keys in the campaign (the issue asks for at least 200) */
const MIN_KEYS = 200;

const SEEDS = [
  "..",
  ".",
  "...",
  "../x",
  "x/..",
  "x/../../etc/passwd",
  "./x",
  "x/./y",
  "/abs",
  "x/",
  "x//y",
  "..\\x",
  "x\\..\\..\\y",
  "\\\\server\\share",
  "%2e%2e/x",
  "%2E%2E%2Fx",
  "%252e%252e%252fx",
  "..%2fx",
  "..%5cx",
  "%c0%ae%c0%ae/x",
  "%c0%af",
  "\u00c0\u00ae\u00c0\u00ae",
  "x\u0000y",
  "\u0000",
  "x\ny",
  "x\ry",
  "x\ty",
  "x\u007fy",
  "x\u0085y",
  "\ud800",
  "x\udc00y",
  "\u202eexe.txt",
  "\ufeffbom",
  "x\u2028y",
  "\uff0e\uff0e\uff0fx",
  "\u2024\u2024/x",
  "caf\u00e9",
  "cafe\u0301",
  "\u00c5ngstr\u00f6m",
  "A\u030angstro\u0308m",
  "\u212bngstr\u00f6m",
  "\ufb01le",
  "file",
  "x?y",
  "x#y",
  "x%y",
  "%",
  "%%",
  "x%00y",
  "${sub}",
  "~root",
  "con",
  "a".repeat(1024),
  "a".repeat(1025),
  `${"\u00e9".repeat(512)}x`,
  "\u00e9".repeat(512),
  " ",
  "x ",
  "x/ /y",
];
const PREFIXES = ["", "dir/", "dir/sub/", "p%2f/"];

/** raw request-target spellings sent to /o/default/… as they are */
const RAW_PATHS = [
  "../../etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "%2e%2e/%2e%2e/etc/passwd",
  "%252e%252e%252f",
  "x/%2e%2e/%2e%2e/y",
  "..%5c..%5cy",
  "%c0%ae%c0%ae/y",
  "%e0%80%ae",
  "x%00y",
  "%ff",
  "x/..",
  "x/.",
  "//x",
  "x//y",
  "%2fx",
  "\\..\\y",
];

async function walk(dir: string, base = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = base === "" ? entry.name : `${base}/${entry.name}`;
    out.push(rel);
    if (entry.isDirectory()) out.push(...(await walk(join(dir, entry.name), rel)));
  }
  return out;
}

describe("hostile keys stay inside the data directory", () => {
  let h: Harness;
  let sandbox: string;
  beforeAll(async () => {
    sandbox = await mkdtemp(join(tmpdir(), "signet-paths-"));
    h = await startSignet({ dataDir: join(sandbox, "data") });
  });
  afterAll(async () => {
    await h.close();
    await rm(sandbox, { recursive: true, force: true });
  });

  it(`at least ${MIN_KEYS} hostile keys: refused or stored as themselves, never outside`, async () => {
    const keys = PREFIXES.flatMap((p) => SEEDS.map((s) => `${p}${s}`));
    expect(keys.length).toBeGreaterThanOrEqual(MIN_KEYS);
    const outcome = { stored: 0, refused: 0, rawRefused: 0, rawStored: 0 };
    const rawServed: string[] = [];
    const stored = new Map<string, string>();
    for (const key of keys) {
      const signed = await api(h.url, "POST", "/v1/presign", {
        bucket: "default",
        key,
        method: "PUT",
      });
      expect([200, 400], JSON.stringify(key)).toContain(signed.status);
      if (signed.status === 400) {
        expect(["invalid_key", "invalid_request"]).toContain(signed.body.error.code);
        outcome.refused++;
        continue;
      }
      const body = `bytes of ${JSON.stringify(key)}`;
      const put = await fetch(signed.body.url, { method: "PUT", body });
      expect(put.status, JSON.stringify(key)).toBe(200);
      stored.set(key, body);
      outcome.stored++;
    }
    // Every stored key reads back its own bytes: twins (é and e + U+0301, Å and U+212B) included.
    for (const [key, body] of stored) {
      const signed = await api(h.url, "POST", "/v1/presign", {
        bucket: "default",
        key,
        method: "GET",
      });
      const res = await fetch(signed.body.url);
      expect(await res.text(), JSON.stringify(key)).toBe(body);
    }
    const twins = [
      ["caf\u00e9", "cafe\u0301"],
      ["\u00c5ngstr\u00f6m", "A\u030angstro\u0308m", "\u212bngstr\u00f6m"],
    ];
    for (const group of twins) {
      const blobs = await h.signet.db
        .selectFrom("objects")
        .select(["key", "blob_id"])
        .where("key", "in", group)
        .execute();
      expect(blobs.length).toBe(group.length);
      expect(new Set(blobs.map((b) => b.blob_id)).size).toBe(group.length);
    }

    // Raw spellings straight to the data plane, with a token for the whole bucket.
    const bucketToken = new URL(
      (
        await api(h.url, "POST", "/v1/presign", {
          bucket: "default",
          prefix: "",
          methods: ["GET", "PUT"],
        })
      ).body.url,
    ).searchParams.get("t")!;
    for (const path of RAW_PATHS)
      for (const method of ["PUT", "GET"]) {
        const answer = await raw(
          h.url,
          `${method} /o/default/${path}?t=${bucketToken} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 1\r\n\r\nz`,
        );
        const status = statusOf(answer);
        expect(status, `${method} ${path}`).toBeLessThan(500);
        if (status >= 400) outcome.rawRefused++;
        else {
          outcome.rawStored++;
          rawServed.push(`${method} ${path} → ${status}`);
        }
      }

    // Nothing outside the data directory; inside, only Signet's own files.
    expect(await readdir(sandbox)).toEqual(["data"]);
    const files = await walk(join(sandbox, "data"));
    const unexpected = files.filter(
      (f) =>
        !/^(blobs|blobs\/[0-9a-f]{2}|blobs\/[0-9a-f]{2}\/[0-9a-f]{32}|tmp|spool|spool\/.*|signet\.db(-wal|-shm|-journal)?|signet\.lock|master\.key|admin\.key)$/.test(
          f,
        ),
    );
    expect(unexpected).toEqual([]);
    const rows = await h.signet.db.selectFrom("objects").select("key").execute();
    for (const { key } of rows) expect(key.split("/")).not.toContain("..");

    await recordFigures("paths", "Hostile keys", [
      `- ${keys.length} hostile keys presigned for PUT: ${outcome.stored} stored as themselves (and read back byte for byte), ${outcome.refused} refused with 400.`,
      `- ${RAW_PATHS.length * 2} raw request targets on /o with a whole-bucket token: ${outcome.rawRefused} refused, ${outcome.rawStored} served or stored under a valid key (${rawServed.map((r) => `\`${r}\``).join(", ")}).`,
      `- files outside the data directory: 0; files inside that are not Signet's own: ${unexpected.length}.`,
      `- Unicode normalization twins (é / e+U+0301, Å / A+U+030A / U+212B): each its own blob and bytes.`,
    ]);
  }, 300_000);
});

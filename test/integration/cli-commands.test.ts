/**
 * The CLI beyond get/put: what it loads, presign's flags and outputs (--url, --curl run for
 * real), tables vs JSON lines, lists, completion, --version, and `audit` against the audit
 * contract (a stub server answering GET /v1/audit, since the CLI codes against the contract).
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { databaseFor } from "../helpers/pg.js";
import type { Intent, MultipartUpload, PartRequest, SignedRequest } from "../../src/api/types.js";
import { exited, run, signetCommand } from "../helpers/process.js";

const sh = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
// The CLI as a shell command (for pipes), as test/helpers/process.ts runs it.
const signetShell = `${process.execPath} --import tsx ${fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))}`;
const LOADED = fileURLToPath(new URL("../helpers/loaded-modules.mjs", import.meta.url));
/** fetch sets Content-Length itself and refuses it as a header. */
const withoutLength = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name !== "content-length"));
const lines = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("the signet CLI's commands", () => {
  let h: Harness;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    h = await startSignet();
    dir = await mkdtemp(join(tmpdir(), "signet-cli2-"));
    env = { SIGNET_URL: h.url, SIGNET_KEY: ADMIN_KEY };
  });
  afterAll(() => h.close());

  it("prints its version", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8"));
    const { stdout, code } = await run(["--version"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(version);
  });

  it("describes every command in --help, and a flag error in one line, not the whole help", async () => {
    const { stdout: top } = await run(["--help"]);
    const groups = [...top.split("Commands:\n")[1]!.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
      .map((m) => m[1]!)
      .filter((g) => g !== "help");
    expect(groups.length).toBeGreaterThan(10);
    for (const group of groups) {
      const { stdout } = await run([group, "--help"]);
      const commands = stdout.split("Commands:\n")[1] ?? "";
      for (const line of commands.split("\n").filter((l) => /^ {2}\S/.test(l)))
        expect(line, `signet ${group}`).toMatch(/^ {2}\S.*\S {2,}\S/);
    }
    const { stderr, code } = await run(["presign", "default/a", "--nope"]);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/^signet: invalid_argument: unknown option '--nope'/);
    expect(stderr).toMatch(/add --help for usage/);
    expect(stderr).not.toMatch(/Usage:/);
  });

  it("loads neither the server nor a cloud SDK for --help or a client command", async () => {
    const loadedBy = async (args: string[]) => {
      const { stderr } = await sh(
        process.execPath,
        ["--import", "tsx", "--import", LOADED, MAIN, ...args],
        { env: { ...process.env, ...env } },
      );
      return JSON.parse(/LOADED (.*)/.exec(stderr)![1]!) as string[];
    };
    const heavy = /fastify|kysely|better-sqlite3|@aws-sdk|@azure|@google-cloud|src\/service\//;
    for (const args of [["--help"], ["presign", "default/a", "--url"]]) {
      const loaded = await loadedBy(args);
      expect(loaded.length).toBeGreaterThan(0);
      expect(loaded.filter((u) => heavy.test(u))).toEqual([]);
    }
  });

  it("presign carries every scope flag into the request", async () => {
    const { stdout, code, stderr } = await run(
      [
        "presign",
        "default/docs/a.txt",
        "--methods",
        "GET,HEAD",
        "--range",
        "bytes=0-9",
        "--ip",
        "127.0.0.1/32",
        "--ip",
        "::1/128",
        "--response-content-type",
        "text/plain",
        "--response-content-disposition",
        "inline",
        "--header",
        "x-app: one",
        "--expires",
        "10m",
        "--revocable",
        "--delivery",
        "link",
      ],
      env,
    );
    expect(code, stderr).toBe(0);
    const [signed] = lines(stdout);
    expect(signed).toMatchObject({ methods: ["GET", "HEAD"], expiresIn: 600 });
    expect(Object.keys(signed!.enforcedBy as object)).toEqual(
      expect.arrayContaining(["range", "ip", "revocable"]),
    );
    expect((signed!.headers as Record<string, string>)["x-app"]).toBe("one");
    const folder = lines(
      (await run(["presign", "default/docs/", "--prefix", "--methods", "LIST,GET"], env)).stdout,
    )[0]!;
    expect(folder.objectUrlTemplate).toContain("{key}");
  });

  it("--url prints only the URL and --curl a command that works as printed", async () => {
    const url = await run(["presign", "default/c/one.txt", "--method", "PUT", "--url"], env);
    expect(url.stdout.trim()).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/o\/default\/c\/one\.txt\?t=\S+$/,
    );
    const body = join(dir, "one.txt");
    await writeFile(body, "hello curl\n");
    const put = await run(
      ["presign", "default/c/one.txt", "--method", "PUT", "--content-type", "text/plain"].concat([
        "--content-length",
        "11",
        "--curl",
        "--file",
        body,
      ]),
      env,
    );
    expect(put.stdout).toContain("-H 'content-type: text/plain'");
    await sh("sh", ["-c", put.stdout]);
    const get = await run(["presign", "default/c/one.txt", "--curl"], env);
    expect((await sh("sh", ["-c", get.stdout])).stdout).toBe("hello curl\n");
  });

  it("--url and --curl print the token id on stderr, so the URL can be revoked", async () => {
    const signed = await run(["presign", "default/c/one.txt", "--url"], env);
    const id = /^id (\S+) \(revoke: signet revoke \1\)$/m.exec(signed.stderr)?.[1];
    expect(id, signed.stderr).toBeDefined();
    expect((await fetch(signed.stdout.trim())).status).toBe(200);
    expect((await run(["revoke", id!], env)).code).toBe(0);
    expect((await fetch(signed.stdout.trim())).status).toBe(403);
    const curl = await run(["presign", "default/c/one.txt", "--curl"], env);
    expect(curl.stderr).toMatch(/^id \S+ \(revoke: signet revoke \S+\)$/m);
    expect((await run(["presign", "default/c/one.txt", "--url", "-q"], env)).stderr).toBe("");
  });

  it("revoke takes an id, --principal or --folder, exactly one", async () => {
    const made = lines(
      (await run(["apikeys", "create", "--name", "revokee", "--role", "revokee"], env)).stdout,
    )[0]!;
    await h.admin.grants.create({
      principal: "role:revokee",
      buckets: ["default"],
      actions: ["read"],
    });
    const as: Record<string, string> = { ...env, SIGNET_KEY: made.key as string };
    const url = async (key: string, who = as) =>
      (await run(["presign", key, "--url", "--revocable", "-q"], who)).stdout.trim();
    const theirs = [await url("default/r/one.txt"), await url("default/r/two.txt")];
    const folder = [await url("default/f/a.txt", env), await url("default/f/sub/b.txt", env)];
    const outside = await url("default/g/c.txt", env);
    const status = async (u: string) => (await fetch(u)).status;
    for (const u of [...theirs, ...folder, outside]) expect(await status(u)).toBe(404);

    // A bare key id or a role names no principal tokens carry: refused, not "revoked: 0".
    for (const who of [made.id as string, "role:revokee"]) {
      const none = await run(["revoke", "--principal", who], env);
      expect(none.code, who).toBe(1);
      expect(none.stderr).toMatch(
        /^signet: invalid_request: principal must be key:ID, sub:SUBJECT/m,
      );
    }
    const byPrincipal = await run(["revoke", "--principal", `key:${made.id as string}`], env);
    expect(byPrincipal.code, byPrincipal.stderr).toBe(0);
    expect(lines(byPrincipal.stdout)[0]).toMatchObject({ revoked: 2 });
    const byFolder = await run(["revoke", "--folder", "default/f/"], env);
    expect(byFolder.code, byFolder.stderr).toBe(0);
    expect(lines(byFolder.stdout)[0]).toMatchObject({
      bucket: "default",
      prefix: "f/",
      revoked: 2,
    });
    for (const u of [...theirs, ...folder]) expect(await status(u)).toBe(403);
    expect(await status(outside)).toBe(404);

    for (const args of [
      [],
      ["--folder", "default"],
      ["--folder", ""],
      ["tok", "--principal", "x"],
      ["--folder", "default/", "--principal", "x"],
    ]) {
      const r = await run(["revoke", ...args], env);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        /name one of: an id, --principal or --folder|cannot be used with|an empty id|--folder names BUCKET\/PREFIX\//,
      );
    }
  });

  it("grants create sets quotas and requirements, which the grant then enforces", async () => {
    const created = await run(
      ["grants", "create", "--principal", "role:limited", "--buckets", "default"].concat(
        ["--actions", "write", "--prefix", "in/", "--quota-per-minute", "2", "--quota-per-day"],
        ["100", "--max-size", "1KiB", "--content-type", "text/plain", "--ip", "127.0.0.0/8"],
      ),
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const grant = lines(created.stdout)[0]!;
    expect(grant).toMatchObject({
      quota: { perMinute: 2, perDay: 100 },
      require: { contentLengthMax: 1024, contentTypes: ["text/plain"], ip: ["127.0.0.0/8"] },
    });
    const listed = lines((await run(["grants", "list"], env)).stdout);
    expect(listed.find((g) => g.id === grant.id)).toMatchObject({ quota: grant.quota });

    const key = lines(
      (await run(["apikeys", "create", "--name", "limited", "--role", "limited"], env)).stdout,
    )[0]!.key as string;
    const as = { ...env, SIGNET_KEY: key };
    const put = (...flags: string[]) =>
      run(["presign", "default/in/a.txt", "--method", "PUT", ...flags], as);
    const wrongType = await put("--content-type", "image/png", "--content-length", "10");
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toMatch(/^signet: forbidden: .*content/m);
    const tooBig = await put("--content-type", "text/plain", "--content-length", "1025");
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toMatch(/^signet: forbidden: /m);
    // Refusals spend no quota: two URLs a minute are issued, the third is refused.
    for (let i = 0; i < 2; i++) {
      const ok = await put("--content-type", "text/plain", "--content-length", "10");
      expect(ok.code, ok.stderr).toBe(0);
      expect(lines(ok.stdout)[0]!.enforcedBy).toHaveProperty("ip");
    }
    const third = await put("--content-type", "text/plain", "--content-length", "10");
    expect(third.code).toBe(1);
    expect(third.stderr).toMatch(
      /^signet: rate_limited: the grant quota per minute .*\(retry in \d+ s\)$/m,
    );

    const bad = await run(
      ["grants", "create", "--principal", "p", "--buckets", "default", "--actions", "read"].concat([
        "--quota-per-minute",
        "0",
      ]),
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("option '--quota-per-minute <n>' argument '0' is invalid");
  });

  it("uploads create hands an intent over; uploads parts and complete --parts finish it", async () => {
    // One request: whoever holds the intent PUTs the bytes; complete commits them.
    const single = lines(
      (await run(["uploads", "create", "default/handed/one.txt", "--size", "6"], env)).stdout,
    )[0]! as unknown as Intent;
    expect(single.file).toMatchObject({ status: "pending", contentType: "text/plain" });
    const upload = single.upload as SignedRequest;
    const put = await fetch(upload.url, {
      method: "PUT",
      headers: withoutLength(upload.headers),
      body: "hello\n",
    });
    expect(put.status).toBe(200);
    const done = await run(["uploads", "complete", single.file.id], env);
    expect(done.code, done.stderr).toBe(0);
    expect(lines(done.stdout)[0]).toMatchObject({ status: "committed", size: 6 });

    // Multipart, in a folder: Signet names the key; fresh part URLs; complete with the ETags.
    const size = 11 * 1024 * 1024;
    const created = await run(
      ["uploads", "create", "default/handed/", "--prefix", "--name", "big.bin"].concat([
        "--size",
        String(size),
        "--part-size",
        "5MiB",
        "--content-type",
        "application/x-demo",
      ]),
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const intent = lines(created.stdout)[0]! as unknown as Intent;
    expect(intent.file.key).toMatch(/^handed\/.*big\.bin$/);
    expect((intent.upload as MultipartUpload).parts).toHaveLength(3);
    const fresh = await run(["uploads", "parts", intent.file.id, "1", "2", "3"], env);
    expect(fresh.code, fresh.stderr).toBe(0);
    const signed = lines(fresh.stdout) as unknown as PartRequest[];
    expect(signed.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    const early = await run(["uploads", "complete", intent.file.id], env);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/^signet: invalid_part: /m);
    const etags = [];
    for (const part of signed) {
      const res = await fetch(part.url, {
        method: part.method,
        headers: withoutLength(part.headers),
        body: Buffer.alloc(part.end - part.start + 1, part.partNumber),
      });
      expect(res.status).toBe(200);
      etags.push({ partNumber: part.partNumber, etag: res.headers.get("etag")! });
    }
    const bad = await run(["uploads", "complete", intent.file.id, "--parts", "[1,2]"], env);
    expect(bad.stderr).toContain('expected a JSON array like [{"partNumber":1');
    const completed = await run(
      ["uploads", "complete", intent.file.id, "--parts", JSON.stringify(etags)],
      env,
    );
    expect(completed.code, completed.stderr).toBe(0);
    expect(lines(completed.stdout)[0]).toMatchObject({
      status: "committed",
      size,
      contentType: "application/x-demo",
    });
    // files list filters by status: an aborted intent is listed as deleted, not as a file.
    const aborted = lines(
      (await run(["uploads", "create", "default/handed/gone.txt", "--size", "3"], env)).stdout,
    )[0]! as unknown as Intent;
    expect((await run(["uploads", "abort", aborted.file.id], env)).code).toBe(0);
    const statusOf = async (status: string) =>
      lines((await run(["files", "list", "default/handed/", "--status", status], env)).stdout)
        .map((f) => f.key)
        .sort();
    expect(await statusOf("committed")).toEqual(["handed/one.txt", intent.file.key].sort());
    expect(await statusOf("deleted")).toEqual(["handed/gone.txt"]);
    expect(await statusOf("pending")).toEqual([]);
    const wrong = await run(["files", "list", "--status", "gone"], env);
    expect(wrong.stderr).toContain("expected one of pending, committed, superseded, deleted");
  });

  it("shares list pages past the server's page of 100 (--limit takes fewer)", async () => {
    for (let i = 0; i < 105; i++)
      await h.admin.shares.create({ bucket: "default", prefix: `paged/${i}/`, methods: ["GET"] });
    const all = lines((await run(["shares", "list"], env)).stdout);
    expect(all.filter((s) => String(s.prefix).startsWith("paged/"))).toHaveLength(105);
    expect(new Set(all.map((s) => s.id)).size).toBe(all.length);
    expect(lines((await run(["shares", "list", "--limit", "3"], env)).stdout)).toHaveLength(3);
  });

  it("batch signs JSON lines (1,000 a request) in input order; a refusal is its line, exit 1", async () => {
    const requests = Array.from({ length: 1001 }, (_, i) =>
      JSON.stringify({ bucket: "default", key: `batch/${i}.txt`, method: "GET" }),
    );
    requests[500] = JSON.stringify({ bucket: "nope", key: "x", method: "GET" });
    const file = join(dir, "requests.jsonl");
    await writeFile(file, `${requests.join("\n")}\n\n`);
    const signed = await run(["batch", file], env);
    expect(signed.code).toBe(1);
    expect(signed.stderr).toContain("1 of 1001 refused");
    const results = lines(signed.stdout);
    expect(results).toHaveLength(1001);
    expect(results[500]).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(String(results[1000]!.url)).toContain("/o/default/batch/1000.txt");
    expect(results.filter((r) => r.ok)).toHaveLength(1000);

    const piped = await sh("sh", ["-c", `head -n 2 ${file} | ${signetShell} batch -`], {
      env: { ...process.env, ...env },
    });
    expect(lines(piped.stdout).map((r) => r.ok)).toEqual([true, true]);
    // A reader that leaves early (`| head`) ends the output, not with an EPIPE stack trace.
    const valid = join(dir, "valid.jsonl");
    await writeFile(valid, requests.filter((_, i) => i !== 500).join("\n"));
    const headed = await sh(
      "bash",
      ["-c", `set -o pipefail; ${signetShell} batch ${valid} | head -n 1 > /dev/null`],
      { env: { ...process.env, ...env } },
    );
    expect(headed.stderr).toBe("");
    await writeFile(file, '{"bucket":"default","key":"a"}\nnot json\n');
    const broken = await run(["batch", file], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain("line 2: not JSON");
  });

  it("parts prints a download plan whose ranges cover the object", async () => {
    const file = join(dir, "planned.bin");
    await writeFile(file, Buffer.alloc(1000, 3));
    expect((await run(["put", file, "default/plan/planned.bin", "-q"], env)).code).toBe(0);
    const plan = await run(["parts", "default/plan/planned.bin", "--parts", "3"], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stderr).toMatch(/^1000 bytes, etag \S+, 3 parts$/m);
    const parts = lines(plan.stdout) as unknown as PartRequest[];
    expect(parts.map((p) => [p.start, p.end])).toEqual([
      [0, 333],
      [334, 667],
      [668, 999],
    ]);
    const second = await fetch(parts[1]!.url, { headers: parts[1]!.headers });
    expect(second.status).toBe(206);
    expect((await second.arrayBuffer()).byteLength).toBe(334);
    const neither = await run(["parts", "default/plan/planned.bin"], env);
    expect(neither.stderr).toContain("name one of --part-size and --parts");
  });

  it("presign --method POST takes the form's success action status and redirect", async () => {
    const form = await run(
      ["presign", "default/forms/a.txt", "--method", "POST", "--success-action-status", "201"],
      env,
    );
    expect(form.code, form.stderr).toBe(0);
    expect(lines(form.stdout)[0]!.fields).toMatchObject({ success_action_status: "201" });
    const wrong = await run(
      ["presign", "default/forms/a.txt", "--method", "POST", "--success-action-status", "202"],
      env,
    );
    expect(wrong.stderr).toContain("expected one of 200, 201, 204");
  });

  it("lists print JSON lines when piped (and with --json), one record per line", async () => {
    const file = join(dir, "report.pdf");
    await writeFile(file, "%PDF-1.4\n");
    const put = await run(["put", file, "default/lists/report.pdf"], env);
    expect(put.code, put.stderr).toBe(0);
    const listed = lines((await run(["files", "list", "default/lists/"], env)).stdout);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ key: "lists/report.pdf", contentType: "application/pdf" });
    const one = lines((await run(["--json", "files", "get", listed[0]!.id as string], env)).stdout);
    expect(one[0]).toMatchObject({ id: listed[0]!.id, status: "committed" });
    expect(lines((await run(["buckets", "list"], env)).stdout)[0]).toMatchObject({
      name: "default",
    });
    expect(lines((await run(["grants", "list"], env)).stdout)).toEqual(expect.any(Array));
  });

  it("get takes a file id or any URL that serves Range", async () => {
    const source = join(dir, "ranged.bin");
    const bytes = Buffer.alloc(300_000, 7);
    await writeFile(source, bytes);
    const id = /as file (f_\S+)/.exec(
      (await run(["put", source, "default/ranged.bin"], env)).stdout,
    )![1]!;
    const byId = await run(["get", id, "-o", join(dir, "by-id.bin")], env);
    expect(byId.stdout).toContain("verified");
    const url = (await run(["presign", "default/ranged.bin", "--url"], env)).stdout.trim();
    const byUrl = await run(["get", url, "-o", join(dir, "by-url.bin"), "-c", "3"], env);
    expect(byUrl.code, byUrl.stderr).toBe(0);
    expect((await readFile(join(dir, "by-url.bin"))).equals(bytes)).toBe(true);
  });

  it("serve listens on SIGNET_PORT, else PORT", async () => {
    const free = async () => {
      const server = createServer();
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const { port } = server.address() as { port: number };
      await new Promise((r) => server.close(r));
      return port;
    };
    for (const [name, other] of [
      ["PORT", undefined],
      ["SIGNET_PORT", "1"],
    ] as const) {
      const port = await free();
      const data = join(dir, `data-${name}`);
      const child = signetCommand(["serve", "--data", data], {
        // on the PostgreSQL pass, a database of its own ("" is SQLite in the data dir)
        SIGNET_DATABASE_URL: (await databaseFor(data)) ?? "",
        [name]: String(port),
        ...(other === undefined ? {} : { PORT: other }),
      });
      let out = "";
      child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
      for (let i = 0; i < 200 && !out.includes("listening"); i++)
        await new Promise((r) => setTimeout(r, 100));
      child.kill("SIGTERM");
      await exited(child);
      expect(out).toContain(`Signet listening on http://127.0.0.1:${port}`);
    }
  });

  it("prints a bash completion script: commands, then each (sub)command's own flags", async () => {
    const { stdout } = await run(["completion"]);
    expect(stdout).toContain("complete -F _signet signet");
    await sh("bash", ["-n", "-c", stdout]);
    // What bash offers after `signet WORDS… CUR<TAB>`.
    const offered = async (...words: string[]) => {
      const script = `${stdout}\nCOMP_WORDS=(signet ${words.map((w) => `'${w}'`).join(" ")})
COMP_CWORD=${words.length}; _signet; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await sh("bash", ["-c", script])).stdout.split("\n").filter((w) => w !== "");
    };
    expect(await offered("pre")).toEqual(["presign"]);
    expect(await offered("files", "")).toEqual(["list", "get", "delete"]);
    expect(await offered("presign", "default/a", "--re")).toEqual([
      "--response-content-disposition",
      "--response-content-type",
      "--referrers",
      "--revocable",
    ]);
    expect(await offered("put", "a", "b", "--up")).toEqual(["--upsert"]);
    expect(await offered("grants", "create", "--pr")).toEqual(["--principal", "--prefix"]);
    expect(await offered("audit", "--fo")).toEqual(["--follow"]);
    // global flags after a command, --version only first
    expect(await offered("files", "list", "--js")).toEqual(["--json"]);
    expect(await offered("files", "list", "--ver")).toEqual([]);
  });
});

describe("signet audit against the audit contract", () => {
  const record = (id: number, at: string) => ({
    id,
    at,
    action: "presign",
    principal: "k_1",
    tokenId: `t${id}`,
    bucket: "b",
    key: "p/k",
    method: "GET",
    status: 201,
    outcome: "allowed",
    reason: null,
    ip: "127.0.0.1",
    detail: null,
  });
  let queries: URLSearchParams[];
  let url: string;
  let close: () => void;
  beforeAll(async () => {
    queries = [];
    const server = createServer((req, res) => {
      const query = new URL(req.url!, "http://x").searchParams;
      queries.push(query);
      const since = query.get("since");
      // Newest first, as the server answers.
      const items =
        since === null
          ? [record(2, "2026-01-01T00:00:02.000Z"), record(1, "2026-01-01T00:00:01.000Z")]
          : // `since` is inclusive: the last record comes again, with a new one.
            [record(3, "2026-01-01T00:00:03.000Z"), record(2, "2026-01-01T00:00:02.000Z")];
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ items, nextCursor: null }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    close = () => server.close();
  });
  afterAll(() => close());

  it("sends every filter of the contract", async () => {
    const out = await run(
      ["audit", "--since", "2026-01-01T00:00:00Z", "--until", "2026-02-01T00:00:00Z"].concat(
        ["--principal", "k_1", "--action", "presign", "--bucket", "b", "--prefix", "p/"],
        ["--token", "t1", "--outcome", "refused", "--limit", "5"],
      ),
      { SIGNET_URL: url, SIGNET_KEY: "k" },
    );
    expect(out.code, out.stderr).toBe(0);
    expect(Object.fromEntries(queries.at(-1)!)).toEqual({
      since: "2026-01-01T00:00:00Z",
      until: "2026-02-01T00:00:00Z",
      principal: "k_1",
      action: "presign",
      bucket: "b",
      prefix: "p/",
      tokenId: "t1",
      outcome: "refused",
      limit: "5",
    });
    // The stub answers records 3 and 2 to any `since`.
    expect(lines(out.stdout).map((r) => r.id)).toEqual([3, 2]);
  });

  /** Runs `audit --follow …args` until `done(printed ids)` or 15 s, then stops it. */
  const follow = async (args: string[], done: (ids: unknown[]) => boolean) => {
    queries = [];
    const child = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "audit", "--follow", "--interval", "0.1", ...args],
      {
        env: { ...process.env, SIGNET_URL: url, SIGNET_KEY: "k" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    // Bounded: at most 15 s for the records and a few more polls.
    for (let i = 0; i < 150 && !(done(lines(out).map((r) => r.id)) && queries.length >= 4); i++)
      await new Promise((r) => setTimeout(r, 100));
    child.kill();
    await exited(child);
    return lines(out).map((r) => r.id);
  };

  it("--follow starts from now, like tail -f: only newer records, each once, oldest first", async () => {
    expect(await follow([], (ids) => ids.length >= 1)).toEqual([3]);
    // The first request only finds where "now" is.
    expect(queries[0]!.get("limit")).toBe("1");
    expect(queries[0]!.get("since")).toBeNull();
    expect(queries.at(-1)!.get("since")).toBe("2026-01-01T00:00:03.000Z");
  });

  it("--follow --limit N first prints the N newest; --since starts there", async () => {
    expect(await follow(["--limit", "1"], (ids) => ids.length >= 2)).toEqual([2, 3]);
    const since = await follow(["--since", "2026-01-01T00:00:00Z"], (ids) => ids.length >= 2);
    expect(since).toEqual([2, 3]);
    expect(queries[0]!.get("since")).toBe("2026-01-01T00:00:00Z");
  });
});

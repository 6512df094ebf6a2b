/**
 * The CLI refuses flags it cannot honour before it sends anything, naming the flag and what it
 * expects: nothing here needs a server (SIGNET_URL points at a closed port, so a refusal that
 * came from a request would read ECONNREFUSED instead).
 */
import { describe, expect, it } from "vitest";
import { run } from "../helpers/process.js";

const env = { SIGNET_URL: "http://127.0.0.1:9", SIGNET_KEY: "sg_unused" };

describe("the CLI's flag checks", () => {
  it("audit --follow --interval takes a number of seconds above 0 (NaN polled in a loop)", async () => {
    for (const interval of ["abc", "0", "-1"]) {
      const r = await run(["audit", "--follow", "--interval", interval], env);
      expect(r.code, interval).toBe(1);
      expect(r.stderr, interval).toContain("--interval");
      expect(r.stderr, interval).toContain("a number of seconds above 0");
    }
  }, 60_000);

  it("audit --since and --until take an ISO 8601 time, named as such", async () => {
    const r = await run(["audit", "--since", "yesterday"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--since");
    expect(r.stderr).toContain("expected an ISO 8601 time");
    expect(r.stderr).not.toContain("must match pattern");
  }, 30_000);

  it("grants create --actions names the actions it accepts", async () => {
    const r = await run(
      ["grants", "create", "--principal", "role:x", "--buckets", "default", "--actions", "fly"],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("expected one of read, write, delete, list, share");
  }, 30_000);

  it("presign refuses --url with --curl (one of them was silently dropped)", async () => {
    const r = await run(["presign", "default/a.txt", "--url", "--curl"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'--curl' cannot be used with option '--url'");
  }, 30_000);

  it("completion refuses a shell it has no script for (fish got bash's)", async () => {
    const r = await run(["completion", "fish"], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("no completion for 'fish': bash or zsh");
  }, 30_000);

  it("share's --help shows the default methods as they are typed", async () => {
    const r = await run(["share", "--help"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(default:\s+GET,HEAD,LIST\)/);
  }, 30_000);
});

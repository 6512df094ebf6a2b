/**
 * A file ends once: one `file.deleted` event, one audit record, however many ways out race for
 * it. Two endings of one intent (an abort and the sweeper, two DELETEs) used to run side by
 * side, because a holder could take its own hold again: each read the file pending, and each
 * queued its webhook event and wrote its audit record though only the first changed the file;
 * two DELETEs of a committed file did the same. Now the second waits or is refused while the
 * first holds the key (key-guard.ts, leases), and an ending that finds the file changed by a
 * peer that held nothing records nothing (`endPending`, files.ts). The window is opened
 * deterministically: the second ending runs inside the first, after its read of the file and
 * before its status change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startSignet } from "../helpers/harness.js";
import { api, commitFile } from "../helpers/http.js";

describe("a file ended twice at once", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet({
      config: {
        // Never delivered (nothing listens on port 9): the outbox is what is looked at.
        webhooks: [
          { url: "http://127.0.0.1:9/hooks", secret: "${HOOK_SECRET}", events: ["file.deleted"] },
        ],
        webhookAllow: ["127.0.0.1/32"],
      },
      env: { HOOK_SECRET: "whsec-test-0123456789abcdef0123456789" },
    });
  });
  afterAll(() => h.close());

  const pending = async (key: string) => {
    const made = await api(h.url, "POST", "/v1/uploads", {
      bucket: "default",
      key,
      size: 1,
      contentType: "text/plain",
    });
    expect(made.status).toBe(201);
    return made.body.file.id as string;
  };

  /** Runs `second` inside the first revocation of the intent's URLs (the first ending's). */
  const during = async (first: () => Promise<unknown>, second: () => Promise<unknown>) => {
    const revocations = h.signet.revocations;
    const revokeTokens = revocations.revokeTokens.bind(revocations);
    let inner: unknown;
    let entered = false;
    revocations.revokeTokens = (async (...args: Parameters<typeof revokeTokens>) => {
      if (!entered) {
        entered = true;
        inner = await second();
      }
      return revokeTokens(...args);
    }) as typeof revokeTokens;
    try {
      const outer = await first();
      return { outer, inner };
    } finally {
      revocations.revokeTokens = revokeTokens;
    }
  };

  const events = async (id: string) =>
    (await h.signet.db.selectFrom("webhook_outbox").select("body").execute())
      .map((r) => JSON.parse(r.body) as { type: string; data: { file: { id: string } } })
      .filter((e) => e.data.file.id === id)
      .map((e) => e.type);

  const audited = async (key: string) => {
    await h.signet.audit.flush();
    const page = (await api(h.url, "GET", `/v1/audit?prefix=${encodeURIComponent(key)}`)).body;
    return (page.items as { action: string; key: string }[])
      .filter((r) => r.key === key && (r.action === "file.delete" || r.action === "upload.abort"))
      .map((r) => r.action);
  };

  it("two DELETEs of a pending file: one file.deleted event, one file.delete record", async () => {
    const key = "twice/deleted.txt";
    const id = await pending(key);
    const del = () => api(h.url, "DELETE", `/v1/files/${id}`);
    const { outer, inner } = await during(del, del);
    expect((outer as { status: number }).status).toBe(204);
    expect([204, 409]).toContain((inner as { status: number }).status);
    expect((await api(h.url, "GET", `/v1/files/${id}`)).body.status).toBe("deleted");
    expect(await events(id)).toEqual(["file.deleted"]);
    expect(await audited(key)).toEqual(["file.delete"]);
  });

  it("two DELETEs of a committed file: one file.deleted event, one file.delete record", async () => {
    const key = "twice/committed.txt";
    const id = await commitFile(h.url, { key, body: "x" });
    const store = h.signet.buckets.get("default")!.backend;
    const remove = store.delete.bind(store);
    let entered = false;
    let inner: Awaited<ReturnType<typeof api>> | undefined;
    // The second DELETE runs while the first removes the bytes, after its read of the file.
    store.delete = async (...args: Parameters<typeof remove>) => {
      if (!entered) {
        entered = true;
        inner = await api(h.url, "DELETE", `/v1/files/${id}`);
      }
      return remove(...args);
    };
    try {
      expect((await api(h.url, "DELETE", `/v1/files/${id}`)).status).toBe(204);
    } finally {
      store.delete = remove;
    }
    expect([204, 409]).toContain(inner?.status);
    expect(await events(id)).toEqual(["file.deleted"]);
    expect(await audited(key)).toEqual(["file.delete"]);
  });

  it("an abort racing the sweeper: one upload.abort record", async () => {
    const key = "twice/aborted.txt";
    const id = await pending(key);
    // Its URLs and grace period ran out: the sweeper picks it.
    await h.signet.db
      .updateTable("files")
      .set({ expires_at: new Date(Date.now() - 60_000).toISOString() })
      .where("id", "=", id)
      .execute();
    const { outer, inner } = await during(
      () => api(h.url, "POST", `/v1/uploads/${id}/abort`),
      () => h.signet.uploads.sweep(),
    );
    const aborted = outer as { status: number; body: { file: { status: string } } };
    expect(aborted.status).toBe(200);
    expect(aborted.body.file.status).toBe("deleted");
    // The abort holds the key in this process: the sweeper leaves the intent to it.
    expect(inner).toBe(0);
    expect(await events(id)).toEqual([]);
    expect(await audited(key)).toEqual(["upload.abort"]);
  });

  it("an ending that finds the intent ended by a peer meanwhile records nothing", async () => {
    const key = "twice/peer.txt";
    const id = await pending(key);
    // Another instance (its own key guard, the same hold name) ends it first: as its commit.
    const { outer } = await during(
      () => api(h.url, "DELETE", `/v1/files/${id}`),
      () =>
        h.signet.db
          .updateTable("files")
          .set({ status: "deleted", deleted_at: new Date().toISOString() })
          .where("id", "=", id)
          .execute(),
    );
    expect((outer as { status: number }).status).toBe(204);
    expect(await events(id)).toEqual([]);
    expect(await audited(key)).toEqual([]);
  });
});

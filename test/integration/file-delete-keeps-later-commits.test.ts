/**
 * Files stay true: `DELETE /v1/files/{id}` removes that file's bytes and never those of a file
 * committed at its key afterwards. Two DELETEs of one file held the key under one name
 * (`file-delete:{id}`), and a holder may take its own hold again: both ran, the first to finish
 * released the hold the other still relied on, an intent committed new bytes at the key, and
 * the other DELETE, which had read the old file committed, then removed them: the new file
 * answered 409 `file_changed` for ever. The window is opened deterministically: the second
 * DELETE and the new commit run while the first is about to remove the bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Harness, startSignet } from "../helpers/harness.js";
import { api, commitFile } from "../helpers/http.js";

describe("a DELETE of a file racing another DELETE of it", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSignet();
  });
  afterAll(() => h.close());

  it("leaves the bytes of a file committed at the key meanwhile", async () => {
    const key = "race/report.txt";
    const old = await commitFile(h.url, { key, body: "old bytes" });
    const store = h.signet.buckets.get("default")!.backend;
    const remove = store.delete.bind(store);
    let entered = false;
    let later: string | undefined;
    store.delete = async (...args: Parameters<typeof remove>) => {
      if (!entered && args[0] === key) {
        entered = true;
        const second = await api(h.url, "DELETE", `/v1/files/${old}`);
        // It waits behind the first DELETE, which waits for it here: after its waits it is 409.
        // Either way the key may be free once the first is done, and a file committed there.
        expect([204, 409]).toContain(second.status);
        later = await commitFile(h.url, { key, body: "new bytes" }).catch(() => undefined);
      }
      return remove(...args);
    };
    try {
      expect((await api(h.url, "DELETE", `/v1/files/${old}`)).status).toBe(204);
    } finally {
      store.delete = remove;
    }
    expect((await api(h.url, "GET", `/v1/files/${old}`)).body.status).toBe("deleted");
    // The key is free now: a file committed there keeps its bytes.
    later ??= await commitFile(h.url, { key, body: "new bytes" });
    const read = await fetch(`${h.url}/r/${later}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("new bytes");
  });

  it("answers both 204: deleting twice is deleting once, the second waits for the first", async () => {
    const id = await commitFile(h.url, { key: "race/twice.txt", body: "bytes" });
    const answers = await Promise.all([
      api(h.url, "DELETE", `/v1/files/${id}`),
      api(h.url, "DELETE", `/v1/files/${id}`),
    ]);
    expect(answers.map((a) => a.status)).toEqual([204, 204]);
    expect((await api(h.url, "GET", `/v1/files/${id}`)).body.status).toBe("deleted");
  });
});

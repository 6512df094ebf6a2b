/**
 * SAS URLs from Signet's own signer against a real Azure Blob service: Azurite, started by
 * scripts/peers/azurite-start.sh. Runs only when SIGNET_AZURITE_URL is set, e.g.
 *   SIGNET_AZURITE_URL=http://127.0.0.1:10000/devstoreaccount1 npx vitest run test/peers/azurite-sas.test.ts
 * Setup (container, stored access policies) goes through @azure/storage-blob with the emulator's
 * well-known key; every data request is a plain fetch of a SAS URL.
 */
import { randomBytes } from "node:crypto";
import {
  BlobServiceClient,
  type ContainerClient,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AzureLocation,
  BLOCK_BLOB_HEADERS,
  type BlobSasOptions,
  signBlobSas,
} from "../../src/backends/azure/azure-sas.js";
import { missing } from "../helpers/skip.js";

const endpoint = process.env.SIGNET_AZURITE_URL;
// Azurite's public development key; it protects nothing outside the emulator.
const ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

describe.skipIf(
  missing("Azurite verifies Signet's SAS", {
    "SIGNET_AZURITE_URL (Azurite peer: scripts/peers/azurite-start.sh)": endpoint,
  }),
)("Azurite verifies Signet's SAS", () => {
  const accountName = new URL(endpoint ?? "http://x/devstoreaccount1").pathname.split("/")[1] ?? "";
  const location: AzureLocation = {
    accountName,
    container: `signet-sas-${Date.now()}`,
    endpoint,
  };
  let container: ContainerClient;
  /** Written through the SDK before the tests, so that each test stands alone. */
  const SEED = "in/a b.bin";
  const seedBytes = randomBytes(1024);
  const seed = (blob: string) => container.getBlockBlobClient(blob).uploadData(seedBytes);

  const sas = (options: BlobSasOptions) =>
    signBlobSas(location, { accountKey: ACCOUNT_KEY }, options).url;
  const soon = () => new Date(Date.now() + 10 * 60_000);
  /** A write SAS's PUT of a whole block blob. */
  const put = (url: string, body: Uint8Array) =>
    fetch(url, { method: "PUT", body, headers: BLOCK_BLOB_HEADERS });
  /** Changes one character of the signature, keeping it valid base64. */
  const tamper = (url: string) => {
    const u = new URL(url);
    const sig = u.searchParams.get("sig") ?? "";
    u.searchParams.set("sig", (sig.startsWith("A") ? "B" : "A") + sig.slice(1));
    return u.toString();
  };
  /** The status and Azure error code of a request, e.g. "403 AuthorizationFailure". */
  const outcome = async (url: string | URL, init?: RequestInit) => {
    const r = await fetch(url, init);
    const code = /<Code>(\w+)<\/Code>/.exec(await r.text())?.[1];
    return code === undefined ? `${r.status}` : `${r.status} ${code}`;
  };
  const withQuery = (url: string, set: Record<string, string>) => {
    const u = new URL(url);
    for (const [name, value] of Object.entries(set)) u.searchParams.set(name, value);
    return u.toString();
  };

  beforeAll(async () => {
    const service = new BlobServiceClient(
      endpoint ?? "",
      new StorageSharedKeyCredential(accountName, ACCOUNT_KEY),
    );
    container = service.getContainerClient(location.container);
    await container.create();
    await seed(SEED);
  });
  afterAll(() => container?.delete());

  it("uploads a blob through a write SAS and reads the same bytes through a read SAS", async () => {
    const bytes = randomBytes(4096);
    const up = await put(
      sas({ blob: "up/new file.bin", permissions: "w", expiresOn: soon() }),
      bytes,
    );
    expect(up.status).toBe(201);
    const down = await fetch(sas({ blob: "up/new file.bin", permissions: "r", expiresOn: soon() }));
    expect(down.status).toBe(200);
    expect(Buffer.from(await down.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("uploads blocks and commits a block list through one write SAS", async () => {
    const url = sas({ blob: "blocks/big.bin", permissions: "w", expiresOn: soon() });
    const parts = [randomBytes(1000), randomBytes(2000)];
    const ids = parts.map((_, i) =>
      Buffer.from(`block-${i.toString().padStart(6, "0")}`).toString("base64"),
    );
    for (const [i, part] of parts.entries()) {
      const r = await fetch(withQuery(url, { comp: "block", blockid: ids[i] ?? "" }), {
        method: "PUT",
        body: part,
      });
      expect(r.status).toBe(201);
    }
    const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids
      .map((id) => `<Latest>${id}</Latest>`)
      .join("")}</BlockList>`;
    const commit = await fetch(withQuery(url, { comp: "blocklist" }), {
      method: "PUT",
      body: list,
    });
    expect(commit.status).toBe(201);
    const down = await fetch(sas({ blob: "blocks/big.bin", permissions: "r", expiresOn: soon() }));
    expect(Buffer.from(await down.arrayBuffer()).equals(Buffer.concat(parts))).toBe(true);
  });

  it("sends the signed response overrides on a read", async () => {
    const down = await fetch(
      sas({
        blob: SEED,
        permissions: "r",
        expiresOn: soon(),
        contentDisposition: 'attachment; filename="a.bin"',
        contentType: "text/plain",
      }),
    );
    expect(down.status).toBe(200);
    expect(down.headers.get("content-disposition")).toBe('attachment; filename="a.bin"');
    expect(down.headers.get("content-type")).toBe("text/plain");
  });

  it("refuses a tampered signature", async () => {
    const url = sas({ blob: SEED, permissions: "r", expiresOn: soon() });
    expect(await outcome(url)).toBe("200");
    expect(await outcome(tamper(url))).toBe("403 AuthorizationFailure");
  });

  it("refuses a SAS used for another blob", async () => {
    const url = new URL(sas({ blob: SEED, permissions: "r", expiresOn: soon() }));
    url.pathname = url.pathname.replace("a%20b.bin", "other.bin");
    expect(await outcome(url)).toBe("403 AuthorizationFailure");
  });

  it("refuses a read SAS used to PUT or DELETE, and deletes with d", async () => {
    const read = sas({ blob: SEED, permissions: "r", expiresOn: soon() });
    const overwrite = { method: "PUT", body: "overwrite", headers: BLOCK_BLOB_HEADERS };
    expect(await outcome(read, overwrite)).toBe("403 AuthorizationPermissionMismatch");
    expect(await outcome(read, { method: "DELETE" })).toBe("403 AuthorizationPermissionMismatch");
    await seed("in/doomed.bin");
    const del = sas({ blob: "in/doomed.bin", permissions: "d", expiresOn: soon() });
    expect(await outcome(del, { method: "DELETE" })).toBe("202");
  });

  it("refuses an expired SAS", async () => {
    const hourAgo = new Date(Date.now() - 3600_000);
    const read = (expiresOn: Date) =>
      sas({ blob: SEED, permissions: "r", startsOn: hourAgo, expiresOn });
    expect(await outcome(read(soon()))).toBe("200");
    expect(await outcome(read(new Date(hourAgo.getTime() + 60_000)))).toBe(
      "403 AuthorizationFailure",
    );
  });

  it("refuses an edited sip, which the signature covers", async () => {
    // Azurite does not check the caller's address against sip; only the signature binds it here.
    const url = sas({ blob: SEED, permissions: "r", expiresOn: soon(), ip: "127.0.0.1" });
    expect(await outcome(url)).toBe("200");
    expect(await outcome(withQuery(url, { sip: "127.0.0.0-127.0.0.255" }))).toBe(
      "403 AuthorizationFailure",
    );
  });

  it("refuses an https-only SAS over http, which is why an http endpoint signs https,http", async () => {
    const httpsOnly = signBlobSas(
      { ...location, endpoint: (endpoint ?? "").replace(/^http:/, "https:") },
      { accountKey: ACCOUNT_KEY },
      { blob: SEED, permissions: "r", expiresOn: soon() },
    );
    expect(new URLSearchParams(httpsOnly.query).get("spr")).toBe("https");
    expect(await outcome(httpsOnly.url.replace(/^https:/, "http:"))).toBe(
      "403 AuthorizationProtocolMismatch",
    );
  });

  it("lists the container through a container SAS", async () => {
    const url = withQuery(sas({ permissions: "l", expiresOn: soon() }), {
      restype: "container",
      comp: "list",
    });
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain(`<Name>${SEED}</Name>`);
  });

  it("honours a stored access policy (si) until it is removed", async () => {
    await container.setAccessPolicy(undefined, [
      {
        id: "signet-revocable",
        accessPolicy: {
          permissions: "r",
          startsOn: new Date(Date.now() - 60_000),
          expiresOn: soon(),
        },
      },
    ]);
    const url = sas({ blob: SEED, policyId: "signet-revocable" });
    expect(await outcome(url)).toBe("200");
    await container.setAccessPolicy(undefined, []);
    expect(await outcome(url)).toBe("403 AuthorizationFailure");
  });
});

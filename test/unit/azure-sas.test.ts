/**
 * The Azure SAS signer against @azure/storage-blob's own generateBlobSASQueryParameters (the
 * authority for the current layouts), the string-to-sign of each version era, the user
 * delegation string-to-sign, and the refusals.
 */
import {
  BlobSASPermissions,
  type BlobSASSignatureValues,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
  type UserDelegationKey,
} from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import {
  type AzureLocation,
  type BlobSasOptions,
  SAS_VERSION,
  type SasFields,
  sasIpRange,
  sasPermissions,
  sasSignature,
  signBlobSas,
  stringToSign,
} from "../../src/backends/azure/azure-sas.js";
import { SignetError } from "../../src/core/errors.js";

// Azurite's public development account; its key is published and signs nothing real.
const ACCOUNT = "devstoreaccount1";
const ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const AZURE: AzureLocation = { accountName: ACCOUNT, container: "signet" };
const AZURITE: AzureLocation = { ...AZURE, endpoint: "http://127.0.0.1:10000/devstoreaccount1/" };
const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY);

const UDK: UserDelegationKey = {
  signedObjectId: "11111111-2222-3333-4444-555555555555",
  signedTenantId: "66666666-7777-8888-9999-000000000000",
  signedStartsOn: new Date("2026-03-01T00:00:00Z"),
  signedExpiresOn: new Date("2026-03-08T00:00:00Z"),
  signedService: "b",
  signedVersion: SAS_VERSION,
  value: Buffer.from("a user delegation key, 32 bytes!").toString("base64"),
};

const startsOn = new Date("2026-03-02T10:00:00Z");
const expiresOn = new Date("2026-03-02T10:15:00Z");

/** The SDK's SAS for the same inputs; ipRange and protocol are given, not derived. */
function sdkQuery(
  options: BlobSasOptions,
  extra: Pick<BlobSASSignatureValues, "ipRange" | "protocol">,
  key: StorageSharedKeyCredential | UserDelegationKey = credential,
): string {
  const values: BlobSASSignatureValues = {
    version: SAS_VERSION,
    containerName: AZURE.container,
    blobName: options.blob,
    startsOn: options.startsOn,
    expiresOn: options.expiresOn,
    identifier: options.policyId,
    contentDisposition: options.contentDisposition,
    contentType: options.contentType,
    ...extra,
  };
  if (options.permissions)
    values.permissions =
      options.blob === undefined
        ? ContainerSASPermissions.parse(options.permissions)
        : BlobSASPermissions.parse(options.permissions);
  return key instanceof StorageSharedKeyCredential
    ? generateBlobSASQueryParameters(values, key).toString()
    : generateBlobSASQueryParameters(values, key, ACCOUNT).toString();
}

const refusal = (code: string, field?: string) =>
  expect.objectContaining({ name: "SignetError", code, ...(field ? { field } : {}) });

describe("signBlobSas matches @azure/storage-blob for sv=" + SAS_VERSION, () => {
  const https = { protocol: SASProtocol.Https };
  const cases: [string, AzureLocation, BlobSasOptions, Parameters<typeof sdkQuery>[1]][] = [
    ["blob read", AZURE, { blob: "reports/q3.pdf", permissions: "r", expiresOn }, https],
    [
      "blob read with start, sip and response overrides",
      AZURE,
      {
        blob: "reports/q3.pdf",
        permissions: "r",
        startsOn,
        expiresOn,
        ip: "203.0.113.0/24",
        contentDisposition: 'attachment; filename="q3 report.pdf"',
        contentType: "application/pdf",
      },
      { ...https, ipRange: { start: "203.0.113.0", end: "203.0.113.255" } },
    ],
    [
      "blob write from one address",
      AZURE,
      { blob: "up/a.bin", permissions: "w", expiresOn, ip: ["198.51.100.7"] },
      { ...https, ipRange: { start: "198.51.100.7" } },
    ],
    ["blob delete", AZURE, { blob: "up/a.bin", permissions: "d", expiresOn }, https],
    [
      "every blob permission, given out of order",
      AZURE,
      { blob: "x", permissions: "dwcar", expiresOn },
      https,
    ],
    [
      "stored access policy only (si)",
      AZURE,
      { blob: "reports/q3.pdf", policyId: "share-42" },
      https,
    ],
    [
      "stored access policy with permissions, expiry and overrides",
      AZURE,
      {
        blob: "reports/q3.pdf",
        permissions: "r",
        expiresOn,
        policyId: "share-42",
        contentType: "text/plain; charset=utf-8",
      },
      https,
    ],
    [
      "a name with spaces, unicode and reserved characters",
      AZURE,
      { blob: "dir/naïve file+1 #?.txt", permissions: "r", expiresOn },
      https,
    ],
    ["container list (sr=c)", AZURE, { permissions: "lr", expiresOn }, https],
    [
      "http endpoint (Azurite) signs https,http",
      AZURITE,
      { blob: "a.txt", permissions: "r", expiresOn },
      { protocol: SASProtocol.HttpsAndHttp },
    ],
  ];

  it.each(cases)("%s", (_name, location, options, extra) => {
    expect(signBlobSas(location, { accountKey: ACCOUNT_KEY }, options).query).toBe(
      sdkQuery(options, extra),
    );
  });

  it("user delegation SAS, with and without sip and overrides", () => {
    const key = { userDelegationKey: UDK };
    const plain: BlobSasOptions = { blob: "reports/q3.pdf", permissions: "r", expiresOn };
    const bound: BlobSasOptions = {
      ...plain,
      startsOn,
      ip: "192.0.2.10",
      contentDisposition: "inline",
      contentType: "image/png",
    };
    expect(signBlobSas(AZURE, key, plain).query).toBe(
      sdkQuery(plain, { protocol: SASProtocol.Https }, UDK),
    );
    expect(signBlobSas(AZURE, key, bound).query).toBe(
      sdkQuery(bound, { protocol: SASProtocol.Https, ipRange: { start: "192.0.2.10" } }, UDK),
    );
    const tenant = { ...UDK, signedDelegatedUserTenantId: "99999999-8888-7777-6666-555555555555" };
    expect(signBlobSas(AZURE, { userDelegationKey: tenant }, plain).query).toBe(
      sdkQuery(plain, { protocol: SASProtocol.Https }, tenant),
    );
  });
});

describe("signBlobSas URLs", () => {
  it("reproduces the module's worked example", () => {
    const signed = signBlobSas(
      { ...AZURE, endpoint: "https://devstoreaccount1.blob.core.windows.net" },
      { accountKey: ACCOUNT_KEY },
      { blob: "reports/q3.pdf", permissions: "r", expiresOn: new Date("2026-01-01T00:00:00Z") },
    );
    expect(signed.url).toBe(
      "https://devstoreaccount1.blob.core.windows.net/signet/reports/q3.pdf?sv=2025-11-05" +
        "&spr=https&se=2026-01-01T00%3A00%3A00Z&sr=b&sp=r" +
        "&sig=7HE68KhKg2ZSOol%2Fl%2BjB5IV2zCNGlyLlJujweStYgkI%3D",
    );
  });

  it("defaults to the public endpoint and encodes each path segment", () => {
    const signed = signBlobSas(
      AZURE,
      { accountKey: ACCOUNT_KEY },
      { blob: "a b/c#?.txt", permissions: "r", expiresOn },
    );
    expect(signed.url).toBe(
      `https://devstoreaccount1.blob.core.windows.net/signet/a%20b/c%23%3F.txt?${signed.query}`,
    );
  });

  it("puts a container SAS on the container, under a path-style endpoint", () => {
    const signed = signBlobSas(
      AZURITE,
      { accountKey: ACCOUNT_KEY },
      { permissions: "l", expiresOn },
    );
    expect(signed.url).toBe(`http://127.0.0.1:10000/devstoreaccount1/signet?${signed.query}`);
    expect(new URLSearchParams(signed.query).get("sr")).toBe("c");
  });

  it("signs and reports the expiry to the whole second", () => {
    const signed = signBlobSas(
      AZURE,
      { accountKey: ACCOUNT_KEY },
      { blob: "a", permissions: "r", expiresOn: new Date("2026-03-02T10:15:00.999Z") },
    );
    expect(new URLSearchParams(signed.query).get("se")).toBe("2026-03-02T10:15:00Z");
    expect(signed.expiresOn).toEqual(new Date("2026-03-02T10:15:00Z"));
  });

  it("reports no expiry when the stored access policy holds it", () => {
    const signed = signBlobSas(AZURE, { accountKey: ACCOUNT_KEY }, { blob: "a", policyId: "p1" });
    expect(signed.expiresOn).toBeUndefined();
    expect(new URLSearchParams(signed.query).get("si")).toBe("p1");
  });
});

describe("stringToSign across service versions", () => {
  // Every field set, so a field out of place changes the signature.
  const fields: SasFields = {
    sp: "r",
    st: "2026-03-02T10:00:00Z",
    se: "2026-03-02T10:15:00Z",
    canonicalizedResource: "/blob/devstoreaccount1/signet/reports/q3.pdf",
    si: "share-42",
    skoid: UDK.signedObjectId,
    sktid: UDK.signedTenantId,
    skt: "2026-03-01T00:00:00Z",
    ske: "2026-03-08T00:00:00Z",
    sks: "b",
    skv: SAS_VERSION,
    saoid: "agent-oid",
    scid: "correlation-1",
    skdutid: "delegated-tenant",
    sduoid: "delegated-user",
    sip: "192.0.2.1-192.0.2.9",
    spr: "https",
    sr: "bs",
    sst: "2026-02-01T00:00:00.0000000Z",
    ses: "scope-1",
    rscc: "no-cache",
    rscd: "inline",
    rsce: "gzip",
    rscl: "en",
    rsct: "text/plain",
  };

  function sdkValues(version: string): BlobSASSignatureValues {
    const values: BlobSASSignatureValues = {
      version,
      containerName: "signet",
      blobName: "reports/q3.pdf",
      permissions: BlobSASPermissions.parse("r"),
      startsOn: new Date("2026-03-02T10:00:00Z"),
      expiresOn: new Date("2026-03-02T10:15:00Z"),
      ipRange: { start: "192.0.2.1", end: "192.0.2.9" },
      protocol: SASProtocol.Https,
      cacheControl: "no-cache",
      contentDisposition: "inline",
      contentEncoding: "gzip",
      contentLanguage: "en",
      contentType: "text/plain",
    };
    // Each field only from the version the SDK accepts it in.
    if (version >= "2018-11-09") values.snapshotTime = "2026-02-01T00:00:00.0000000Z";
    if (version >= "2020-02-10") {
      values.preauthorizedAgentObjectId = "agent-oid";
      values.correlationId = "correlation-1";
    }
    if (version >= "2020-12-06") values.encryptionScope = "scope-1";
    if (version >= "2025-07-05") values.delegatedUserObjectId = "delegated-user";
    return values;
  }

  it.each(["2015-04-05", "2018-03-28", "2018-11-09", "2019-12-12", "2020-12-06", SAS_VERSION])(
    "service SAS, sv=%s",
    (version) => {
      const ours = sasSignature(
        ACCOUNT_KEY,
        stringToSign("service", version, { ...fields, sv: version }),
      );
      const sdk = generateBlobSASQueryParameters(
        { ...sdkValues(version), identifier: "share-42" },
        credential,
      );
      expect(ours).toBe(sdk.signature);
    },
  );

  it.each(["2018-11-09", "2020-02-10", "2020-12-06", "2025-07-05", SAS_VERSION])(
    "user delegation SAS, sv=%s",
    (version) => {
      const ours = sasSignature(
        UDK.value,
        stringToSign("delegation", version, { ...fields, sv: version }),
      );
      const key = {
        ...UDK,
        signedVersion: SAS_VERSION,
        signedDelegatedUserTenantId: "delegated-tenant",
      };
      const sdk = generateBlobSASQueryParameters(sdkValues(version), key, ACCOUNT);
      expect(ours).toBe(sdk.signature);
    },
  );

  it("lays out a user delegation SAS field by field", () => {
    const toSign = stringToSign("delegation", SAS_VERSION, {
      sp: "rw",
      se: "2026-03-02T10:15:00Z",
      canonicalizedResource: "/blob/acct/signet/a.txt",
      skoid: "oid",
      sktid: "tid",
      skt: "2026-03-01T00:00:00Z",
      ske: "2026-03-08T00:00:00Z",
      sks: "b",
      skv: "2025-11-05",
      sip: "192.0.2.1",
      spr: "https",
      sv: SAS_VERSION,
      sr: "b",
      rsct: "image/png",
    });
    expect(toSign.split("\n")).toEqual([
      "rw", // sp
      "", // st
      "2026-03-02T10:15:00Z", // se
      "/blob/acct/signet/a.txt",
      "oid", // skoid
      "tid", // sktid
      "2026-03-01T00:00:00Z", // skt
      "2026-03-08T00:00:00Z", // ske
      "b", // sks
      "2025-11-05", // skv
      "", // saoid
      "", // suoid
      "", // scid
      "", // skdutid
      "", // sduoid
      "192.0.2.1", // sip
      "https", // spr
      "2025-11-05", // sv
      "b", // sr
      "", // snapshot time
      "", // ses
      "", // rscc
      "", // rscd
      "", // rsce
      "", // rscl
      "image/png", // rsct
    ]);
  });

  it("refuses versions it has no layout for", () => {
    expect(() => stringToSign("service", "2026-04-06", fields)).toThrow(RangeError);
    expect(() => stringToSign("service", "2015-02-21", fields)).toThrow(RangeError);
    expect(() => stringToSign("delegation", "2018-03-28", fields)).toThrow(RangeError);
    expect(() => stringToSign("service", "latest", fields)).toThrow(RangeError);
  });
});

describe("sasIpRange", () => {
  it.each([
    ["192.0.2.7", "192.0.2.7"],
    [["192.0.2.7/32"], "192.0.2.7"],
    ["10.0.0.0/8", "10.0.0.0-10.255.255.255"],
    ["192.0.2.77/28", "192.0.2.64-192.0.2.79"],
    ["0.0.0.0/0", "0.0.0.0-255.255.255.255"],
  ])("%j -> %s", (ip, range) => {
    expect(sasIpRange(ip)).toBe(range);
  });

  it.each([["2001:db8::/32"], ["::1"], [["192.0.2.0/24", "198.51.100.0/24"]]])(
    "%j cannot be bound by a SAS",
    (ip) => {
      expect(() => sasIpRange(ip)).toThrow(refusal("constraint_not_enforceable", "ip"));
    },
  );

  it.each([["192.0.2.256"], ["192.0.2.0/33"], ["192.0.2.0/24/1"], ["example.com"], [[]]])(
    "%j is malformed",
    (ip) => {
      expect(() => sasIpRange(ip as string | string[])).toThrow(refusal("invalid_request", "ip"));
    },
  );

  it("refuses an IPv6 scope before signing", () => {
    expect(() =>
      signBlobSas(
        AZURE,
        { accountKey: ACCOUNT_KEY },
        { blob: "a", permissions: "r", expiresOn, ip: "::1" },
      ),
    ).toThrow(SignetError);
  });
});

describe("sasPermissions", () => {
  it.each([
    [["GET", "HEAD"], "b", "r"],
    [["PUT", "GET", "DELETE"], "b", "rwd"],
    [["LIST", "GET"], "c", "rl"],
  ] as const)("%j on sr=%s -> %s", (methods, resource, letters) => {
    expect(sasPermissions(methods, resource)).toBe(letters);
  });

  it("refuses a form POST and a LIST on one blob", () => {
    expect(() => sasPermissions(["POST"], "b")).toThrow(refusal("constraint_not_enforceable"));
    expect(() => sasPermissions(["LIST"], "b")).toThrow(RangeError);
  });
});

describe("signBlobSas refusals", () => {
  const sign = (options: BlobSasOptions, location = AZURE) =>
    signBlobSas(location, { accountKey: ACCOUNT_KEY }, options);

  it("refuses a stored access policy on a user delegation SAS", () => {
    expect(() =>
      signBlobSas(
        AZURE,
        { userDelegationKey: UDK },
        { blob: "a", permissions: "r", expiresOn, policyId: "p" },
      ),
    ).toThrow(refusal("constraint_not_enforceable"));
  });

  it("needs permissions and expiry unless a policy supplies them", () => {
    expect(() => sign({ blob: "a", permissions: "r" })).toThrow(RangeError);
    expect(() => sign({ blob: "a", expiresOn })).toThrow(RangeError);
  });

  it("refuses letters outside the resource's permissions, and repeats", () => {
    expect(() => sign({ blob: "a", permissions: "rl", expiresOn })).toThrow(RangeError);
    expect(() => sign({ blob: "a", permissions: "rr", expiresOn })).toThrow(RangeError);
  });

  it("refuses response overrides on a SAS that cannot read", () => {
    expect(() =>
      sign({ blob: "a", permissions: "w", expiresOn, contentType: "text/html" }),
    ).toThrow(refusal("invalid_request"));
  });

  it("refuses an empty signing key", () => {
    expect(() =>
      signBlobSas(AZURE, { accountKey: "" }, { blob: "a", permissions: "r", expiresOn }),
    ).toThrow(RangeError);
  });

  it("refuses an endpoint that is not http or https", () => {
    expect(() =>
      sign({ blob: "a", permissions: "r", expiresOn }, { ...AZURE, endpoint: "ftp://example.com" }),
    ).toThrow(RangeError);
  });
});

/**
 * The published Azure SAS vectors (test/fixtures/conformance/azure): every service (blob) SAS
 * vector must reproduce through the version-parametrised string-to-sign. The account SAS vector
 * does not apply: Signet signs service and user delegation SAS only.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type SasFields, sasSignature, stringToSign } from "../../src/backends/azure/azure-sas.js";

interface Vector {
  name: string;
  input: Record<string, string>;
  stringToSign: string;
  expectedSig: string;
}

const fixture = JSON.parse(
  readFileSync(
    new URL("../fixtures/conformance/azure/azure-storage-sas-vectors.json", import.meta.url),
    "utf8",
  ),
) as { account: { name: string; keyBase64: string }; vectors: Vector[] };

// A service SAS names its resource (sr); an account SAS names services (ss) instead.
const serviceVectors = fixture.vectors.filter((v) => v.input.sr !== undefined);

describe("Azure service SAS conformance vectors", () => {
  it("has service SAS vectors to check", () => {
    expect(serviceVectors.length).toBeGreaterThan(0);
  });

  it.each(serviceVectors)("$name", (vector) => {
    const { input } = vector;
    const fields: SasFields = {
      sp: input.sp,
      st: input.st,
      se: input.se,
      canonicalizedResource: `/blob/${fixture.account.name}/${input.container}/${input.blob}`,
      si: input.si,
      sip: input.sip,
      spr: input.spr,
      sv: input.sv,
      sr: input.sr,
    };
    const toSign = stringToSign("service", input.sv ?? "", fields);
    expect(toSign).toBe(vector.stringToSign);
    expect(sasSignature(fixture.account.keyBase64, toSign)).toBe(vector.expectedSig);
  });
});

/**
 * The master key that seals the keyring: SIGNET_MASTER_KEY, or else a random key kept in a
 * 0600 file in the data dir (created on the first start).
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { masterKeyFrom } from "../core/keyring.js";

export async function resolveMasterKey(
  dataDir: string,
  fromEnv: string | undefined,
): Promise<Buffer> {
  if (fromEnv !== undefined && fromEnv !== "") return masterKeyFrom(fromEnv);
  const path = join(dataDir, "master.key");
  try {
    return masterKeyFrom((await readFile(path, "utf8")).trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const material = randomBytes(32).toString("base64url");
  await writeFile(path, `${material}\n`, { mode: 0o600, flag: "wx" });
  return masterKeyFrom(material);
}

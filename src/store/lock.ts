/**
 * The data directory's lock: one process at a time opens an embedded store (its blobs and, on
 * SQLite, its database). `signet.lock` holds the owner's pid and host; a second process refuses
 * to start with a message naming them. A lock left by a process that died (no such pid on this
 * host) is taken over, so a crash never needs a manual clean-up.
 */
import { hostname } from "node:os";
import { open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";

export const LOCK_FILE = "signet.lock";

/** Held in this process, so that a second open in the same process is refused too. */
const held = new Set<string>();

export interface DataDirLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the pid exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function refusal(dataDir: string, owner: string): Error {
  return new Error(
    `the data directory ${dataDir} is in use by another Signet process (${owner}); ` +
      "an embedded store is opened by one process at a time. Many instances need PostgreSQL " +
      "(SIGNET_DATABASE_URL) and a cloud or S3-compatible backend, each with its own data dir",
  );
}

/** Takes the lock on `dataDir` or throws naming the process that holds it. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  if (held.has(path)) throw refusal(dataDir, `pid ${process.pid}, this process`);
  const me = `${process.pid}@${hostname()}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, "wx", 0o600);
      await file.writeFile(`${me}\n`);
      await file.close();
      held.add(path);
      return {
        release: async () => {
          if (!held.delete(path)) return;
          await unlink(path).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = (await readFile(path, "utf8").catch(() => "")).trim();
    const [pid, host] = owner.split("@");
    // Our own pid but not held here: left by an earlier process that had the same pid.
    const stale =
      host === hostname() &&
      pid !== undefined &&
      /^\d+$/.test(pid) &&
      (Number(pid) === process.pid || !alive(Number(pid)));
    // A lock naming another host cannot be checked: refused, it may be a shared disk.
    if (!stale && owner !== "") throw refusal(dataDir, `pid ${pid ?? "?"} on ${host ?? "?"}`);
    await unlink(path).catch(() => undefined);
  }
  throw refusal(dataDir, "another process took it at the same moment");
}

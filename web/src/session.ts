/**
 * Who is signed in: the credential lives in memory, or in sessionStorage when the person asks
 * (this tab only, gone when it closes) — never localStorage. Admin screens show only when the
 * credential has the admin role (GET /v1/keys answers 200 only to admins).
 */
import { createClient, listKeys, listShares, type SignetClient } from "../../src/browser/index.js";

const STORE = "signet.console.token";

export interface Session {
  client: SignetClient;
  admin: boolean;
}

let current: Session | undefined;

export const session = () => current;

/** Checks the credential against the API; throws the API's refusal (401) as is. */
export async function signIn(token: string, remember: boolean): Promise<Session> {
  const client = createClient({ token });
  await listShares(client, { limit: 1 });
  const admin = await listKeys(client).then(
    () => true,
    () => false,
  );
  current = { client, admin };
  if (remember) sessionStorage.setItem(STORE, token);
  else sessionStorage.removeItem(STORE);
  return current;
}

/** Restores a credential this tab kept; forgets it if the API no longer accepts it. */
export async function restore(): Promise<Session | undefined> {
  const token = sessionStorage.getItem(STORE);
  if (token === null) return undefined;
  try {
    return await signIn(token, true);
  } catch {
    sessionStorage.removeItem(STORE);
    return undefined;
  }
}

export function signOut(): void {
  current = undefined;
  sessionStorage.removeItem(STORE);
}

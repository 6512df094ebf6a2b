/** An authenticated caller. `id` is what tokens carry as their issuing principal. */
export interface Principal {
  /** "key:<api key id>", "sub:<jwt subject>" or "env:admin" */
  id: string;
  /**
   * the bare subject (an API key's id, a JWT's sub), for display only: principals are compared
   * and substituted for ${sub} by `id`, which is namespaced by kind
   */
  subject: string;
  roles: string[];
  /**
   * when the credential it authenticated with stops being accepted (ms since the epoch: an API
   * key's expiry, a JWT's `exp` plus the clock tolerance); absent when it does not expire. No URL
   * issued to it outlives this (service/issuance.ts).
   */
  expiresAt?: number;
}

export const ADMIN_ROLE = "admin";

export const isAdmin = (principal: Principal) => principal.roles.includes(ADMIN_ROLE);

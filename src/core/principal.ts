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
}

export const ADMIN_ROLE = "admin";

export const isAdmin = (principal: Principal) => principal.roles.includes(ADMIN_ROLE);

/** An authenticated caller. `id` is what tokens carry as their issuing principal. */
export interface Principal {
  /** "key:<api key id>" or "env:admin" */
  id: string;
  /** the subject grants substitute for ${sub}: an API key's id */
  subject: string;
  role: string;
}

export const ADMIN_ROLE = "admin";

export const isAdmin = (principal: Principal) => principal.role === ADMIN_ROLE;

/** An authenticated caller. `id` is what tokens carry as their issuing principal. */
export interface Principal {
  /** "key:<api key id>", "sub:<jwt subject>" or "env:admin" */
  id: string;
  /** what grants substitute for ${sub}: an API key's id, a JWT's subject */
  subject: string;
  roles: string[];
}

export const ADMIN_ROLE = "admin";

export const isAdmin = (principal: Principal) => principal.roles.includes(ADMIN_ROLE);

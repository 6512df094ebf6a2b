/**
 * The browser SDK's HTTP core: one `fetch` call per API request, the Bearer credential, and
 * Signet's JSON errors (`{ error: { code, message, field? } }`) turned into `SignetApiError`.
 * No `node:` imports; every API call is a standalone function so bundlers drop what is unused.
 */
import { retryAfterOf, SignetApiError } from "../api/errors.js";

export { SignetApiError };

/** Where Signet is and how to authenticate to it. */
export interface ClientOptions {
  /** Signet's base URL (`https://files.example.com`); "" means the page's own origin. */
  server?: string;
  /** an API key or a JWT, or a function answering one (called before each request) */
  token?: string | (() => string | Promise<string>);
  /** a fetch to use instead of the global one */
  fetch?: typeof fetch;
}

/** A configured client: pass it to the API functions (`presign(client, …)`, `upload(…)`). */
export interface SignetClient {
  readonly server: string;
  /** Sends one JSON request to the API and answers its parsed JSON body (undefined for 204). */
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** The `authorization` header for Signet's own URLs (empty without a credential). */
  authorization(): Promise<Record<string, string>>;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Builds a client. The credential stays in this object (memory); nothing is persisted. */
export function createClient(options: ClientOptions = {}): SignetClient {
  const server = (options.server ?? "").replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const authorization = async (): Promise<Record<string, string>> => {
    const token = typeof options.token === "function" ? await options.token() : options.token;
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  return {
    server,
    authorization,
    async request<T>(method: string, path: string, req: RequestOptions = {}): Promise<T> {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(req.query ?? {}))
        if (value !== undefined) query.set(name, String(value));
      const headers: Record<string, string> = { ...req.headers, ...(await authorization()) };
      if (req.body !== undefined) headers["content-type"] = "application/json";
      const qs = query.toString();
      const res = await doFetch(`${server}${path}${qs ? `?${qs}` : ""}`, {
        method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: req.signal,
      });
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      let json: unknown;
      try {
        json = text === "" ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const error = (json as { error?: { code?: string; message?: string; field?: string } })
          ?.error;
        throw new SignetApiError(
          res.status,
          error?.code ?? "http_error",
          error?.message ?? `HTTP ${res.status}`,
          error?.field,
          retryAfterOf(res.headers.get("retry-after")),
        );
      }
      return json as T;
    },
  };
}

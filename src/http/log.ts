/**
 * What request logs may hold: method, path and status. Never the query (it carries tokens
 * and signatures), never a link's token (it is in the path of /l/… and /s/…), and never a
 * header (Authorization carries credentials).
 */
interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
}

/** The path without its query, a link's token replaced by "…". */
export function loggablePath(url: string | undefined): string | undefined {
  return url?.split("?")[0]!.replace(/^\/(l|s)\/[^/]+/, "/$1/…");
}

export const logSerializers = {
  req: (req: LoggedRequest) => ({ method: req.method, path: loggablePath(req.url), ip: req.ip }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
};

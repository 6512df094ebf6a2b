/**
 * What request logs may hold: method, path and status. Never the query (it carries tokens
 * and signatures) and never a header (Authorization carries credentials).
 */
interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
}

export const logSerializers = {
  req: (req: LoggedRequest) => ({ method: req.method, path: req.url?.split("?")[0], ip: req.ip }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
};

// Preloaded with `node --import`: at exit, prints to stderr one line `LOADED <json list>` of the
// module URLs the process resolved (off-thread loader hooks report them through a port).
import { register } from "node:module";
import process from "node:process";
import { MessageChannel } from "node:worker_threads";

const { port1, port2 } = new MessageChannel();
const loaded = new Set();
port1.on("message", (url) => loaded.add(url));
port1.unref();
const hooks = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  port.postMessage(resolved.url);
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, {
  parentURL: import.meta.url,
  data: { port: port2 },
  transferList: [port2],
});
process.on("exit", () => process.stderr.write(`LOADED ${JSON.stringify([...loaded])}\n`));

// Preloaded with `node --import`: at exit, prints to stderr one line `LOADED <json list>` of the
// module URLs the process resolved (in-thread hooks where Node has them, else off-thread loader
// hooks reporting through a port).
import * as nodeModule from "node:module";
import process from "node:process";
import { MessageChannel } from "node:worker_threads";

const loaded = new Set();
if (typeof nodeModule.registerHooks === "function") {
  // Node 22.15+ and 24: in-thread hooks (the off-thread ones report nothing there).
  nodeModule.registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      loaded.add(resolved.url);
      return resolved;
    },
  });
} else {
  const { port1, port2 } = new MessageChannel();
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
  nodeModule.register(`data:text/javascript,${encodeURIComponent(hooks)}`, {
    parentURL: import.meta.url,
    data: { port: port2 },
    transferList: [port2],
  });
}
process.on("exit", () => process.stderr.write(`LOADED ${JSON.stringify([...loaded])}\n`));

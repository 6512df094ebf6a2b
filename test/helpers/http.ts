/** Small HTTP helpers for tests: JSON calls and raw requests over a socket. */
import { connect } from "node:net";
import { ADMIN_KEY } from "./harness.js";

export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  key: string | null = ADMIN_KEY,
) {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === "" ? undefined : (JSON.parse(text) as any),
  };
}

/**
 * Sends bytes as they are (no client-side path normalisation) and returns the raw answer.
 * With `hangUp`, the socket is closed right after writing: a body that ends early.
 */
export function raw(
  base: string,
  request: string | Buffer,
  options: { hangUp?: boolean } = {},
): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("error", (err) =>
      (err as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve(answer) : reject(err),
    );
    socket.on("close", () => resolve(answer));
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(request, () => {
      if (options.hangUp) socket.destroy();
    });
  });
}

export const statusOf = (answer: string) => Number(answer.split(" ")[1]);

/**
 * Makes a committed file the way an app does: an upload intent for `key` (in `bucket`, default
 * "default"), the bytes sent to its URL, then complete. Throws on any step's refusal; answers
 * the committed file's id.
 */
export async function commitFile(
  base: string,
  input: { key: string; body: string; bucket?: string; contentType?: string },
  credential: string = ADMIN_KEY,
): Promise<string> {
  const contentType = input.contentType ?? "text/plain";
  const intent = await api(
    base,
    "POST",
    "/v1/uploads",
    {
      bucket: input.bucket ?? "default",
      key: input.key,
      size: Buffer.byteLength(input.body),
      contentType,
    },
    credential,
  );
  if (intent.status !== 201)
    throw new Error(`intent: ${intent.status} ${JSON.stringify(intent.body)}`);
  const sent = await fetch(intent.body.upload.url, {
    method: "PUT",
    body: input.body,
    headers: { "content-type": contentType },
  });
  if (!sent.ok) throw new Error(`upload: ${sent.status} ${await sent.text()}`);
  const id = intent.body.file.id as string;
  const done = await api(base, "POST", `/v1/uploads/${id}/complete`, {}, credential);
  if (done.status !== 200) throw new Error(`complete: ${done.status} ${JSON.stringify(done.body)}`);
  return id;
}

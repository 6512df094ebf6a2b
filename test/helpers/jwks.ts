/** A JWKS server on 127.0.0.1 and a JWT issuer for tests. */
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

export interface Issuer {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** a JWT for `sub` with `roles`; `claims` and `header` override the defaults */
  token(
    sub: string,
    options?: {
      roles?: string[];
      expiresIn?: string | number;
      claims?: Record<string, unknown>;
      kid?: string;
      issuer?: string;
      audience?: string;
    },
  ): Promise<string>;
  /** add a new signing key, served from now on under `kid` */
  addKey(kid: string): Promise<void>;
  /** stop answering (connection refused) or resume */
  setDown(down: boolean): Promise<void>;
  /** how many times the JWKS was served */
  fetches(): number;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<Issuer> {
  const keys = new Map<string, { privateKey: KeyLike; jwk: JWK }>();
  const addKey = async (kid: string) => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    keys.set(kid, {
      privateKey,
      jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" },
    });
  };
  await addKey("k1");
  let server: Server | undefined;
  let port = 0;
  let fetches = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((_req, res) => {
        fetches++;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ keys: [...keys.values()].map((k) => k.jwk) }));
      });
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (server === undefined) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
      server = undefined;
    });
  await listen();
  const issuer = "https://issuer.test";
  const audience = "signet-tests";
  return {
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    issuer,
    audience,
    async token(sub, options = {}) {
      const kid = options.kid ?? "k1";
      const key = keys.get(kid);
      if (key === undefined) throw new Error(`no key ${kid}`);
      return new SignJWT({ roles: options.roles ?? ["user"], ...options.claims })
        .setProtectedHeader({ alg: "RS256", kid })
        .setSubject(sub)
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? audience)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "5m")
        .sign(key.privateKey);
    },
    addKey,
    setDown: (down) => (down ? stop() : listen()),
    fetches: () => fetches,
    close: stop,
  };
}

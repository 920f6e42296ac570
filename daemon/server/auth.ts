// Who is calling. Static bearer tokens are stored as sha256 hashes and compared in constant time;
// JWTs are verified with jose (HS256 secret, a PEM public key, or a JWKS file). With no auth
// configured (only allowed on loopback), every caller is `anonymous` with every scope.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, importSPKI, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ConfigError, type Config } from '../config.ts';
import type { Principal } from '../../resolvers/context.ts';

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401; reason: string };

export interface Authenticator {
  readonly enabled: boolean;
  /** `header`: the Authorization value (`Bearer x`), or undefined. */
  authenticate(header: string | undefined): Promise<AuthResult>;
}

const ALL_SCOPES: ReadonlySet<string> = new Set(['read', 'metrics']);

/** Constant-time equality of two strings of any length (compares their sha256 digests). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export async function createAuthenticator(config: Pick<Config, 'auth'>): Promise<Authenticator> {
  const tokens = config.auth.tokens.map((t) => ({ name: t.name, hash: Buffer.from(t.sha256, 'hex'), scopes: new Set<string>(t.scopes) }));
  const jwt = config.auth.jwt;
  let key: Uint8Array | Awaited<ReturnType<typeof importSPKI>> | JWTVerifyGetKey | null = null;
  let algorithms: string[] | undefined;
  if (jwt?.secret !== undefined) {
    key = new TextEncoder().encode(jwt.secret);
    algorithms = ['HS256'];
  } else if (jwt?.publicKeyFile !== undefined) {
    const file = jwt.publicKeyFile;
    const imported = await keyFile('publicKeyFile', file, async () => {
      const pem = readFileSync(file, 'utf8');
      const alg = pem.includes('BEGIN PUBLIC KEY') ? guessAlg(pem) : 'RS256';
      return { key: await importSPKI(pem, alg), alg };
    });
    key = imported.key;
    algorithms = [imported.alg];
  } else if (jwt?.jwksFile !== undefined) {
    const file = jwt.jwksFile;
    key = await keyFile('jwksFile', file, async () => createLocalJWKSet(JSON.parse(readFileSync(file, 'utf8'))));
  }
  const enabled = tokens.length > 0 || key !== null;

  return {
    enabled,
    async authenticate(header) {
      if (!enabled) return { ok: true, principal: { id: 'anonymous', scopes: ALL_SCOPES } };
      const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) return { ok: false, status: 401, reason: header === undefined ? 'missing bearer token' : 'malformed Authorization header: use `Bearer <token>`' };
      const presented = m[1]!;
      const digest = createHash('sha256').update(presented).digest();
      let match: (typeof tokens)[number] | undefined;
      // Compare with every token (no early exit) so timing does not reveal which one matched.
      for (const t of tokens) if (timingSafeEqual(digest, t.hash) && !match) match = t;
      if (match) return { ok: true, principal: { id: `token:${match.name}`, scopes: match.scopes } };
      if (key !== null && presented.split('.').length === 3) {
        try {
          const opts = { algorithms, issuer: jwt?.issuer, audience: jwt?.audience };
          const { payload } = typeof key === 'function' ? await jwtVerify(presented, key, opts) : await jwtVerify(presented, key, opts);
          const raw = payload.scope ?? payload.scp;
          const list = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(' ') : [];
          const scopes = new Set<string>();
          if (list.includes(jwt!.readScope)) scopes.add('read').add('metrics');
          if (list.includes('codegraph:metrics')) scopes.add('metrics');
          return { ok: true, principal: { id: `jwt:${payload.sub ?? 'unknown'}`, scopes } };
        } catch (err) {
          return { ok: false, status: 401, reason: `invalid JWT: ${(err as { code?: string }).code ?? 'ERR_JWT_INVALID'}` };
        }
      }
      return { ok: false, status: 401, reason: 'invalid bearer token' };
    },
  };
}

/** Reads a key file at start; any failure is a configuration error naming the setting. */
async function keyFile<T>(setting: string, file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw new ConfigError([`auth.jwt.${setting}: cannot use ${file}: ${(err as Error).message}. ${setting === 'jwksFile' ? 'It must be a JSON Web Key Set ({"keys": [...]})' : 'It must be a PEM SPKI public key (-----BEGIN PUBLIC KEY-----; RS256, ES256 or EdDSA)'}.`]);
  }
}

function guessAlg(pem: string): string {
  // EC P-256 SPKI keys are short; Ed25519 shorter still. RSA keys are long.
  const len = pem.replace(/-----[^-]+-----|\s/g, '').length;
  return len < 80 ? 'EdDSA' : len < 200 ? 'ES256' : 'RS256';
}

// Small HTTP helpers shared by the routes: JSON replies, bounded body reading, client identity.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CodedError } from '../../errors/index.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A GraphQL-over-HTTP style error body with `extensions.code`. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] }, headers);
}

export class BodyTooLarge extends CodedError<'BODY_TOO_LARGE'> {
  override name = 'BodyTooLarge';
  constructor(message: string) {
    super('BODY_TOO_LARGE', message);
  }
}

/** Reads the whole body, failing with BodyTooLarge as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLarge(`body of ${declared} bytes is over ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge(`body is over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function clientIp(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * Does the request's `Origin` name this server (same host and port as the `Host` header)? null when
 * the request has no Origin (not sent by browsers on same-origin GETs, nor by non-browser clients).
 */
export function sameOrigin(req: IncomingMessage): boolean | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Content types a browser cannot send cross-site without a CORS preflight (which we never grant). */
const PREFLIGHTED_TYPES = new Set(['application/json', 'application/graphql-response+json']);
/** Headers that prove the client could set custom headers, so a cross-site page would have been
 * preflighted (Apollo's and graphql-yoga's CSRF prevention names). */
const CSRF_HEADERS = ['graphql-require-preflight', 'x-graphql-yoga-csrf', 'apollo-require-preflight'] as const;

/**
 * CSRF check for /graphql (issue #8 item 6): a loopback daemon without auth must not run queries for
 * any web page the developer visits. Accepted: a POST whose content type is JSON (cross-site it needs
 * a preflight, and CORS is off); any request carrying one of CSRF_HEADERS; a request whose Origin is
 * this server, or that the browser marks `Sec-Fetch-Site: same-origin`. Everything else (form posts
 * as `application/x-www-form-urlencoded`, `multipart/form-data` or `text/plain`, and simple GETs) is
 * refused. Returns the reason to send, or null when admitted.
 */
export function csrfRefusal(req: IncomingMessage): string | null {
  if (req.method === 'OPTIONS') return null;
  const media = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (req.method === 'POST' && PREFLIGHTED_TYPES.has(media)) return null;
  if (CSRF_HEADERS.some((h) => req.headers[h] !== undefined)) return null;
  if (sameOrigin(req) === true || req.headers['sec-fetch-site'] === 'same-origin') return null;
  return req.method === 'POST'
    ? `POST /graphql needs content-type application/json (got ${JSON.stringify(media || 'none')}); other requests need a \`graphql-require-preflight: 1\` header (CSRF protection)`
    : `${req.method ?? 'GET'} /graphql needs a \`graphql-require-preflight: 1\` header, or use POST with content-type application/json (CSRF protection)`;
}

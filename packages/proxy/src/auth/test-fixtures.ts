import { createServer, IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { expect } from 'vitest';
import { ProxyError } from '../errors.js';

/** 48 random-looking bytes; tests never use real secrets. */
export const SESSION_SECRET = 'test-session-secret-0123456789-abcdefghijklmnop';
export const JWT_SECRET = 'test-jwt-secret-0123456789-abcdefghijklmnopqrstu';
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

/** A request as `node:http` would hand it over, from `remoteAddress`, without a network. */
export function fakeRequest(
  headers: Record<string, string> = {},
  remoteAddress = '127.0.0.1',
): IncomingMessage {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: remoteAddress });
  const req = new IncomingMessage(socket);
  for (const [name, value] of Object.entries(headers)) req.headers[name.toLowerCase()] = value;
  return req;
}

/** Awaits `promise`, expecting a `ProxyError` with `status`, and returns it. */
export async function expectProxyError(promise: Promise<unknown>, status: number): Promise<ProxyError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProxyError);
  const proxyError = error as ProxyError;
  expect(proxyError.status).toBe(status);
  return proxyError;
}

/** Base64url of a JSON value, for hand-built tokens. */
export function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A real local HTTP server answering every request with `handler`; close it when done. */
export async function localServer(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

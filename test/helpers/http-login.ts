/** `POST /api/login` from a chosen local address (127.0.0.x: another client address for the throttles); the status and Retry-After. */
import { request } from 'node:http';

export function loginFrom(
  port: number,
  username: string,
  password: string,
  localAddress = '127.0.0.1',
  timeoutMs = 20_000,
): Promise<{ status: number; retryAfter: string | undefined }> {
  const body = JSON.stringify({ username, password });
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/login',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
      },
    );
    req.on('error', () => resolve({ status: 0, retryAfter: undefined }));
    req.setTimeout(timeoutMs, () => req.destroy());
    req.end(body);
  });
}

import { request as httpRequest } from 'node:http';

/**
 * One HTTP request from a chosen local address (`127.0.0.2` … on Linux any 127/8 address is this
 * machine), so a test can be many different clients without a proxy in between.
 */
export function requestFrom(
  url: string,
  init: { method?: string; headers?: Record<string, string>; json?: unknown; form?: Record<string, string>; localAddress?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: any }> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, localAddress: init.localAddress }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

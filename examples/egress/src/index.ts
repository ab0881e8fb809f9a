import { createRouter, defineHandler, HostDeniedError, http, HttpError, json, secrets } from '@alga/extension-runtime';

// GET /fetch: fetches the install's configured URL, sending its `api_key` secret as `x-api-key`.
const router = createRouter().get('/fetch', (request, context) => {
  const url = context.config.url;
  if (!url) throw new HttpError(400, 'The install has no "url" configured.');
  const apiKey = secrets.get('api_key');
  if (!apiKey) throw new HttpError(500, 'The install has no "api_key" secret.');
  try {
    const upstream = http.fetch(url, { headers: { 'x-api-key': apiKey, accept: 'application/json' } });
    return json({ url, status: upstream.status, body: upstream.text() });
  } catch (error) {
    // The host refuses URLs outside the manifest's `egress` and the install's allowlist.
    if (error instanceof HostDeniedError) throw new HttpError(403, error.message);
    throw error;
  }
});

export const handler = defineHandler(router);

import { createRouter, defineHandler, json } from '@alga/extension-runtime';

const router = createRouter().get('/hello', (request, context) =>
  json({
    message: `Hello, ${context.config.greeting_name ?? 'world'}`,
    tenant: context.tenantId,
  }),
);

export const handler = defineHandler(router);

/**
 * /api/openapi.json: an OpenAPI 3.1 document made from `API_ROUTES` and the zod schemas the API
 * validates requests with (z.toJSONSchema) — no second, hand-written copy of the request shapes.
 */
import { z } from 'zod';
import { API_ROUTES } from './api.ts';

type JsonSchema = Record<string, unknown>;

const ERROR = {
  description: 'error',
  content: { 'application/json': { schema: { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' } } } } },
};

function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

export function openApiDocument(): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) {
    const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    const query = route.query ? inputSchema(route.query) : undefined;
    const required = new Set((query?.required as string[] | undefined) ?? []);
    const queryParams = Object.entries((query?.properties as Record<string, JsonSchema> | undefined) ?? {}).map(([name, schema]) => ({
      name, in: 'query', required: required.has(name), schema,
    }));
    paths[`/api${route.path}`] = {
      ...paths[`/api${route.path}`],
      [route.method]: {
        summary: route.summary,
        operationId: `${route.method}${route.path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '')}`,
        parameters: [...pathParams, ...queryParams],
        ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: inputSchema(route.body) } } } } : {}),
        responses: { 200: { description: 'OK', content: { 'application/json': {} } }, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tributary dashboard API', version: '1' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'tributary_session' } },
    },
    security: [{ bearer: [] }, { session: [] }],
    paths,
  };
}

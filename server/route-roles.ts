import { type KeyRole } from './api-keys.js';

/*
 * What a `read` key may call: serving (classify, process and its jobs, the protocol routes, the
 * WebSocket), looking (stats, capabilities, models, data sets, review items) and resolving a
 * review item. Everything else needs `admin`: reload, model defaults and verification, training
 * and model jobs, data set writes, reviewers, storing reviews as a data set, the audit log.
 * An allow-list, so a route added later is admin-only until it is listed here.
 */
const readAnyMethod = new Set([
  '/classify',
  '/process',
  '/jobs/:id',
  '/ws',
  // text-embeddings-inference, served at the root.
  '/',
  '/embed',
  '/info',
  '/predict',
  '/rerank',
  '/tokenize',
]);
const readGet = new Set([
  '/stats',
  '/capabilities',
  '/health',
  '/health/live',
  '/health/ready',
  '/metrics',
  '/models',
  '/models/:name',
  '/models/:name/diff',
  '/datasets',
  '/datasets/:id',
  '/reviews',
  '/reviews/:id',
  '/reviews/export',
]);
const readPost = new Set(['/reviews/:id']);
/** The OpenAI and KServe V2 protocol routes. */
const readPrefixes = ['/v1/', '/v2/', '/docs/'];

/**
 * The role a route needs, by its route pattern (`/jobs/:id`, not the URL). A request that matched
 * no route needs `read`: it ends in 404 and does nothing.
 */
export function roleFor(method: string, route: string | undefined): KeyRole {
  if (route === undefined) return 'read';
  const verb = method === 'HEAD' ? 'GET' : method;
  if (readAnyMethod.has(route) || route === '/v2' || readPrefixes.some((prefix) => route.startsWith(prefix))) return 'read';
  if (verb === 'GET' && readGet.has(route)) return 'read';
  if (verb === 'POST' && readPost.has(route)) return 'read';
  return 'admin';
}

import t from 'tap';
import { startDocumentedServer } from '../helpers/documented-server.js';

t.test('every validation error has one shape: code, message, issues with JSON-pointer paths', async (t) => {
  const server = await startDocumentedServer(t);
  const before = (await server.request('GET', '/stats')).body.requests.total as number;
  const cases: [string, string, unknown, { path: string }[], Record<string, string>?][] = [
    ['POST', '/classify', { texts: ['ok', ''], capabilities: ['stats'] }, [{ path: '/texts/1' }]],
    ['POST', '/classify', { texts: ['ok'], capabilities: ['stats'], extra: 1 }, [{ path: '' }]],
    ['POST', '/classify', '{"texts": [', [{ path: '' }]],
    ['POST', '/classify', { texts: ['\uD800'], capabilities: ['stats'] }, [{ path: '' }]],
    ['POST', '/process', { text: 'a', priority: 'urgent' }, [{ path: '/priority' }]],
    ['POST', '/process', { text: 'a', capabilities: 'stats' }, [{ path: '/capabilities' }]],
    ['GET', '/model-jobs?limit=0', undefined, [{ path: '/limit' }]],
  ];
  for (const [method, route, body, issues] of cases) {
    const response = await server.request(method, route, body);
    t.equal(response.status, 400, `${method} ${route} ${JSON.stringify(body)}`);
    t.match(response.body, { error: { code: 'VALIDATION_ERROR', message: String, issues } });
    for (const issue of response.body.error.issues as Record<string, unknown>[]) t.same(Object.keys(issue).sort(), ['message', 'path'], 'path and message only');
  }
  t.equal((await server.request('GET', '/stats')).body.requests.total, before, 'nothing reached the batcher');
  const fine = await server.request('POST', '/classify', { texts: ['fine'], capabilities: ['stats'] });
  t.equal(fine.status, 200, 'a normal request is answered afterwards');
});

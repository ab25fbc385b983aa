import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { ManualTime } from '../../core/manual-time.js';
import { paceRefusals } from '../../server/pace-refusals.js';
import { until } from '../helpers/until.js';

/** An app whose /refuse answers 429 (with `retry-after` when given) and whose /ok answers 200. */
async function refusingApp(t: Test, delayMs: number, time: ManualTime) {
  const app = Fastify();
  paceRefusals(app, delayMs, time);
  app.get('/refuse', async (request, reply) => {
    const { after } = request.query as { after?: string };
    if (after !== undefined) reply.header('retry-after', after);
    return reply.code(429).send({ error: { code: 'OVERLOADED', message: 'busy' } });
  });
  app.get('/ok', async () => ({ ok: true }));
  t.teardown(() => app.close());
  return app;
}

t.test('a 429 is held for the delay before it is sent; other answers are not', async (t) => {
  const time = new ManualTime();
  const app = await refusingApp(t, 1000, time);
  let answered = false;
  const refused = app.inject({ url: '/refuse?after=5' }).then((response) => {
    answered = true;
    return response;
  });
  await until(() => time.pending === 1, { what: 'the refusal to be held' });
  time.advance(999);
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(answered, 'not before the delay');
  t.equal((await app.inject({ url: '/ok' })).statusCode, 200, 'a normal answer goes out meanwhile, unheld');
  time.advance(1);
  const response = await refused;
  t.equal(response.statusCode, 429);
  t.equal(response.headers['retry-after'], '5', 'Retry-After unchanged');
  t.equal(response.json().error.code, 'OVERLOADED', 'the body unchanged');
});

t.test('never longer than the Retry-After; 0 turns it off', async (t) => {
  const time = new ManualTime();
  const app = await refusingApp(t, 5000, time);
  const refused = app.inject({ url: '/refuse?after=1' });
  await until(() => time.pending === 1, { what: 'the refusal to be held' });
  time.advance(1000);
  t.equal((await refused).statusCode, 429, 'released at the 1 s Retry-After, not the 5 s delay');

  const off = await refusingApp(t, 0, new ManualTime());
  t.equal((await off.inject({ url: '/refuse' })).statusCode, 429, 'answered without any timer');
});

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { entitiesCapability, type EntitiesResult, type Entity } from '../../capabilities/builtin/entities.js';
import { entityTypes } from '../../capabilities/builtin/entity-rules.js';
import { capabilitySpecSchema, type CapabilitySpec } from '../../capabilities/config-schema.js';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { entitiesResultSchema } from '../../capabilities/result-schemas.js';
import { loadConfig } from '../../server/config.js';
import { serviceApp } from '../helpers/service-app.js';

const spec = (params: Record<string, unknown> = {}) =>
  capabilitySpecSchema.parse({ name: 'entities', kind: 'entities', params }) as Extract<CapabilitySpec, { kind: 'entities' }>;
const context = { dependencies: new Map(), signal: new AbortController().signal };

async function find(text: string, params: Record<string, unknown> = {}): Promise<EntitiesResult> {
  const [result] = await entitiesCapability(spec(params)).run([text], context);
  return result as EntitiesResult;
}

/** Every span is where it says it is, in order and apart, and the result matches the published schema. */
function checkSpans(t: Test, text: string, result: EntitiesResult): void {
  t.ok(entitiesResultSchema.safeParse(result).success, 'matches EntitiesResult');
  const misplaced = result.entities.filter((entity) => text.slice(entity.start, entity.end) !== entity.text);
  const overlapping = result.entities.filter((entity, i) => i > 0 && entity.start < (result.entities[i - 1] as Entity).end);
  t.same(misplaced, [], 'every span at its offsets');
  t.same(overlapping, [], 'spans in order, none overlapping the one before');
}

const brief = (entities: readonly Entity[]) => entities.map(({ type, text, value }) => ({ type, text, ...(value === undefined ? {} : { value }) }));

t.test('each type is found with its offsets and normalised value', async (t) => {
  const cases: [string, Partial<Entity>[]][] = [
    ['Write to ana.b+x@mail.example.co.uk today.', [{ type: 'email', text: 'ana.b+x@mail.example.co.uk' }]],
    ['See https://example.com/a_(b)?q=1#top, or www.example.org.', [{ type: 'url', text: 'https://example.com/a_(b)?q=1#top' }, { type: 'url', text: 'www.example.org' }]],
    ['(see http://x.io/p) then', [{ type: 'url', text: 'http://x.io/p' }]],
    ['Call +1 (555) 123-4567 or 555-987-6543 or 020 7946 0958.', [
      { type: 'phone', text: '+1 (555) 123-4567', value: '+15551234567' },
      { type: 'phone', text: '555-987-6543', value: '5559876543' },
      { type: 'phone', text: '020 7946 0958', value: '02079460958' },
    ]],
    ['Due 2024-03-12, moved to 12 March 2024, then March 5th, 2025 and 1st of May.', [
      { type: 'date', text: '2024-03-12', value: '2024-03-12' },
      { type: 'date', text: '12 March 2024', value: '2024-03-12' },
      { type: 'date', text: 'March 5th, 2025', value: '2025-03-05' },
      { type: 'date', text: '1st of May' },
    ]],
    ['On 25/12/2024 and 03/04/2024.', [{ type: 'date', text: '25/12/2024', value: '2024-12-25' }, { type: 'date', text: '03/04/2024' }]],
    ['Logged 2024-03-12T14:30:00Z.', [{ type: 'datetime', text: '2024-03-12T14:30:00Z', value: '2024-03-12T14:30:00Z' }]],
    ['Meet at 14:30, 2pm or 9:05 a.m. sharp', [
      { type: 'time', text: '14:30', value: '14:30' },
      { type: 'time', text: '2pm', value: '14:00' },
      { type: 'time', text: '9:05 a.m.', value: '09:05' },
    ]],
    ['It cost $12.50, €3, £1,200, 12 EUR and 3,50 €.', [
      { type: 'money', text: '$12.50', value: { amount: 12.5, currency: 'USD' } },
      { type: 'money', text: '€3', value: { amount: 3, currency: 'EUR' } },
      { type: 'money', text: '£1,200', value: { amount: 1200, currency: 'GBP' } },
      { type: 'money', text: '12 EUR', value: { amount: 12, currency: 'EUR' } },
      { type: 'money', text: '3,50 €', value: { amount: 3.5, currency: 'EUR' } },
    ]],
    ['Paid EUR 12 on Mar. 5, 2024.', [{ type: 'money', text: 'EUR 12', value: { amount: 12, currency: 'EUR' } }, { type: 'date', text: 'Mar. 5, 2024', value: '2024-03-05' }]],
    ['Up 20% and 4.5 percent.', [{ type: 'percent', text: '20%', value: 20 }, { type: 'percent', text: '4.5 percent', value: 4.5 }]],
    ['Loving #summer2024 with @ana_b and #café!', [
      { type: 'hashtag', text: '#summer2024' },
      { type: 'mention', text: '@ana_b' },
      { type: 'hashtag', text: '#café' },
    ]],
    ['😀 émoji first: @bob', [{ type: 'mention', text: '@bob', start: 16, end: 20 }]],
  ];
  for (const [text, expected] of cases) {
    const result = await find(text);
    checkSpans(t, text, result);
    t.match(result.entities, expected, text);
    t.equal(result.entities.length, expected.length, `${text}: nothing else`);
    t.equal(result.truncated, false);
  }
});

t.test('overlapping candidates resolve to one span', async (t) => {
  const text = 'Mail bob@example.com, open https://example.com/@bob#intro or https://x.io/2024-03-12 on 2024-03-12';
  const result = await find(text);
  checkSpans(t, text, result);
  t.same(brief(result.entities), [
    { type: 'email', text: 'bob@example.com' },
    { type: 'url', text: 'https://example.com/@bob#intro' },
    { type: 'url', text: 'https://x.io/2024-03-12' },
    { type: 'date', text: '2024-03-12', value: '2024-03-12' },
  ]);
  t.same(brief((await find('at 2024-03-12 14:30 UTC')).entities), [{ type: 'datetime', text: '2024-03-12 14:30', value: '2024-03-12T14:30' }], 'a date-time is not also a date, a time or a phone');
});

t.test('plain text and near misses give no spans', async (t) => {
  const texts = [
    'The delivery was late and the support team never answered my questions.',
    'We sold 300 units in 2024 at a 3:1 ratio; version 1.2.3 shipped on time.',
    'I am happy, may I ask what this is about? Order #12345 and issue #7.',
    'Invalid: 2024-13-45, 31 February 2024, 99:99, 1234567, user@ and @ alone, a@b',
    'C# and F# are languages; x@y is not an address.',
    'Closed 25:00 to 7:5, score 12-14, page 3/4, 0.5 cups.',
  ];
  for (const text of texts) t.same((await find(text)).entities, [], text);
});

t.test('types and maxEntities restrict the result', async (t) => {
  const text = 'a@b.io #tag @who 50%';
  t.same(brief((await find(text, { types: ['hashtag', 'percent'] })).entities), [{ type: 'hashtag', text: '#tag' }, { type: 'percent', text: '50%', value: 50 }]);
  const many = Array.from({ length: 50 }, (_, i) => `#t${i}`).join(' ');
  const limited = await find(many, { maxEntities: 5 });
  t.same(limited.entities.map((e) => e.text), ['#t0', '#t1', '#t2', '#t3', '#t4'], 'the first ones, in text order');
  t.equal(limited.truncated, true);
  t.throws(() => spec({ types: ['person'] }), 'a type the rules do not find is a config error');
  t.same(spec().params, { types: [...entityTypes], maxEntities: 500 });
});

t.test('a 1 MB text and binary garbage give a defined result with bounded work', async (t) => {
  const dense = 'x@a.io #t @m 5% $1 '.repeat(60_000);
  const inputs = [
    ['one 1 MB run of one character', 'a'.repeat(1_000_000)],
    ['1 MB of digits', '1'.repeat(1_000_000)],
    ['1 MB of dense spans', dense.slice(0, 1_000_000)],
    ['1 MB of "@" and "#"', '@#+.-'.repeat(200_000)],
    ['binary garbage', Buffer.from(Array.from({ length: 1_000_000 }, (_, i) => (i * 2654435761) % 256)).toString('latin1')],
    ['lone surrogates', '\ud800#a\udfff@b'.repeat(100_000)],
  ] as const;
  for (const [name, text] of inputs) {
    const started = performance.now();
    const result = await find(text);
    const ms = performance.now() - started;
    t.ok(result.entities.length <= 500, `${name}: at most maxEntities spans`);
    checkSpans(t, text, result);
    t.ok(ms < 5000, `${name}: ${Math.round(ms)} ms`);
  }
  const denseResult = await find(dense.slice(0, 1_000_000));
  t.equal(denseResult.entities.length, 500);
  t.equal(denseResult.truncated, true);
  t.same(brief(denseResult.entities.slice(0, 5)), brief((await find(dense.slice(0, 200))).entities.slice(0, 5)), 'the first spans, as in a short text');
});

t.test('through /classify with a real configuration', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-entities-'));
  const config = loadConfig({ PORT: '0', CAPABILITIES_CONFIG: path.join(dir, 'capabilities.json'), MAX_TEXT_LENGTH: '2000000', BODY_LIMIT_BYTES: String(8 * 1024 * 1024) });
  const capabilities = parseCapabilitiesConfig({
    capabilities: [
      { name: 'entities', kind: 'entities' },
      { name: 'stats', kind: 'text-stats' },
    ],
  });
  const { app, service } = await serviceApp(t, config, capabilities);
  await service.start();
  const text = 'Email ops@example.com before 12 March 2024, 2pm: refund $12.50 (20%) #billing @ana';
  const response = await app.inject({ method: 'POST', url: '/classify', payload: { texts: [text, 'nothing here'], capabilities: ['entities'] } });
  t.equal(response.statusCode, 200, response.body);
  const [first, second] = (response.json() as { results: { entities: EntitiesResult }[] }).results;
  checkSpans(t, text, first?.entities as EntitiesResult);
  t.same(first?.entities.entities.map((e) => e.type), ['email', 'date', 'time', 'money', 'percent', 'hashtag', 'mention']);
  t.same(second?.entities, { entities: [], truncated: false });

  const garbage = Buffer.from(Array.from({ length: 1_000_000 }, (_, i) => 32 + ((i * 7919) % 95))).toString('latin1');
  const big = await app.inject({ method: 'POST', url: '/classify', payload: { texts: [garbage], capabilities: ['entities'] } });
  t.equal(big.statusCode, 200, '1 MB of printable garbage gets a defined result');
  t.ok(entitiesResultSchema.safeParse((big.json() as { results: { entities: unknown }[] }).results[0]?.entities).success);

  const before = service.stats.snapshot();
  const unknownType = await app.inject({ method: 'POST', url: '/classify', payload: { texts: [123], capabilities: ['entities'] } });
  t.equal(unknownType.statusCode, 400);
  t.equal((unknownType.json() as { error: { code: string } }).error.code, 'VALIDATION_ERROR');
  t.same([service.stats.snapshot().requests, service.stats.snapshot().texts], [before.requests, before.texts], 'nothing reached the batcher');
  const after = await app.inject({ method: 'POST', url: '/classify', payload: { texts: ['#ok'], capabilities: ['entities'] } });
  t.equal(after.statusCode, 200, 'the server answers a normal request afterwards');

  const listed = (await app.inject({ url: '/capabilities' })).json() as { capabilities: { name: string; kind: string }[] };
  t.match(listed.capabilities.find((c) => c.name === 'entities'), { kind: 'entities' });
});

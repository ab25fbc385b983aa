import t from 'tap';
import { languageIdCapability } from '../../capabilities/builtin/language-id.js';
import { capabilitySpecSchema, type CapabilitySpec } from '../../capabilities/config-schema.js';
import { type CapabilityContext } from '../../capabilities/types.js';

type Spec = Extract<CapabilitySpec, { kind: 'language-id' }>;
const context: CapabilityContext = { dependencies: new Map(), signal: new AbortController().signal };

function language(params: Record<string, unknown> = {}) {
  return languageIdCapability(capabilitySpecSchema.parse({ name: 'language', kind: 'language-id', params }) as Spec);
}

async function detect(texts: readonly string[], params: Record<string, unknown> = {}): Promise<string[]> {
  return (await language(params).run(texts, context)).map((r) => r.language);
}

t.test('closely related languages are told apart on clear sentences', async (t) => {
  const pairs: [string, string][] = [
    ['ces', 'Dobrý den, jak se máte? Včera jsem byl v obchodě a koupil jsem chléb a mléko.'],
    ['slk', 'Dobrý deň, ako sa máte? Včera som bol v obchode a kúpil som chlieb a mlieko.'],
    ['rus', 'Вчера я ходил в магазин и купил хлеб и молоко, а потом вернулся домой.'],
    ['ukr', 'Учора я ходив до крамниці й купив хліб і молоко, а потім повернувся додому.'],
    ['bul', 'Вчера отидох до магазина и купих хляб и мляко, а после се върнах вкъщи.'],
    ['spa', 'Ayer fui a la tienda y compré pan y leche, y después volví a casa con mi hermano.'],
    ['por', 'Ontem fui à loja e comprei pão e leite, e depois voltei para casa com o meu irmão.'],
    ['dan', 'I går gik jeg i butikken og købte brød og mælk, og bagefter gik jeg hjem igen.'],
    ['swe', 'Igår gick jag till affären och köpte bröd och mjölk, och sedan gick jag hem igen.'],
  ];
  t.same(await detect(pairs.map(([, text]) => text)), pairs.map(([code]) => code));
});

t.test('answers are ISO 639-3 codes with a confidence between 0 and 1', async (t) => {
  const results = await language().run(
    [
      'The quick brown fox jumps over the lazy dog while the farmer watches.',
      'Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde.',
      'Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer zusieht.',
      'Szybki brązowy lis przeskakuje nad leniwym psem, podczas gdy rolnik patrzy.',
    ],
    context,
  );
  t.same(results.map((r) => r.language), ['eng', 'fra', 'deu', 'pol']);
  for (const r of results) {
    t.match(r.language, /^[a-z]{3}$/);
    t.ok(r.confidence > 0 && r.confidence <= 1, `${r.language} confidence ${r.confidence}`);
  }
});

t.test('short or content-free texts are und with confidence 0', async (t) => {
  const results = await language().run(['hi', 'ok', '', '   ', '!!! ??? ... --- ***', '12', 'Hello'], context);
  t.same(results, Array.from({ length: 7 }, () => ({ language: 'und', confidence: 0 })));
  t.same(await detect(['Dobrý deň'], { minLength: 20 }), ['und'], 'minLength counts letters and digits');
});

t.test('minConfidence turns uncertain answers into und; only restricts the answer', async (t) => {
  const text = 'Dobrý den, jak se máte? Včera jsem byl v obchodě.';
  t.same(await detect([text], { minConfidence: 1 }), ['und']);
  t.same(await detect([text], { only: ['slk', 'eng'] }), ['slk'], 'the best allowed language');
  t.same(await detect([text], { only: ['jpn'] }), ['und'], 'no allowed language scored');
});

t.test('the params are validated', async (t) => {
  for (const params of [{ minConfidence: 2 }, { minLength: 0 }, { only: ['sk'] }, { engine: 'franc' }]) {
    t.notOk(capabilitySpecSchema.safeParse({ name: 'language', kind: 'language-id', params }).success, JSON.stringify(params));
  }
});

import t from 'tap';
import { CapabilityGraphError, CapabilityRegistry } from '../../capabilities/registry.js';
import { recordingCapability } from '../helpers/recording-capability.js';

const cap = (name: string, ...dependsOn: string[]) => recordingCapability(name, dependsOn);

t.test('resolve returns the requested capabilities and their transitive dependencies, dependencies first', async (t) => {
  const registry = new CapabilityRegistry().register(
    cap('recommendations', 'topics', 'sentiment'),
    cap('alerts', 'sentiment'),
    cap('topics', 'embedding'),
    cap('sentiment', 'embedding'),
    cap('embedding'),
    cap('language'),
  );
  t.same(registry.resolve(['embedding']), ['embedding']);
  t.same(registry.resolve(['alerts']), ['embedding', 'sentiment', 'alerts']);
  const order = registry.resolve(['recommendations', 'language']);
  t.same([...order].sort(), ['embedding', 'language', 'recommendations', 'sentiment', 'topics']);
  for (const name of order) {
    for (const dependency of registry.get(name).dependsOn) {
      t.ok(order.indexOf(dependency) < order.indexOf(name), `${dependency} before ${name}`);
    }
  }
  t.same(registry.resolve(['alerts', 'alerts', 'sentiment']), ['embedding', 'sentiment', 'alerts'], 'no duplicates');
});

t.test('registration rejects unknown dependencies, naming them', async (t) => {
  const registry = new CapabilityRegistry();
  t.throws(() => registry.register(cap('alerts', 'sentiment', 'nope')), {
    code: 'UNKNOWN_DEPENDENCY',
    names: ['sentiment', 'nope'],
    message: /alerts.*"sentiment", "nope"/,
  });
  t.same(registry.names(), [], 'a rejected registration adds nothing');
});

t.test('registration rejects cycles with an error naming the cycle', async (t) => {
  const registry = new CapabilityRegistry().register(cap('base'));
  const error = t.throws(() => registry.register(cap('a', 'b', 'base'), cap('b', 'c'), cap('c', 'a'))) as CapabilityGraphError;
  t.equal(error.code, 'DEPENDENCY_CYCLE');
  t.same(error.names, ['a', 'b', 'c', 'a']);
  t.match(error.message, 'dependency cycle: a -> b -> c -> a');
  t.throws(() => new CapabilityRegistry().register(cap('self', 'self')), { code: 'DEPENDENCY_CYCLE', names: ['self', 'self'] });
  t.same(registry.names(), ['base']);
});

t.test('duplicates and unknown names', async (t) => {
  const registry = new CapabilityRegistry().register(cap('a'));
  t.throws(() => registry.register(cap('a')), { code: 'DUPLICATE_CAPABILITY' });
  t.throws(() => registry.register(cap('b'), cap('b')), { code: 'DUPLICATE_CAPABILITY' });
  t.throws(() => registry.resolve(['zzz']), { code: 'UNKNOWN_CAPABILITY' });
});

t.test('capabilities registered later may depend on earlier ones', async (t) => {
  const registry = new CapabilityRegistry().register(cap('embedding'));
  registry.register(cap('topics', 'embedding'));
  t.same(registry.resolve(['topics']), ['embedding', 'topics']);
});

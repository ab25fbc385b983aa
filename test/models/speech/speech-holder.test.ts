import t from 'tap';
import { speechKey } from '../../../models/speech/reload-speech.js';
import { SpeechHolder } from '../../../models/speech/speech-holder.js';
import { type SpeechRecognizer } from '../../../models/speech/types.js';

/** A recognizer that records whether it was closed. */
function recognizer(backend: string): SpeechRecognizer & { closed: boolean } {
  return {
    backend,
    language: 'en',
    closed: false,
    async transcribe() {
      return [];
    },
    async close() {
      this.closed = true;
    },
  };
}

t.test('a replaced recognizer is closed only after its last use is released', async (t) => {
  const old = recognizer('old');
  const holder = new SpeechHolder({ recognizer: old, chunkSeconds: 30 }, { key: 'a' });
  const first = holder.acquire();
  const second = holder.acquire();
  t.equal(first.speech.recognizer, old);
  t.same(holder.uses(), [2]);

  const next = recognizer('next');
  const { closed } = holder.replace({ recognizer: next }, 'b');
  t.equal(holder.key, 'b');
  t.equal(holder.current().recognizer, next, 'new uses take the new one at once');
  t.equal(holder.acquire().speech.recognizer, next);
  t.same(holder.uses(), [1, 2], 'the old one still has its two uses');

  first.release();
  first.release();
  t.notOk(old.closed, 'one use left (a second release of the same use counts once)');
  second.release();
  await closed;
  t.ok(old.closed, 'closed after the last use');
  t.same(holder.uses(), [1], 'and forgotten');
  t.notOk(next.closed);
});

t.test('a recognizer replaced while unused is closed at once; removing it leaves the reason; close() closes everything', async (t) => {
  const old = recognizer('old');
  const holder = new SpeechHolder({ recognizer: old });
  await holder.replace({ unavailable: 'no speech backend' }, 'none').closed;
  t.ok(old.closed);
  const use = holder.acquire();
  t.same(use.speech, { unavailable: 'no speech backend' });
  use.release();

  const current = recognizer('current');
  holder.replace({ recognizer: current }, 'c');
  const running = holder.acquire();
  const later = recognizer('later');
  holder.replace({ recognizer: later }, 'd');
  await holder.close();
  t.ok(current.closed, 'a replaced one still in use is closed at shutdown');
  t.ok(later.closed);
  running.release();
  const late = recognizer('late');
  await holder.replace({ recognizer: late }, 'e').closed;
  t.ok(late.closed, 'one swapped in after close (a reload during shutdown) is closed, not kept');
  t.equal(holder.current().recognizer, later);
});

t.test('a close that fails is reported, not thrown', async (t) => {
  const failing: SpeechRecognizer = { backend: 'x', language: 'en', transcribe: async () => [], close: async () => Promise.reject(new Error('busy')) };
  const errors: unknown[] = [];
  const holder = new SpeechHolder({ recognizer: failing }, { onCloseError: (error) => errors.push(error) });
  await holder.replace({}, undefined).closed;
  t.match(errors, [{ message: 'busy' }]);
});

t.test('speechKey fills defaults and resolves paths, so equal sections have equal keys', async (t) => {
  const dir = '/srv/capserve';
  t.equal(
    speechKey({ backend: 'pocketsphinx', language: 'en-us' }, dir),
    speechKey({ backend: 'pocketsphinx', language: 'en-us', modelDir: '/usr/share/pocketsphinx/model/en-us', binary: 'pocketsphinx_continuous', chunkSeconds: 30 }, dir),
  );
  const whisper = { backend: 'whisper', model: 'models/a.bin', language: 'en', threads: 2 } as const;
  t.equal(speechKey(whisper, dir), speechKey({ ...whisper, model: '/srv/capserve/models/a.bin' }, dir), 'relative or absolute');
  t.not(speechKey(whisper, dir), speechKey({ ...whisper, model: 'models/b.bin' }, dir), 'another file');
  t.not(speechKey(whisper, dir), speechKey(whisper, '/elsewhere'), 'the same name in another folder');
  t.not(speechKey(whisper, dir), speechKey({ ...whisper, chunkSeconds: 10 }, dir));
  t.equal(speechKey(undefined, dir), 'none');
});

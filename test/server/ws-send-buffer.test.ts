import { type Socket } from 'node:net';
import t from 'tap';
import { type Capability } from '../../capabilities/types.js';
import { startTestServer } from '../helpers/test-server.js';
import { within } from '../helpers/until.js';
import { TestWsClient } from '../helpers/ws-client.js';

/** 64 KB of result per text: a few classify messages fill a socket's buffers. */
const big: Capability<string> = { name: 'big', dependsOn: [], run: async (texts) => texts.map(() => 'x'.repeat(64 * 1024)) };
const small: Capability<string> = { name: 'small', dependsOn: [], run: async (texts) => texts.map((text) => text.length.toString()) };

t.test('a WebSocket client that never reads is closed with 1008 past WS_MAX_BUFFERED_BYTES; another socket keeps working', async (t) => {
  const server = await startTestServer(t, [big, small], { wsMaxBufferedBytes: 1024 * 1024, logLevel: 'warn' });
  const wsUrl = `${server.url.replace('http', 'ws')}/ws`;
  const reader = await TestWsClient.connect(wsUrl);
  const stalled = await TestWsClient.connect(wsUrl);
  t.teardown(() => {
    reader.socket.terminate();
    stalled.socket.terminate();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    stalled.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  // The client stops reading its TCP stream: what the server sends piles up in the kernel, then in the server.
  const raw = (stalled.socket as unknown as { _socket: Socket })._socket;
  raw.pause();
  // 60 messages of 8 × 64 KB: 30 MB, far past the kernel's socket buffers and the 1 MB cap.
  const texts = Array.from({ length: 8 }, (_, i) => `text ${i}`);
  for (let id = 0; id < 60; id += 1) stalled.send({ id, texts, capabilities: ['big'] });

  const warned = await server.logs.next((record) => record.msg === 'websocket closed: the client does not read its messages', 'the send-buffer close');
  t.ok((warned.bufferedBytes as number) > 1024 * 1024, `closed at ${String(warned.bufferedBytes)} buffered bytes`);

  reader.send({ id: 'r', texts: ['still here'], capabilities: ['small'] });
  const done = await within(reader.next((m) => m.id === 'r' && m.type === 'done'), { what: 'the other socket to be answered' });
  t.same(done.failed, []);
  t.match(reader.received.find((m) => m.id === 'r' && m.type === 'result'), { capability: 'small' });

  // Reading again, the client drains what was buffered and then finds the close frame with its code.
  raw.resume();
  const { code, reason } = await within(closed, { what: 'the stalled socket to close' });
  t.equal(code, 1008);
  t.match(reason, /WS_MAX_BUFFERED_BYTES/);
  t.ok(stalled.received.length < 60 * 8, `the server stopped sending (${stalled.received.length} messages reached the client)`);
  t.equal((await server.post('/classify', { texts: ['after'], capabilities: ['small'] })).status, 200, 'HTTP is served afterwards');
});

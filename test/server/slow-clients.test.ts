import { connect, type Socket } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { within } from '../helpers/until.js';
import { startServerProcess } from '../helpers/server-process.js';

/** A raw connection that sends `head` and then one more byte of `trickle` every 200 ms, and never finishes. */
async function slowClient(port: number, head: string, trickle: string): Promise<{ socket: Socket; closed: Promise<string>; stop: () => void }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  socket.write(head);
  let at = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(trickle[at++ % trickle.length] ?? 'x');
  }, 200);
  const stop = (): void => {
    clearInterval(timer);
    socket.destroy();
  };
  void closed.then(() => clearInterval(timer));
  return { socket, closed, stop };
}

t.test('a client that trickles its headers is cut off at HTTP_HEADERS_TIMEOUT_MS; others are served', async (t) => {
  const dir = await testDir(t, 'slow');
  const server = await startFullServer(t, {
    CAPABILITIES_CONFIG: await writeCapabilities(dir),
    SQLITE_PATH: ':memory:',
    SPOOL_DIR: path.join(dir, 'spool'),
    HTTP_HEADERS_TIMEOUT_MS: '1000',
  });
  const port = Number(new URL(server.url).port);
  const slow = await slowClient(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n');
  t.teardown(slow.stop);
  const answer = await within(slow.closed, { what: 'the slow-header connection to be closed', timeoutMs: 5000 });
  t.match(answer, /^HTTP\/1\.1 408/, 'it gets 408 Request Timeout, then the connection closes');
  t.equal((await server.request('POST', '/classify', { texts: ['fine'], capabilities: ['stats'] })).status, 200, 'a normal request is served');
});

t.test('SIGTERM with slow clients connected: the process exits within SHUTDOWN_GRACE_MS', async (t) => {
  const dir = await testDir(t, 'slow');
  const server = await startServerProcess(t, {
      CAPABILITIES_CONFIG: await writeCapabilities(dir),
      SQLITE_PATH: ':memory:',
      SPOOL_DIR: path.join(dir, 'spool'),
      SHUTDOWN_GRACE_MS: '1000',
      // Far above the grace: only the end of the grace may cut these clients off.
      HTTP_HEADERS_TIMEOUT_MS: '60000',
      HTTP_REQUEST_TIMEOUT_MS: '600000',
      LOG_LEVEL: 'info',
  });
  const { port } = server;

  const slowHeaders = await slowClient(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\n', 'X-Slow: aaaaaaaaaaaaaaaa\r\n');
  const slowBody = await slowClient(
    port,
    'POST /classify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"texts":["',
    'a',
  );
  t.teardown(() => {
    slowHeaders.stop();
    slowBody.stop();
  });
  const started = Date.now();
  server.process.kill('SIGTERM');
  const code = await within(server.exited, { what: () => `the process to exit (log: ${server.output.slice(-1500)})`, timeoutMs: 8000 });
  const tookMs = Date.now() - started;
  t.equal(code, 0, `exit code (log: ${server.output.slice(-1500)})`);
  t.ok(tookMs < 1000 + 3000, `exited ${tookMs} ms after SIGTERM with a 1000 ms grace`);
  await within(Promise.all([slowHeaders.closed, slowBody.closed]), { what: 'the slow connections to be closed' });
});

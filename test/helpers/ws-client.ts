import { type ClientOptions, WebSocket } from 'ws';

/** A real WebSocket client that queues every message it receives, for tests to await in order. */
export class TestWsClient {
  readonly socket: WebSocket;
  readonly received: Record<string, any>[] = [];
  #waiters: { predicate: (m: Record<string, any>) => boolean; resolve: (m: Record<string, any>) => void }[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, any>;
      this.received.push(message);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.predicate(message)) return true;
        w.resolve(message);
        return false;
      });
    });
  }

  static async connect(url: string, options?: ClientOptions): Promise<TestWsClient> {
    const socket = new WebSocket(url, options);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new TestWsClient(socket);
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message, received or future, that matches. */
  next(predicate: (m: Record<string, any>) => boolean): Promise<Record<string, any>> {
    const seen = this.received.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ predicate, resolve }));
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

// A real HTTP server on loopback playing the app that receives Lanyard's webhooks. Every request is
// verified with the `standardwebhooks` package (the Standard Webhooks reference library), so that a
// delivery counts as correct only when a receiver that uses no Lanyard code accepts it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request as received. */
export interface ReceivedWebhook {
  readonly id: string;
  readonly timestamp: number;
  readonly signature: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The parsed body, when some secret verified it; undefined otherwise. */
  readonly payload:
    { id: string; type: string; createdAt: string; organizationId: string | null; data: Record<string, unknown> } | undefined;
  /** The indexes of the secrets whose signature verified. */
  readonly verifiedBy: number[];
  readonly receivedAt: number;
}

/** How to answer one request: a status (and body, headers, delay), or `hang` (never answer), or `reset` (drop the connection). */
export type Answer = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number } | 'hang' | 'reset';

export interface Receiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** The secrets the receiver trusts (set after creating the endpoint). */
  secrets: string[];
  /** Decides each answer; 204 by default. */
  answer: (request: ReceivedWebhook) => Answer;
  /** The current time as the receiver judges `webhook-timestamp` (a test that moves Lanyard's clock moves this too). */
  now: () => Date;
  /** Resolves when `count` requests have been received, or rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Stops listening (the receiver is down); `start()` listens again on the same port. */
  down(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1. */
export async function startReceiver(): Promise<Receiver> {
  let server: Server | undefined;
  let port = 0;
  const sockets = new Set<import('node:net').Socket>();
  const waiters: (() => void)[] = [];
  const receiver: Receiver = {
    url: '',
    received: [],
    secrets: [],
    answer: () => ({ status: 204 }),
    now: () => new Date(),
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (receiver.received.length < count) return false;
          clearTimeout(timer);
          resolve();
          return true;
        };
        const timer = setTimeout(() => reject(new Error(`received ${receiver.received.length} of ${count} webhooks`)), timeoutMs);
        if (!check()) waiters.push(() => void check());
      });
    },
    async down() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    },
    async start() {
      server = createServer((request, response) => void handle(request, response));
      server.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      (receiver as { url: string }).url = `http://127.0.0.1:${port}/hooks`;
    },
    async close() {
      await receiver.down();
    },
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const received = verify(Buffer.concat(chunks).toString('utf8'), request.headers as Record<string, string>, receiver);
    receiver.received.push(received);
    for (const waiter of waiters.splice(0)) waiter();
    const answer = receiver.answer(received);
    if (answer === 'hang') return;
    if (answer === 'reset') {
      request.socket.destroy();
      return;
    }
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    response.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
  }

  await receiver.start();
  return receiver;
}

/**
 * Verifies with `standardwebhooks`: `verify()` when the timestamp is near the real time (it reads
 * Date.now()), else `sign()` at the header's timestamp compared with what was sent, with the same
 * 5-minute tolerance judged against `receiver.now()` (tests that move Lanyard's clock by hours).
 */
function verify(body: string, headers: Record<string, string>, receiver: Receiver): ReceivedWebhook {
  const id = headers['webhook-id'] ?? '';
  const timestamp = Number(headers['webhook-timestamp']);
  const signature = headers['webhook-signature'] ?? '';
  const verifiedBy: number[] = [];
  let payload: ReceivedWebhook['payload'];
  receiver.secrets.forEach((secret, index) => {
    const webhook = new Webhook(secret);
    try {
      if (Math.abs(timestamp * 1000 - Date.now()) < 60_000) {
        payload = webhook.verify(body, headers) as ReceivedWebhook['payload'];
      } else {
        if (Math.abs(timestamp * 1000 - receiver.now().getTime()) > 300_000) return;
        const expected = webhook.sign(id, new Date(timestamp * 1000), body);
        if (!signature.split(' ').includes(expected)) return;
        payload = JSON.parse(body) as ReceivedWebhook['payload'];
      }
      verifiedBy.push(index);
    } catch {
      // not this secret
    }
  });
  return { id, timestamp, signature, headers, body, payload, verifiedBy, receivedAt: Date.now() };
}

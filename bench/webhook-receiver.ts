/**
 * The receiving app of bench/webhooks.ts, in a process of its own so that its work is not on
 * Lanyard's event loop: test/support/webhook-receiver.ts (every request verified with the
 * standardwebhooks package). Talks to its parent over IPC: `{secret}` in, `{url}` and then
 * `{received: [[webhookId, receivedAtMs, verified]]}` out.
 */
import { startReceiver } from '../test/support/webhook-receiver.ts';

const receiver = await startReceiver();
const delayMs = Number(process.env.BENCH_WEBHOOK_RECEIVER_DELAY_MS ?? '0');
if (delayMs > 0) receiver.answer = () => ({ status: 204, delayMs });
process.send?.({ url: receiver.url });
process.on('message', (message: { secret?: string; report?: boolean; stop?: boolean }) => {
  if (message.secret !== undefined) receiver.secrets = [message.secret];
  if (message.report) process.send?.({ received: receiver.received.map((r) => [r.id, r.receivedAt, r.verifiedBy.length > 0]) });
  if (message.stop) void receiver.close().then(() => process.exit(0));
});

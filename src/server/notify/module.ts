/**
 * Notifications (issue 19, docs/NOTIFY.md): the alert engine's alerts and a
 * few facts (a training loop finished, a long cell ended, a checkpoint saved
 * after a warning) go through the pure rules of src/core/notify.ts and, when
 * they pass, to every channel through the delivery worker (Apprise, in its own
 * Python process). A delivery that keeps failing becomes the alert
 * `notify.failed`, so the panel, `%vigilo` and GET /alerts show it.
 *
 * Routes: GET /notify, POST /notify/channels, DELETE /notify/channels/:id,
 * POST /notify/test, POST /notify/cell, GET and POST /settings/notify.
 */
import { z } from 'zod';
import { NOTIFY_RULE_TEXT, NotifyPolicy, type NotifyFact, type NotifyFacts, type NotifyMessage } from '../../core/notify';
import type { Alert } from '../../shared/api';
import type { CheckpointEvent } from '../../shared/checkpoint-api';
import {
  NOTIFY_RULES,
  NotifyCellBody,
  NotifyChannelBody,
  NotifyResponse,
  NotifySettingsBody,
  NotifySettingsView,
  NotifyTestBody,
  NotifyTestResponse,
  type NotifyDeliveryView
} from '../../shared/notify-api';
import type { SidecarContext } from '../core/context';
import { ApiError } from '../core/errors';
import type { SidecarModule } from '../core/module';
import { jsonRoute } from '../core/route';
import { ChannelStore, type Channel } from './channels';
import { DEFAULT_RETRY_MS, DeliveryQueue } from './delivery';
import { describeNotify } from './describe';
import { scrub } from './redact';
import { NotifyWorker } from './worker';

export const NOTIFY_FAILED_RULE = 'notify.failed';

/** Rules whose message counts as "a warning" that a later verified checkpoint answers. */
const WARNING_RULES = new Set(['runtime', 'idle', 'oom', 'disk', 'kernel']);

function numbers(value: string | undefined): number[] | null {
  if (!value) return null;
  const list = value.split(',').map(Number);
  return list.every(n => Number.isFinite(n) && n >= 0) ? list : null;
}

export function notifyModule(ctx: SidecarContext): SidecarModule {
  const env = ctx.config.env;
  const store = new ChannelStore(ctx.config.dataDir, env.VIGILO_NOTIFY, ctx.log);
  const policy = new NotifyPolicy(store.settings());
  const secretsScrub = (text: string): string => scrub(text, store.urls());
  const worker = new NotifyWorker({
    python: () => env.VIGILO_PYTHON || store.python() || 'python3',
    env,
    log: line => ctx.log(secretsScrub(line)),
    scrub: secretsScrub
  });
  const failures = new Map<string, { at: string; error: string }>();
  const queue = new DeliveryQueue({
    clock: ctx.clock,
    worker,
    retryMs: numbers(env.VIGILO_NOTIFY_RETRY_MS) ?? DEFAULT_RETRY_MS,
    timeoutS: Number(env.VIGILO_NOTIFY_TIMEOUT_S) > 0 ? Number(env.VIGILO_NOTIFY_TIMEOUT_S) : 10,
    onDone: (d, channel) => {
      const name = store.view(channel).redacted;
      if (d.status === 'sent') {
        if (failures.delete(channel.id)) ctx.alerts.dismiss(NOTIFY_FAILED_RULE, channel.id);
        return;
      }
      const error = secretsScrub(d.error ?? 'failed');
      failures.set(channel.id, { at: new Date(ctx.clock.now()).toISOString(), error });
      ctx.log(`notify: "${d.title}" to ${name} failed after ${d.attempts} attempts: ${error}`);
      ctx.alerts.fire({
        ruleId: NOTIFY_FAILED_RULE,
        key: channel.id,
        severity: 'warning',
        message: `Notification to ${name} failed after ${d.attempts} attempts: ${error}. Check it with %vigilo notify test (or: vigilo notify test).`,
        data: { channelId: channel.id, deliveryId: d.id },
        dedupeMs: 3_600_000
      });
    }
  });

  // -- facts for the words of a message --------------------------------------
  // The last verified checkpoint, from the checkpoint engine's events (its age is counted at each message).
  let lastVerified: { atMs: number; step: number | null } | null = null;
  let lastWarning: { title: string; atMs: number } | null = null;
  const checkpointFacts = (): NotifyFacts => ({
    checkpoint: lastVerified ? { ageS: Math.max(0, (ctx.clock.now() - lastVerified.atMs) / 1000), verified: true, step: lastVerified.step } : null
  });

  const send = (message: NotifyMessage, decisions: ReturnType<NotifyPolicy['offerFact']>, raisedAtMs: number): NotifyDeliveryView[] => {
    const byId = new Map(store.channels().map(c => [c.id, c]));
    const out: NotifyDeliveryView[] = [];
    for (const d of decisions) {
      const channel = byId.get(d.channelId);
      if (d.outcome !== 'sent' || !channel) continue;
      out.push(queue.enqueue(channel, d.message, raisedAtMs));
    }
    if (out.length && message.severity !== 'info' && WARNING_RULES.has(message.rule)) lastWarning = { title: message.title, atMs: raisedAtMs };
    return out;
  };
  const channelIds = (): string[] => store.channels().map(c => c.id);

  const onAlert = (alert: Alert): void => {
    if (alert.ruleId.startsWith('notify.')) return;
    const decisions = policy.offerAlert(alert, checkpointFacts(), channelIds(), ctx.clock.now());
    if (decisions[0]) send(decisions[0].message, decisions, Date.parse(alert.at));
  };
  const onFact = (fact: NotifyFact): NotifyDeliveryView[] => {
    const now = ctx.clock.now();
    const decisions = policy.offerFact(fact, channelIds(), now);
    return decisions[0] ? send(decisions[0].message, decisions, now) : [];
  };

  // A condition clears when its alert leaves the current alerts.
  let active = new Set<string>();
  const onActive = (): void => {
    const now = new Set(ctx.alerts.active().map(a => `${a.ruleId}\u0000${a.key}`));
    for (const k of active) if (!now.has(k)) policy.cleared(k, ctx.clock.now());
    active = now;
  };

  const onCheckpoint = (event: CheckpointEvent): void => {
    const last = event.status.lastVerified;
    lastVerified = last ? { atMs: Date.parse(last.time), step: last.step } : null;
    if (event.type === 'verified' && last && lastWarning && ctx.clock.now() - lastWarning.atMs < 3_600_000) {
      onFact({ type: 'checkpoint-verified', run: last.run, step: last.step, afterWarning: lastWarning.title });
      lastWarning = null;
    }
  };

  // "Training finished": a progress bar that closed at its total, announced once.
  const announced = new Set<string>();
  const onBeat = (beat: { kernelId: string; progress?: Array<{ id: string; name: string; n: number; total: number | null; elapsedS: number; closed: boolean }> }): void => {
    for (const bar of beat.progress ?? []) {
      const key = `${beat.kernelId}/${bar.id}`;
      if (!bar.closed || bar.total === null || bar.total <= 0 || bar.n < bar.total || announced.has(key)) continue;
      announced.add(key);
      if (announced.size > 1000) announced.delete(announced.values().next().value as string);
      onFact({ type: 'training-finished', kernelId: beat.kernelId, barId: bar.id, name: bar.name, n: bar.n, total: bar.total, elapsedS: bar.elapsedS });
    }
  };

  const unsubscribe: Array<() => void> = [];

  const view = (): z.infer<typeof NotifyResponse> => {
    const settings = store.settings();
    const byId = new Map(store.channels().map(c => [c.id, c]));
    const state = {
      channels: store.channels().map(c => store.view(c)),
      settings,
      rules: NOTIFY_RULES.map(id => ({ id, text: NOTIFY_RULE_TEXT[id], enabled: settings.rules[id] })),
      worker: { ...worker.state(), reason: worker.state().reason && secretsScrub(worker.state().reason as string) },
      deliveries: queue.recent(),
      counts: policy.counts as Record<string, Record<string, number>>,
      failures: [...failures].map(([channelId, f]) => ({ channelId, redacted: byId.has(channelId) ? store.view(byId.get(channelId) as Channel).redacted : '(removed)', ...f })),
      file: store.file
    };
    return { ...state, summary: describeNotify(state) };
  };

  return {
    name: 'notify',
    start() {
      unsubscribe.push(ctx.alerts.onAlert(onAlert), ctx.alerts.onActiveChange(onActive), ctx.kernels.onBeat(onBeat));
      unsubscribe.push(
        ctx.bus.subscribe(message => {
          if (message.event === 'checkpoint') onCheckpoint(message.data as CheckpointEvent);
        })
      );
      onActive();
      if (store.channels().length > 0) worker.warm();
    },
    async stop() {
      for (const u of unsubscribe.splice(0)) u();
      queue.stop();
      await worker.stop();
    },
    routes: [
      jsonRoute({
        method: 'get',
        path: '/notify',
        summary: 'Notification channels (redacted), rules, the delivery worker, the latest deliveries with their outcome, and failures still standing.',
        tags: ['notify'],
        response: NotifyResponse,
        handler: view
      }),
      jsonRoute({
        method: 'post',
        path: '/notify/channels',
        summary: 'Add a channel: an Apprise URL (ntfy://, mailtos://, slack://, discord://, tgram://, json:// …), stored 0600 and never shown again in full.',
        tags: ['notify'],
        status: 201,
        body: NotifyChannelBody,
        response: NotifyResponse,
        handler: ({ body }) => {
          store.add(body.url, body.label, body.python, ctx.clock.now());
          worker.retry();
          worker.warm();
          return view();
        }
      }),
      jsonRoute({
        method: 'delete',
        path: '/notify/channels/:id',
        summary: 'Remove a stored channel (VIGILO_NOTIFY channels go when the variable is unset).',
        tags: ['notify'],
        params: z.object({ id: z.string().max(64) }).strict(),
        response: NotifyResponse,
        errors: ['not_found'],
        handler: ({ params }) => {
          if (!store.remove(params.id)) {
            const env = store.channels().some(c => c.id === params.id && c.source === 'env');
            throw new ApiError('not_found', env ? `Channel ${params.id} comes from VIGILO_NOTIFY: unset it (or change it) and restart the sidecar.` : `No channel ${params.id}; GET /notify lists them.`);
          }
          failures.delete(params.id);
          ctx.alerts.dismiss(NOTIFY_FAILED_RULE, params.id);
          return view();
        }
      }),
      jsonRoute({
        method: 'post',
        path: '/notify/test',
        summary: 'Send a test message to one channel or all; with waitS, answer once each is sent or failed (retries included) or the wait ends.',
        tags: ['notify'],
        body: NotifyTestBody,
        response: NotifyTestResponse,
        errors: ['not_found', 'conflict'],
        handler: async ({ body }) => {
          const channels = store.channels().filter(c => !body.channelId || c.id === body.channelId);
          if (channels.length === 0) {
            throw body.channelId
              ? new ApiError('not_found', `No channel ${body.channelId}; GET /notify lists them.`)
              : new ApiError('conflict', 'No notification channel yet: add one with %vigilo notify add URL (or vigilo notify add URL, or VIGILO_NOTIFY).');
          }
          worker.retry();
          const now = ctx.clock.now();
          const message: NotifyMessage = { rule: 'runtime', severity: 'info', condition: 'notify.test', title: 'Vigilo test', body: `Test message from Vigilo at ${new Date(now).toISOString()}: this channel works.` };
          const decisions = policy.offerTest(message, channels.map(c => c.id), now);
          const byId = new Map(channels.map(c => [c.id, c]));
          const held = decisions.filter(d => d.outcome !== 'sent');
          const sent = decisions.filter(d => d.outcome === 'sent').map(d => queue.enqueue(byId.get(d.channelId) as Channel, d.message, now));
          const waited = body.waitS ? await Promise.all(sent.map(d => queue.wait(d.id, (body.waitS as number) * 1000))) : sent;
          const cappedViews: NotifyDeliveryView[] = held.map(d => ({
            id: '-', channelId: d.channelId, rule: 'test', severity: 'info', title: message.title, body: message.body, status: 'failed', attempts: 0,
            raisedAt: new Date(now).toISOString(), deliveredAt: null, latencyMs: null, error: `not sent: the limit of ${policy.settings.capPerHour} messages an hour for this channel is reached`
          }));
          return { deliveries: [...waited.filter((d): d is NotifyDeliveryView => d !== null), ...cappedViews] };
        }
      }),
      jsonRoute({
        method: 'post',
        path: '/notify/cell',
        summary: 'A cell ended (sent by the kernel): a long one sends "cell finished" when that rule is on.',
        tags: ['notify'],
        body: NotifyCellBody,
        response: z.object({ sent: z.number().int() }),
        handler: ({ body }) => ({ sent: onFact({ type: 'cell-finished', ...body }).length })
      }),
      jsonRoute({
        method: 'get',
        path: '/settings/notify',
        summary: 'Which notifications are on, the runtime marks, the long-cell minutes, the hourly cap and quiet hours.',
        tags: ['notify'],
        response: NotifySettingsView,
        handler: () => store.settings()
      }),
      jsonRoute({
        method: 'post',
        path: '/settings/notify',
        summary: 'Change notification settings (merged into <dataDir>/notify.json and applied at once).',
        tags: ['notify'],
        body: NotifySettingsBody,
        response: NotifySettingsView,
        handler: ({ body }) => {
          policy.settings = store.updateSettings(body);
          return policy.settings;
        }
      })
    ]
  };
}

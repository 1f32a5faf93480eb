/**
 * Wire shapes of the notification routes (src/server/notify, docs/NOTIFY.md):
 * GET /notify, POST /notify/channels, DELETE /notify/channels/:id,
 * POST /notify/test, POST /notify/cell, POST /settings/notify.
 * Channel URLs hold secrets: no answer carries one, only `redacted`.
 */
import { z } from 'zod';

/** The notification rules, once: src/core/notify.ts gives each its words and its alerts; the sidecar checks `%vigilo notify on|off RULE` against them. */
export const NOTIFY_RULES = ['runtime', 'idle', 'oom', 'disk', 'checkpoint', 'training', 'cell', 'spend', 'kernel'] as const;
export const NotifyRuleName = z.enum(NOTIFY_RULES);

const HHMM = z.string().regex(/^([01]?\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour');

export const QuietHoursSchema = z
  .object({
    start: HHMM,
    end: HHMM,
    timeZone: z.string().min(1).max(64).refine(tz => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'an IANA time zone such as Europe/Berlin'),
    allowCritical: z.boolean().default(true)
  })
  .strict();

export const NotifySettingsBody = z
  .object({
    rules: z
      .partialRecord(NotifyRuleName, z.boolean(), {
        // An enum-keyed record refuses other keys as "unrecognized_keys" (zod's types name only invalid_key/invalid_type).
        error: raw => {
          const iss = raw as { code: string; keys?: string[] };
          return iss.code === 'unrecognized_keys' ? `no rule ${(iss.keys ?? []).map(k => `"${k}"`).join(', ')}: one of ${NOTIFY_RULES.join(', ')}` : undefined;
        }
      })
      .optional(),
    runtimeMarksMin: z.array(z.number().positive().max(24 * 60)).min(1).max(6).optional(),
    longCellMin: z.number().min(0).max(24 * 60).optional(),
    /** A finished progress bar counts as "training finished" when it ran at least this long. */
    trainingMinMin: z.number().min(0).max(24 * 60).optional(),
    capPerHour: z.number().int().min(1).max(120).optional(),
    resendAfterClearMin: z.number().min(0).max(24 * 60).optional(),
    mergeWindowS: z.number().min(0).max(24 * 3600).optional(),
    quietHours: QuietHoursSchema.nullable().optional()
  })
  .strict();
export type NotifySettingsBody = z.infer<typeof NotifySettingsBody>;

export const NotifySettingsView = z.object({
  rules: z.record(z.string(), z.boolean()),
  runtimeMarksMin: z.array(z.number()),
  longCellMin: z.number(),
  trainingMinMin: z.number(),
  capPerHour: z.number(),
  resendAfterClearMin: z.number(),
  mergeWindowS: z.number(),
  quietHours: z.object({ start: z.string(), end: z.string(), timeZone: z.string(), allowCritical: z.boolean() }).nullable()
});

/** A URL Apprise understands: `scheme://…` (https://appriseit.com lists each service's form). */
export const ChannelUrl = z
  .string()
  .trim()
  .min(4)
  .max(2000)
  .regex(/^[a-z][a-z0-9+.-]{0,31}:\/\/\S+$/i, 'an Apprise URL such as ntfy://ntfy.sh/my-topic, mailtos://user:app-password@gmail.com or json://host/path');

export const NotifyChannelBody = z
  .object({
    url: ChannelUrl,
    label: z.string().trim().max(80).optional(),
    /** The interpreter that has `vigilo[notify]` (the kernel's, sent by `%vigilo notify add`). */
    python: z.string().min(1).max(1000).optional()
  })
  .strict();

export const NotifyChannelView = z.object({
  id: z.string(),
  label: z.string(),
  /** The URL with user, password, path, query and token-like host replaced by •••. */
  redacted: z.string(),
  source: z.enum(['settings', 'env']),
  addedAt: z.string().nullable()
});

export const NotifyDeliveryView = z.object({
  id: z.string(),
  channelId: z.string(),
  rule: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  title: z.string(),
  body: z.string(),
  status: z.enum(['pending', 'sent', 'failed']),
  attempts: z.number().int(),
  /** When the condition was raised (the alert's time). */
  raisedAt: z.string(),
  deliveredAt: z.string().nullable(),
  /** Condition raised → delivered, ms. */
  latencyMs: z.number().nullable(),
  error: z.string().nullable()
});
export type NotifyDeliveryView = z.infer<typeof NotifyDeliveryView>;

export const NotifyWorkerView = z.object({
  state: z.enum(['idle', 'starting', 'running', 'unavailable', 'restarting']),
  pid: z.number().nullable(),
  python: z.string().nullable(),
  apprise: z.string().nullable(),
  /** Why it cannot deliver, and the one line that fixes it. */
  reason: z.string().nullable(),
  fix: z.string().nullable()
});

export const NotifyResponse = z.object({
  channels: z.array(NotifyChannelView),
  settings: NotifySettingsView,
  rules: z.array(z.object({ id: NotifyRuleName, text: z.string(), enabled: z.boolean() })),
  worker: NotifyWorkerView,
  /** Newest first. */
  deliveries: z.array(NotifyDeliveryView),
  /** Per notify rule: how many messages were sent and why others were held back (off, deduped, flapping, quiet, merged, capped). */
  counts: z.record(z.string(), z.record(z.string(), z.number())),
  /** The latest failure per channel still standing (cleared by a later success). */
  failures: z.array(z.object({ channelId: z.string(), redacted: z.string(), at: z.string(), error: z.string() })),
  file: z.string().nullable(),
  /** The same in a few lines (what `%vigilo notify` and `vigilo notify` print). */
  summary: z.string()
});
export type NotifyResponse = z.infer<typeof NotifyResponse>;

export const NotifyTestBody = z
  .object({
    channelId: z.string().max(64).optional(),
    /** Wait up to this many seconds for the outcome (the magic and the CLI wait; the panel does not). */
    waitS: z.number().min(0).max(60).optional()
  })
  .strict();

export const NotifyTestResponse = z.object({ deliveries: z.array(NotifyDeliveryView) });

/** POST /notify/cell: a cell ended (the kernel's post_run_cell hook). Raw facts; the sidecar decides. */
export const NotifyCellBody = z
  .object({
    kernelId: z.string().min(1).max(200),
    executionCount: z.number().int().nonnegative(),
    durationS: z.number().nonnegative().max(1e7),
    ok: z.boolean()
  })
  .strict();

/**
 * Where notifications go and how they are chosen, persisted in
 * `<dataDir>/notify.json` (mode 0600: the URLs hold secrets), plus the
 * channels of `VIGILO_NOTIFY` (whitespace-separated Apprise URLs, e.g. from
 * Colab's secrets), which are used but never written to disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_NOTIFY_SETTINGS, type NotifySettings } from '../../core/notify';
import { ChannelUrl, NotifySettingsBody } from '../../shared/notify-api';
import { writePrivateFile } from '../core/discovery';
import { describeZodError } from '../core/errors';
import { redactUrl } from './redact';

export const NOTIFY_FILE = 'notify.json';

export interface Channel {
  id: string;
  url: string;
  label: string;
  source: 'settings' | 'env';
  addedAt: string | null;
}

const Stored = z.object({
  channels: z.array(z.object({ id: z.string(), url: ChannelUrl, label: z.string().default(''), addedAt: z.string().nullable().default(null) })).default([]),
  settings: NotifySettingsBody.default({}),
  /** The interpreter that has vigilo[notify] (recorded by `%vigilo notify add`). */
  python: z.string().nullable().default(null)
});
type Stored = z.infer<typeof Stored>;

export function mergeSettings(base: NotifySettings, patch: NotifySettingsBody): NotifySettings {
  const { rules, quietHours, ...rest } = patch;
  const clean = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return {
    ...base,
    ...clean,
    rules: { ...base.rules, ...(rules ?? {}) },
    quietHours: quietHours === undefined ? base.quietHours : quietHours === null ? null : { ...quietHours, allowCritical: quietHours.allowCritical ?? true }
  };
}

/** VIGILO_NOTIFY: Apprise URLs separated by whitespace; ids are stable (a hash), so a failure names the same channel across restarts. */
export function envChannels(value: string | undefined): { channels: Channel[]; rejected: number } {
  const channels: Channel[] = [];
  let rejected = 0;
  for (const url of (value ?? '').split(/\s+/).filter(Boolean)) {
    if (!ChannelUrl.safeParse(url).success) {
      rejected++;
      continue;
    }
    const id = `env-${createHash('sha256').update(url).digest('hex').slice(0, 8)}`;
    if (!channels.some(c => c.id === id)) channels.push({ id, url, label: 'VIGILO_NOTIFY', source: 'env', addedAt: null });
  }
  return { channels, rejected };
}

export class ChannelStore {
  private stored: Stored = Stored.parse({});
  private readonly env: Channel[];
  readonly warnings: string[] = [];

  constructor(
    private readonly dataDir: string | null,
    envValue: string | undefined,
    private readonly log: (line: string) => void
  ) {
    const env = envChannels(envValue);
    this.env = env.channels;
    if (env.rejected) this.warnings.push(`VIGILO_NOTIFY: ${env.rejected} entr${env.rejected === 1 ? 'y is' : 'ies are'} not an Apprise URL (scheme://…) and ${env.rejected === 1 ? 'was' : 'were'} ignored.`);
    this.load();
  }

  get file(): string | null {
    return this.dataDir ? join(this.dataDir, NOTIFY_FILE) : null;
  }

  channels(): Channel[] {
    return [...this.stored.channels.map(c => ({ ...c, source: 'settings' as const })), ...this.env];
  }

  urls(): string[] {
    return this.channels().map(c => c.url);
  }

  settings(): NotifySettings {
    return mergeSettings(DEFAULT_NOTIFY_SETTINGS, this.stored.settings);
  }

  python(): string | null {
    return this.stored.python;
  }

  add(url: string, label: string | undefined, python: string | undefined, nowMs: number): Channel {
    const existing = this.channels().find(c => c.url === url);
    if (existing) return existing;
    const channel = { id: `ch-${randomBytes(4).toString('hex')}`, url, label: label ?? '', addedAt: new Date(nowMs).toISOString() };
    this.save({ ...this.stored, channels: [...this.stored.channels, channel], python: python ?? this.stored.python });
    return { ...channel, source: 'settings' };
  }

  /** False when no stored channel has this id (env channels are removed by unsetting VIGILO_NOTIFY). */
  remove(id: string): boolean {
    const channels = this.stored.channels.filter(c => c.id !== id);
    if (channels.length === this.stored.channels.length) return false;
    this.save({ ...this.stored, channels });
    return true;
  }

  updateSettings(patch: NotifySettingsBody): NotifySettings {
    const merged: NotifySettingsBody = { ...this.stored.settings, ...patch, rules: { ...this.stored.settings.rules, ...(patch.rules ?? {}) } };
    this.save({ ...this.stored, settings: merged });
    return this.settings();
  }

  view(c: Channel): { id: string; label: string; redacted: string; source: Channel['source']; addedAt: string | null } {
    return { id: c.id, label: c.label, redacted: redactUrl(c.url), source: c.source, addedAt: c.addedAt };
  }

  /** Persist first, apply second: a full or read-only disk changes nothing. */
  private save(next: Stored): void {
    if (this.file) writePrivateFile(this.file, JSON.stringify(next, null, 2) + '\n');
    this.stored = next;
  }

  private load(): void {
    const file = this.file;
    if (!file || !existsSync(file)) return;
    try {
      chmodSync(file, 0o600);
      const parsed = Stored.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (parsed.success) {
        this.stored = parsed.data;
      } else {
        // Never quote the file: it holds the URLs.
        this.warnings.push(`${file} ignored: ${describeZodError(parsed.error)}`);
      }
    } catch (error) {
      // JSON.parse quotes the text around a syntax error: say what, never the content.
      this.warnings.push(`${file} ignored: ${error instanceof SyntaxError ? 'not valid JSON' : (error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    for (const w of this.warnings) this.log(`notify: ${w}`);
  }
}

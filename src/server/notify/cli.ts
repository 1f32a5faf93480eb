/**
 * `vigilo notify …` on the command line: the same as `%vigilo notify …`,
 * through the running sidecar; `add`, `remove` and `list` also work with no
 * sidecar running (they edit <data-dir>/notify.json, read at the next start).
 */
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { dataDirFor } from '../../shared/dataDir';
import { NotifyChannelBody } from '../../shared/notify-api';
import { probeSidecar, readDiscovery } from '../core/discovery';
import { ChannelStore } from './channels';
import { describeNotify } from './describe';

interface Io {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

async function call(io: Io, dataDir: string | undefined, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<{ ok: boolean; body: any } | null> {
  const d = readDiscovery(dataDir ?? dataDirFor(io.env, homedir()));
  if (!d || !(await probeSidecar(d))) return null;
  const response = await fetch(`${d.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${d.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs)
  });
  return { ok: response.ok, body: await response.json().catch(() => ({})) };
}

export function addNotifyCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  const notify = program.command('notify').description('Where warnings go when nobody looks at the notebook: phone, chat, e-mail (Apprise URLs; docs/NOTIFY.md).');
  const offline = (dataDir?: string) => new ChannelStore(dataDir ?? dataDirFor(io.env, homedir()), io.env.VIGILO_NOTIFY, () => undefined);
  const answer = (r: { ok: boolean; body: any }, text: (b: any) => string): void => {
    if (r.ok) io.out(text(r.body));
    else io.err(`vigilo: ${r.body?.error?.message ?? 'the sidecar refused the request'}`);
    setExit(r.ok ? 0 : 1);
  };
  const offlineView = (store: ChannelStore): string =>
    describeNotify({
      channels: store.channels().map(c => store.view(c)),
      settings: store.settings(),
      rules: Object.entries(store.settings().rules).map(([id, enabled]) => ({ id: id as never, text: '', enabled })),
      worker: { state: 'idle', pid: null, python: null, apprise: null, reason: null, fix: null },
      deliveries: [],
      counts: {},
      failures: [],
      file: store.file
    });

  notify
    .command('list', { isDefault: true })
    .description('Channels (secrets hidden), rules, failures.')
    .option('--data-dir <dir>', 'state directory')
    .action(async (o: { dataDir?: string }) => {
      const r = await call(io, o.dataDir, 'GET', '/notify');
      if (r) return answer(r, b => b.summary);
      io.out(`${offlineView(offline(o.dataDir))}\n(no sidecar running: figures appear once it runs)`);
      setExit(0);
    });

  notify
    .command('add <url>')
    .description('Add an Apprise URL, e.g. ntfy://ntfy.sh/TOPIC, mailtos://user:app-password@gmail.com, tgram://BOT/CHAT. Stored 0600, never printed again.')
    .option('--label <label>', 'a name for it')
    .option('--data-dir <dir>', 'state directory')
    .action(async (url: string, o: { label?: string; dataDir?: string }) => {
      const parsed = NotifyChannelBody.safeParse({ url, label: o.label });
      if (!parsed.success) {
        // Never echo the URL: it holds the secret.
        io.err(`vigilo: not an Apprise URL (scheme://…); https://appriseit.com/ lists each service's form.`);
        return setExit(2);
      }
      const r = await call(io, o.dataDir, 'POST', '/notify/channels', parsed.data);
      if (r) return answer(r, b => `Channel added.\n${b.summary}\nTry it: vigilo notify test`);
      const store = offline(o.dataDir);
      store.add(parsed.data.url, parsed.data.label, undefined, Date.now());
      io.out(`Channel added to ${store.file}; the sidecar uses it from its next start.`);
      setExit(0);
    });

  notify
    .command('remove <id>')
    .description('Forget a channel (ids: vigilo notify list).')
    .option('--data-dir <dir>', 'state directory')
    .action(async (id: string, o: { dataDir?: string }) => {
      const r = await call(io, o.dataDir, 'DELETE', `/notify/channels/${encodeURIComponent(id)}`);
      if (r) return answer(r, b => `Channel removed.\n${b.summary}`);
      const ok = offline(o.dataDir).remove(id);
      if (ok) io.out('Channel removed.');
      else io.err(`vigilo: no stored channel ${id}.`);
      setExit(ok ? 0 : 1);
    });

  notify
    .command('test [id]')
    .description('Send a test message to every channel (or one) and say what happened.')
    .option('--data-dir <dir>', 'state directory')
    .action(async (id: string | undefined, o: { dataDir?: string }) => {
      const r = await call(io, o.dataDir, 'POST', '/notify/test', { waitS: 25, ...(id ? { channelId: id } : {}) }, 35_000);
      if (!r) {
        io.err('vigilo: no sidecar is running; the test goes through its delivery worker. Start one with: vigilo serve');
        return setExit(1);
      }
      answer(r, b =>
        (b.deliveries as Array<{ channelId: string; status: string; latencyMs: number | null; error: string | null; attempts: number }>)
          .map(d => (d.status === 'sent' ? `✓ ${d.channelId}: delivered in ${Math.round(d.latencyMs ?? 0)} ms` : d.status === 'pending' ? `… ${d.channelId}: still trying (${d.attempts} attempts)` : `✗ ${d.channelId}: ${d.error}`))
          .join('\n')
      );
      if (r.ok && (r.body.deliveries as Array<{ status: string }>).some(d => d.status !== 'sent')) setExit(1);
    });
}

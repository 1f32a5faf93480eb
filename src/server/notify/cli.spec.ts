import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli as vigilo } from '../../../test/helpers/cli';
import { startSidecar } from '../../../test/helpers/sidecar';
import { alertsModule } from '../alerts/module';
import { notifyModule } from './module';

const dirs: string[] = [];
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('vigilo notify (CLI)', () => {
  it('adds, lists and removes channels with no sidecar running; the file is 0600 and nothing printed holds the secret', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigilo-notify-cli-'));
    dirs.push(dataDir);
    const env = { VIGILO_DATA_DIR: dataDir };
    const url = 'tgram://123456789:AAE-secret-bot-token/987654321';
    const added = await vigilo(['notify', 'add', url, '--label', 'phone'], env);
    expect(added).toMatchObject({ code: 0, err: '' });
    expect(statSync(join(dataDir, 'notify.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, 'notify.json'), 'utf8')).toContain(url);
    const listed = await vigilo(['notify', 'list'], env);
    expect(listed.out).toMatch(/ch-[0-9a-f]{8} {2}tgram:\/\/•••\/••• \(phone\)/);
    expect(added.out + listed.out).not.toMatch(/secret-bot-token|987654321/);
    const bad = await vigilo(['notify', 'add', 'secret-without-scheme'], env);
    expect(bad.code).toBe(2);
    expect(bad.err).not.toContain('secret-without-scheme');
    const id = /ch-[0-9a-f]{8}/.exec(listed.out)![0];
    expect((await vigilo(['notify', 'remove', id], env)).code).toBe(0);
    expect((await vigilo(['notify', 'list'], env)).out).toMatch(/^No notification channel yet/);
    expect((await vigilo(['notify', 'test'], env)).code).toBe(1);
  });

  it('goes through the running sidecar when there is one', async () => {
    const sc = await startSidecar({ modules: ctx => [alertsModule(ctx), notifyModule(ctx)] });
    stops.push(() => sc.stop());
    const env = { VIGILO_DATA_DIR: sc.dataDir };
    expect((await vigilo(['notify', 'add', 'ntfy://ntfy.sh/private-topic-42'], env)).out).toMatch(/^Channel added\.\n {2}ch-[0-9a-f]{8} {2}ntfy:\/\/ntfy\.sh\/•••$/m);
    expect((await sc.get('/notify')).body.channels).toHaveLength(1);
  });
});

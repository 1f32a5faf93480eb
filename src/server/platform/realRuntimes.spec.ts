/**
 * Real environments (test/fixtures/runtimes/*.json, each citing its public
 * source and holding only observed values) replayed through the real,
 * bundled sidecar; the verdict is read back from GET /status and /metrics.
 * The table of these environments is in docs/PLATFORMS.md.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { acceleratorLine } from '../../shared/runtimeFacts';
import { cliPath } from '../../../test/sidecarProcess';
import { loadFixtures, replay, type ReplayedSidecar, type RuntimeFixture } from '../../../test/fixtures/runtimes/replay';

const fixtures = loadFixtures();
let running: ReplayedSidecar | null = null;
/** What the sidecar answered, one row per environment: `VIGILO_RUNTIME_TABLE=file` writes it as the docs/PLATFORMS.md table. */
const detected: string[] = [];
afterAll(() => {
  const out = process.env.VIGILO_RUNTIME_TABLE;
  if (out) writeFileSync(out, `${detected.sort().join('\n')}\n`);
});
const source = (f: RuntimeFixture) =>
  f.sources.map(s => (s.url ? `[${s.repository ?? s.url}](${s.url})` : `${s.repository} \`${s.path}\` @ ${s.commit ? s.commit.slice(0, 7) : 'commit not recovered'}`)).join('; ');
afterEach(async () => {
  await running?.stop();
  running = null;
});

/** Poll (bounded, no fixed sleep) until the platform section reflects what the sidecar can know. */
async function settled(sc: ReplayedSidecar, f: RuntimeFixture): Promise<any> {
  const deadline = Date.now() + 25_000;
  let last: any = null;
  for (;;) {
    last = (await sc.get('/metrics')).body;
    const p = last.platform;
    const a = p?.accelerator;
    const gpuSettled = last.gpu && last.gpu.status !== 'pending';
    const ready =
      p &&
      gpuSettled &&
      a?.kind === f.expected.accelerator.kind &&
      (f.expected.accelerator.driverVersion === undefined || a.driverVersion === f.expected.accelerator.driverVersion) &&
      (f.expected.accelerator.count === undefined || a.count === f.expected.accelerator.count) &&
      (!f.expected.quota || last.quota?.resource === f.expected.quota.resource) &&
      p.profile?.variant === f.expected.variant;
    if (ready) return last;
    if (Date.now() > deadline) return last;
    await new Promise(r => setTimeout(r, 50));
  }
}

describe('real runtimes replayed through the real sidecar', () => {
  it('has at least 15 real environments, each citing its source', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
    for (const f of fixtures) {
      // A reader can follow it: a page, or a named repository and path (an index id alone is no citation).
      for (const s of f.sources) expect(s.url ?? (s.repository && s.path), `${f.name} cites a source a reader can follow`).toBeTruthy();
    }
  });

  for (const f of fixtures) {
    it(`${f.environment} (${f.name}) → ${f.expected.platform}, ${f.expected.accelerator.kind}${f.expected.accelerator.model ? ` ${f.expected.accelerator.model}` : ''}, ${f.expected.variant}`, async () => {
      running = await replay(f, cliPath());
      const metrics = await settled(running, f);
      const status = (await running.get('/status')).body;
      const e = f.expected;
      const p = metrics.platform;

      expect(status.platform.name).toBe(e.platform);
      expect(p.name).toBe(e.platform);
      for (const re of e.evidence) expect(status.platform.evidence.join('\n')).toMatch(new RegExp(re));
      if (e.runType !== undefined) expect(p.runType ?? null).toBe(e.runType);
      if (e.imageKind) expect(p.image?.kind).toBe(e.imageKind);

      const a = p.accelerator;
      expect(a.kind).toBe(e.accelerator.kind);
      if (e.accelerator.model !== undefined) expect(a.model).toBe(e.accelerator.model);
      if (e.accelerator.count !== undefined) expect(a.count).toBe(e.accelerator.count);
      if (e.accelerator.driverVersion) expect(a.driverVersion).toBe(e.accelerator.driverVersion);
      if (e.accelerator.cudaVersion) expect(a.cudaVersion).toBe(e.accelerator.cudaVersion);
      if (e.accelerator.tpuType) expect(a.tpuType).toBe(e.accelerator.tpuType);
      if (e.accelerator.hbmPerChipGB !== undefined) expect(a.hbmPerChipGB).toBe(e.accelerator.hbmPerChipGB);
      for (const re of e.accelerator.evidence) expect(a.evidence.join('\n')).toMatch(new RegExp(re));

      expect(p.profile.variant).toBe(e.variant);
      expect(p.profile.idleCutoffS).toBe(e.idleCutoffS);
      if (e.sessionLifetimeS !== undefined) expect(p.profile.sessionLifetimeS).toBe(e.sessionLifetimeS);
      if (e.tier !== undefined) {
        if (e.tier === null) expect(p.tier ?? null).toBeNull();
        else expect(p.tier).toMatchObject(e.tier);
      }
      if (e.quota) {
        expect(metrics.quota).toMatchObject({ resource: e.quota.resource, weeklyQuotaS: e.quota.weeklyQuotaS, counting: e.quota.counting });
      }
      const expected = `${e.platform}${e.runType ? ` (${e.runType})` : ''} · ${e.accelerator.kind}${e.accelerator.model ? ` ${e.accelerator.model}` : ''} · ${e.variant}`;
      const got = `${p.name}${p.runType ? ` (${p.runType})` : ''} · ${acceleratorLine(a)} · ${p.profile.variant}, idle ${p.profile.idleCutoffS === null ? 'none' : `${p.profile.idleCutoffS / 60} min`}${p.tier ? `, plan ${p.tier.value ?? `unknown → ${p.tier.ask}`}` : ''}${metrics.quota?.counting ? `, ${metrics.quota.resource.toUpperCase()} quota counting` : ''}`;
      detected.push(`| ${f.name} | ${f.environment} | ${expected} | ${got} | ${source(f)} |`);
      // Secrets named in the environment never come back.
      const all = JSON.stringify([status, metrics.platform]);
      for (const [k, v] of Object.entries(f.observed.env)) {
        if (/TOKEN|SECRET|KEY/.test(k) && v.length > 3) expect(all).not.toContain(v);
      }
    }, 40_000);
  }
});

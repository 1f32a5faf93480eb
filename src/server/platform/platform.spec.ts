import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/fakeRuntime';
import { runtimeHarness } from '../../../test/helpers/runtimeSidecar';
import { acceleratorChange, defaultProfile, limitReasons } from '../../core/profiles';

const harness = runtimeHarness();
afterEach(() => harness.cleanup());

/** The platform timer is an hour: only nvidia-smi's first answer can move the profile. */
const boot = (platform: 'kaggle' | 'colab', fixture: string) =>
  harness.boot({ platform, nowMs: Date.now(), scenario: { gpus: [{ fixture }] } }, { platformRefreshMs: 3_600_000 });

describe('platform facts that stay true', () => {
  it('turns a Kaggle session from kaggle/cpu to kaggle/gpu at the first GPU sample, with the reason', async () => {
    const sc = await boot('kaggle', 'p100');
    const platform = await until(async () => {
      const p = (await sc.get('/metrics')).body.platform;
      return p?.profile.variant === 'kaggle/gpu' ? p : null;
    }, 'kaggle/gpu variant', 12_000);
    expect(platform.accelerator).toMatchObject({ kind: 'gpu', model: 'Tesla P100-PCIE-16GB' });
    expect(platform.profile.basis).toMatch(/^kaggle\/gpu for kaggle with accelerator gpu \(Tesla P100-PCIE-16GB\): A1 nvidia-smi lists 1 GPU/);
    expect(platform.profile.reasons.sessionLifetime).toMatch(/^12h: kaggle\.com\/docs\/notebooks .*\(not verified\)/);
    expect((await sc.get('/profile')).body.variant).toBe('kaggle/gpu');
  }, 40_000);

  it('raises no "accelerator changed" alert when a Colab GPU runtime starts', async () => {
    const sc = await boot('colab', 't4');
    await until(async () => ((await sc.get('/metrics')).body.platform?.accelerator?.model === 'Tesla T4' ? true : null), 'T4 seen', 12_000);
    // A few more GPU samples and platform re-reads.
    await until(async () => (((await sc.get('/gpu/history')).body.gpus[0]?.samples.length ?? 0) >= 10 ? true : null), '10 samples', 12_000);
    expect((await sc.get('/alerts?ruleId=accelerator.changed')).body.alerts).toEqual([]);
  }, 40_000);

  it('asks for the Colab plan when a T4 says nothing about it, and takes `%vigilo profile tier=pro` (POST /profile)', async () => {
    const sc = await boot('colab', 't4');
    const before = await until(async () => {
      const p = (await sc.get('/metrics')).body.platform;
      return p?.accelerator?.model === 'Tesla T4' ? p : null;
    }, 'T4 seen', 12_000);
    expect(before.tier).toMatchObject({ value: null, basis: 'unknown', ask: '%vigilo profile tier=pro' });
    expect(before.profile.variant).toBe('colab/free');
    expect((await sc.post('/profile', { overrides: { tier: 'platinum' } })).status).toBe(400);
    const set = await sc.post('/profile', { overrides: { tier: 'pro' } });
    expect(set.status).toBe(200);
    expect(set.body.variant).toBe('colab/pro');
    const after = (await sc.get('/metrics')).body.platform;
    expect(after.tier).toMatchObject({ value: 'pro', basis: 'stated', ask: null });
    expect(after.profile.reasons.sessionLifetime).toMatch(/tier: pro, stated with %vigilo profile/);
  }, 40_000);

  it('tells a real accelerator change from a reading that only got more precise', () => {
    const gpu = { kind: 'gpu' as const, model: null, count: 1 };
    const t4 = { kind: 'gpu' as const, model: 'Tesla T4', count: 1 };
    expect(acceleratorChange(gpu, t4)).toBeNull();
    expect(acceleratorChange({ kind: 'none', model: null, count: 0 }, t4)).toEqual({ from: 'none', to: 'gpu (Tesla T4)' });
    expect(acceleratorChange(t4, { kind: 'gpu', model: 'Tesla P100-PCIE-16GB', count: 1 })).toEqual({ from: 'gpu (Tesla T4)', to: 'gpu (Tesla P100-PCIE-16GB)' });
    expect(acceleratorChange(t4, { kind: 'tpu', model: 'TPU v3-8', count: 8 })).toEqual({ from: 'gpu (Tesla T4)', to: 'tpu (TPU v3-8)' });
    expect(acceleratorChange(null, t4)).toBeNull();
  }, 40_000);

  it('gives a reason for every limit, saying which are unverified and which are absent', () => {
    const reasons = limitReasons(defaultProfile('colab', 'gpu'));
    expect(reasons.idleCutoff).toMatch(/^1h30m: community reports.*\(not verified\) — folklore$/);
    expect(reasons.weeklyGpuQuota).toMatch(/^no limit: Colab has no published weekly quota/);
    expect(Object.keys(reasons)).toHaveLength(6);
  }, 40_000);
});

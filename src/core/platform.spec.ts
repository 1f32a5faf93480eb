/**
 * The decision table of docs/PLATFORMS.md, one row per test. The facts here
 * are minimal on purpose (the real environments are replayed through the real
 * sidecar in src/server/platform/realRuntimes.spec.ts).
 */
import { describe, expect, it } from 'vitest';
import { colabTier, detectAccelerator, detectPlatform, kaggleImage, tpuGenerationOf, type AcceleratorFacts, type PlatformFacts } from './platform';
import { parseSmiVersions } from './nvidiaSmi';
import { defaultProfile } from './profiles';

const facts = (env: PlatformFacts['env'], paths: string[] = [], modules: Record<string, boolean> = {}): PlatformFacts => ({ env, existingPaths: new Set(paths), kernelModules: modules });
const accel = (f: Partial<AcceleratorFacts>): AcceleratorFacts => ({ env: {}, accelDevices: [], gpuNames: null, ...f });

describe('platform precedence (docs/PLATFORMS.md, P1–P4)', () => {
  const rows: Array<[string, PlatformFacts, 'kaggle' | 'colab' | 'unknown' | 'local', RegExp]> = [
    ['P1 Kaggle beats Colab: a Kaggle image built FROM Colab’s carries COLAB_RELEASE_TAG and google.colab', facts({ COLAB_RELEASE_TAG: 'release-colab-external-images_20260514-060047_RC00', KAGGLE_KERNEL_RUN_TYPE: 'Interactive', KAGGLE_DOCKER_IMAGE: 'gcr.io/kaggle-gpu-images/python@sha256:0' }, ['/kaggle/working', '/content'], { 'google.colab': true, kaggle_secrets: true }), 'kaggle', /Colab mark\(s\) outweighed/],
    ['P1 one Kaggle variable is enough (KAGGLE_DOCKER_IMAGE)', facts({ KAGGLE_DOCKER_IMAGE: 'gcr.io/kaggle-images/python' }), 'kaggle', /KAGGLE_DOCKER_IMAGE=gcr.io\/kaggle-images\/python/],
    ['P1 a kernel that imports kaggle_secrets is Kaggle', facts({}, [], { kaggle_secrets: true }), 'kaggle', /kaggle_secrets/],
    ['P1 secrets are named, never echoed', facts({ KAGGLE_USER_SECRETS_TOKEN: 'eyJhbGciOi-secret' }), 'kaggle', /KAGGLE_USER_SECRETS_TOKEN is set/],
    ['P2 Colab from COLAB_RELEASE_TAG, with kagglehub’s /kaggle/input present', facts({ COLAB_RELEASE_TAG: 'release-colab_20250902-060114_RC00' }, ['/content', '/kaggle/input']), 'colab', /P2 Colab mark/],
    ['P2 Colab from a pre-2023 image (DATALAB_SETTINGS_OVERRIDES, COLAB_GPU)', facts({ DATALAB_SETTINGS_OVERRIDES: '{"kernelManagerProxyPort":6000}', COLAB_GPU: '1' }), 'colab', /DATALAB_SETTINGS_OVERRIDES/],
    ['P2 Colab from COLAB_TPU_ADDR (the old TPU node)', facts({ COLAB_TPU_ADDR: '10.0.0.2:8470' }), 'colab', /COLAB_TPU_ADDR=10.0.0.2:8470/],
    ['P2 COLAB_GPU present but empty still marks Colab (CPU runtime)', facts({ COLAB_GPU: '' }), 'colab', /COLAB_GPU=/],
    ['P2 Colab from the kernel’s google.colab alone', facts({}, [], { 'google.colab': true }), 'colab', /google\.colab/],
    ['P3 paths alone never decide: /kaggle/working → unknown with the reason', facts({}, ['/kaggle', '/kaggle/working']), 'unknown', /P3 only weak marks.*\/kaggle\/working/],
    ['P3 Cloud Datalab’s DATALAB_SETTINGS_OVERRIDES (with DATALAB_ENV) is no Colab mark → unknown', facts({ DATALAB_ENV: 'local', DATALAB_SETTINGS_OVERRIDES: '{"consoleLogLevel": "debug" }' }, ['/content']), 'unknown', /Cloud Datalab/],
    ['P3 ISTPUVM=1 alone (Kaggle’s TPU image ENV, also copied onto GCP VMs) → unknown', facts({ ISTPUVM: '1' }), 'unknown', /ISTPUVM=1/],
    ['P4 nothing → local', facts({ HOME: '/home/jamie' }), 'local', /P4/]
  ];
  for (const [name, f, expected, evidence] of rows) {
    it(name, () => {
      const p = detectPlatform(f);
      expect(p.name).toBe(expected);
      expect(p.evidence.join('\n')).toMatch(evidence);
      expect(p.evidence.join('\n')).not.toMatch(/eyJhbGciOi/);
    });
  }

  it('reads the Kaggle run type and the image kind', () => {
    expect(detectPlatform(facts({ KAGGLE_KERNEL_RUN_TYPE: 'Batch' }))).toMatchObject({ name: 'kaggle', runType: 'batch' });
    expect(detectPlatform(facts({ KAGGLE_KERNEL_RUN_TYPE: 'Interactive' }))).toMatchObject({ runType: 'interactive' });
    expect(detectPlatform(facts({ KAGGLE_URL_BASE: 'https://www.kaggle.com' }))).toMatchObject({ runType: 'unknown' });
    expect(kaggleImage({ KAGGLE_DOCKER_IMAGE: 'gcr.io/kaggle-gpu-images/rstats' })).toEqual({ name: 'gcr.io/kaggle-gpu-images/rstats', kind: 'gpu', language: 'r' });
    expect(kaggleImage({ KAGGLE_DOCKER_IMAGE: 'gcr.io/kaggle-images/python' })).toMatchObject({ kind: 'cpu', language: 'python' });
    expect(kaggleImage({ KAGGLE_DOCKER_IMAGE: 'gcr.io/kaggle-tpu-images/python' })).toMatchObject({ kind: 'tpu' });
    expect(kaggleImage({})).toBeNull();
  });
});

describe('accelerator precedence (A1–A4)', () => {
  const gVnicNvmeBridges = [
    { vendor: '0x1ae0', device: '0x0042' },
    { vendor: '0x1ae0', device: '0x001f' },
    ...Array.from({ length: 34 }, () => ({ vendor: '0x1ae0', device: '0x0050' }))
  ];
  it('A1 names the GPUs from nvidia-smi, with driver and CUDA versions', () => {
    const a = detectAccelerator(accel({ gpuNames: ['Tesla T4', 'Tesla T4'], smiVersions: { driver: '535.54.03', cuda: '12.2' } }));
    expect(a).toMatchObject({ kind: 'gpu', model: '2 × Tesla T4', count: 2, driverVersion: '535.54.03', cudaVersion: '12.2' });
    expect(a.evidence[0]).toMatch(/driver 535\.54\.03, CUDA 12\.2/);
  });
  it('A2 a Google vendor id alone is not a TPU: a GCE VM’s 36 gVNIC/NVMe/bridge functions give none', () => {
    const a = detectAccelerator(accel({ pci: gVnicNvmeBridges, gpuNames: null }));
    expect(a.kind).toBe('none');
    expect(a.evidence[0]).toMatch(/36 Google PCI function\(s\) without a TPU device id/);
  });
  it('A2 counts TPU chips by PCI device id, not the other Google functions beside them', () => {
    const pci = [...gVnicNvmeBridges.slice(0, 2), { vendor: '0x1ae0', device: '0x0063' }];
    const a = detectAccelerator(accel({ pci, env: { TPU_ACCELERATOR_TYPE: 'v5litepod-1' } }));
    expect(a).toMatchObject({ kind: 'tpu', model: 'TPU v5litepod-1', count: 1, tpuType: 'v5litepod-1', hbmPerChipGB: 16 });
    expect(a.evidence.join('\n')).toMatch(/2 other Google PCI function\(s\)/);
  });
  it('A2 counts /dev/accel* (v2–v4) and numeric /dev/vfio groups (v5e, v6e) beside TPU evidence', () => {
    expect(detectAccelerator(accel({ accelDevices: ['accel0', 'accel1', 'accel2', 'accel3'], env: { TPU_ACCELERATOR_TYPE: 'v4-8' } }))).toMatchObject({ kind: 'tpu', count: 4, hbmPerChipGB: null });
    expect(detectAccelerator(accel({ vfioGroups: ['0', '1', '2', '3'], env: { TPU_ACCELERATOR_TYPE: 'v6e-4' } }))).toMatchObject({ kind: 'tpu', count: 4, hbmPerChipGB: 32 });
    expect(detectAccelerator(accel({ vfioGroups: ['0', '1', '2', '3', '4', '5', '6', '7', 'vfio'], env: { ISTPUVM: '1' } }))).toMatchObject({ kind: 'tpu', count: 8 });
    // VFIO passes through anything: alone it proves nothing.
    expect(detectAccelerator(accel({ vfioGroups: ['0', '1'] })).kind).toBe('none');
  });
  it('A2 takes the type and chips from the kernel’s own jax report when the environment says only ISTPUVM=1', () => {
    const a = detectAccelerator(accel({ env: { ISTPUVM: '1' }, kernelTpu: { source: 'jax', deviceKind: 'TPU v5 lite', count: 8 } }));
    expect(a).toMatchObject({ kind: 'tpu', model: '8 × TPU v5 lite', count: 8, tpuType: 'TPU v5 lite', hbmPerChipGB: 16 });
  });
  it('A2 TPU environment without hardware says the chip count is unknown', () => {
    const a = detectAccelerator(accel({ env: { COLAB_TPU_ADDR: '10.0.0.2:8470' } }));
    expect(a).toMatchObject({ kind: 'tpu', model: 'TPU', count: null });
    expect(a.evidence.join('\n')).toMatch(/chip count unknown/);
  });
  it('A2 Kaggle’s TPU VM image sets no TPU_NAME, only libtpu’s TPU_CHIPS_PER_HOST_BOUNDS: a TPU, chips unknown', () => {
    const a = detectAccelerator(accel({ env: { TPU_CHIPS_PER_HOST_BOUNDS: '2,2,1', TPU_WORKER_ID: '0' } }));
    expect(a).toMatchObject({ kind: 'tpu', model: 'TPU', count: null });
    expect(a.evidence.join('\n')).toMatch(/TPU_CHIPS_PER_HOST_BOUNDS=2,2,1/);
    expect(detectAccelerator(accel({ env: { TPU_WORKER_ID: '0' } })).kind).toBe('none');
  });
  it('A2 an empty COLAB_TPU_1VM (every Colab CPU runtime has it) is no TPU', () => {
    expect(detectAccelerator(accel({ env: { COLAB_TPU_1VM: '', COLAB_GPU: '' } })).kind).toBe('none');
  });
  it('A3 a GPU without nvidia-smi from /proc/driver/nvidia/gpus/*/information, or the driver alone', () => {
    expect(detectAccelerator(accel({ nvidiaProcGpus: ['Model: \t\t Tesla T4\nIRQ: 36\n', 'Model: \t\t Tesla T4\n'] }))).toMatchObject({ kind: 'gpu', model: '2 × Tesla T4', count: 2 });
    expect(detectAccelerator(accel({ nvidiaDriverLoaded: true }))).toMatchObject({ kind: 'gpu', model: null, count: null });
    expect(detectAccelerator(accel({ env: { COLAB_GPU: '1' } })).kind).toBe('gpu');
  });
  it('A4 GPU and TPU hardware together → unknown, naming both', () => {
    const a = detectAccelerator(accel({ gpuNames: ['Tesla T4'], pci: [{ vendor: '0x1ae0', device: '0x005e' }] }));
    expect(a.kind).toBe('unknown');
    expect(a.evidence[0]).toMatch(/conflicting hardware/);
  });
  it('maps TPU names to generations', () => {
    expect(['v5litepod-8', 'TPU v5 lite', 'v5e-8', 'v3-8', 'TPU v4', 'v6e-4', 'v5p-8', 'v2-8'].map(tpuGenerationOf)).toEqual(['v5e', 'v5e', 'v5e', 'v3', 'v4', 'v6e', 'v5p', 'v2']);
  });
});

describe('the Colab tier', () => {
  it('is inferred only from a paid-only GPU, and the profile says so', () => {
    const t = colabTier({ platform: 'colab', accelerator: { kind: 'gpu', model: 'NVIDIA A100-SXM4-40GB' }, stated: null });
    expect(t).toMatchObject({ value: 'paid', basis: 'inferred', ask: null });
    expect(t?.evidence[0]).toBe('tier: paid, inferred from A100 (a GPU Colab offers only on paid plans)');
    expect(colabTier({ platform: 'colab', accelerator: { kind: 'gpu', model: 'NVIDIA L4' }, stated: null })?.value).toBe('paid');
    const p = defaultProfile('colab', 'gpu', { tier: 'paid', tierBasis: 'inferred from A100' });
    expect(p.variant).toBe('colab/paid');
    expect(p.fields.sessionLifetime.note).toMatch(/^tier: paid, inferred from A100/);
  });
  it('asks with one line where a T4, a TPU or a CPU says nothing about the plan', () => {
    for (const a of [{ kind: 'gpu' as const, model: 'Tesla T4' }, { kind: 'tpu' as const, model: 'TPU' }, { kind: 'none' as const, model: null }]) {
      expect(colabTier({ platform: 'colab', accelerator: a, stated: null })).toMatchObject({ value: null, basis: 'unknown', ask: '%vigilo profile tier=pro' });
    }
    expect(colabTier({ platform: 'colab', accelerator: { kind: 'gpu', model: 'Tesla T4' }, stated: 'pro+' })).toMatchObject({ value: 'pro+', basis: 'stated' });
    expect(defaultProfile('colab', 'gpu', { tier: 'pro+' }).fields.sessionLifetime.value).toBe(24 * 3600);
    expect(colabTier({ platform: 'kaggle', accelerator: { kind: 'gpu', model: 'NVIDIA A100' }, stated: null })).toBeNull();
  });
});

describe('Kaggle batch, TPU and unknown profiles', () => {
  it('a batch run has no idle cut-off and keeps the session cap', () => {
    const batch = defaultProfile('kaggle', 'gpu', { runType: 'batch' });
    expect(batch.variant).toBe('kaggle/gpu/batch');
    expect(batch.fields.idleCutoff.value).toBeNull();
    expect(batch.fields.sessionLifetime.value).toBe(12 * 3600);
    expect(defaultProfile('kaggle', 'gpu', { runType: 'interactive' }).fields.idleCutoff.value).toBe(20 * 60);
  });
  it('a TPU session shows the 20 h TPU quota; an unknown platform assumes no limit and says why', () => {
    expect(defaultProfile('kaggle', 'tpu').fields.weeklyTpuQuota.value).toBe(20 * 3600);
    const u = defaultProfile('unknown');
    expect(u.variant).toBe('unknown');
    expect(u.fields.sessionLifetime.source).toMatch(/platform unknown/);
  });
});

describe('nvidia-smi versions', () => {
  it('reads driver and CUDA versions from the table header and from -q', () => {
    expect(parseSmiVersions('| NVIDIA-SMI 470.63.01    Driver Version: 460.32.03    CUDA Version: 11.2     |')).toEqual({ driver: '460.32.03', cuda: '11.2' });
    expect(parseSmiVersions('Driver Version                            : 460.32.03\nCUDA Version                              : 11.2\n')).toEqual({ driver: '460.32.03', cuda: '11.2' });
    expect(parseSmiVersions('GPU 0: NVIDIA L4 (UUID: GPU-x)')).toBeNull();
  });
});

/**
 * Where the sidecar runs and what accelerator it has, decided from raw facts
 * only (no I/O here) as weighed evidence with a written precedence
 * (docs/PLATFORMS.md, "Decision table"), not as the first match.
 *
 * Platform precedence:
 *   P1. A decisive Kaggle mark (KAGGLE_KERNEL_RUN_TYPE, KAGGLE_URL_BASE,
 *       KAGGLE_DATA_PROXY_*, KAGGLE_DOCKER_IMAGE, KAGGLE_USER_SECRETS_TOKEN,
 *       KAGGLE_KERNEL_INTEGRATIONS, KAGGLE_CONTAINER_NAME, a kernel that can import
 *       kaggle_secrets) → kaggle. Kaggle's Python images are built FROM Colab's
 *       runtime image (Kaggle/docker-python Dockerfile.tmpl), so Colab's marks
 *       (COLAB_RELEASE_TAG, google.colab) are present on Kaggle too and lose here.
 *   P2. Else a decisive Colab mark (COLAB_RELEASE_TAG, COLAB_BACKEND_VERSION,
 *       COLAB_JUPYTER_IP, COLAB_GPU present even empty, the pre-2023
 *       DATALAB_SETTINGS_OVERRIDES (unless DATALAB_ENV says Cloud Datalab) /
 *       COLAB_TPU_ADDR, VERTEX_PRODUCT=COLAB_ENTERPRISE,
 *       /var/colab/hostname, a kernel that can import google.colab) → colab.
 *   P3. Else only weak marks (/kaggle/working, /kaggle/input, /content, ISTPUVM, DATALAB_ENV):
 *       → unknown, with the reason. Paths never decide (a Colab VM can hold
 *       /kaggle/input from kagglehub's cache; anyone can mkdir /content).
 *   P4. Else → local.
 */
import type { AcceleratorInfo, PlatformInfo } from '../shared/api';

export interface PlatformFacts {
  env: Record<string, string | undefined>;
  /** Marker paths (as seen under VIGILO_FS_ROOT) that exist, e.g. "/content", "/kaggle/working". */
  existingPaths: ReadonlySet<string>;
  /** Modules a kernel reported importable, e.g. { "google.colab": true }. */
  kernelModules: Record<string, boolean>;
}

/** Marker paths a collector should stat for detectPlatform. */
export const PLATFORM_MARKER_PATHS = ['/content', '/var/colab/hostname', '/kaggle', '/kaggle/working', '/kaggle/input'] as const;

/** Kaggle variables whose value is a secret: named, never echoed. */
const SECRET = /TOKEN|SECRET|KEY/;

const KAGGLE_ENV = [
  'KAGGLE_KERNEL_RUN_TYPE',
  'KAGGLE_URL_BASE',
  'KAGGLE_DOCKER_IMAGE',
  'KAGGLE_DATA_PROXY_TOKEN',
  'KAGGLE_DATA_PROXY_URL',
  'KAGGLE_DATA_PROXY_PROJECT',
  'KAGGLE_USER_SECRETS_TOKEN',
  'KAGGLE_KERNEL_INTEGRATIONS',
  'KAGGLE_CONTAINER_NAME'
] as const;

const COLAB_ENV = ['COLAB_RELEASE_TAG', 'COLAB_BACKEND_VERSION', 'COLAB_JUPYTER_IP', 'DATALAB_SETTINGS_OVERRIDES', 'COLAB_TPU_ADDR'] as const;

function envMark(env: PlatformFacts['env'], name: string): string | null {
  const value = env[name];
  if (value === undefined) return null;
  if (SECRET.test(name)) return `env ${name} is set`;
  return `env ${name}=${value.length > 80 ? `${value.slice(0, 77)}…` : value}`;
}

/** Kaggle's run type: "Batch" is a "Save & Run All" / committed run (no idle cut-off), "Interactive" the editor. */
export function kaggleRunType(env: PlatformFacts['env']): 'batch' | 'interactive' | null {
  const raw = env.KAGGLE_KERNEL_RUN_TYPE?.trim().toLowerCase();
  return raw === 'batch' ? 'batch' : raw === 'interactive' ? 'interactive' : null;
}

/**
 * The image kind from KAGGLE_DOCKER_IMAGE (gcr.io/kaggle-images/python,
 * gcr.io/kaggle-gpu-images/python, …/kaggle-tpu-images/…, …/rstats).
 */
export function kaggleImage(env: PlatformFacts['env']): NonNullable<PlatformInfo['image']> | null {
  const name = env.KAGGLE_DOCKER_IMAGE?.trim();
  if (!name) return null;
  const kind = /tpu/i.test(name) ? 'tpu' : /gpu/i.test(name) ? 'gpu' : /kaggle-images\//i.test(name) ? 'cpu' : 'unknown';
  return { name, kind, language: /rstats/i.test(name) ? 'r' : /python/i.test(name) ? 'python' : null };
}

export function detectPlatform(facts: PlatformFacts): PlatformInfo {
  const { env, existingPaths, kernelModules } = facts;
  const kaggle = KAGGLE_ENV.map(n => envMark(env, n)).filter((m): m is string => m !== null);
  if (kernelModules['kaggle_secrets']) kaggle.push('kernel can import kaggle_secrets');

  // Google's older Cloud Datalab set DATALAB_SETTINGS_OVERRIDES too, with DATALAB_ENV beside it: then it is no Colab mark.
  const datalab = env.DATALAB_ENV !== undefined;
  const colab = COLAB_ENV.filter(n => !(datalab && n === 'DATALAB_SETTINGS_OVERRIDES'))
    .map(n => envMark(env, n))
    .filter((m): m is string => m !== null);
  // COLAB_GPU is present on every Colab runtime (empty or "0" on CPU/TPU): its presence marks Colab.
  if (env.COLAB_GPU !== undefined) colab.push(`env COLAB_GPU=${env.COLAB_GPU}`);
  if (env.VERTEX_PRODUCT === 'COLAB_ENTERPRISE') colab.push('env VERTEX_PRODUCT=COLAB_ENTERPRISE');
  if (kernelModules['google.colab']) colab.push('kernel can import google.colab');
  if (existingPaths.has('/var/colab/hostname')) colab.push('path /var/colab/hostname exists');

  const weak: string[] = [];
  for (const p of ['/kaggle/working', '/kaggle/input', '/content'] as const) {
    if (existingPaths.has(p)) weak.push(`path ${p} exists`);
  }
  if (env.ISTPUVM === '1') weak.push("env ISTPUVM=1 (set by Kaggle's TPU image, and by people copying it)");
  if (datalab) weak.push(`env DATALAB_ENV=${env.DATALAB_ENV}: Cloud Datalab, whose DATALAB_SETTINGS_OVERRIDES is not a Colab mark`);

  const runType = kaggleRunType(env);
  const image = kaggleImage(env);
  if (kaggle.length > 0) {
    const evidence = [`P1 Kaggle mark(s): ${kaggle.join('; ')}`];
    if (colab.length > 0) evidence.push(`Colab mark(s) outweighed (Kaggle images are built FROM Colab's runtime image): ${colab.join('; ')}`);
    if (weak.length > 0) evidence.push(`supporting: ${weak.join('; ')}`);
    if (runType) evidence.push(`run type ${runType}${runType === 'batch' ? ' (a committed "Save & Run All" run: no idle cut-off)' : ''}`);
    if (image) evidence.push(`image ${image.name} (kind ${image.kind})`);
    return { name: 'kaggle', evidence, runType: runType ?? 'unknown', image };
  }
  if (colab.length > 0) {
    const evidence = [`P2 Colab mark(s): ${colab.join('; ')}`];
    if (weak.length > 0) evidence.push(`supporting: ${weak.join('; ')}`);
    return { name: 'colab', evidence, runType: null, image: null };
  }
  if (weak.length > 0) {
    return {
      name: 'unknown',
      evidence: [`P3 only weak marks, which never decide: ${weak.join('; ')}; no Kaggle or Colab environment variable or kernel module`],
      runType: null,
      image: null
    };
  }
  return { name: 'local', evidence: ['P4 no Kaggle or Colab environment variables, kernel modules or marker paths'], runType: null, image: null };
}

// ---------------------------------------------------------------------------
// Accelerators

/** One PCI function: /sys/bus/pci/devices/<addr>/{vendor,device}, e.g. "0x1ae0", "0x0063". */
export interface PciFunction {
  vendor: string;
  device: string;
}

/** What a kernel that had already imported jax / torch_xla reported (never imported by Vigilo). */
export interface KernelTpuReport {
  source: 'jax' | 'torch_xla';
  /** e.g. "TPU v5 lite", "TPU v3". */
  deviceKind: string | null;
  /** Devices the framework sees (cores on v2/v3/v4/v5p with megacore off, chips on v5e/v6e). */
  count: number | null;
}

export interface AcceleratorFacts {
  env: Record<string, string | undefined>;
  /** Names of /dev entries like "accel0" (TPU VMs v2–v4). */
  accelDevices: readonly string[];
  /** Numeric /dev/vfio/<group> entries (TPU v5e/v5p/v6e hosts), without the "vfio" control node. */
  vfioGroups?: readonly string[];
  /** PCI functions; the vendor alone proves nothing (Google's 0x1ae0 is also gVNIC, NVMe, bridges). */
  pci?: readonly PciFunction[];
  /** @deprecated vendors only: kept for callers that read no device ids; never counted as TPU chips. */
  pciVendors?: readonly string[];
  /** GPU names from nvidia-smi; null when nvidia-smi is unavailable or not yet read. */
  gpuNames: readonly string[] | null;
  /** Driver and CUDA versions from nvidia-smi's own report, when it gave them. */
  smiVersions?: { driver: string | null; cuda: string | null } | null;
  /** /proc/driver/nvidia exists (the NVIDIA kernel driver is loaded). */
  nvidiaDriverLoaded?: boolean;
  /** Contents of /proc/driver/nvidia/gpus/<bus>/information, one per GPU. */
  nvidiaProcGpus?: readonly string[];
  /** A kernel's own TPU report (jax / torch_xla already imported there). */
  kernelTpu?: KernelTpuReport | null;
}

/** The wire shape (src/shared/api.ts): kind, model ("Tesla T4", "2 × Tesla T4", "TPU v5litepod-8"), count, evidence. */
export type Accelerator = AcceleratorInfo;

export const GOOGLE_PCI_VENDOR = '0x1ae0';
const NVIDIA_PCI_VENDOR = '0x10de';

export type TpuGeneration = 'v2/v3' | 'plc' | 'v4' | 'v5p' | 'v5e' | 'v6e' | 'tpu7x';

/**
 * TPU chips by PCI device id under Google's vendor id 0x1ae0, as listed by
 * JAX (jax-ml/jax jax/_src/hardware_utils.py, _TPU_PCI_DEVICE_IDS, commit
 * 167d72dc644a541c69225b38b8854f3fb5279f7e). Any other 0x1ae0 function (gVNIC
 * 0x0042, the NVMe controller, bridges) is not a TPU.
 */
export const TPU_PCI_DEVICE_IDS: Record<string, TpuGeneration> = {
  '0x0027': 'v2/v3',
  '0x0056': 'plc',
  '0x005e': 'v4',
  '0x0062': 'v5p',
  '0x0063': 'v5e',
  '0x006f': 'v6e',
  '0x0076': 'tpu7x'
};

/**
 * HBM per chip in GB as the vendor states it, only where a source was read:
 * v5e 16 GB (cloud.google.com/tpu/docs/v5e, "HBM2 capacity and bandwidth: 16 GB,
 * 819 GBps"), v5p 95 GB (cloud.google.com/tpu/docs/v5p, "HBM2e: 95 GB"), v6e
 * 32 GB (huggingface.co/docs/optimum-tpu, conceptual_guides/tpu_hardware_support).
 * v2, v3 and v4 are left out: their figures were not re-read from a source here.
 */
export const TPU_HBM_GB: Partial<Record<'v2' | 'v3' | 'v4' | 'v5e' | 'v5p' | 'v6e', number>> = { v5e: 16, v5p: 95, v6e: 32 };

/** "v5litepod-8", "TPU v5 lite", "v5e-8", "v3-8", "TPU v4" → generation key, or null. */
export function tpuGenerationOf(text: string): keyof typeof TPU_HBM_GB | null {
  const t = text.toLowerCase();
  if (/v5\s*lite|v5e|v5litepod/.test(t)) return 'v5e';
  if (/v5p/.test(t)) return 'v5p';
  if (/v6e|v6\s*lite/.test(t)) return 'v6e';
  if (/\bv4\b|v4-/.test(t)) return 'v4';
  if (/\bv3\b|v3-/.test(t)) return 'v3';
  if (/\bv2\b|v2-/.test(t)) return 'v2';
  return null;
}

const norm = (hex: string) => hex.trim().toLowerCase();

/** "Model:  Tesla T4" from /proc/driver/nvidia/gpus/<bus>/information. */
export function procGpuModel(information: string): string | null {
  const m = /^Model:\s*(.+)$/m.exec(information);
  return m ? m[1].trim() : null;
}

function countNames(names: readonly string[]): string {
  const unique = [...new Set(names)];
  return unique.length === 1 ? (names.length > 1 ? `${names.length} × ${unique[0]}` : unique[0]) : names.join(' + ');
}

/**
 * Accelerator precedence (docs/PLATFORMS.md):
 *   A1. nvidia-smi lists GPUs → gpu, named, with driver / CUDA versions.
 *   A2. TPU chips counted from hardware: PCI functions with a TPU device id, else
 *       /dev/accel*, else numeric /dev/vfio groups (the latter only beside other TPU
 *       evidence: VFIO passes through any device). Type from TPU_ACCELERATOR_TYPE,
 *       else the kernel's own jax / torch_xla report, else the PCI generation.
 *       TPU environment variables alone (ISTPUVM=1, PJRT_DEVICE=TPU, TPU_NAME,
 *       TPU_CHIPS_PER_HOST_BOUNDS, COLAB_TPU_ADDR, a non-empty COLAB_TPU_1VM) → tpu with unknown chips.
 *   A3. An NVIDIA GPU without nvidia-smi: /proc/driver/nvidia/gpus/*\/information
 *       (model per GPU), else /proc/driver/nvidia, NVIDIA PCI functions or COLAB_GPU=1.
 *   A4. Else none. GPU and TPU hardware both present → unknown, naming both.
 */
export function detectAccelerator(facts: AcceleratorFacts): Accelerator {
  const { env } = facts;
  const pci = facts.pci ?? [];
  const tpuPci = pci.filter(f => norm(f.vendor) === GOOGLE_PCI_VENDOR && TPU_PCI_DEVICE_IDS[norm(f.device)] !== undefined);
  const smiGpus = facts.gpuNames && facts.gpuNames.length > 0 ? facts.gpuNames : null;

  if (smiGpus && tpuPci.length > 0) {
    return {
      kind: 'unknown',
      model: null,
      count: null,
      evidence: [`conflicting hardware: nvidia-smi lists ${smiGpus.length} GPU(s) (${[...new Set(smiGpus)].join(', ')}) and ${tpuPci.length} PCI function(s) have TPU device ids`]
    };
  }

  if (smiGpus) {
    const v = facts.smiVersions;
    const versions = v && (v.driver || v.cuda) ? `; driver ${v.driver ?? '?'}, CUDA ${v.cuda ?? '?'} (nvidia-smi)` : '';
    return {
      kind: 'gpu',
      model: countNames(smiGpus),
      count: smiGpus.length,
      evidence: [`A1 nvidia-smi lists ${smiGpus.length} GPU(s): ${[...new Set(smiGpus)].join(', ')}${versions}`],
      driverVersion: v?.driver ?? null,
      cudaVersion: v?.cuda ?? null
    };
  }

  const tpuEnv: string[] = [];
  // TPU_CHIPS_PER_HOST_BOUNDS: libtpu's host topology, set on Kaggle's TPU VM image, which sets no TPU_NAME (huggingface/accelerate#2893).
  for (const name of ['TPU_ACCELERATOR_TYPE', 'TPU_NAME', 'COLAB_TPU_ADDR', 'COLAB_TPU_1VM', 'TPU_WORKER_HOSTNAMES', 'TPU_CHIPS_PER_HOST_BOUNDS']) {
    if (env[name]) tpuEnv.push(`env ${name}=${env[name]}`);
  }
  if (env.ISTPUVM === '1') tpuEnv.push('env ISTPUVM=1');
  if (env.PJRT_DEVICE?.toUpperCase() === 'TPU') tpuEnv.push('env PJRT_DEVICE=TPU');
  const kernel = facts.kernelTpu && facts.kernelTpu.deviceKind && /tpu/i.test(facts.kernelTpu.deviceKind) ? facts.kernelTpu : null;
  const vfio = (facts.vfioGroups ?? []).filter(g => /^\d+$/.test(g));
  const tpuEvidence = tpuPci.length > 0 || facts.accelDevices.length > 0 || tpuEnv.length > 0 || kernel !== null;

  if (tpuEvidence) {
    const evidence: string[] = [];
    let chips: number | null = null;
    let pciGeneration: TpuGeneration | null = null;
    if (tpuPci.length > 0) {
      const ids = [...new Set(tpuPci.map(f => norm(f.device)))];
      pciGeneration = TPU_PCI_DEVICE_IDS[ids[0]];
      chips = tpuPci.length;
      evidence.push(`A2 ${tpuPci.length} TPU chip(s) by PCI id ${GOOGLE_PCI_VENDOR}:${ids.join('/')} (${ids.map(i => TPU_PCI_DEVICE_IDS[i]).join('/')})`);
    } else if (facts.accelDevices.length > 0) {
      chips = facts.accelDevices.length;
      evidence.push(`A2 ${chips} TPU chip(s) as /dev/${facts.accelDevices.join(', /dev/')}`);
    } else if (vfio.length > 0) {
      chips = vfio.length;
      evidence.push(`A2 ${chips} TPU chip(s) as /dev/vfio/${vfio.join(', /dev/vfio/')}`);
    }
    const otherGoogle = pci.filter(f => norm(f.vendor) === GOOGLE_PCI_VENDOR).length - tpuPci.length;
    if (otherGoogle > 0) evidence.push(`${otherGoogle} other Google PCI function(s) (gVNIC, NVMe, bridges) not counted`);
    if (tpuEnv.length > 0) evidence.push(`TPU environment: ${tpuEnv.join('; ')}`);
    if (kernel) evidence.push(`the kernel's ${kernel.source} reports ${kernel.count ?? '?'} × ${kernel.deviceKind}`);

    const type = env.TPU_ACCELERATOR_TYPE?.trim() || null;
    let model: string;
    if (type) model = `TPU ${type}`;
    else if (kernel) model = kernel.count ? `${kernel.count} × ${kernel.deviceKind}` : (kernel.deviceKind as string);
    else if (pciGeneration) model = `TPU ${pciGeneration}`;
    else model = 'TPU';
    if (chips === null && kernel?.count) chips = kernel.count;
    if (chips === null) evidence.push('chip count unknown: no TPU PCI ids, /dev/accel* or /dev/vfio groups seen');
    const generation = tpuGenerationOf(type ?? kernel?.deviceKind ?? (pciGeneration === 'v2/v3' ? '' : pciGeneration ?? ''));
    const hbm = generation ? TPU_HBM_GB[generation] ?? null : null;
    if (hbm !== null) evidence.push(`HBM ${hbm} GB per chip (${generation}, vendor documentation)`);
    return { kind: 'tpu', model, count: chips, evidence, tpuType: type ?? kernel?.deviceKind ?? pciGeneration ?? null, hbmPerChipGB: hbm };
  }

  const procModels = (facts.nvidiaProcGpus ?? []).map(procGpuModel);
  if (procModels.length > 0) {
    const named = procModels.filter((m): m is string => m !== null);
    return {
      kind: 'gpu',
      model: named.length === procModels.length ? countNames(named) : null,
      count: procModels.length,
      evidence: [`A3 ${procModels.length} GPU(s) in /proc/driver/nvidia/gpus${named.length ? `: ${[...new Set(named)].join(', ')}` : ''}`, 'nvidia-smi gives no GPU list (not installed in this image, or not read yet)']
    };
  }
  const nvidiaPci = pci.filter(f => norm(f.vendor) === NVIDIA_PCI_VENDOR).length || (facts.pciVendors ?? []).filter(v => norm(v) === NVIDIA_PCI_VENDOR).length;
  if (facts.nvidiaDriverLoaded || nvidiaPci > 0 || env.COLAB_GPU === '1') {
    const why = [facts.nvidiaDriverLoaded ? '/proc/driver/nvidia exists (NVIDIA driver loaded)' : '', nvidiaPci ? `${nvidiaPci} NVIDIA PCI function(s)` : '', env.COLAB_GPU === '1' ? 'env COLAB_GPU=1' : ''].filter(Boolean);
    return { kind: 'gpu', model: null, count: nvidiaPci || null, evidence: [`A3 ${why.join('; ')}`, 'but nvidia-smi gives no GPU list (not installed in this image, or not read yet)'] };
  }
  const googleOnly = pci.filter(f => norm(f.vendor) === GOOGLE_PCI_VENDOR).length;
  const note = googleOnly > 0 ? `; ${googleOnly} Google PCI function(s) without a TPU device id (gVNIC, NVMe, bridges) are not TPUs` : '';
  if (facts.gpuNames === null) {
    return { kind: 'none', model: null, count: 0, evidence: [`A4 no nvidia-smi, no TPU chips by PCI id, /dev/accel*, TPU environment or NVIDIA driver${note}`] };
  }
  return { kind: 'none', model: null, count: 0, evidence: [`A4 nvidia-smi lists no GPU; no TPU found${note}`] };
}

// ---------------------------------------------------------------------------
// Colab tier

/**
 * GPUs Colab offers only on paid plans (Pro, Pro+, pay-as-you-go compute
 * units): A100, L4, H100. Seeing one proves a paid plan; a T4, a TPU or a CPU
 * runtime says nothing (the free tier has them too).
 */
const COLAB_PAID_ONLY_GPU = /\b(A100|L4|H100)\b/i;

export interface TierFacts {
  platform: PlatformInfo['name'];
  accelerator: Pick<AcceleratorInfo, 'kind' | 'model'> | null;
  /** What the user stated (`%vigilo profile tier=pro`), if anything. */
  stated: string | null;
}

/** The Colab plan, inferred only where evidence allows; otherwise the one line that states it. */
export function colabTier(facts: TierFacts): NonNullable<PlatformInfo['tier']> | null {
  if (facts.platform !== 'colab') return null;
  if (facts.stated) {
    return { value: facts.stated, basis: 'stated', evidence: [`stated with %vigilo profile tier=${facts.stated}`], ask: null };
  }
  const model = facts.accelerator?.kind === 'gpu' ? facts.accelerator.model : null;
  const paid = model ? COLAB_PAID_ONLY_GPU.exec(model) : null;
  if (paid) {
    return { value: 'paid', basis: 'inferred', evidence: [`tier: paid, inferred from ${paid[1].toUpperCase()} (a GPU Colab offers only on paid plans)`], ask: null };
  }
  return {
    value: null,
    basis: 'unknown',
    evidence: [`no evidence of the plan (${model ?? facts.accelerator?.kind ?? 'no accelerator yet'} is offered on the free tier too); the free tier's limits apply`],
    ask: '%vigilo profile tier=pro'
  };
}

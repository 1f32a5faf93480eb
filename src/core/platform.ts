/**
 * Where the sidecar runs, decided from raw facts only (no I/O here): the
 * environment, which marker paths exist, and what registered kernels reported
 * they can import. Colab is decided first: a Colab VM may have /kaggle/input
 * (kagglehub's cache), so paths alone never mean Kaggle.
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

export function detectPlatform(facts: PlatformFacts): PlatformInfo {
  const { env, existingPaths, kernelModules } = facts;
  const colab: string[] = [];
  for (const name of ['COLAB_RELEASE_TAG', 'COLAB_BACKEND_VERSION', 'COLAB_JUPYTER_IP']) {
    if (env[name]) {
      colab.push(`env ${name}=${env[name]}`);
    }
  }
  if (env.VERTEX_PRODUCT === 'COLAB_ENTERPRISE') {
    colab.push('env VERTEX_PRODUCT=COLAB_ENTERPRISE');
  }
  if (kernelModules['google.colab']) {
    colab.push('kernel can import google.colab');
  }
  if (existingPaths.has('/var/colab/hostname')) {
    colab.push('path /var/colab/hostname exists');
  }
  // /content alone is weak evidence (anyone can create it); it only supports other evidence.
  if (colab.length > 0) {
    if (existingPaths.has('/content')) {
      colab.push('path /content exists');
    }
    return { name: 'colab', evidence: colab };
  }

  const kaggle: string[] = [];
  for (const name of ['KAGGLE_KERNEL_RUN_TYPE', 'KAGGLE_URL_BASE', 'KAGGLE_DATA_PROXY_TOKEN', 'KAGGLE_USER_SECRETS_TOKEN', 'KAGGLE_KERNEL_INTEGRATIONS']) {
    if (env[name]) {
      // Secrets are named, never echoed.
      kaggle.push(name.includes('TOKEN') ? `env ${name} is set` : `env ${name}=${env[name]}`);
    }
  }
  if (kernelModules['kaggle_secrets']) {
    kaggle.push('kernel can import kaggle_secrets');
  }
  if (kaggle.length > 0) {
    if (existingPaths.has('/kaggle/working')) {
      kaggle.push('path /kaggle/working exists');
    }
    return { name: 'kaggle', evidence: kaggle };
  }

  return { name: 'local', evidence: ['no Colab or Kaggle environment variables, kernel modules or markers found'] };
}

export interface AcceleratorFacts {
  env: Record<string, string | undefined>;
  /** Names of /dev entries like "accel0" (TPU VMs). */
  accelDevices: readonly string[];
  /** Contents of /sys/bus/pci/devices/x/vendor, e.g. "0x1ae0" (Google TPU), "0x10de" (NVIDIA). */
  pciVendors: readonly string[];
  /** GPU names from nvidia-smi; null when nvidia-smi is unavailable or not yet read. */
  gpuNames: readonly string[] | null;
}

/** The wire shape (src/shared/api.ts): kind, model ("Tesla T4", "2 × Tesla T4", "TPU v3-8"), count, evidence. */
export type Accelerator = AcceleratorInfo;

const GOOGLE_PCI_VENDOR = '0x1ae0';
const NVIDIA_PCI_VENDOR = '0x10de';

/**
 * GPU from nvidia-smi first (it names the card); TPU from the environment
 * (TPU_NAME, TPU_ACCELERATOR_TYPE, COLAB_TPU_1VM, ISTPUVM, PJRT_DEVICE=TPU) or
 * devices (/dev/accel*, PCI vendor 0x1ae0); else none. COLAB_GPU is tested by
 * value: it is present but empty on CPU runtimes.
 */
export function detectAccelerator(facts: AcceleratorFacts): Accelerator {
  const { env } = facts;
  if (facts.gpuNames && facts.gpuNames.length > 0) {
    const names = [...new Set(facts.gpuNames)];
    const model = names.length === 1 ? (facts.gpuNames.length > 1 ? `${facts.gpuNames.length} × ${names[0]}` : names[0]) : facts.gpuNames.join(' + ');
    return { kind: 'gpu', model, count: facts.gpuNames.length, evidence: [`nvidia-smi lists ${facts.gpuNames.length} GPU(s): ${names.join(', ')}`] };
  }
  const tpu: string[] = [];
  for (const name of ['TPU_NAME', 'TPU_ACCELERATOR_TYPE', 'COLAB_TPU_1VM']) {
    if (env[name]) tpu.push(`env ${name}=${env[name]}`);
  }
  if (env.ISTPUVM === '1') tpu.push('env ISTPUVM=1');
  if (env.PJRT_DEVICE?.toUpperCase() === 'TPU') tpu.push('env PJRT_DEVICE=TPU');
  if (facts.accelDevices.length > 0) tpu.push(`devices /dev/${facts.accelDevices.join(', /dev/')}`);
  const googleChips = facts.pciVendors.filter(v => v.trim().toLowerCase() === GOOGLE_PCI_VENDOR).length;
  if (googleChips > 0) tpu.push(`${googleChips} PCI device(s) with vendor ${GOOGLE_PCI_VENDOR} (Google TPU)`);
  if (tpu.length > 0) {
    const type = env.TPU_ACCELERATOR_TYPE || null;
    const count = facts.accelDevices.length || googleChips || null;
    return { kind: 'tpu', model: type ? `TPU ${type}` : 'TPU', count, evidence: tpu };
  }
  const nvidiaPci = facts.pciVendors.filter(v => v.trim().toLowerCase() === NVIDIA_PCI_VENDOR).length;
  if (env.COLAB_GPU === '1' || nvidiaPci > 0) {
    const why = [env.COLAB_GPU === '1' ? 'env COLAB_GPU=1' : '', nvidiaPci ? `${nvidiaPci} NVIDIA PCI device(s)` : ''].filter(Boolean);
    return { kind: 'gpu', model: null, count: nvidiaPci || null, evidence: [...why, 'but nvidia-smi gives no GPU list (driver missing or not read yet)'] };
  }
  if (facts.gpuNames === null) {
    return { kind: 'none', model: null, count: 0, evidence: ['no nvidia-smi, no TPU environment variables, /dev/accel* or Google PCI devices'] };
  }
  return { kind: 'none', model: null, count: 0, evidence: ['nvidia-smi lists no GPU; no TPU found'] };
}

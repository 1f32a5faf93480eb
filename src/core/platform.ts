/**
 * Where the sidecar runs, decided from raw facts only (no I/O here): the
 * environment, which marker paths exist, and what registered kernels reported
 * they can import. Colab is decided first: a Colab VM may have /kaggle/input
 * (kagglehub's cache), so paths alone never mean Kaggle.
 */
import type { PlatformInfo } from '../shared/api';

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

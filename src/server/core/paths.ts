import { join } from 'node:path';

/**
 * Root prefixed to every platform path read (/content, /kaggle, /proc/...),
 * so tests build a fake Colab or Kaggle tree (VIGILO_FS_ROOT).
 */
export function fsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.VIGILO_FS_ROOT ?? '/';
}

export function underRoot(root: string, absolutePath: string): string {
  return root === '/' ? absolutePath : join(root, absolutePath);
}

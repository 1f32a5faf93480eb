import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The data dir: $VIGILO_DATA_DIR, else $XDG_DATA_HOME/vigilo, else
 * ~/.local/share/vigilo. The Python launcher (vigilo/_paths.py) applies the
 * same three steps; tests/test_paths.py checks that both agree.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (env.VIGILO_DATA_DIR) {
    return env.VIGILO_DATA_DIR;
  }
  if (env.XDG_DATA_HOME) {
    return join(env.XDG_DATA_HOME, 'vigilo');
  }
  return join(home, '.local', 'share', 'vigilo');
}

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

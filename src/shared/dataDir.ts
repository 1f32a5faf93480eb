/**
 * The data dir rule, once for the sidecar, its CLI and the client library:
 * $VIGILO_DATA_DIR, else $XDG_DATA_HOME/vigilo, else ~/.local/share/vigilo.
 * The Python launcher (vigilo/_paths.py) applies the same three steps;
 * tests/test_magics.py checks that both agree.
 *
 * Pure (no `node:` import): the caller gives the environment and the home
 * directory, so this module also compiles for the browser bundle. Paths are
 * POSIX: Vigilo runs on Linux and macOS runtimes.
 */
export interface IDataDirEnv {
  VIGILO_DATA_DIR?: string;
  XDG_DATA_HOME?: string;
}

export function dataDirFor(env: IDataDirEnv, home: string): string {
  if (env.VIGILO_DATA_DIR) {
    return env.VIGILO_DATA_DIR;
  }
  if (env.XDG_DATA_HOME) {
    return `${env.XDG_DATA_HOME.replace(/\/+$/, '')}/vigilo`;
  }
  return `${home.replace(/\/+$/, '')}/.local/share/vigilo`;
}

// Start, query and stop real sidecars for the UI tests (Node >= 18, loopback only).
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const env = require('./vigilo-env');

function readDiscovery() {
  try {
    return JSON.parse(fs.readFileSync(path.join(env.dataDir, 'sidecar.json'), 'utf8'));
  } catch {
    return null;
  }
}

/** A sidecar request with its token; `body` is sent as JSON (e.g. `{ method: 'PUT', body: {...} }`). */
async function request(discovery, p, { method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${discovery.token}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${discovery.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    throw new Error(`${method} ${p}: ${response.status} ${await response.text()}`);
  }
  return response.json();
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start a detached sidecar for the test data dir and wait until it answers
 * /status. `extraEnv` simulates a platform (a fake machine's VIGILO_FS_ROOT,
 * platform variables and a stand-in nvidia-smi first on PATH).
 */
async function startSidecar(extraEnv = {}) {
  const log = fs.openSync(path.join(env.tmp, 'sidecar.log'), 'a');
  const child = spawn(
    process.execPath,
    [path.join(env.root, 'bin', 'vigilo.js'), 'serve', '--port', '0', '--json', '--data-dir', env.dataDir],
    { detached: true, stdio: ['ignore', log, log], env: { ...process.env, VIGILO_INTERNET_PROBE: 'off', ...extraEnv, VIGILO_DATA_DIR: env.dataDir } }
  );
  child.unref();
  fs.closeSync(log);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const d = readDiscovery();
    if (d && d.pid === child.pid) {
      try {
        await request(d, '/status');
        return d;
      } catch {
        // not listening yet
      }
    }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`the sidecar did not start; see ${path.join(env.tmp, 'sidecar.log')}`);
}

/** Stop the sidecar named by the discovery file (SIGTERM, or SIGKILL to simulate a crash). */
async function stopSidecar(signal = 'SIGTERM') {
  const d = readDiscovery();
  if (!d || !alive(d.pid)) {
    return null;
  }
  process.kill(d.pid, signal);
  const deadline = Date.now() + 10_000;
  while (alive(d.pid) && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 50));
  }
  return d.pid;
}

/**
 * Stop the sidecar, empty its data dir (stores, settings, alerts) and start a
 * fresh one with `extraEnv` (a fake machine): each scenario, and the test
 * files after it, start from a clean state.
 */
async function restartFresh(extraEnv = {}) {
  await stopSidecar('SIGTERM');
  for (const name of fs.readdirSync(env.dataDir)) {
    fs.rmSync(path.join(env.dataDir, name), { recursive: true, force: true });
  }
  return startSidecar(extraEnv);
}

module.exports = { readDiscovery, request, startSidecar, stopSidecar, restartFresh, alive };

// Checkpoint bench (issue 10), run after `npx tsc -p tsconfig.node.json`:
//
//   node bench/checkpoint.mjs [--mib 512] [--rounds 3] [--kills 20000] [--dir /tmp]
//
// 1. Save throughput to a local destination: the sidecar's verified copy
//    (stream + sha256, fsync, read back + sha256, rename) against plain `cp` of
//    the same bytes, and `cp` + `sync -f`, alternating in the same run; page
//    cache dropped before each copy when we may (root), else noted.
// 2. The oldest a verified checkpoint can be when the runtime is killed: the
//    real policy (dist/core/checkpointPolicy.js) driven on a simulated clock
//    over a 12 h session, killed at uniformly random times (unannounced:
//    preemption, a crash) and at the announced end of the session lifetime.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { cliArgs, ROOT, summary } from './lib.mjs';

const require = createRequire(import.meta.url);
const { copyVerified } = require(join(ROOT, 'dist/server/checkpoint/copy.js'));
const policy = require(join(ROOT, 'dist/core/checkpointPolicy.js'));

const args = cliArgs();
const MIB = 1 << 20;
const sizeMiB = Number(args.mib ?? 512);
const rounds = Number(args.rounds ?? 3);
const kills = Number(args.kills ?? 20000);
const base = mkdtempSync(join(args.dir ?? '/tmp', 'vigilo-ckpt-bench-'));

function dropCaches() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

async function throughput() {
  const src = join(base, 'state.bin');
  const fd = openSync(src, 'w');
  const chunk = randomBytes(8 * MIB);
  for (let i = 0; i < sizeMiB / 8; i++) writeSync(fd, chunk);
  closeSync(fd);
  const t = { vigilo: [], cp: [], cpSync: [] };
  let dropped = true;
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['vigilo', 'cp', 'cpSync']) {
      const dest = join(base, `dest-${kind}-${r}`);
      dropped = dropCaches() && dropped;
      const start = process.hrtime.bigint();
      if (kind === 'vigilo') {
        await copyVerified(src, dest, 'state.bin');
      } else {
        execFileSync('mkdir', ['-p', dest]);
        const cp = spawnSync('cp', [src, join(dest, 'state.bin')]);
        if (cp.status !== 0) throw new Error(String(cp.stderr));
        if (kind === 'cpSync') execFileSync('sync', ['-f', join(dest, 'state.bin')]);
      }
      t[kind].push(Number(process.hrtime.bigint() - start) / 1e9);
      rmSync(dest, { recursive: true, force: true });
    }
  }
  const med = xs => summary(xs).p50;
  const mbps = s => (sizeMiB / s).toFixed(0);
  console.log(`\n## save throughput, ${sizeMiB} MiB to a local destination (${rounds} rounds, median; page cache ${dropped ? 'dropped before each copy' : 'NOT dropped (not root)'})`);
  console.log(`vigilo verified copy  ${med(t.vigilo).toFixed(2)} s  ${mbps(med(t.vigilo))} MiB/s  (copy+sha256, fsync, read back+sha256, rename)`);
  console.log(`cp                    ${med(t.cp).toFixed(2)} s  ${mbps(med(t.cp))} MiB/s`);
  console.log(`cp + sync -f          ${med(t.cpSync).toFixed(2)} s  ${mbps(med(t.cpSync))} MiB/s`);
  console.log(`ratio vigilo / cp          ${(med(t.vigilo) / med(t.cp)).toFixed(2)}`);
  console.log(`ratio vigilo / (cp + sync) ${(med(t.vigilo) / med(t.cpSync)).toFixed(2)}`);
}

/**
 * Run the policy on a simulated clock: ticks every 2 s (the sidecar's default),
 * a save takes `saveS` from decision to verified (order latency + kernel save +
 * copy). Returns the verified times (s).
 */
function simulate({ lifetimeS, saveS, settings }) {
  const verified = [];
  let lastAttempt = null;
  let lastSave = null;
  let savingUntil = null;
  let latches = {};
  for (let t = 0; t <= lifetimeS; t += 2) {
    if (savingUntil !== null && t >= savingUntil) {
      verified.push(t);
      lastSave = saveS;
      savingUntil = null;
    }
    const d = policy.decideCheckpoint({
      nowMs: t * 1000,
      settings,
      watching: true,
      watchingSinceMs: 0,
      saving: savingUntil !== null,
      lastAttemptAtMs: lastAttempt,
      lastSaveS: lastSave,
      manualRequested: false,
      failure: null,
      sessionRemainingS: lifetimeS - t,
      idleRemainingS: null,
      diskUsedPercent: null,
      oomSecondsToLimit: null,
      latches
    });
    latches = d.latches;
    if (d.due) {
      lastAttempt = t * 1000;
      savingUntil = t + saveS;
    }
  }
  return verified;
}

function killAges({ lifetimeS, saveS, settings }, n) {
  const verified = simulate({ lifetimeS, saveS, settings });
  const ages = [];
  let none = 0;
  for (let i = 0; i < n; i++) {
    const kill = Math.random() * lifetimeS;
    let last = null;
    for (const v of verified) {
      if (v <= kill) last = v;
      else break;
    }
    if (last === null) none++;
    else ages.push((kill - last) / 60);
  }
  const atEnd = (lifetimeS - verified[verified.length - 1]) / 60;
  return { ages: summary(ages), none, atEnd, saves: verified.length };
}

function oldest() {
  console.log(`\n## oldest verified checkpoint at a kill (real policy, simulated 12 h session, ${kills} random kill times each)`);
  console.log('interval  save   kills before the 1st save  age p50  p90  max (min)   at the announced end (min)   saves');
  for (const [intervalMin, saveS] of [
    [30, 60],
    [30, 300],
    [10, 60],
    [30, 2400]
  ]) {
    const settings = { ...policy.DEFAULT_CHECKPOINT_SETTINGS, intervalMin };
    const r = killAges({ lifetimeS: 12 * 3600, saveS, settings }, kills);
    console.log(
      `${String(intervalMin).padStart(4)} min ${String(saveS).padStart(5)} s   ${((100 * r.none) / kills).toFixed(1).padStart(5)} %                ${r.ages.p50.toFixed(1).padStart(5)} ${r.ages.p90.toFixed(1).padStart(5)} ${r.ages.max.toFixed(1).padStart(5)}          ${r.atEnd.toFixed(1).padStart(5)}                   ${r.saves}`
    );
  }
}

try {
  await throughput();
  oldest();
} finally {
  rmSync(base, { recursive: true, force: true });
}

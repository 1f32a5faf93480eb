// Preloaded into the sidecar by bench/history.mjs (NODE_OPTIONS=--require):
// event-loop delay (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and
// RSS, written as JSON to $VIGILO_BENCH_PROBE every 200 ms. SIGUSR2 starts a
// new measurement window.
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { renameSync, writeFileSync } = require('node:fs');
const file = process.env.VIGILO_BENCH_PROBE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let maxRss = 0;
  const write = () => {
    const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
    maxRss = Math.max(maxRss, rss);
    writeFileSync(`${file}.tmp`, JSON.stringify({ p50Ms: h.percentile(50) / 1e6, p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6, rss, maxRss, heapTotal, heapUsed, external, arrayBuffers }));
    renameSync(`${file}.tmp`, file);
  };
  setInterval(write, 200).unref();
  process.on('SIGUSR2', () => {
    h.reset();
    maxRss = 0;
    write();
  });
}

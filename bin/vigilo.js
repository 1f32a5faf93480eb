#!/usr/bin/env node
// Runs the sidecar CLI: from the bundled build inside the Python package when
// it exists (pip installs), else from the TypeScript build of this checkout.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const major = Number(process.versions.node.split('.')[0]);
if (major < 18) {
  process.stderr.write(`vigilo: Node.js 18 or newer is required (this is ${process.version}). Install it from https://nodejs.org/ or your package manager.\n`);
  process.exit(1);
}
const built = path.join(__dirname, '..', 'dist', 'server', 'cli.js');
const bundled = path.join(__dirname, '..', 'vigilo', 'sidecar', 'vigilo-sidecar.cjs');
const entry = fs.existsSync(built) ? built : bundled;
require(entry).main(process.argv).catch(error => {
  process.stderr.write(`vigilo: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});

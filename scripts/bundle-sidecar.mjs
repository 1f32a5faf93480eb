#!/usr/bin/env node
// Bundles the sidecar (src/server/cli.ts and everything it imports) into one
// CommonJS file for the Python wheel: vigilo/sidecar/vigilo-sidecar.cjs.
// Users then need only Node.js >= 18, no npm install and no build.
//
// node-sqlite3-wasm loads its .wasm from `__dirname`; in a CJS bundle that is
// the bundle's own directory, so the .wasm is copied beside the bundle.
// Third-party licences of every bundled package go to THIRD-PARTY-LICENSES.txt.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'vigilo', 'sidecar');
const outfile = join(outDir, 'vigilo-sidecar.cjs');
const require = createRequire(join(root, 'package.json'));
const started = Date.now();

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const result = await build({
  entryPoints: [join(root, 'src', 'server', 'cli.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // `node vigilo-sidecar.cjs serve ...` runs the CLI; require() gives { main }
  // (vigilo/_sidecar.py runs `node -e "require(bundle).main(process.argv)"`).
  footer: {
    js: 'if (require.main === module) { module.exports.main(process.argv).catch(function (e) { process.stderr.write("vigilo: " + (e && e.stack ? e.stack : e) + "\\n"); process.exit(1); }); }'
  }
});

// The wasm binary beside the bundle, where node-sqlite3-wasm looks for it.
const wasm = join(dirname(require.resolve('node-sqlite3-wasm')), 'node-sqlite3-wasm.wasm');
copyFileSync(wasm, join(outDir, 'node-sqlite3-wasm.wasm'));

// Licences of the bundled packages.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) {
    packages.set(resolve(root, match[1]), true);
  }
}
const notices = [];
for (const dir of [...packages.keys()].sort()) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const licenceFile = readdirSync(dir).find(f => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const text = licenceFile ? readFileSync(join(dir, licenceFile), 'utf8').trim() : `(no licence file; package.json says ${pkg.license ?? 'nothing'})`;
  notices.push(`${pkg.name}@${pkg.version} (${pkg.license ?? 'unknown'})\n${'-'.repeat(60)}\n${text}\n`);
}
writeFileSync(join(outDir, 'THIRD-PARTY-LICENSES.txt'), `Packages bundled into vigilo-sidecar.cjs\n\n${notices.join('\n')}`);

const size = readFileSync(outfile).length;
process.stdout.write(
  `bundle-sidecar: ${relative(root, outfile)} ${(size / 1024).toFixed(0)} KiB, ${packages.size} packages, wasm copied, ${Date.now() - started} ms\n`
);
if (!existsSync(join(outDir, 'node-sqlite3-wasm.wasm'))) {
  throw new Error('node-sqlite3-wasm.wasm was not copied');
}

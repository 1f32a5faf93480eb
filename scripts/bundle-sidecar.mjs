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

/**
 * The bundle must be pure ASCII: V8 keeps a script's source in memory, one byte a character when every
 * character is Latin-1 and two bytes otherwise, so one "€" in a regex doubled the sidecar's 2.4 MB source
 * to 4.8 MB of heap. esbuild escapes strings and templates but leaves regex literals (and String.raw)
 * as written. Each non-ASCII character left is rewritten as \uXXXX, which means the same character only
 * inside a regex, string or comment: the file is tokenised (acorn) to prove every one of them is there.
 * One inside a template (String.raw`€` would become the six characters \u20AC) or anywhere else fails
 * the build: write it as an escape in the source.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const positions = [];
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) positions.push(i);
  }
  if (positions.length > 0) {
    let acorn;
    try {
      acorn = require('acorn');
    } catch {
      throw new Error(`bundle-sidecar: ${positions.length} non-ASCII characters in the bundle and no acorn to prove they can be escaped; write them as \\uXXXX in the source`);
    }
    const safe = [];
    const onComment = (_block, _text, start, end) => safe.push([start, end]);
    for (const token of acorn.tokenizer(text, { ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true, onComment })) {
      if (token.type.label === 'regexp' || token.type.label === 'string') safe.push([token.start, token.end]);
    }
    safe.sort((a, b) => a[0] - b[0]);
    let k = 0;
    for (const p of positions) {
      while (k < safe.length && safe[k][1] <= p) k++;
      if (!(k < safe.length && safe[k][0] <= p)) {
        throw new Error(`bundle-sidecar: non-ASCII ${JSON.stringify(text[p])} outside a regex, string or comment at ${p}: ${JSON.stringify(text.slice(Math.max(0, p - 60), p + 20))}; write it as \\uXXXX in the source`);
      }
    }
  }
  const out = text.replace(/[^\x00-\x7f]/g, c => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  const bytes = Buffer.from(out, 'utf8');
  if (bytes.some(b => b > 0x7f)) {
    throw new Error('bundle-sidecar: the bundle is still not ASCII after escaping');
  }
  writeFileSync(file, bytes);
  return positions.length;
}
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

const escaped = asciiOnly(outfile);

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
  `bundle-sidecar: ${relative(root, outfile)} ${(size / 1024).toFixed(0)} KiB, ${packages.size} packages, ASCII (${escaped} characters escaped), wasm copied, ${Date.now() - started} ms\n`
);
if (!existsSync(join(outDir, 'node-sqlite3-wasm.wasm'))) {
  throw new Error('node-sqlite3-wasm.wasm was not copied');
}

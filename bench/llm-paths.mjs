#!/usr/bin/env node
// Added latency of the newer tracked paths in TypeScript (issue 12): each wrapped call against the same call on the
// unwrapped client, same loopback fakes, same run, interleaved; the paired median of (wrapped − plain) per call.
// A real sidecar (child process) receives the events.   node bench/llm-paths.mjs [--calls 500]
// Needs the build: npx tsc -p tsconfig.node.json
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cliArgs, pairedTimes, ROOT, startSidecar } from './lib.mjs';
import { machine, startFakeOpenAI, writeSection } from './llm-lib.mjs';

const require = createRequire(import.meta.url);
const OpenAI = require('openai').default;
const { GoogleGenerativeAI } = require('@google/generative-ai');
const { GoogleGenAI } = require('@google/genai');
const vigilo = require(join(ROOT, 'dist', 'client', 'index.js'));

const args = cliArgs();
const calls = Number(args.calls ?? 500);
const warmup = Math.min(100, Math.ceil(calls / 5));

/** Loopback Gemini: generateContent (JSON) and streamGenerateContent?alt=sse, with usageMetadata. */
async function startFakeGemini() {
  const usage = { promptTokenCount: 5000, candidatesTokenCount: 400, thoughtsTokenCount: 600, cachedContentTokenCount: 4000, totalTokenCount: 6000 };
  const answer = text => ({ candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: usage, modelVersion: 'gemini-2.5-flash' });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url.includes(':streamGenerateContent')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const piece of ['A short', ' answer', ' from the fake.']) {
          res.write(`data: ${JSON.stringify(answer(piece))}\r\n\r\n`);
        }
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer('A short answer from the fake.')));
    });
  });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise(r => { server.close(r); server.closeAllConnections(); }) };
}

async function paired(plain, wrapped) {
  const r = await pairedTimes(plain, wrapped, calls, warmup);
  return { plain: r.a, wrapped: r.b, delta: r.delta };
}

const openaiFake = await startFakeOpenAI();
const gemini = await startFakeGemini();
const sidecar = await startSidecar();
vigilo.configure({ url: sidecar.url, token: sidecar.token });
try {
  const legacy = () => new GoogleGenerativeAI('bench-not-a-key').getGenerativeModel({ model: 'gemini-2.5-flash' }, { baseUrl: gemini.url });
  const plainModel = legacy();
  const wrappedModel = vigilo.wrap(legacy());
  const genai = () => new GoogleGenAI({ apiKey: 'bench-not-a-key', httpOptions: { baseUrl: gemini.url } });
  const plainAi = genai();
  const wrappedAi = vigilo.wrap(genai());
  const oa = () => new OpenAI({ apiKey: 'sk-bench-not-a-key', baseURL: openaiFake.baseURL, maxRetries: 0 });
  const plainOa = oa();
  const wrappedOa = vigilo.wrap(oa());
  const messages = [{ role: 'user', content: 'Say hello.' }];
  const readAll = async result => {
    for await (const _ of result.stream) {
      // every chunk
    }
    await result.response;
  };
  const variants = [
    ['@google/generative-ai generateContent', m => () => m.generateContent('Say hello.'), plainModel, wrappedModel],
    ['@google/generative-ai generateContentStream', m => async () => readAll(await m.generateContentStream('Say hello.')), plainModel, wrappedModel],
    ['@google/generative-ai startChat().sendMessage', m => () => m.startChat().sendMessage('Say hello.'), plainModel, wrappedModel],
    ['@google/genai chats.create().sendMessage', c => () => c.chats.create({ model: 'gemini-2.5-flash' }).sendMessage({ message: 'Say hello.' }), plainAi, wrappedAi],
    ['openai chat.completions.stream()', c => () => c.chat.completions.stream({ model: 'gpt-4o-mini', messages }).finalChatCompletion(), plainOa, wrappedOa],
    ['openai chat.completions.parse()', c => () => c.chat.completions.parse({ model: 'gpt-4o-mini', messages }), plainOa, wrappedOa]
  ];
  const rows = [];
  for (const [label, make, plain, wrapped] of variants) {
    const r = await paired(make(plain), make(wrapped));
    await vigilo.flush();
    rows.push([label, r]);
  }
  const stats = vigilo.stats();
  const usage = await (await fetch(`${sidecar.url}/llm/usage`, { headers: { authorization: `Bearer ${sidecar.token}` } })).json();
  const f = x => x.toFixed(3);
  const lines = [
    `Machine: ${machine()}. SDKs against loopback fakes, sidecar as a child process. ${calls} measured + ${warmup} warm-up calls per side, interleaved; ms per call; Δ = paired median of (wrapped − plain).`,
    '',
    '| call | n | plain p50 | wrapped p50 | **paired Δ median** | plain p99 | wrapped p99 |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(([label, r]) => `| ${label} | ${r.plain.n} | ${f(r.plain.p50)} | ${f(r.wrapped.p50)} | **${f(r.delta.p50)}** | ${f(r.plain.p99)} | ${f(r.wrapped.p99)} |`),
    '',
    `Telemetry: ${stats.delivered} events delivered, ${stats.dropped} dropped, ${stats.wrapperErrors} wrapper errors; the sidecar counted ${usage.calls} calls.`
  ];
  console.log(lines.join('\n'));
  if (!args['no-write']) {
    writeSection('New tracked paths, TypeScript (issue 12)', lines);
  }
} finally {
  await openaiFake.close();
  await gemini.close();
  await sidecar.stop();
}

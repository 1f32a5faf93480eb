// Shared pieces of the LLM telemetry benches: a loopback OpenAI fake and the BENCHMARKS.md writer.
import http from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { ROOT } from './lib.mjs';

const USAGE = { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500, prompt_tokens_details: { cached_tokens: 1024 }, completion_tokens_details: { reasoning_tokens: 0 } };
const REPLY = 'A short answer from the loopback fake.';

/** Loopback OpenAI chat.completions (JSON and SSE with the usage chunk when include_usage is set). */
export async function startFakeOpenAI() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const base = { id: 'chatcmpl-bench', created: 1767225600, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_bench' };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_bench' });
        res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: REPLY, refusal: null }, logprobs: null, finish_reason: 'stop' }], usage: USAGE }));
        return;
      }
      const withUsage = body.stream_options?.include_usage === true;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_bench' });
      const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...(withUsage ? { usage: null } : {}), ...extra })}\n\n`;
      res.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
      for (const word of REPLY.split(' ')) {
        res.write(chunk([{ index: 0, delta: { content: `${word} ` }, finish_reason: null }]));
      }
      res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
      if (withUsage) {
        res.write(chunk([], { usage: USAGE }));
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise(r => { server.close(r); server.closeAllConnections(); })
  };
}

/** Replace (or add) this bench's own subsection under "## LLM telemetry"; other headings are left alone. */
export function writeSection(subheading, lines) {
  const file = join(ROOT, 'docs', 'BENCHMARKS.md');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const heading = '## LLM telemetry';
  if (!text.includes(`\n${heading}\n`)) {
    text = `${text.replace(/\n*$/, '\n')}\n${heading}\n\nFigures printed by \`bench/llm-*.mjs\` (run after \`npx tsc -p tsconfig.node.json\`); each subsection is rewritten by its own script.\n`;
  }
  const start = text.indexOf(`\n${heading}\n`) + 1;
  const nextTop = text.indexOf('\n## ', start + heading.length);
  const end = nextTop === -1 ? text.length : nextTop + 1;
  let section = text.slice(start, end);
  const sub = `### ${subheading}`;
  const block = `${sub}\n\n${lines.join('\n')}\n`;
  const at = section.indexOf(`${sub}\n`);
  if (at === -1) {
    section = `${section.replace(/\n*$/, '\n')}\n${block}`;
  } else {
    const after = section.indexOf('\n### ', at + sub.length);
    section = section.slice(0, at) + block + (after === -1 ? '' : section.slice(after));
  }
  text = text.slice(0, start) + section.replace(/\n*$/, '\n') + (end < text.length ? '\n' + text.slice(end) : '');
  writeFileSync(file, text);
}

export function machine() {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

import { json, pieces, startFake, type FakeServer } from './server';

export interface GoogleScript {
  reply: string;
  modelVersion: string;
  promptTokens: number;
  cachedTokens: number;
  candidatesTokens: number;
  thoughtsTokens: number;
}

export interface FakeGoogle extends FakeServer {
  script: GoogleScript;
  /** httpOptions.baseUrl for `new GoogleGenAI({ apiKey, httpOptions: { baseUrl } })`. */
  baseUrl: string;
}

const ERRORS = {
  429: { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } },
  500: { error: { code: 500, message: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting', status: 'INTERNAL' } },
  529: { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }
};

/**
 * Loopback Gemini API: POST /v1beta/models/{model}:generateContent and
 * :streamGenerateContent?alt=sse, with usageMetadata (promptTokenCount incl.
 * cachedContentTokenCount, candidatesTokenCount, thoughtsTokenCount) as a
 * running total on every chunk, finishReason STOP on the last.
 */
export async function startFakeGoogle(script: Partial<GoogleScript> = {}): Promise<FakeGoogle> {
  const state: GoogleScript = { reply: 'Hello from the fake Gemini.', modelVersion: 'gemini-2.5-flash', promptTokens: 5000, cachedTokens: 4000, candidatesTokens: 400, thoughtsTokens: 600, ...script };
  let n = 0;
  const server = await startFake((req, res, failure) => {
    const s = state;
    n++;
    if (failure) {
      json(res, failure.status === 529 ? 503 : failure.status, ERRORS[failure.status]);
      return;
    }
    const m = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent)(\?alt=sse)?$/.exec(req.path);
    if (req.method !== 'POST' || !m) {
      json(res, 404, { error: { code: 404, message: `Unknown fake endpoint ${req.method} ${req.path}`, status: 'NOT_FOUND' } });
      return;
    }
    const usage = (candidates: number, thoughts: number) => ({
      promptTokenCount: s.promptTokens,
      candidatesTokenCount: candidates,
      totalTokenCount: s.promptTokens + candidates + thoughts,
      ...(s.cachedTokens ? { cachedContentTokenCount: s.cachedTokens } : {}),
      ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: s.promptTokens }],
      ...(s.cachedTokens ? { cacheTokensDetails: [{ modality: 'TEXT', tokenCount: s.cachedTokens }] } : {})
    });
    const responseId = 'fake-response';
    if (m[2] === 'generateContent') {
      json(res, 200, {
        candidates: [{ content: { parts: [{ text: s.reply }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata: usage(s.candidatesTokens, s.thoughtsTokens),
        modelVersion: s.modelVersion,
        responseId
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const parts = pieces(s.reply);
    parts.forEach((p, i) => {
      const last = i === parts.length - 1;
      const candidatesSoFar = Math.round((s.candidatesTokens * (i + 1)) / parts.length);
      const chunk = {
        candidates: [{ content: { parts: [{ text: p }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }],
        usageMetadata: usage(candidatesSoFar, s.thoughtsTokens),
        modelVersion: s.modelVersion,
        responseId
      };
      res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    });
    res.end();
  });
  return Object.assign(server, { script: state, baseUrl: server.url });
}

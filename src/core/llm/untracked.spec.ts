import { describe, expect, it } from 'vitest';
import { untrackedSignal, type LlmKernelFacts } from './untracked';

const facts = (untracked: Record<string, number>, tracked: Record<string, number> = {}): LlmKernelFacts => ({ loaded: Object.keys({ ...untracked, ...tracked }), tracked, untracked });

describe('untrackedSignal', () => {
  it('is null when every call that passed was recorded', () => {
    expect(untrackedSignal(new Map())).toBeNull();
    expect(untrackedSignal(new Map([['k1', facts({ openai: 0 }, { openai: 12 })]]))).toBeNull();
  });

  it('counts untracked calls over kernels and names the one line that fixes one SDK', () => {
    const signal = untrackedSignal(new Map([
      ['k1', facts({ openai: 3 }, { openai: 5 })],
      ['k2', facts({ openai: 2 })],
      ['k3', facts({}, { anthropic: 1 })]
    ]));
    expect(signal).toEqual({
      calls: 5,
      bySdk: [{ sdk: 'openai', calls: 5 }],
      kernels: ['k1', 'k2'],
      message: '5 LLM calls ran without Vigilo tracking them (OpenAI 5): their tokens and cost are missing from the totals.',
      fix: 'client = vigilo.wrap(OpenAI())',
      silentSdks: []
    });
  });

  it('names the SDKs loaded with no call seen at all, as a hint beside untracked calls', () => {
    const signal = untrackedSignal(new Map([['k1', { loaded: ['openai', 'anthropic', 'langchain', 'litellm'], tracked: { litellm: 2 }, untracked: { openai: 1 } }]]));
    expect(signal?.silentSdks).toEqual(['anthropic']);
  });

  it('falls back to a track() block for several SDKs or for LiteLLM, most calls first', () => {
    const several = untrackedSignal(new Map([['k1', facts({ anthropic: 1, 'google-generativeai': 4 })]]));
    expect(several?.bySdk).toEqual([
      { sdk: 'google-generativeai', calls: 4 },
      { sdk: 'anthropic', calls: 1 }
    ]);
    expect(several?.fix).toBe('with vigilo.track():  # run the LLM calls inside this block');
    expect(untrackedSignal(new Map([['k1', facts({ litellm: 1 })]]))?.message).toBe(
      '1 LLM call ran without Vigilo tracking it (LiteLLM 1): its tokens and cost are missing from the totals.'
    );
    expect(untrackedSignal(new Map([['k1', facts({ litellm: 1 })]]))?.fix).toMatch(/^with vigilo\.track\(\):/);
  });
});

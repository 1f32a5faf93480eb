/**
 * "Untracked calls": LLM calls a notebook made that Vigilo saw pass but did
 * not record, so their cost is missing from every total.
 *
 * Each kernel sends raw facts with its heartbeat (vigilo/llm/_census.py): the
 * LLM SDK modules it has loaded, and per SDK the calls that were recorded and
 * the calls that went through an SDK method outside any track() block on a
 * client never passed to wrap() (Vigilo's class-level hook sees them pass and
 * only counts them). This decides what the user is told, and the one line that
 * fixes it.
 */

export interface LlmKernelFacts {
  /** SDK names loaded in the kernel: openai, anthropic, google-genai, google-generativeai, litellm, langchain. */
  loaded: string[];
  /** Calls recorded since the kernel started, per SDK name. */
  tracked: Record<string, number>;
  /** Calls that passed untracked, per SDK name. */
  untracked: Record<string, number>;
}

export interface UntrackedSignal {
  /** Untracked calls over all live kernels. */
  calls: number;
  /** Per SDK name, most first. */
  bySdk: Array<{ sdk: string; calls: number }>;
  /** Kernels with untracked calls. */
  kernels: string[];
  /** One sentence for the user. */
  message: string;
  /** The one line that fixes it. */
  fix: string;
  /**
   * SDKs loaded in a kernel with untracked calls that Vigilo saw no call of at all, tracked or not: calls made
   * before Vigilo was imported, or through a path it does not see (raw HTTP, an unsupported LiteLLM provider), or
   * none. A hint for the panel, not said on its own: a framework often imports SDKs it never calls.
   */
  silentSdks: string[];
}

const SDK_LABELS: Record<string, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  'google-genai': 'Gemini (google-genai)',
  'google-generativeai': 'Gemini (google.generativeai)',
  litellm: 'LiteLLM'
};

/** How to make each SDK's calls tracked, in one line of the user's own notebook. */
const FIXES: Record<string, string> = {
  openai: 'client = vigilo.wrap(OpenAI())',
  anthropic: 'client = vigilo.wrap(Anthropic())',
  'google-genai': 'client = vigilo.wrap(genai.Client())',
  'google-generativeai': 'model = vigilo.wrap(genai.GenerativeModel("gemini-2.5-flash"))'
};
const TRACK_FIX = 'with vigilo.track():  # run the LLM calls inside this block';

/** The signal over the kernels' latest facts; null when every call that passed was recorded. */
export function untrackedSignal(kernels: ReadonlyMap<string, LlmKernelFacts>): UntrackedSignal | null {
  const bySdk = new Map<string, number>();
  const withCalls: string[] = [];
  const silent = new Set<string>();
  for (const [kernelId, facts] of kernels) {
    for (const sdk of facts.loaded) {
      if (sdk !== 'langchain' && !(facts.tracked[sdk] > 0) && !(facts.untracked[sdk] > 0)) {
        silent.add(sdk);
      }
    }
    let any = false;
    for (const [sdk, n] of Object.entries(facts.untracked)) {
      if (Number.isFinite(n) && n > 0) {
        bySdk.set(sdk, (bySdk.get(sdk) ?? 0) + n);
        any = true;
      }
    }
    if (any) {
      withCalls.push(kernelId);
    }
  }
  const list = [...bySdk.entries()].map(([sdk, calls]) => ({ sdk, calls })).sort((a, b) => b.calls - a.calls || a.sdk.localeCompare(b.sdk));
  const calls = list.reduce((sum, e) => sum + e.calls, 0);
  if (calls === 0) {
    return null;
  }
  const parts = list.map(e => `${SDK_LABELS[e.sdk] ?? e.sdk} ${e.calls}`).join(', ');
  const message = `${calls} LLM call${calls === 1 ? '' : 's'} ran without Vigilo tracking ${calls === 1 ? 'it' : 'them'} (${parts}): ${calls === 1 ? 'its' : 'their'} tokens and cost are missing from the totals.`;
  // One SDK with a client to wrap: that line; otherwise (several SDKs, or LiteLLM) a track() block covers them all.
  const fix = list.length === 1 && FIXES[list[0].sdk] ? FIXES[list[0].sdk] : TRACK_FIX;
  return { calls, bySdk: list, kernels: withCalls.sort(), message, fix, silentSdks: [...silent].sort() };
}

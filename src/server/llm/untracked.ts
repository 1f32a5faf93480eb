import { untrackedSignal, type LlmKernelFacts } from '../../core/llm/untracked';
import type { UntrackedCallsView } from '../../shared/llm-api';
import type { SidecarContext } from '../core/context';

/**
 * Keeps each live kernel's latest LLM facts (sent with its heartbeat) and
 * answers the "untracked calls" signal: in GET /llm/usage (`untracked`) and
 * in the kernel's heartbeat answer (`llmUntracked`), which %vigilo shows.
 */
export function untrackedCalls(ctx: SidecarContext): { view(): UntrackedCallsView | null; stop(): void } {
  const facts = new Map<string, LlmKernelFacts>();
  const view = (): UntrackedCallsView | null => untrackedSignal(facts);
  const detach = [
    ctx.kernels.onBeat(beat => {
      if (beat.llm) {
        facts.set(beat.kernelId, beat.llm);
      }
    }),
    // A kernel that restarted or stopped beating took its counts with it.
    ctx.kernels.onEvent(event => {
      if (event.type !== 'registered') {
        facts.delete(event.kernelId);
      }
    }),
    ctx.kernels.addAnswer(kernelId => {
      const own = facts.get(kernelId);
      const signal = own ? untrackedSignal(new Map([[kernelId, own]])) : null;
      return signal ? { llmUntracked: { calls: signal.calls, message: signal.message, fix: signal.fix } } : {};
    })
  ];
  return {
    view,
    stop: () => {
      for (const off of detach) {
        off();
      }
    }
  };
}

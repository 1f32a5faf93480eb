import { createHash } from 'node:crypto';
import type { LlmProvider } from '../../shared/llm-api';

/**
 * Conversation fingerprint, shared with the Python wrappers (test vectors in
 * test/vectors/fingerprint.json): lowercase hex sha256 of the UTF-8 string
 * provider + "\n" + systemPromptText + "\n" + firstUserMessageText.
 * A conversation whose message list grows keeps its system prompt and first
 * user message, so it keeps its fingerprint.
 */
export function conversationFingerprint(provider: LlmProvider, systemPromptText: string, firstUserMessageText: string): string {
  return createHash('sha256').update(`${provider}\n${systemPromptText}\n${firstUserMessageText}`, 'utf8').digest('hex');
}

/** The conversation id the sidecar uses: the user's own, else derived from the fingerprint. */
export function conversationKey(conversationId: string | null, fingerprint: string | null): string | null {
  if (conversationId) {
    return conversationId;
  }
  return fingerprint ? `fp-${fingerprint.slice(0, 16)}` : null;
}

/**
 * Conversation chain hashes (the same rule in src/client and vigilo/llm; test
 * vectors in test/vectors/chain.json): chain[-1] = sha256(provider), then for
 * each request message chain[i] = sha256(chain[i-1] + "\n" + role + "\n" + text).
 * Roles as extracted for capture ("model" reported as "assistant").
 */
export function chainHashes(provider: LlmProvider, messages: ReadonlyArray<{ role: string; content: string }>): string[] {
  const out: string[] = [];
  let prev = createHash('sha256').update(provider, 'utf8').digest('hex');
  for (const m of messages) {
    prev = createHash('sha256').update(`${prev}\n${m.role}\n${m.content}`, 'utf8').digest('hex');
    out.push(prev);
  }
  return out;
}

/** The chain continued by the reply (role "assistant"); null without reply text. */
export function replyHash(provider: LlmProvider, chain: readonly string[], output: string | null | undefined): string | null {
  if (typeof output !== 'string' || output.length === 0) {
    return null;
  }
  const prev = chain.length ? chain[chain.length - 1] : createHash('sha256').update(provider, 'utf8').digest('hex');
  return createHash('sha256').update(`${prev}\nassistant\n${output}`, 'utf8').digest('hex');
}

/** What the index remembers of one conversation: its last request, reply and model. */
export interface ConversationTip {
  key: string;
  provider: LlmProvider;
  /** The last request's chain. */
  chain: string[];
  /** The chain continued by the last reply; null when it had none (error, tool call only). */
  reply: string | null;
  model: string | null;
  /** The conversation it forked from, with the shared prefix length. */
  parent: { key: string; sharedMessages: number } | null;
  /** Request facts that change the window (Anthropic betas), as last sent. */
  betas: string[];
  /** Messages in the conversation's opening request: sharing only those is not a fork. */
  openingLength: number;
  seq: number;
}

export interface IdentityCall {
  id: string;
  provider: LlmProvider;
  /** The user's own id (track()/options). */
  conversationId: string | null;
  fingerprint: string | null;
  chain: string[] | null;
  replyHash: string | null;
  model: string | null;
  status: 'ok' | 'error';
  betas: string[];
}

export interface IdentityDecision {
  key: string | null;
  /** How the key was chosen. */
  how: 'user' | 'continued' | 'forked' | 'new' | 'fingerprint' | 'none' | 'retried';
  parent: { key: string; sharedMessages: number } | null;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
}

/**
 * Conversation identity that follows the message chain (docs/LLM.md):
 * - the user's own id always wins;
 * - a call continues a conversation when its messages extend that
 *   conversation's last request (and, where the reply is known, its reply):
 *   a match on the reply is preferred, then the most recent;
 * - a call that shares a beginning with a conversation but then diverges
 *   after at least one assistant turn is a fork: its own id, linked to that
 *   parent; a call that only shares the opening (same system prompt and
 *   first message, no exchange yet) is a new conversation — so one-shot calls
 *   are never merged, whatever their model;
 * - a call without a chain (an older client) falls back to the fingerprint.
 *
 * Bounded: at most `capacity` conversations, the least recently used dropped.
 * Every lookup walks the call's own chain once against hash maps.
 */
export class ConversationIndex {
  private readonly tips = new Map<string, ConversationTip>();
  /** Last request chain end (and reply end) → conversations ending there. */
  private readonly byEnd = new Map<string, Set<string>>();
  /** Any chain position → conversations whose last request passed through it (for fork parents). */
  private readonly byPrefix = new Map<string, Set<string>>();
  /** Recent call ids → the key they got, so a retried batch keeps its calls where they were (bounded). */
  private readonly decided = new Map<string, string>();
  private seq = 0;

  constructor(private readonly capacity = 2000) {}

  get size(): number {
    return this.tips.size;
  }

  tip(key: string): ConversationTip | null {
    return this.tips.get(key) ?? null;
  }

  decide(call: IdentityCall): IdentityDecision {
    const earlier = this.decided.get(call.id);
    if (earlier !== undefined) {
      return { key: earlier, how: 'retried', parent: null };
    }
    if (call.conversationId) {
      return { key: call.conversationId, how: 'user', parent: null };
    }
    const chain = call.chain;
    if (!chain || chain.length === 0) {
      return call.fingerprint ? { key: conversationKey(null, call.fingerprint), how: 'fingerprint', parent: null } : { key: null, how: 'none', parent: null };
    }
    // Continue: the longest earlier request that this one extends; its reply matching the next message first.
    for (let n = chain.length - 1; n >= 1; n--) {
      const ending = this.byEnd.get(chain[n - 1]);
      if (!ending) {
        continue;
      }
      const tips = [...ending].map(k => this.tips.get(k)!).filter(t => t && t.provider === call.provider && t.chain.length === n);
      if (tips.length === 0) {
        continue;
      }
      const byReply = tips.filter(t => t.reply !== null && t.reply === chain[n]);
      const pick = (byReply.length ? byReply : tips).sort((a, b) => b.seq - a.seq)[0];
      return { key: pick.key, how: 'continued', parent: null };
    }
    // A retry of a failed call (same request again, no reply) continues it too.
    const same = this.byEnd.get(chain[chain.length - 1]);
    if (same) {
      const retried = [...same]
        .map(k => this.tips.get(k)!)
        .filter(t => t && t.provider === call.provider && t.chain.length === chain.length && t.reply === null)
        .sort((a, b) => b.seq - a.seq)[0];
      if (retried) {
        return { key: retried.key, how: 'continued', parent: null };
      }
    }
    const key = `cv-${shortHash(call.id)}`;
    // Fork: the longest shared beginning that goes past a conversation's opening request (so it holds an exchange).
    for (let n = chain.length - 1; n >= 2; n--) {
      const through = this.byPrefix.get(chain[n - 1]);
      if (!through) {
        continue;
      }
      const parent = [...through]
        .map(k => this.tips.get(k)!)
        .filter(t => t && t.provider === call.provider && n > t.openingLength)
        .sort((a, b) => b.seq - a.seq)[0];
      if (parent) {
        return { key, how: 'forked', parent: { key: parent.key, sharedMessages: n } };
      }
    }
    return { key, how: 'new', parent: null };
  }

  /** Remember a call's request and reply under the key `decide` gave it. */
  record(key: string, call: IdentityCall, decision: IdentityDecision): void {
    if (decision.how === 'retried') {
      return;
    }
    this.decided.set(call.id, key);
    if (this.decided.size > this.capacity * 10) {
      this.decided.delete(this.decided.keys().next().value as string);
    }
    const chain = call.chain;
    if (!chain || chain.length === 0) {
      return;
    }
    const old = this.tips.get(key);
    if (old) {
      this.unindex(old);
    }
    const parentTip = decision.parent ? this.tips.get(decision.parent.key) : undefined;
    const tip: ConversationTip = {
      key,
      provider: call.provider,
      chain: [...chain],
      reply: call.replyHash,
      model: call.model,
      parent: old?.parent ?? decision.parent,
      betas: call.betas.length ? call.betas : (old?.betas ?? []),
      seq: ++this.seq,
      openingLength: old?.openingLength ?? parentTip?.openingLength ?? chain.length
    };
    this.tips.delete(key);
    this.tips.set(key, tip);
    this.index(tip);
    this.evict();
  }

  /**
   * The conversations as plain data (least recently used first) for the sidecar
   * to keep across a restart; at most `maxHashes` chain entries in all (the most
   * recent conversations first kept).
   */
  snapshot(maxHashes = 50_000): { version: 1; tips: ConversationTip[] } {
    const tips: ConversationTip[] = [];
    let hashes = 0;
    for (const tip of [...this.tips.values()].reverse()) {
      hashes += tip.chain.length;
      if (hashes > maxHashes) {
        break;
      }
      tips.push(tip);
    }
    return { version: 1, tips: tips.reverse() };
  }

  /** JSON.stringify(index) gives the snapshot. */
  toJSON(): { version: 1; tips: ConversationTip[] } {
    return this.snapshot();
  }

  /** An index holding `data`'s conversations; malformed entries are skipped. */
  static fromJSON(data: unknown, capacity = 2000): ConversationIndex {
    const index = new ConversationIndex(capacity);
    const tips = data && typeof data === 'object' && Array.isArray((data as { tips?: unknown }).tips) ? (data as { tips: unknown[] }).tips : [];
    const hex = /^[0-9a-f]{64}$/;
    for (const raw of tips) {
      const t = raw as ConversationTip;
      if (!t || typeof t.key !== 'string' || !Array.isArray(t.chain) || t.chain.length === 0 || !t.chain.every(h => typeof h === 'string' && hex.test(h))) {
        continue;
      }
      const tip: ConversationTip = {
        key: t.key,
        provider: t.provider,
        chain: t.chain,
        reply: typeof t.reply === 'string' && hex.test(t.reply) ? t.reply : null,
        model: typeof t.model === 'string' ? t.model : null,
        parent: t.parent && typeof t.parent.key === 'string' ? { key: t.parent.key, sharedMessages: Number(t.parent.sharedMessages) || 0 } : null,
        betas: Array.isArray(t.betas) ? t.betas.filter(b => typeof b === 'string') : [],
        openingLength: Number(t.openingLength) || t.chain.length,
        seq: ++index.seq
      };
      index.tips.set(tip.key, tip);
      index.index(tip);
    }
    index.evict();
    return index;
  }

  /** Drop the least recently used conversations beyond `capacity`. */
  private evict(): void {
    while (this.tips.size > this.capacity) {
      const oldest = this.tips.keys().next().value as string;
      this.unindex(this.tips.get(oldest)!);
      this.tips.delete(oldest);
    }
  }

  private index(tip: ConversationTip): void {
    add(this.byEnd, tip.chain[tip.chain.length - 1], tip.key);
    for (const h of tip.chain) {
      add(this.byPrefix, h, tip.key);
    }
  }

  private unindex(tip: ConversationTip): void {
    remove(this.byEnd, tip.chain[tip.chain.length - 1], tip.key);
    for (const h of tip.chain) {
      remove(this.byPrefix, h, tip.key);
    }
  }
}

function add(map: Map<string, Set<string>>, k: string, v: string): void {
  let set = map.get(k);
  if (!set) {
    set = new Set();
    map.set(k, set);
  }
  set.add(v);
}

function remove(map: Map<string, Set<string>>, k: string, v: string): void {
  const set = map.get(k);
  if (set) {
    set.delete(v);
    if (set.size === 0) {
      map.delete(k);
    }
  }
}

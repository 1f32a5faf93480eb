import type { LlmMessage, LlmSummaryResponse } from '../../shared/llm-api';

/**
 * Offline, deterministic summary of a conversation for context transfer.
 * Sentences are classified with heuristics into the task in progress,
 * decisions, facts and the user's preferences, ranked, de-duplicated and fit
 * into a token budget (tokens estimated as ceil(chars / 4)). Same input, same
 * output; no model, no network.
 */

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

type Section = 'task' | 'decisions' | 'facts' | 'preferences';

interface Candidate {
  section: Section;
  text: string;
  score: number;
  /** Position in the conversation (later = more current). */
  order: number;
}

const PREFERENCE = /\b(i prefer|i'd prefer|i would prefer|i like|i'd like|i would like|i want|i don't want|i do not want|please (always|never|keep|use|avoid|don't|do not)|always use|never use|don't use|do not use|avoid|my preference|keep it|make sure to|i hate|i love|call me)\b/i;
const DECISION = /\b(we decided|we've decided|we have decided|decided to|decision|let's go with|let's use|we'll use|we will use|we'll go with|going with|agreed|we agree|settled on|chose|we chose|switch(ed)? to|from now on|final answer|we picked|picked)\b/i;
const TASK = /\b(the task is|our task|i'm working on|i am working on|we're working on|we are working on|i need to|we need to|next step|next,? we|goal is|the goal|todo|to do:|in progress|currently|help me|can you|could you|please (write|build|implement|fix|add|create|draft|refactor|review))\b/i;
const FACT = /(\bis\b|\bare\b|\bwas\b|\bhas\b|\bhave\b|\bnamed?\b|\bcalled\b|\buses?\b|\bruns? on\b|\bdeadline\b|\bbudget\b|\bversion\b|\bport\b|\bmy name\b|\blocated\b|=)/i;
const FILLER = /^(ok(ay)?|sure|thanks?( you)?|great|got it|sounds good|of course|certainly|absolutely|no problem|hello|hi|hey)[.! ]*$/i;
const ASSISTANT_FLUFF = /\b(i hope this helps|let me know if|feel free to|happy to help|great question|as an ai)\b/i;

/** Split text into sentences and list items, keeping code-ish fragments whole. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\n+/)) {
    const trimmed = line.replace(/^\s*([-*•]|\d+[.)])\s+/, '').trim();
    if (!trimmed || trimmed.startsWith('```')) {
      continue;
    }
    for (const s of trimmed.split(/(?<=[.!?])\s+(?=[A-Z"'(])/)) {
      const t = s.trim();
      if (t.length >= 8 && !FILLER.test(t)) {
        out.push(t);
      }
    }
  }
  return out;
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
}

/** Digits, or a capitalised word that does not start the sentence: the marks of a specific fact. */
function specific(sentence: string): boolean {
  return /\d/.test(sentence) || /\s[A-Z][\w-]+/.test(sentence) || /[/_`]/.test(sentence);
}

function classify(sentence: string, role: string, isLastUser: boolean): { section: Section; score: number } | null {
  const user = role === 'user';
  if (!user && ASSISTANT_FLUFF.test(sentence)) {
    return null;
  }
  if (user && PREFERENCE.test(sentence)) {
    return { section: 'preferences', score: 3 };
  }
  if (DECISION.test(sentence)) {
    return { section: 'decisions', score: user ? 3 : 2.5 };
  }
  if (user && isLastUser) {
    return { section: 'task', score: 3.5 };
  }
  if (user && TASK.test(sentence)) {
    // An earlier request: keep it when it names something specific, not a generic question.
    return specific(sentence) || !sentence.endsWith('?') ? { section: 'task', score: 1.5 } : null;
  }
  const isSpecific = specific(sentence);
  if (user && (isSpecific || FACT.test(sentence))) {
    // What the user states is what the model cannot re-derive.
    return { section: 'facts', score: 2 + (isSpecific ? 0.5 : 0) };
  }
  if (!user && isSpecific && FACT.test(sentence)) {
    return { section: 'facts', score: 1 };
  }
  return null;
}

function contentWords(s: string): Set<string> {
  return new Set(normalise(s).split(' ').filter(w => w.length > 3));
}

/** True when most of `candidate`'s content words are already in one chosen sentence. */
function redundant(candidate: string, chosen: Candidate[]): boolean {
  const words = contentWords(candidate);
  if (words.size === 0) {
    return true;
  }
  return chosen.some(c => {
    const other = contentWords(c.text);
    let shared = 0;
    for (const w of words) {
      if (other.has(w)) {
        shared++;
      }
    }
    return shared / words.size >= 0.6;
  });
}

const HEADINGS: Record<Section, string> = {
  task: 'Task in progress',
  decisions: 'Decisions made',
  facts: 'Facts established',
  preferences: 'User preferences'
};
const SECTION_ORDER: Section[] = ['task', 'decisions', 'facts', 'preferences'];
const PREAMBLE = 'Context carried over from an earlier conversation (summary by Vigilo). Continue from this state:';

export interface SummaryInput {
  conversationId: string;
  /** The whole conversation, oldest first (the last call's messages plus its output), or null when content was not captured. */
  messages: LlmMessage[] | null;
  budgetTokens: number;
}

export function summarizeConversation(input: SummaryInput): LlmSummaryResponse {
  const empty = { task: [], decisions: [], facts: [], preferences: [] } as Record<Section, string[]>;
  const messages = (input.messages ?? []).filter(m => m.role !== 'system' && m.content.trim());
  if (messages.length === 0) {
    const text =
      'No message content was captured for this conversation (content capture is off: VIGILO_CAPTURE_CONTENT=0), so there is no state to summarise.';
    return { conversationId: input.conversationId, method: 'extractive', budgetTokens: input.budgetTokens, tokens: estimateTokens(text), hasContent: false, sections: empty, text };
  }
  const lastUser = messages.map(m => m.role).lastIndexOf('user');
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  let order = 0;
  messages.forEach((m, index) => {
    for (const s of sentences(m.content)) {
      order++;
      const key = normalise(s);
      if (seen.has(key)) {
        continue;
      }
      const c = classify(s, m.role, index === lastUser);
      if (!c) {
        continue;
      }
      seen.add(key);
      const text = s.length > 300 ? `${s.slice(0, 297)}...` : s;
      candidates.push({ section: c.section, text, score: c.score, order });
    }
  });
  // Recency breaks ties (and nudges): later statements supersede earlier ones.
  const total = Math.max(1, order);
  const ranked = [...candidates].sort((a, b) => b.score + b.order / total - (a.score + a.order / total) || a.order - b.order);
  const chosen: Candidate[] = [];
  const headerCost = estimateTokens(PREAMBLE) + 4 * 6;
  let used = headerCost;
  for (const c of ranked) {
    const cost = estimateTokens(c.text) + 1;
    if (used + cost > input.budgetTokens || redundant(c.text, chosen)) {
      continue;
    }
    chosen.push(c);
    used += cost;
  }
  const sections = { task: [], decisions: [], facts: [], preferences: [] } as Record<Section, string[]>;
  for (const c of chosen.sort((a, b) => a.order - b.order)) {
    sections[c.section].push(c.text);
  }
  const parts = [PREAMBLE];
  for (const section of SECTION_ORDER) {
    if (sections[section].length) {
      parts.push(`${HEADINGS[section]}:\n${sections[section].map(s => `- ${s}`).join('\n')}`);
    }
  }
  const text = parts.join('\n\n');
  return { conversationId: input.conversationId, method: 'extractive', budgetTokens: input.budgetTokens, tokens: estimateTokens(text), hasContent: true, sections, text };
}

import type { LlmMessage } from '../shared/llm-api';

/**
 * Request and response text, per provider, for content capture and the
 * conversation fingerprint. The rules are shared with the Python wrappers
 * (docs/LLM.md "Fingerprint"): a message's text is its string content, or
 * the concatenation (no separator) of its text parts; several system
 * messages are joined with "\n".
 */
function partsText(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  if (Array.isArray(content)) {
    return content.map(partsText).join('');
  }
  if (content && typeof content === 'object') {
    const c = content as Record<string, unknown>;
    if (c.thought === true) {
      return '';
    }
    if (typeof c.text === 'string') {
      return c.text;
    }
    if (Array.isArray(c.parts)) {
      return partsText(c.parts);
    }
  }
  return '';
}

export interface Extracted {
  system: string;
  messages: LlmMessage[];
}

function rec(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

/**
 * Chat-style items in order, as messages (an item whose role `roleOf` does not
 * give is skipped); the system/developer ones before the first user message
 * also go to `system`.
 */
function addTurns(items: unknown, roleOf: (item: Record<string, unknown>) => string | null, out: { system: string[]; messages: LlmMessage[] }): void {
  let seenUser = false;
  for (const item of Array.isArray(items) ? items : []) {
    const r = rec(item);
    const role = roleOf(r);
    if (role === null) {
      continue;
    }
    const content = partsText(r.content);
    if (role === 'user') {
      seenUser = true;
    }
    if (!seenUser && (role === 'system' || role === 'developer')) {
      out.system.push(content);
    }
    out.messages.push({ role, content });
  }
}

/** OpenAI chat.completions: system/developer messages before the first user message form the system prompt. */
export function openaiChatRequest(params: Record<string, unknown>): Extracted {
  const out = { system: [] as string[], messages: [] as LlmMessage[] };
  addTurns(params.messages, m => String(m.role ?? 'user'), out);
  return { system: out.system.join('\n'), messages: out.messages };
}

/** OpenAI responses: `instructions`, then system/developer input items before the first user item. */
export function openaiResponsesRequest(params: Record<string, unknown>): Extracted {
  const out = { system: [] as string[], messages: [] as LlmMessage[] };
  if (typeof params.instructions === 'string') {
    out.system.push(params.instructions);
    out.messages.push({ role: 'system', content: params.instructions });
  }
  if (typeof params.input === 'string') {
    out.messages.push({ role: 'user', content: params.input });
  } else {
    // Items without a role (tool calls and their outputs) are not messages.
    addTurns(params.input, item => (typeof item.role === 'string' ? item.role : null), out);
  }
  return { system: out.system.join('\n'), messages: out.messages };
}

export function anthropicRequest(params: Record<string, unknown>): Extracted {
  const system = partsText(params.system ?? '');
  const messages: LlmMessage[] = system ? [{ role: 'system', content: system }] : [];
  for (const m of Array.isArray(params.messages) ? params.messages : []) {
    messages.push({ role: String(rec(m).role ?? 'user'), content: partsText(rec(m).content) });
  }
  return { system, messages };
}

/**
 * Gemini: `contents` is a string, a Part, a Content, or a list of them; a list
 * of strings/Parts is one user turn (as the SDK's tContents does). Role
 * "model" is reported as "assistant".
 */
export function googleRequest(params: Record<string, unknown>): Extracted {
  const config = rec(params.config);
  const system = partsText(config.systemInstruction ?? '');
  const messages: LlmMessage[] = system ? [{ role: 'system', content: system }] : [];
  const contents = params.contents;
  const isContent = (v: unknown): boolean => !!v && typeof v === 'object' && ('parts' in (v as object) || 'role' in (v as object));
  const add = (c: unknown): void => {
    const role = String(rec(c).role ?? 'user');
    messages.push({ role: role === 'model' ? 'assistant' : role, content: partsText(rec(c).parts) });
  };
  if (Array.isArray(contents)) {
    if (contents.some(isContent)) {
      for (const c of contents) {
        if (isContent(c)) {
          add(c);
        } else {
          messages.push({ role: 'user', content: partsText(c) });
        }
      }
    } else {
      messages.push({ role: 'user', content: partsText(contents) });
    }
  } else if (isContent(contents)) {
    add(contents);
  } else if (contents !== undefined) {
    messages.push({ role: 'user', content: partsText(contents) });
  }
  return { system, messages };
}

import type { LlmMessage } from '../shared/llm-api';

/**
 * Request and response text, per provider, for content capture and the
 * conversation fingerprint. The rules are shared with the Python wrappers
 * (docs/LLM.md "Fingerprint"): a message's text is its string content, or
 * the concatenation (no separator) of its text parts; several system
 * messages are joined with "\n".
 */
export function partsText(content: unknown): string {
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

/** OpenAI chat.completions: system/developer messages before the first user message form the system prompt. */
export function openaiChatRequest(params: Record<string, unknown>): Extracted {
  const messages: LlmMessage[] = [];
  const system: string[] = [];
  let seenUser = false;
  for (const m of Array.isArray(params.messages) ? params.messages : []) {
    const role = String(rec(m).role ?? 'user');
    const content = partsText(rec(m).content);
    if (role === 'user') {
      seenUser = true;
    }
    if (!seenUser && (role === 'system' || role === 'developer')) {
      system.push(content);
    }
    messages.push({ role, content });
  }
  return { system: system.join('\n'), messages };
}

/** OpenAI responses: `instructions`, then system/developer input items before the first user item. */
export function openaiResponsesRequest(params: Record<string, unknown>): Extracted {
  const system: string[] = [];
  const messages: LlmMessage[] = [];
  if (typeof params.instructions === 'string') {
    system.push(params.instructions);
    messages.push({ role: 'system', content: params.instructions });
  }
  if (typeof params.input === 'string') {
    messages.push({ role: 'user', content: params.input });
  } else if (Array.isArray(params.input)) {
    let seenUser = false;
    for (const item of params.input) {
      const r = rec(item);
      if (typeof r.role !== 'string') {
        continue;
      }
      const content = partsText(r.content);
      if (r.role === 'user') {
        seenUser = true;
      }
      if (!seenUser && (r.role === 'system' || r.role === 'developer')) {
        system.push(content);
      }
      messages.push({ role: r.role, content });
    }
  }
  return { system: system.join('\n'), messages };
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

import { describe, expect, it } from 'vitest';
import { anthropicRequest, googleRequest, openaiChatRequest, openaiResponsesRequest } from './text';

describe('request text for capture and the fingerprint', () => {
  it('reads OpenAI chat messages with text parts, system and developer prompts', () => {
    const r = openaiChatRequest({
      messages: [
        { role: 'developer', content: 'Rule one.' },
        { role: 'system', content: [{ type: 'text', text: 'Rule ' }, { type: 'text', text: 'two.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Look at ' }, { type: 'image_url', image_url: { url: 'data:...' } }, { type: 'text', text: 'this.' }] },
        { role: 'system', content: 'Late system message, not part of the prompt.' }
      ]
    });
    expect(r.system).toBe('Rule one.\nRule two.');
    expect(r.messages[2]).toEqual({ role: 'user', content: 'Look at this.' });
  });

  it('reads OpenAI responses instructions and input items', () => {
    expect(openaiResponsesRequest({ instructions: 'Be brief.', input: 'Hi' })).toEqual({
      system: 'Be brief.',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' }
      ]
    });
    const items = openaiResponsesRequest({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'Q' }] }, { type: 'function_call_output', call_id: 'x', output: '{}' }] });
    expect(items.messages).toEqual([{ role: 'user', content: 'Q' }]);
  });

  it('reads Anthropic system blocks and content blocks', () => {
    const r = anthropicRequest({ system: [{ type: 'text', text: 'You ' }, { type: 'text', text: 'review.', cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: [{ type: 'text', text: 'Diff' }] }] });
    expect(r.system).toBe('You review.');
    expect(r.messages.at(-1)).toEqual({ role: 'user', content: 'Diff' });
  });

  it('reads every shape of Gemini contents, leaving out thoughts', () => {
    expect(googleRequest({ contents: 'Hi', config: { systemInstruction: 'Sys' } })).toEqual({ system: 'Sys', messages: [{ role: 'system', content: 'Sys' }, { role: 'user', content: 'Hi' }] });
    expect(googleRequest({ contents: ['a', { text: 'b' }] }).messages).toEqual([{ role: 'user', content: 'ab' }]);
    expect(
      googleRequest({
        contents: [
          { role: 'user', parts: [{ text: 'Q1' }] },
          { role: 'model', parts: [{ text: 'thinking...', thought: true }, { text: 'A1' }] }
        ],
        config: { systemInstruction: { parts: [{ text: 'S' }] } }
      })
    ).toEqual({ system: 'S', messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }] });
  });
});

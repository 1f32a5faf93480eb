// LLM call events as the Python wrapper sends them to POST /llm/events (shared by the UI tests).

/** Calls of one growing gpt-4o-mini conversation, as the Python wrapper would send them. */
export function llmEvents(conversationId: string, prompts: number[] = [1200, 1500, 1800], model = 'gpt-4o-mini'): any[] {
  const question = 'We decided to fine-tune ResNet-50 on CIFAR-10. Please always answer in English. Train it for 20 epochs.';
  return prompts.map((prompt, i) => ({
    id: `galata-${conversationId}-${Date.now()}-${i}`,
    provider: 'openai',
    operation: 'chat.completions',
    requestModel: model,
    responseModel: model,
    startedAt: new Date(Date.now() - (prompts.length - i) * 1000).toISOString(),
    ttftMs: null,
    latencyMs: 800 + i * 50 + (i % 3) * 120,
    stream: false,
    status: 'ok',
    error: null,
    usage: { prompt_tokens: prompt, completion_tokens: 80, total_tokens: prompt + 80 },
    usageEstimated: false,
    conversationId,
    fingerprint: null,
    tags: {},
    messages: [{ role: 'user', content: question }],
    output: 'Settled on a batch size of 128 and a cosine schedule.',
    sdk: { language: 'python', name: 'openai', version: '1.0.0' }
  }));
}


import { Notification } from '@jupyterlab/apputils';
import { formatMoney } from '../shared/format';
import type { ChainLink, FreshStartResponse } from '../shared/transfer-api';
import { copyText, type INotifier } from './notifications';
import type { IVigiloModel } from './tokens';

/** "saves 88,000 tokens ($0.0132) per message", or what is unknown. */
export function savingText(link: ChainLink): string {
  if (link.savedTokensPerMessage === null) {
    return 'saving per message unknown (the old prompt size was not reported)';
  }
  const usd = link.savedUsdPerMessage === null ? 'price unknown' : formatMoney(link.savedUsdPerMessage);
  return `saves ${link.savedTokensPerMessage.toLocaleString('en-US')} prompt tokens (${usd}) per message`;
}

/**
 * "Fresh start": asks the sidecar for the opening of the next conversation
 * (the offline summary as system message plus the last turns), copies those
 * messages as JSON, and says which id to track the new conversation under and
 * what each message saves. The link answered, or null after telling the user why not.
 */
export async function copyFreshStart(
  model: Pick<IVigiloModel, 'freshStart'>,
  conversationId: string,
  deps: { copy?: (text: string) => Promise<void>; notifier?: INotifier } = {}
): Promise<ChainLink | null> {
  const copy = deps.copy ?? copyText;
  const notifier = deps.notifier ?? Notification;
  let answer: FreshStartResponse;
  try {
    answer = await model.freshStart(conversationId);
  } catch (error) {
    notifier.error(`Vigilo could not prepare a fresh start of "${conversationId}": ${error instanceof Error ? error.message : String(error)}`, { autoClose: 10_000 });
    return null;
  }
  try {
    await copy(JSON.stringify(answer.messages, null, 2));
  } catch (error) {
    notifier.error(`Vigilo could not write to the clipboard (${error instanceof Error ? error.message : String(error)}).`, { autoClose: 10_000 });
    return null;
  }
  notifier.success(
    `Fresh start of "${conversationId}" copied: ${answer.messages.length} messages (summary + last turns) as JSON. ` +
      `Track the new conversation as "${answer.link.successorId}" (vigilo.track(conversation_id=...)); it ${savingText(answer.link)}.`,
    { autoClose: 10_000 }
  );
  return answer.link;
}

import type { LlmMessage, LlmSummaryResponse } from '../../shared/llm-api';
import { anchorDates, formatDay, hasRelativeDate, parseDay, type Day } from './summaryDates';

/**
 * Offline, deterministic summary of a conversation for context transfer: what
 * a fresh model needs to continue. Every declarative statement is a candidate,
 * kept with its speaker and with relative dates anchored to the day it was
 * said; candidates are ranked by what they establish (rare words, names,
 * numbers, commitments, preferences, corrections) per token and fill the
 * budget. Beside them: the current task (the last substantive request, never a
 * sign-off), decisions (only where something was decided), open questions and
 * the artifacts named (files, URLs, identifiers, numbers). Greetings,
 * reactions, sign-offs and bare questions never become bullets. Tokens are
 * estimated as ceil(chars / 4). Same input, same output; no model, no network.
 */

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** A message to summarise: an LlmMessage, optionally with who said it and when. */
export interface SummaryMessage extends LlmMessage {
  /** The speaker's name ("Caroline"); default: the role ("User", "Assistant"). */
  speaker?: string;
  /** When it was said, any text holding a day ("1:56 pm on 8 May, 2023", ISO); carried to the following messages. */
  date?: string;
}

export interface SummaryInput {
  conversationId: string;
  /** The whole conversation, oldest first (the last call's messages plus its output), or null when content was not captured. */
  messages: SummaryMessage[] | null;
  budgetTokens: number;
}

type Section = 'task' | 'decisions' | 'openQuestions' | 'artifacts' | 'facts' | 'preferences';

interface Sentence {
  text: string;
  speaker: string;
  role: string;
  turn: number;
  order: number;
  day: Day | null;
}

interface Candidate extends Sentence {
  section: Section;
  score: number;
  tokens: number;
}

const PREFERENCE = /\b(i prefer|i'd prefer|i would prefer|i'd rather|i'd like|i would like|i want|i don't want|i do not want|please (always|never|keep|use|avoid|don't|do not)|always use|never use|don't use|do not use|avoid|my preference|keep it|make sure to|call me)\b/i;
const DECISION = /\b((we|i)('ve| have)? decided|decided to|decided on|let's go with|we'll go with|i'll go with|(we're|we are|i'm|i am) going with|settled on|(we|i) chose|chose to|opted for|(we|i) picked|(we|i)('ll| will) switch to|switched to|from now on|(we|you and i) agreed (to|on|that)|final decision|the plan is to)\b/i;
const REQUEST = /^(please\b|next step\b|next,|can you|could you|would you|will you|i need you to|i'd like you to|help me|(write|build|implement|fix|add|create|draft|refactor|review|explain|summari[sz]e|analy[sz]e|compare|find|show|make|update|change|rename|remove|delete|convert|translate|plot|compute|calculate|check(?! out)|test|run|debug|generate|list|give|rewrite|edit|improve|optimi[sz]e|port|migrate|set up|install|design|outline)\b)|\b(can you|could you|would you|please|i need you to|help me|i need (a|an|to)|i want you to)\b/i;
const GREETING = /^(hey|hi|hello|hiya|yo|howdy|good (morning|afternoon|evening|to (see|hear|chat))|great to (see|hear|chat)|nice to (see|meet|hear)|long time no|what's up|how('s| is| are| have) (it|you|things|everything|your))\b/i;
const SIGNOFF = /\b(take care|bye|goodbye|see (you|ya)|talk (to you )?(soon|later)|catch (you|ya) later|have (a|an) (great|good|nice|lovely|wonderful|awesome)|good ?night|until next time|ttyl|cheers|speak soon|chat (soon|later)|keep (it )?up|keep (going|at it|me posted|in touch)|stay (safe|strong|tuned)|all the best|best of luck|good luck)\b/i;
const REACTION = /^(wow|whoa|oh|ooh|aw+|omg|haha|lol|yay|yes|yeah|yep|nope|no|ok(ay)?|sure|thanks?|thank you|great|awesome|amazing|cool|nice|sweet|congrat(s|ulations)|that's|that is|that sounds|sounds|what a|how (cool|nice|great|awesome|amazing|fun|sweet|lovely|wonderful)|so (cool|nice|great|awesome|amazing|glad|happy|proud|sorry)|i'm (so )?(glad|happy|proud|sorry)|i am (so )?(glad|happy|proud|sorry)|glad|you('re| are)|you (did|got|should|deserve|rock|must)|same|totally|absolutely|exactly|right|indeed|of course|no problem|no worries|my pleasure|you're welcome|agreed|true|love (it|that|this)|i love (it|that|this)|it's (so )?(great|awesome|amazing|cool|nice|lovely)|it sounds|looks|let's|lets)\b/i;
const FLUFF = /\b(i hope this helps|let me know if|feel free to|happy to help|great question|as an ai|i'm here (for|to)|don't hesitate)\b/i;
const INTERJECTION = /^((wow|whoa|oh|ooh|aw+|omg|haha|hah|lol|yay|yeah|yes|yep|hey|hi|hello|well|so|um|uh|ah|hmm|okay|ok|sure|thanks|thank you|great|awesome|cool|nice|totally|absolutely|definitely|indeed|true|right)\b[,!.]*\s+)+/i;
const COMMITMENT = /\b(i will|i'll|we will|we'll|i'm going to|i am going to|we're going to|plan(ning)? to|i plan|my plan|intend|want to|hoping to|hope to|i'm gonna|about to|next step|deadline|due|scheduled)\b/i;
const CORRECTION = /\b(actually|correction|instead|no longer|not anymore|changed (it |my mind )?to|turns out|update:|rather than|in fact|i was wrong|scratch that)\b/i;
/** Work done: what changed in the artifacts. */
const CHANGE = /\b((has|have) been (updated|changed|fixed|added|removed|renamed|created|saved|replaced)|i('ve| have)? (changed|updated|fixed|added|renamed|removed|replaced|rewrote|refactored)|now (handles|uses|returns|reads|writes|saves))\b/i;
const EVENT = /\b(went|got|started|bought|adopted|moved|joined|visited|finished|made|took|signed|won|lost|met|became|learned|learnt|decided|found|built|wrote|painted|ran|read|saw|received|graduated|married|born|traveled|travelled|attended|created|launched|released|opened|gave|volunteered|applied|ordered|paid|sold|hired|quit|left)\b/i;
const EVALUATIVE = /\b(amazing|awesome|great|cool|wonderful|lovely|beautiful|proud|happy|glad|inspiring|incredible|fantastic|so much|really|super|totally|blessed|grateful|thankful|exciting|excited|fun)\b/gi;
const STOPWORDS = new Set(
  ('the a an and or but if of to in on at for with from by as is are was were be been being it its this that these those i me my mine we us our you your he him his she her they them their ' +
    "what which who whom when where why how not no yes so very just really also too can could would should will shall may might must do does did done have has had having " +
    "there here then than about into over after before up down out off again once all any both each few more most other some such only own same i'm it's that's you're i've i'd i'll we're we've don't didn't can't isn't wasn't").split(/\s+/)
);

/** Artifacts: URLs, paths and files, code identifiers, versions, numbers with units. */
const ARTIFACT = new RegExp(
  [
    String.raw`https?:\/\/[^\s)<>"'\]]+`,
    // Paths: rooted (/x, ./x, ~/x), two or more separators (a/b/c), or one with a file extension (data/x.csv).
    String.raw`(?<![\w.\/-])(?:~|\.{1,2})?\/(?:[\w.-]+\/)*[\w.-]+`,
    String.raw`\b[\w.-]+\/(?:[\w.-]+\/)+[\w.-]+`,
    String.raw`\b[\w.-]+\/[\w-]+\.[A-Za-z]\w{0,4}\b`,
    String.raw`\b[\w-]+\.(?:py|ipynb|ts|tsx|js|mjs|cjs|jsx|json|md|csv|tsv|yaml|yml|toml|txt|sql|html|css|sh|go|rs|java|kt|c|cc|cpp|h|hpp|rb|php|swift|r|parquet|xlsx|pdf|docx|log|cfg|ini|lock|env)\b`,
    String.raw`\b[A-Za-z_][\w.]*\(\)`,
    String.raw`\b[a-z]+(?:_[a-z0-9]+)+\b`,
    String.raw`\b[a-z]+(?:[A-Z][a-z0-9]+)+\b`,
    String.raw`\bv?\d+\.\d+(?:\.\d+)+\b`,
    String.raw`[$\u20AC\u00A3]\s?\d[\d,.]*\s?(?:[kKmMbB]|million|billion)?`,
    String.raw`\b\d[\d,.]*\s?(?:%|ms|s|sec|seconds|minutes|hours|days|weeks|GB|MB|KB|TB|GiB|MiB|tokens|USD|EUR|euros|dollars|rows|users|px|k)\b`
  ].join('|'),
  'g'
);

const HEDGE = /(?<=\s|^)(?<!(?:n't|not|never|n\u2019t)\s)(?:(?:really|very|super|totally|truly|honestly|basically|literally|kinda|sorta|kind of|sort of|pretty much|just|quite|so(?= (?:glad|happy|proud|excited|grateful|thankful|cool|fun|great|good|amazing|awesome|special|powerful|inspiring|beautiful|lovely|nice|rewarding|important|meaningful|calming|peaceful|hard|tough|busy)\b))(?=\s+\w)|(?:you know|i mean),)\s*/gi;
const CODE_FENCE = /```[\s\S]*?(```|$)/g;
const INLINE_CODE = /`([^`\n]{1,80})`/g;

function cleanSentence(s: string): string {
  let t = s.replace(INTERJECTION, '').trim();
  // A vocative after the interjection: "Caroline, I ..." / trailing ", Mel!"
  t = t.replace(/^[A-Z][a-z]+,\s+(?=[A-Za-z])/, '');
  t = t.replace(/,\s+[A-Z][a-z]+([.!?])$/, '$1');
  t = t.replace(/\s*[\u{1F300}-\u{1FAFF}\u{2600}-\u{27BF}]+/gu, '');
  for (let prev = ''; prev !== t; ) {
    prev = t;
    t = trimEvaluativeTail(t);
  }
  // Hedges and intensifiers inside the sentence say nothing a reader needs: "I just really love it" -> "I love it"
  // (but not after a negation: "don't just use it" keeps its sense).
  t = t.replace(HEDGE, '').replace(/\s{2,}/g, ' ').replace(/\s+([,.!?])/g, '$1').trim();
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/**
 * A closing clause that only says how it felt ("..., it was so powerful!", "... - can't wait!") goes: it names
 * nothing (no number, name, date or quote) and the statement before it stands alone.
 */
function trimEvaluativeTail(t: string): string {
  const m = /^(.{12,}?)(?:,| -| \u2013| \u2014|;| and| but)\s+([^,;\-\u2013\u2014]+?)([.!?]*)$/.exec(t);
  if (!m) {
    return t;
  }
  const [, head, tail, end] = m;
  const evaluative = new RegExp(EVALUATIVE.source, 'i').test(tail) || /^(it was|it's|it is|that was|that's|was|so|can't wait|such)\b/i.test(tail);
  if (!evaluative || /\d|["'`\[]|\s[A-Z]/.test(tail) || hasRelativeDate(tail) || words(head).length < 4) {
    return t;
  }
  return `${head}${end.includes('!') || end.includes('.') ? '.' : end || '.'}`;
}

/** Split text into sentences and list items, leaving code blocks out. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  for (const line of text.replace(CODE_FENCE, '\n').split(/\n+/)) {
    const trimmed = line.replace(/^\s*(#+|[-*\u2022>]|\d+[.)])\s+/, '').trim();
    if (!trimmed) {
      continue;
    }
    // A bracketed note ("[shares a photo of ...]") stays with the sentence before it.
    for (const s of trimmed.split(/(?<=[.!?])\s+(?=[A-Z0-9"'(`])/)) {
      const t = s.trim();
      if (t.length >= 2) {
        out.push(t);
      }
    }
  }
  return out;
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
}

function words(s: string): string[] {
  return normalise(s).split(' ').filter(Boolean);
}

function contentWords(s: string): string[] {
  return words(s).filter(w => w.length > 2 && !STOPWORDS.has(w));
}

function isQuestion(s: string): boolean {
  return /\?["')\]]*$/.test(s.trim());
}

/** Greetings, sign-offs, reactions, fluff and fragments: not a statement of anything. */
function isChatter(s: string, role: string): boolean {
  const n = words(s).length;
  if (GREETING.test(s) && n < 14) {
    return true;
  }
  if (SIGNOFF.test(s) && n < 14) {
    return true;
  }
  if (role !== 'user' && FLUFF.test(s)) {
    return true;
  }
  if (/:$/.test(s.trim())) {
    return true; // a lead-in ("Here's the issue text:"), its content follows
  }
  if (/^[^\p{L}\p{N}"'(\[`]{3,}/u.test(s)) {
    return true; // ">>>>>>>> EXECUTING CODE BLOCK", "----", "===="
  }
  const specific = /\d/.test(s) || /[/_`]/.test(s);
  // A short statement counts when it names something ("Her name is Shadow."), unless it is only a reaction.
  if (n < 5 && !specific && !/\s[A-Z][a-z]/.test(s)) {
    return true;
  }
  if (REACTION.test(s) && n < 12 && !specific && !DECISION.test(s)) {
    return true;
  }
  return false;
}

function speakerOf(m: SummaryMessage): string {
  if (m.speaker?.trim()) {
    return m.speaker.trim();
  }
  const r = m.role || 'unknown';
  return r.charAt(0).toUpperCase() + r.slice(1);
}

function artifactsIn(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(INLINE_CODE)) {
    found.push(m[1].trim());
  }
  for (const m of text.replace(INLINE_CODE, ' ').matchAll(ARTIFACT)) {
    found.push(m[0].replace(/[.,;:]+$/, '').trim());
  }
  return found.filter(a => a.length >= 2 && !/^\d{1,2}$/.test(a));
}

/** Inverse document frequency of each content word over all statements: rare words carry what a statement establishes. */
function idfTable(statements: Sentence[]): Map<string, number> {
  const df = new Map<string, number>();
  for (const s of statements) {
    for (const w of new Set(contentWords(s.text))) {
      df.set(w, (df.get(w) ?? 0) + 1);
    }
  }
  const n = Math.max(1, statements.length);
  const idf = new Map<string, number>();
  for (const [w, f] of df) {
    idf.set(w, Math.log((n + 1) / f));
  }
  return idf;
}

/** What a statement establishes, before its length is taken into account. */
function establishes(s: Sentence, idf: Map<string, number>, speakers: Set<string>): number {
  const cw = [...new Set(contentWords(s.text))];
  let score = 0;
  for (const w of cw) {
    score += 0.5 * (idf.get(w) ?? 0);
  }
  // Names and entities other than the speakers, numbers, anchored dates.
  const names = s.text.match(/(?<=\s)[A-Z][\w'-]+/g) ?? [];
  score += 3 * names.filter(n => !speakers.has(n.toLowerCase().replace(/'s$/, ''))).length;
  score += 2 * (s.text.match(/\d+/g) ?? []).length;
  score += /\[[^\]]*\d{4}\]/.test(s.text) ? 3 : 0;
  score += COMMITMENT.test(s.text) ? 2 : 0;
  score += CORRECTION.test(s.text) ? 3 : 0;
  score += CHANGE.test(s.text) ? 3 : 0;
  score += EVENT.test(s.text) ? 2 : 0;
  score += PREFERENCE.test(s.text) || /\b(my favou?rite|i love|i like|i enjoy|i hate)\b/i.test(s.text) ? 2 : 0;
  score += /^(i|we|my|our)\b/i.test(s.text) ? 1.5 : 0;
  score -= 1.5 * (s.text.match(EVALUATIVE) ?? []).length;
  score -= /\b(you|your)\b/i.test(s.text) && !/\b(i|my|we|our)\b/i.test(s.text) ? 3 : 0;
  if (s.role === 'tool') {
    score *= 0.5;
  }
  return score;
}

const HEADINGS: Record<Section, string> = {
  task: 'Current task',
  decisions: 'Decisions made',
  openQuestions: 'Open questions',
  artifacts: 'Artifacts named',
  facts: 'What was established (oldest first)',
  preferences: 'User preferences'
};
function factsHeading(dated: boolean): string {
  return dated ? `${HEADINGS.facts.slice(0, -1)}; relative dates anchored in [brackets])` : HEADINGS.facts;
}
const SECTION_ORDER: Section[] = ['task', 'decisions', 'openQuestions', 'preferences', 'artifacts', 'facts'];
const PREAMBLE = 'Context carried over from an earlier conversation (summary by Vigilo). Continue from this state:';

function emptySections(): Record<Section, string[]> {
  return { task: [], decisions: [], openQuestions: [], artifacts: [], facts: [], preferences: [] };
}

function bullet(c: Sentence): string {
  return `${c.speaker}: ${c.text}`;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The last substantive request by the user, and where the work stands: the last statements said after it. */
function currentTask(all: Sentence[], requestsAndQuestions: Sentence[], budget: number): Candidate[] {
  const requests = requestsAndQuestions.filter(s => s.role === 'user' && REQUEST.test(s.text.replace(/^(now|then|ok(ay)?|so|and|also)\b,?\s+/i, '')) && !SIGNOFF.test(s.text) && words(s.text).length >= 4);
  const last = requests[requests.length - 1];
  if (!last) {
    return [];
  }
  const request = { ...last, text: cut(last.text, 400) };
  const after = all.filter(s => s.turn > last.turn && s.role !== 'user' && s.role !== 'tool');
  const lastTurn = after[after.length - 1]?.turn;
  const latest = after.filter(s => s.turn === lastTurn).slice(-2);
  const out: Candidate[] = [{ ...request, section: 'task', score: Infinity, tokens: estimateTokens(`- ${request.speaker}: ${request.text}\n`) }];
  if (latest.length) {
    // Where the work stands gets at most a quarter of a small budget.
    const text = cut(latest.map(s => s.text).join(' '), Math.min(400, Math.max(120, budget)));
    const speaker = `${latest[0].speaker} (latest)`;
    out.push({ ...latest[latest.length - 1], speaker, text, section: 'task', score: Infinity, tokens: estimateTokens(`- ${speaker}: ${text}\n`) });
  } else {
    out[0].text += ' (not answered yet)';
  }
  return out;
}

/** Questions nobody answered (no one else said anything of substance after them), and what was said to be undecided. */
function openQuestions(all: Sentence[], questions: Sentence[]): Sentence[] {
  const unanswered = questions.filter(
    q => words(q.text).length >= 4 && !GREETING.test(q.text) && !REACTION.test(q.text) && !all.some(s => s.turn > q.turn && s.speaker !== q.speaker)
  );
  const undecided = all.filter(s => /\b(not sure (whether|if|how|which|what)|haven't decided|have not decided|still (deciding|need to decide|figuring out)|open question|tbd|to be decided|undecided)\b/i.test(s.text));
  return [...undecided, ...unanswered];
}

export function summarizeConversation(input: SummaryInput): LlmSummaryResponse {
  const messages = (input.messages ?? []).filter(m => m.role !== 'system' && m.content.trim());
  if (messages.length === 0) {
    const text =
      'No message content was captured for this conversation (content capture is off: VIGILO_CAPTURE_CONTENT=0), so there is no state to summarise.';
    return { conversationId: input.conversationId, method: 'extractive', budgetTokens: input.budgetTokens, tokens: estimateTokens(text), hasContent: false, sections: emptySections(), text };
  }
  const speakers = new Set(messages.map(m => speakerOf(m).toLowerCase()));
  const all: Sentence[] = [];
  const questions: Sentence[] = [];
  const artifactCount = new Map<string, { first: number; count: number }>();
  let day: Day | null = null;
  let order = 0;
  const lastTool = messages.map(m => m.role).lastIndexOf('tool');
  messages.forEach((m, turn) => {
    day = parseDay(m.date) ?? day;
    const speaker = speakerOf(m);
    for (const a of artifactsIn(m.content)) {
      const e = artifactCount.get(a) ?? { first: order, count: 0 };
      e.count++;
      artifactCount.set(a, e);
    }
    // Tool output (files, listings, logs) is mined for artifacts; only the last one's statements say where things stand.
    for (const raw of m.role === 'tool' && turn !== lastTool ? [] : sentences(m.content)) {
      order++;
      const text = anchorDates(cleanSentence(raw), day);
      const s: Sentence = { text, speaker, role: m.role, turn, order, day };
      if (isQuestion(raw)) {
        questions.push(s);
      } else if (!isChatter(text, m.role)) {
        all.push(s);
      }
    }
  });
  const idf = idfTable(all);
  // The first statement of a turn that follows the other speaker's question: an answer, which establishes something.
  const askedBefore = new Set(questions.map(q => `${q.turn + 1}`));
  const answering = new Set<number>();
  for (const s of all) {
    if (askedBefore.has(`${s.turn}`) && !answering.has(-s.turn - 1)) {
      answering.add(s.order);
      answering.add(-s.turn - 1);
    }
  }
  const budget = input.budgetTokens;
  const sections = emptySections();
  const chosen: Candidate[] = [];
  const seen = new Set<string>();
  let used = estimateTokens(PREAMBLE) + 2;
  // The facts' heading names the date anchors when any message carries a day: reserve its longer form then.
  const anyDated = messages.some(m => parseDay(m.date));
  const headerCost = (section: Section) =>
    sections[section].length || chosen.some(c => c.section === section) ? 0 : estimateTokens(section === 'facts' ? factsHeading(anyDated) : HEADINGS[section]) + 2;
  const take = (c: Candidate): boolean => {
    const key = normalise(c.text);
    const cost = c.tokens + headerCost(c.section);
    if (seen.has(key) || used + cost > budget) {
      return false;
    }
    seen.add(key);
    chosen.push(c);
    used += cost;
    return true;
  };
  const candidate = (s: Sentence, section: Section, score: number, max = 300): Candidate => {
    const text = cut(s.text, max);
    return { ...s, text, section, score, tokens: estimateTokens(`- ${s.speaker}: ${text}\n`) };
  };

  // 1. The current task, 2. decisions (the latest first), 3. open questions: small, and what a fresh model needs most.
  // A task is what a user asks of an assistant; between named people (a chat of two friends) there is none.
  const betweenPeople = messages.some(m => m.role !== 'user' && m.speaker?.trim());
  for (const t of betweenPeople ? [] : currentTask(all, all.concat(questions).sort((a, b) => a.order - b.order), input.budgetTokens)) {
    take(t);
  }
  // The latest statements shown with the task are not repeated among the facts.
  const stateTurn = chosen.find(c => c.speaker.endsWith(' (latest)'))?.turn;
  for (const s of all.filter(x => x.turn === stateTurn)) {
    if (chosen.find(c => c.speaker.endsWith(' (latest)'))!.text.includes(cut(s.text, 400))) {
      seen.add(normalise(cut(s.text, 300)));
    }
  }
  const decisions = all.filter(s => DECISION.test(s.text) && !PREFERENCE.test(s.text)).reverse();
  for (const d of decisions.slice(0, 8)) {
    take(candidate(d, 'decisions', 0));
  }
  for (const q of openQuestions(all, questions).slice(-4)) {
    take(candidate(q, 'openQuestions', 0, 240));
  }
  // 4. Artifacts: named more than once or by the user first, within a tenth of the budget.
  const artifactBudget = Math.max(30, Math.floor(budget / 10));
  const artifacts = [...artifactCount.entries()]
    .sort((a, b) => b[1].count - a[1].count || a[1].first - b[1].first)
    .map(([a]) => a)
    .filter((a, i, list) => !list.some((b, j) => j < i && b.includes(a)));
  let artifactLine = '';
  for (const a of artifacts) {
    const next = artifactLine ? `${artifactLine}, ${a}` : a;
    if (estimateTokens(next) > artifactBudget) {
      break;
    }
    artifactLine = next;
  }
  if (artifactLine) {
    const cost = estimateTokens(`${HEADINGS.artifacts}:\n${artifactLine}\n`) + 1;
    if (used + cost <= budget) {
      sections.artifacts.push(artifactLine);
      used += cost;
    }
  }
  // 5. Every other statement, ranked by what it establishes per token; near-copies of a chosen one are skipped.
  const value = (c: Candidate): number =>
    (establishes(c, idf, speakers) + (answering.has(c.order) ? 6 : 0) + (c.section === 'preferences' ? 4 : 0) + (2 * c.order) / Math.max(1, order)) / Math.pow(c.tokens, 0.8);
  const rest = all
    .filter(s => !seen.has(normalise(cut(s.text, 300))))
    .map(s => {
      const section: Section = s.role === 'user' && !messages[s.turn].speaker && PREFERENCE.test(s.text) ? 'preferences' : 'facts';
      const c = candidate(s, section, 0);
      // Ranked and first counted by the statement itself: the speaker prefix is shared by a run of one speaker's
      // statements (one bullet), so what it costs is settled on the rendered text below.
      c.tokens = estimateTokens(s.text) + 2;
      c.score = value(c);
      return c;
    })
    .sort((a, b) => b.score - a.score || a.order - b.order);
  const chosenWords: Array<Set<string>> = [];
  const days = new Set<string>();
  const tryTake = (c: Candidate, cw: Set<string>, allowNear: boolean): boolean => {
    const near = !allowNear && chosenWords.some(o => {
      let shared = 0;
      for (const w of cw) {
        shared += o.has(w) ? 1 : 0;
      }
      return shared / cw.size >= 0.7;
    });
    // A statement said on a day not yet shown also pays for that day's label.
    const label = c.section === 'facts' && c.day ? formatDay(c.day) : '';
    const labelCost = label && !days.has(label) ? estimateTokens(`${label}:`) + 1 : 0;
    if (near || used + labelCost + c.tokens > budget) {
      return false;
    }
    used += labelCost;
    if (!take(c)) {
      used -= labelCost;
      return false;
    }
    chosenWords.push(cw);
    if (label) {
      days.add(label);
    }
    return true;
  };
  // Near-copies wait for a second pass: when the budget has room, their details (other numbers, names) are worth it.
  // Near-copies wait for a second pass: when the budget has room, their details (other numbers, names) are worth it.
  for (const allowNear of [false, true]) {
    for (const c of rest) {
      if (used >= budget) {
        break;
      }
      const cw = new Set(contentWords(c.text));
      if (cw.size > 0 && !seen.has(normalise(c.text))) {
        tryTake(c, cw, allowNear);
      }
    }
  }
  // Fill what the per-bullet estimates left (merged bullets and rounding): add the next best while the real text fits.
  let result = render(input, chosen, sections.artifacts);
  // The statements' costs were counted without their speaker prefix when merged: drop the lowest ranked until it fits.
  while (result.tokens > budget) {
    const facts = chosen.filter(c => c.section === 'facts');
    if (!facts.length) {
      break;
    }
    chosen.splice(chosen.indexOf(facts.reduce((a, b) => (b.score < a.score ? b : a))), 1);
    result = render(input, chosen, sections.artifacts);
  }
  // Only statements ranked near those chosen: the room left is not for whatever short line fits.
  const floor = 0.8 * Math.min(...chosen.filter(c => c.section === 'facts').map(c => c.score), Infinity);
  let misses = 0;
  for (const c of rest) {
    if (misses >= 40 || result.tokens >= budget || c.score < floor) {
      break;
    }
    if (chosen.includes(c) || seen.has(normalise(c.text)) || contentWords(c.text).length === 0) {
      continue;
    }
    chosen.push(c);
    const next = render(input, chosen, sections.artifacts);
    if (next.tokens <= budget) {
      result = next;
      seen.add(normalise(c.text));
      misses = 0;
    } else {
      chosen.pop();
      misses++;
    }
  }
  return result;
}

/**
 * Within one dated day, each speaker's statements in the order said make one bullet, the speakers in the order they
 * first spoke that day ("- Caroline: A. C.\n- Melanie: B."): the name is not repeated at every turn. Undated
 * statements (a working session with an assistant) keep the conversation's order.
 */
function bySpeakerWithinDay(facts: Candidate[]): void {
  const group = (c: Candidate) => `${formatDay(c.day!)}\u0000${c.speaker}`;
  const first = new Map<string, number>();
  for (const f of facts) {
    if (f.day && !first.has(group(f))) {
      first.set(group(f), f.order);
    }
  }
  const rank = (c: Candidate) => (c.day ? first.get(group(c))! : c.order);
  facts.sort((a, b) => rank(a) - rank(b) || a.order - b.order);
}

/** The chosen fixed sections, then the statements in conversation order, grouped under the day they were said. */
function render(input: SummaryInput, chosen: Candidate[], artifacts: string[]): LlmSummaryResponse {
  const sections = emptySections();
  sections.artifacts = [...artifacts];
  for (const c of [...chosen].sort((a, b) => a.order - b.order)) {
    if (c.section !== 'facts') {
      sections[c.section].push(bullet(c));
    }
  }
  const parts = [PREAMBLE];
  for (const section of SECTION_ORDER) {
    if (section === 'facts') {
      const facts = chosen.filter(c => c.section === 'facts').sort((a, b) => a.order - b.order);
      bySpeakerWithinDay(facts);
      if (!facts.length) {
        continue;
      }
      const lines: string[] = [];
      let lastLabel = '';
      let last: Candidate | null = null;
      for (const f of facts) {
        const label = f.day ? formatDay(f.day) : '';
        if (label && label !== lastLabel) {
          lines.push(`${label}:`);
          lastLabel = label;
          last = null;
        }
        // The same speaker again, in a row: one bullet ("- Caroline: A. B.").
        if (last && last.speaker === f.speaker) {
          lines[lines.length - 1] += ` ${f.text}`;
        } else {
          lines.push(`- ${bullet(f)}`);
        }
        last = f;
        sections.facts.push(label ? `(${label}) ${bullet(f)}` : bullet(f));
      }
      parts.push(`${factsHeading(facts.some(f => f.day))}:\n${lines.join('\n')}`);
    } else if (sections[section].length) {
      parts.push(`${HEADINGS[section]}:\n${sections[section].map(s => (section === 'artifacts' ? s : `- ${s}`)).join('\n')}`);
    }
  }
  const text = parts.join('\n\n');
  return { conversationId: input.conversationId, method: 'extractive', budgetTokens: input.budgetTokens, tokens: estimateTokens(text), hasContent: true, sections, text };
}

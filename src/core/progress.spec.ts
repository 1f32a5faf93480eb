import { describe, expect, it } from 'vitest';
import { estimateProgress, humanDuration, ingestProgress, mainBar, progressVerdict, type BarTrack, type ProgressFact } from './progress';

const BEAT_S = 10;

/** Replay a run's step function n(t) through 10 s heartbeats up to `untilS`; returns the tracks. */
function replay(n: (tS: number) => number, total: number, untilS: number, extra: (tS: number) => ProgressFact[] = () => []): Map<string, BarTrack> {
  let tracks = new Map<string, BarTrack>();
  for (let t = BEAT_S; t <= untilS; t += BEAT_S) {
    const fact: ProgressFact = { id: 'tqdm:1', source: 'tqdm', name: 'train', n: Math.min(total, Math.floor(n(t))), total, elapsedS: t, position: 0, closed: false };
    tracks = ingestProgress(tracks, 'k1', [fact, ...extra(t)], t * 1000);
  }
  return tracks;
}

const only = (tracks: Map<string, BarTrack>, nowS: number) => mainBar(tracks.values(), nowS * 1000)!;

describe('will it finish', () => {
  it('estimates a steady run’s finish within 5 % after 10 % of it', () => {
    // 10,000 steps at 2 steps/s: 5000 s. At 500 s, 4500 s are left.
    const tracks = replay(t => 2 * t, 10_000, 500);
    const e = estimateProgress(only(tracks, 500), 500_000);
    expect(e.status).toBe('running');
    expect(Math.abs(e.remainingS! - 4500) / 4500).toBeLessThan(0.05);
  });

  it('leaves a slow warm-up out of the rate', () => {
    // 60 s of compilation and data loading at 0.1 steps/s, then 2 steps/s.
    const n = (t: number) => (t < 60 ? 0.1 * t : 6 + 2 * (t - 60));
    const tracks = replay(n, 10_000, 600);
    const e = estimateProgress(only(tracks, 600), 600_000);
    const truth = (10_000 - n(600)) / 2;
    expect(Math.abs(e.remainingS! - truth) / truth).toBeLessThan(0.05);
    expect(e.basis).toMatch(/warm-up left out/);
  });

  it('counts recurring evaluation pauses in proportion and is not thrown by one going on now', () => {
    // 300 s of training at 2 steps/s, then a 60 s evaluation, repeated: 500 steps per 360 s.
    const n = (t: number) => 600 * Math.floor(t / 360) + 2 * Math.min(300, t % 360);
    const total = 20_000;
    const atS = 3 * 360 + 330; // inside the fourth evaluation
    const e = estimateProgress(only(replay(n, total, atS), atS), atS * 1000);
    const truth = ((total - n(atS)) / 600) * 360; // ≈ from the average cycle
    expect(Math.abs(e.remainingS! - truth) / truth).toBeLessThan(0.1);
    expect(e.status).toBe('running');
  });

  it('picks the outer bar when bars nest and refines it with the inner one', () => {
    // 5 epochs of 100 batches at 1 batch/s; a new inner bar each epoch.
    const inner = (t: number): ProgressFact[] => {
      const epoch = Math.floor(t / 100);
      return [{ id: `tqdm:inner${epoch}`, source: 'tqdm', name: 'batches', n: t % 100, total: 100, elapsedS: t % 100, position: 1, closed: false }];
    };
    const tracks = replay(t => Math.floor(t / 100), 5, 250, inner);
    const main = only(tracks, 250);
    expect(main.name).toBe('train');
    // 2.5 epochs done of 5 at 0.01 epochs/s → 250 s left, although the outer bar only moved twice.
    const e = estimateProgress(main, 250_000);
    expect(Math.abs(e.remainingS! - 250) / 250).toBeLessThan(0.1);
  });

  it('prefers an explicit vigilo.progress or callback bar over tqdm bars', () => {
    const tracks = replay(t => t, 1000, 100, t => [{ id: 'trainer:fit', source: 'trainer', name: 'fit', n: t * 3, total: 9000, elapsedS: t, closed: false }]);
    expect(only(tracks, 100).id).toBe('trainer:fit');
  });

  it('drops a bar its kernel stopped sending (a loop abandoned by an exception) and picks the new run', () => {
    let tracks = replay(t => 2 * t, 10_000, 300);
    expect(only(tracks, 300).id).toBe('tqdm:1');
    // The kernel now reports only a new bar; then nothing at all.
    tracks = ingestProgress(tracks, 'k1', [{ id: 'tqdm:2', source: 'tqdm', name: 'retry', n: 5, total: 500, elapsedS: 5, position: 0, closed: false }], 310_000);
    expect(only(tracks, 310).id).toBe('tqdm:2');
    tracks = ingestProgress(tracks, 'k1', [], 320_000);
    expect(mainBar(tracks.values(), 320_000)).toBeNull();
  });

  it('says a run is stalled instead of promising a finish', () => {
    // 1 step/s for 30 min, then nothing for 20 min.
    const tracks = replay(t => Math.min(t, 1800), 10_000, 3000);
    const e = estimateProgress(only(tracks, 3000), 3_000_000);
    expect(e.status).toBe('stalled');
    expect(e.remainingS).toBeNull();
    expect(progressVerdict(only(tracks, 3000), e, { sessionRemainingS: 3600 }).text).toMatch(/stalled: no progress for 20 min/);
  });

  it('waits for progress before estimating', () => {
    const tracks = replay(() => 0, 100, 20);
    expect(estimateProgress(only(tracks, 20), 20_000).status).toBe('warming-up');
  });

  it('gives the verdicts in words: finishes, or runs out with the step it reaches', () => {
    const tracks = replay(t => 2 * t, 10_000, 500);
    const track = only(tracks, 500);
    const e = estimateProgress(track, 500_000);
    const fine = progressVerdict(track, e, { sessionRemainingS: 4 * 3600 + 5 * 60 });
    expect(fine.kind).toBe('finishes');
    expect(fine.text).toMatch(/^finishes in 1 h 1\d min; the runtime has 4 h 05 min$/);
    const short = progressVerdict(track, e, { sessionRemainingS: 1800 });
    expect(short.kind).toBe('runs-out');
    expect(short.text).toMatch(/^needs 1 h 1\d min, the runtime has 30 min: at this rate it reaches step 4,[0-9]00 of 10,000 — checkpoints keep the work$/);
    // The Kaggle GPU quota counts when it is the tighter limit.
    const quota = progressVerdict(track, e, { sessionRemainingS: 9 * 3600, quotaRemainingS: 1200 });
    expect(quota).toMatchObject({ kind: 'runs-out', limit: 'quota' });
    expect(quota.text).toMatch(/the GPU quota has 20 min/);
    // The idle cut-off is named when it comes first.
    expect(progressVerdict(track, e, { sessionRemainingS: 9 * 3600, idleRemainingS: 600, idleCutoffS: 1200 }).text).toMatch(/20 min idle cut-off/);
    expect(progressVerdict(track, e, { sessionRemainingS: null }).text).toMatch(/no runtime limit here/);
  });

  it('does not flap back to "finishes" on a hair: leaving "runs out" needs a 10 % margin', () => {
    const tracks = replay(t => 2 * t, 10_000, 500);
    const track = only(tracks, 500);
    const e = estimateProgress(track, 500_000);
    const limit = e.remainingS! * 1.05;
    expect(progressVerdict(track, e, { sessionRemainingS: limit }, null).kind).toBe('finishes');
    expect(progressVerdict(track, e, { sessionRemainingS: limit }, 'runs-out').kind).toBe('runs-out');
  });

  it('reports a closed bar as finished and forgets bars not heard of for an hour', () => {
    let tracks = replay(t => t, 100, 100);
    tracks = ingestProgress(tracks, 'k1', [{ id: 'tqdm:1', source: 'tqdm', name: 'train', n: 100, total: 100, elapsedS: 110, closed: true }], 110_000);
    const done = [...tracks.values()][0];
    expect(estimateProgress(done, 110_000).status).toBe('finished');
    expect(mainBar(tracks.values(), 110_000)).toBeNull();
    expect(ingestProgress(tracks, 'k1', [], 110_000 + 3_600_001).size).toBe(0);
  });

  it('writes durations as people read them', () => {
    expect(humanDuration(7800)).toBe('2 h 10 min');
    expect(humanDuration(14_700)).toBe('4 h 05 min');
    expect(humanDuration(45)).toBe('45 s');
  });
});

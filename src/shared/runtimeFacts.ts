/**
 * The runtime facts in words, shared by the panel (views/System.tsx) and the
 * `%vigilo` report (core/report.ts): the accelerator with what the hardware
 * said (TPU type, chips, HBM per chip; GPU driver and CUDA versions), the
 * Kaggle run type and image, and the Colab plan (inferred, stated, or the one
 * line that states it). Pure.
 */
import type { AcceleratorInfo, MetricsSnapshot, PlatformInfo } from './api';
import { formatApproxDuration } from './format';

/** "8 × TPU v5 lite · 8 chips · 16 GB HBM per chip", "2 × Tesla T4 · driver 535.54.03, CUDA 12.2", "none". */
export function acceleratorLine(a: AcceleratorInfo | undefined | null): string | null {
  if (!a || a.kind === 'unknown') return a ? 'unknown (conflicting evidence)' : null;
  if (a.kind === 'none') return 'none';
  const name = a.model ?? (a.kind === 'gpu' ? 'GPU (model unknown: no nvidia-smi)' : 'TPU');
  const parts = [a.count !== null && a.count > 1 && !/^\d+ \u00D7 /.test(name) ? `${a.count} × ${name}` : name];
  if (a.kind === 'tpu') {
    parts.push(a.count === null ? 'chips unknown' : `${a.count} chip${a.count === 1 ? '' : 's'}`);
    if (a.hbmPerChipGB) parts.push(`${a.hbmPerChipGB} GB HBM per chip`);
  }
  if (a.kind === 'gpu' && (a.driverVersion || a.cudaVersion)) {
    parts.push([a.driverVersion ? `driver ${a.driverVersion}` : '', a.cudaVersion ? `CUDA ${a.cudaVersion}` : ''].filter(Boolean).join(', '));
  }
  return parts.join(' · ');
}

export interface IRuntimeNote {
  label: string;
  value: string;
  /** A line the user can run to fix what is unknown. */
  ask?: string;
}

/**
 * The Kaggle run type and image and the Colab plan, as rows. `idleCutoffS` is
 * the cut-off the session module counts down from (the snapshot's
 * `idle.cutoffS`: the profile with the user's `%vigilo profile idleCutoff=…`
 * applied), null when there is none, undefined when not reported yet.
 */
export function runtimeNotes(p: Pick<PlatformInfo, 'name' | 'runType' | 'image' | 'tier'>, idleCutoffS?: number | null): IRuntimeNote[] {
  const out: IRuntimeNote[] = [];
  if (p.name === 'kaggle') {
    if (p.runType === 'batch') out.push({ label: 'Run', value: 'batch ("Save & Run All"): no idle cut-off; the session cap stays' });
    else if (p.runType === 'interactive') out.push({ label: 'Run', value: `interactive: ${idleCutoffText(idleCutoffS)}` });
    if (p.image) out.push({ label: 'Image', value: `${p.image.name} (${p.image.kind}${p.image.language ? `, ${p.image.language}` : ''})` });
  }
  if (p.tier) {
    if (p.tier.basis === 'unknown') {
      out.push({ label: 'Plan', value: 'unknown: the free tier’s limits apply', ask: p.tier.ask ?? undefined });
    } else {
      const why = p.tier.basis === 'inferred' ? (p.tier.evidence[0] ?? '').replace(/^tier: \S+, /, '') : 'as you stated it';
      out.push({ label: 'Plan', value: `${p.tier.value}, ${why}` });
    }
  }
  return out;
}

/**
 * The idle cut-off in force, in seconds: the one the session module counts
 * down from (`idle.cutoffS`), else the platform section's profile figure
 * (both with the user's override applied); undefined before either reported.
 */
export function effectiveIdleCutoffS(snapshot: Pick<MetricsSnapshot, 'idle' | 'platform'> | null | undefined): number | null | undefined {
  if (snapshot?.idle) return snapshot.idle.cutoffS;
  return snapshot?.platform?.profile?.idleCutoffS;
}

function idleCutoffText(idleCutoffS: number | null | undefined): string {
  if (idleCutoffS === undefined) return 'the idle cut-off applies (its length not reported yet)';
  if (idleCutoffS === null || idleCutoffS <= 0) return 'no idle cut-off set (%vigilo profile idleCutoff=…)';
  return `the ${formatApproxDuration(idleCutoffS)} idle cut-off applies`;
}

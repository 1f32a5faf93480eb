/**
 * Platform limits as data: one profile per platform, each number with where it
 * was read, when, and whether it was verified against the primary source. The
 * user overrides any of them (profile.json in the data dir, POST /profile, the
 * `%vigilo` magic) because paid tiers and policies differ. docs/PLATFORMS.md
 * explains every number.
 */
import type { AcceleratorInfo, PlatformName } from '../shared/api';
import { formatBytes } from '../shared/format';
import { formatDuration, parseDuration, parseSize, UnitParseError } from './units';

export type ProfileField = 'sessionLifetime' | 'idleCutoff' | 'gpuSessionCap' | 'weeklyGpuQuota' | 'weeklyTpuQuota' | 'outputLimit';

export const PROFILE_FIELDS: Record<ProfileField, { unit: 's' | 'bytes'; description: string }> = {
  sessionLifetime: { unit: 's', description: 'Longest a runtime lives, counted from its start' },
  idleCutoff: { unit: 's', description: 'Runtime is stopped after this long without activity' },
  gpuSessionCap: { unit: 's', description: 'Longest session with a GPU attached' },
  weeklyGpuQuota: { unit: 's', description: 'GPU hours per week (resets Saturday 00:00 UTC on Kaggle)' },
  weeklyTpuQuota: { unit: 's', description: 'TPU hours per week' },
  outputLimit: { unit: 'bytes', description: 'Size limit of the saved output folder' }
};

export interface ProfileNumber {
  /** Seconds or bytes (see `unit`); null when the platform has no such limit. */
  value: number | null;
  unit: 's' | 'bytes';
  /** Human form, e.g. "12h" or "20 GB". */
  display: string | null;
  /** Where the number was read (URL / document), or "user override (…)". */
  source: string;
  /** When it was read (YYYY-MM-DD) or overridden (ISO). */
  date: string;
  /** False when only second-hand or folklore. */
  verified: boolean;
  note?: string;
}

export interface PlatformProfile {
  platform: PlatformName;
  /** Which variant of the platform's profile applies, e.g. "kaggle/tpu". */
  variant: string;
  fields: Record<ProfileField, ProfileNumber>;
  /** Paths wiped when the runtime ends. */
  ephemeralPaths: string[];
  /** Where files survive the runtime (checkpoint destinations). */
  durablePaths: string[];
}

const READ = '2026-11-24 (read from shared/MISSION.md facts table; second-hand sources agree)';
const H = 3600;

/** "12h", "20 GB"; null when there is no limit. */
function display(value: number | null, unit: 's' | 'bytes'): string | null {
  return value === null ? null : unit === 's' ? formatDuration(value) : formatBytes(value, 'decimal');
}

function num(value: number | null, unit: 's' | 'bytes', source: string, verified: boolean, note?: string): ProfileNumber {
  return {
    value,
    unit,
    display: display(value, unit),
    source,
    date: READ,
    verified,
    ...(note ? { note } : {})
  };
}

const none = (unit: 's' | 'bytes', why: string): ProfileNumber => num(null, unit, why, true);

export type AcceleratorKind = AcceleratorInfo['kind'];

/** What else picks the variant: Kaggle's run type, the Colab plan (stated or inferred). */
export interface ProfileContext {
  runType?: 'batch' | 'interactive' | 'unknown' | null;
  /** "free", "pro", "pro+", "paid", "payg" or null when unknown. */
  tier?: string | null;
  /** How the tier is known: "inferred from A100", "stated". */
  tierBasis?: string | null;
}

/** The built-in profile of a platform, for the accelerator it runs with. */
export function defaultProfile(platform: PlatformName, accelerator: AcceleratorKind = 'unknown', context: ProfileContext = {}): PlatformProfile {
  if (platform === 'colab') {
    const tier = context.tier ?? null;
    const paid = tier !== null && tier !== 'free';
    const tierNote = tier ? `tier: ${tier}${context.tierBasis ? `, ${context.tierBasis}` : ''}` : 'tier unknown: the free tier is assumed; say yours with %vigilo profile tier=pro';
    return {
      platform,
      variant: tier === null ? 'colab/free' : `colab/${tier}`,
      fields: {
        sessionLifetime:
          tier === 'pro+'
            ? num(24 * H, 's', 'Colab FAQ: Pro+ background execution keeps a runtime up to 24 hours', false, tierNote)
            : num(12 * H, 's', 'Colab FAQ ("can be as much as 12 hours"), quoted in googlecolab/colabtools#1961', false, paid ? `${tierNote}; Pro+ background execution up to 24 h: say tier=pro+ or override sessionLifetime` : `${tierNote}; Pro+ background execution up to 24 h: override for paid tiers`),
        idleCutoff: num(90 * 60, 's', 'community reports; unpublished by Google (Colab Enterprise default idle shutdown is 180 min)', false, 'folklore'),
        gpuSessionCap: none('s', 'Colab publishes no separate GPU session cap (GPU use draws on usage limits / compute units)'),
        weeklyGpuQuota: none('s', 'Colab has no published weekly quota (dynamic usage limits)'),
        weeklyTpuQuota: none('s', 'Colab has no published weekly quota (dynamic usage limits)'),
        outputLimit: none('bytes', 'Colab has no output folder limit; / is an overlay of ~69-108 GB (colabtools#919, #1377, #5448)')
      },
      ephemeralPaths: ['/content'],
      durablePaths: ['/content/drive']
    };
  }
  if (platform === 'kaggle') {
    const tpu = accelerator === 'tpu';
    const batch = context.runType === 'batch';
    return {
      platform,
      variant: `${tpu ? 'kaggle/tpu' : accelerator === 'gpu' ? 'kaggle/gpu' : 'kaggle/cpu'}${batch ? '/batch' : ''}`,
      fields: {
        sessionLifetime: tpu
          ? num(9 * H, 's', 'kaggle.com/docs/notebooks (9 h per TPU session)', false, 'not re-read this session; second-hand guides agree')
          : num(12 * H, 's', 'kaggle.com/docs/notebooks (12 h per CPU/GPU session)', false, 'not re-read this session; the owner once noted 9 h for GPU: override if your session ends earlier'),
        idleCutoff: batch
          ? none('s', 'a Kaggle batch run (KAGGLE_KERNEL_RUN_TYPE=Batch, "Save & Run All") has no idle cut-off: the 20 min idle rule of kaggle.com/docs/notebooks applies to interactive sessions; the session cap stays')
          : num(20 * 60, 's', 'kaggle.com/docs/notebooks (20 min idle in interactive sessions)', false),
        gpuSessionCap: num(12 * H, 's', 'kaggle.com/docs/notebooks (12 h per GPU session)', false),
        weeklyGpuQuota: num(30 * H, 's', 'kaggle.com/docs/efficient-gpu-usage ("30 hours or sometimes higher"), resets Saturday 00:00 UTC', false, 'floating quota: state yours with %vigilo quota'),
        weeklyTpuQuota: num(20 * H, 's', 'Kaggle product feedback (second-hand)', false),
        outputLimit: num(20e9, 'bytes', 'kaggle.com/docs/notebooks (20 GB auto-saved in /kaggle/working)', false)
      },
      ephemeralPaths: ['/kaggle/temp', '/tmp'],
      durablePaths: ['/kaggle/working']
    };
  }
  if (platform === 'unknown') {
    const why = 'platform unknown (evidence missing or conflicting, see the platform evidence): no limit is assumed; state yours with %vigilo profile';
    return {
      platform,
      variant: 'unknown',
      fields: {
        sessionLifetime: none('s', why),
        idleCutoff: none('s', why),
        gpuSessionCap: none('s', why),
        weeklyGpuQuota: none('s', why),
        weeklyTpuQuota: none('s', why),
        outputLimit: none('bytes', why)
      },
      ephemeralPaths: [],
      durablePaths: []
    };
  }
  return {
    platform,
    variant: 'local',
    fields: {
      sessionLifetime: none('s', 'a local runtime has no lifetime limit'),
      idleCutoff: none('s', 'a local runtime has no idle cut-off'),
      gpuSessionCap: none('s', 'no cap locally'),
      weeklyGpuQuota: none('s', 'no quota locally'),
      weeklyTpuQuota: none('s', 'no quota locally'),
      outputLimit: none('bytes', 'no output limit locally')
    },
    ephemeralPaths: [],
    durablePaths: []
  };
}

export function isProfileField(name: string): name is ProfileField {
  return Object.prototype.hasOwnProperty.call(PROFILE_FIELDS, name);
}

/**
 * Parse raw overrides ("24h", "90m", "20GB", "none" to remove a limit). Throws
 * UnitParseError naming the field on nonsense.
 */
export function parseOverrides(raw: Record<string, string | number | null>): Partial<Record<ProfileField, number | null>> {
  const out: Partial<Record<ProfileField, number | null>> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!isProfileField(name)) {
      throw new UnitParseError(`unknown profile field "${name}"; known: ${Object.keys(PROFILE_FIELDS).join(', ')}.`);
    }
    if (value === null || (typeof value === 'string' && ['none', 'off', 'unlimited'].includes(value.trim().toLowerCase()))) {
      out[name] = null;
      continue;
    }
    try {
      out[name] = PROFILE_FIELDS[name].unit === 's' ? parseDuration(value, 'h') : parseSize(value);
    } catch (error) {
      throw new UnitParseError(`${name}: ${(error as Error).message}`);
    }
  }
  return out;
}

/** The profile with user overrides applied; each overridden number says so. */
export function applyOverrides(
  profile: PlatformProfile,
  overrides: Partial<Record<ProfileField, number | null>>,
  origin: string,
  atIso: string
): PlatformProfile {
  const fields = { ...profile.fields };
  for (const [name, value] of Object.entries(overrides) as Array<[ProfileField, number | null]>) {
    const unit = PROFILE_FIELDS[name].unit;
    fields[name] = {
      value,
      unit,
      display: display(value, unit),
      source: `user override (${origin})`,
      date: atIso,
      verified: true,
      note: `built-in: ${profile.fields[name].display ?? 'none'} from ${profile.fields[name].source}`
    };
  }
  return { ...profile, fields };
}

/** Why each limit is what it is, in one line per field ("12h: kaggle.com/docs/notebooks (…) — not verified"). */
export function limitReasons(profile: PlatformProfile): Record<ProfileField, string> {
  const out = {} as Record<ProfileField, string>;
  for (const [name, field] of Object.entries(profile.fields) as Array<[ProfileField, ProfileNumber]>) {
    out[name] = `${field.display ?? 'no limit'}: ${field.source}${field.verified ? '' : ' (not verified)'}${field.note ? ` — ${field.note}` : ''}`;
  }
  return out;
}

/** "gpu (Tesla T4)", "tpu", "unknown": an accelerator in words. */
export function acceleratorWords(a: Pick<AcceleratorInfo, 'kind' | 'model'>): string {
  return `${a.kind}${a.model ? ` (${a.model})` : ''}`;
}

/**
 * A real change of accelerator between two settled readings, or null. A
 * reading that only adds what the earlier one lacked (the model nvidia-smi
 * names once it answers: "gpu" → "gpu (Tesla T4)") is not a change; a
 * different kind, model or count is.
 */
export function acceleratorChange(
  before: Pick<AcceleratorInfo, 'kind' | 'model' | 'count'> | null,
  after: Pick<AcceleratorInfo, 'kind' | 'model' | 'count'>
): { from: string; to: string } | null {
  if (!before || after.kind === 'unknown' || before.kind === 'unknown') return null;
  const differs =
    before.kind !== after.kind ||
    (before.model !== null && after.model !== null && before.model !== after.model) ||
    (before.count !== null && after.count !== null && before.count !== after.count && before.model !== null && after.model !== null);
  return differs ? { from: acceleratorWords(before), to: acceleratorWords(after) } : null;
}

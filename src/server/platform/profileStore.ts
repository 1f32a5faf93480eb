/**
 * User overrides of the platform profile: `<dataDir>/profile.json`
 * (`{ "overrides": { "sessionLifetime": "24h", "outputLimit": "50GB" } }`, written
 * by hand or by POST /profile), applied over the built-in profile.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { PlatformName } from '../../shared/api';
import { applyOverrides, defaultProfile, parseOverrides, type AcceleratorKind, type PlatformProfile, type ProfileContext, type ProfileField } from '../../core/profiles';
import { UnitParseError } from '../../core/units';
import { writePrivateFile } from '../core/discovery';

export const PROFILE_FILE = 'profile.json';

/** The Colab plans `%vigilo profile tier=…` accepts. */
export const TIERS = ['free', 'pro', 'pro+', 'paid', 'payg'] as const;

const FileShape = z.object({
  /** The Colab plan the user stated; absent when never stated. */
  tier: z.enum(TIERS).nullable().optional(),
  overrides: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).default({}),
  /** Where each override came from and when (written by POST /profile). */
  origins: z.record(z.string(), z.object({ origin: z.string(), at: z.string() })).default({})
});
type FileShape = z.infer<typeof FileShape>;

export class ProfileStore {
  private file: FileShape = { overrides: {}, origins: {} };
  private parsed: Partial<Record<ProfileField, number | null>> = {};
  /** The stated Colab plan, or null. */
  tier: string | null = null;
  readonly problems: string[] = [];

  constructor(
    private readonly dataDir: string,
    private readonly now: () => number,
    log?: (line: string) => void
  ) {
    const path = this.path;
    if (existsSync(path)) {
      try {
        this.file = FileShape.parse(JSON.parse(readFileSync(path, 'utf8')));
        this.parsed = parseOverrides(this.file.overrides);
        this.tier = this.file.tier ?? null;
      } catch (error) {
        const msg = `ignoring ${path}: ${(error as Error).message}`;
        this.problems.push(msg);
        log?.(msg);
        this.file = { overrides: {}, origins: {} };
        this.parsed = {};
      }
    }
  }

  get path(): string {
    return join(this.dataDir, PROFILE_FILE);
  }

  /** Parse (throws UnitParseError on nonsense), merge, persist, then apply: a failed write changes nothing. */
  set(input: Record<string, string | number | null>, origin: string): void {
    const { tier, ...raw } = input;
    if (tier !== undefined && tier !== null && !(TIERS as readonly string[]).includes(String(tier))) {
      throw new UnitParseError(`tier: "${tier}" is not a plan; known: ${TIERS.join(', ')}.`);
    }
    const parsed = parseOverrides(raw);
    const at = new Date(this.now()).toISOString();
    const next: FileShape = { ...this.file, overrides: { ...this.file.overrides }, origins: { ...this.file.origins } };
    if (tier !== undefined) {
      next.tier = tier === null ? null : (String(tier) as FileShape['tier']);
      next.origins.tier = { origin, at };
    }
    for (const name of Object.keys(parsed)) {
      next.overrides[name] = raw[name];
      next.origins[name] = { origin, at };
    }
    writePrivateFile(this.path, JSON.stringify(next, null, 2) + '\n');
    this.file = next;
    this.parsed = { ...this.parsed, ...parsed };
    this.tier = next.tier ?? null;
  }

  effective(platform: PlatformName, accelerator: AcceleratorKind, context: ProfileContext = {}): PlatformProfile {
    let profile = defaultProfile(platform, accelerator, context);
    for (const [name, value] of Object.entries(this.parsed) as Array<[ProfileField, number | null]>) {
      const origin = this.file.origins[name] ?? { origin: PROFILE_FILE, at: 'file' };
      profile = applyOverrides(profile, { [name]: value }, origin.origin === PROFILE_FILE ? `${this.path}` : origin.origin, origin.at);
    }
    return profile;
  }
}

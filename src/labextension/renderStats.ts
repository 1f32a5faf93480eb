/**
 * Render counts per component, and `snapshot` (snapshots received), for
 * measuring the render work per snapshot: ui-tests/bench/panel.spec.ts and the
 * Galata test read `window.vigiloRenderStats()`. One Map increment per render.
 */
const counts = new Map<string, number>();

export function countRender(name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

export function renderCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}


/**
 * A front-end `update` (widget protocol 2.1.0): which keys are applied, which
 * are echoed, which must be corrected. Only `settings` is writable; every
 * other key belongs to the kernel and keeps its value.
 */
import type { PanelSettings, PanelState, ReplyError } from '../protocol';
import { WRITABLE_KEYS } from './state';
import { parseSettings } from './validate';

export interface UpdateOutcome {
  /** New settings, when the update changed them. */
  settings?: PanelSettings;
  /** Keys to echo (every known key received), with the kernel's value after the update. */
  echo: (keyof PanelState)[];
  /** Keys whose kernel value differs from what the front end sent: also sent as an `update`. */
  correct: (keyof PanelState)[];
  errors: ReplyError[];
}

export function applyUpdate(state: Readonly<PanelState>, incoming: Record<string, unknown>): UpdateOutcome {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(state, k);
  const echo = Object.keys(incoming).filter(has) as (keyof PanelState)[];
  const unknown = Object.keys(incoming).filter((k) => !has(k));
  const out: UpdateOutcome = { echo, correct: [], errors: [] };
  const refused: string[] = [];
  for (const k of echo) {
    if (!WRITABLE_KEYS.includes(k)) {
      out.correct.push(k);
      refused.push(k);
      continue;
    }
    const parsed = parseSettings(incoming.settings, state.settings);
    if ('code' in parsed) {
      out.correct.push(k);
      out.errors.push(parsed);
      continue;
    }
    out.settings = parsed;
    if (!sameSettings(parsed, incoming.settings)) out.correct.push(k);
  }
  if (refused.length || unknown.length) {
    const names = [...refused, ...unknown.slice(0, 5).map((k) => k.slice(0, 40))];
    out.errors.push({ code: 'read_only', message: `the widget may change only ${WRITABLE_KEYS.join(', ')}; ignored: ${names.join(', ')}` });
  }
  return out;
}

function sameSettings(a: PanelSettings, b: unknown): boolean {
  const o = b as Record<string, unknown>;
  return Object.keys(o).length === 3 && a.nsfwLevel === o.nsfwLevel && a.previews === o.previews && a.offline === o.offline;
}

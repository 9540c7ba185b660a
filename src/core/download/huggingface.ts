/**
 * What HuggingFace publishes about a file besides its bytes:
 * - its SHA-256, when the redirect did not carry it (`X-Linked-Etag`): the
 *   tree API lists `lfs.oid` per file;
 * - the model card's license and base model (`cardData`), one small JSON
 *   request made while the bytes stream in; optional: any failure (a private
 *   repo, an old mirror, a card without them) leaves them out, silently.
 */
import type { HuggingFaceOrigin } from '../library/types';
import type { OutboundPolicy } from '../net/outbound-policy';
import { requestFollowing, type HopResponse } from './http-hop';
import type { DownloadPlan } from './plan';

/** A card's JSON is a few kB; a server sending more is not answering this question. */
const CARD_MAX_BYTES = 1024 * 1024;

const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** `/api/models/owner/name`, `/api/datasets/owner/name` or `/api/spaces/owner/name`. */
function apiBase(origin: string, repo: string): string {
  const m = /^(datasets|spaces)\/(.+)$/.exec(repo);
  return m ? `${origin}/api/${m[1]}/${enc(m[2])}` : `${origin}/api/models/${enc(repo)}`;
}

export async function huggingFaceSha256(plan: DownloadPlan, policy: OutboundPolicy, signal?: AbortSignal): Promise<string | undefined> {
  const hf = plan.huggingFace;
  if (!hf) return undefined;
  const dir = hf.path.includes('/') ? hf.path.slice(0, hf.path.lastIndexOf('/')) : '';
  const url = `${apiBase(hf.origin, hf.repo)}/tree/${encodeURIComponent(hf.revision)}${dir ? `/${enc(dir)}` : ''}`;
  const res = await requestFollowing({ url, headers: { accept: 'application/json' }, policy, credentials: plan.credentials, signal, timeoutMs: 30_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) return undefined;
  const list = JSON.parse(text) as Array<{ path?: string; lfs?: { oid?: string } }>;
  const oid = list.find((e) => e.path === hf.path)?.lfs?.oid;
  return oid && /^[0-9a-f]{64}$/i.test(oid) ? oid.toUpperCase() : undefined;
}

/** The card's license and base model(s) at the revision downloaded; `{}` when HuggingFace does not say (or cannot be asked). */
export async function huggingFaceCard(plan: DownloadPlan, policy: OutboundPolicy, signal?: AbortSignal): Promise<Pick<HuggingFaceOrigin, 'license' | 'baseModels'>> {
  const hf = plan.huggingFace;
  if (!hf) return {};
  try {
    const url = `${apiBase(hf.origin, hf.repo)}/revision/${encodeURIComponent(hf.revision)}`;
    const res = await requestFollowing({ url, headers: { accept: 'application/json' }, policy, credentials: plan.credentials, signal, timeoutMs: 15_000 });
    const text = await readCapped(res.body, CARD_MAX_BYTES);
    if (res.statusCode !== 200 || text === null) return {};
    return cardFields(JSON.parse(text));
  } catch {
    return {};
  }
}

/** `cardData.license` and `cardData.base_model` (a string or a list), checked: short single-line names only. */
export function cardFields(body: unknown): Pick<HuggingFaceOrigin, 'license' | 'baseModels'> {
  const card = (body as { cardData?: unknown } | null)?.cardData;
  if (!card || typeof card !== 'object') return {};
  const { license, base_model: base } = card as { license?: unknown; base_model?: unknown };
  const name = (v: unknown): v is string => typeof v === 'string' && /^[^\u0000-\u001f\u007f]{1,300}$/.test(v.trim());
  const out: Pick<HuggingFaceOrigin, 'license' | 'baseModels'> = {};
  if (name(license)) out.license = license.trim();
  const bases = (Array.isArray(base) ? base : [base]).filter(name).map((b) => b.trim()).slice(0, 20);
  if (bases.length) out.baseModels = bases;
  return out;
}

async function readCapped(body: HopResponse['body'], max: number): Promise<string | null> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const b of body as AsyncIterable<Buffer>) {
    n += b.length;
    if (n > max) {
      body.on('error', () => undefined);
      body.destroy();
      return null;
    }
    parts.push(b);
  }
  return Buffer.concat(parts).toString('utf8');
}

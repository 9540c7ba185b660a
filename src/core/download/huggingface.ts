/**
 * HuggingFace's published SHA-256 of an LFS file when the redirect did not
 * carry it (`X-Linked-Etag`): the tree API lists `lfs.oid` per file.
 */
import type { OutboundPolicy } from '../net/outbound-policy';
import { requestFollowing } from './http-hop';
import type { DownloadPlan } from './plan';

export async function huggingFaceSha256(plan: DownloadPlan, policy: OutboundPolicy, signal?: AbortSignal): Promise<string | undefined> {
  const hf = plan.huggingFace;
  if (!hf) return undefined;
  const dir = hf.path.includes('/') ? hf.path.slice(0, hf.path.lastIndexOf('/')) : '';
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  const url = `${hf.origin}/api/models/${enc(hf.repo)}/tree/${encodeURIComponent(hf.revision)}${dir ? `/${enc(dir)}` : ''}`;
  const res = await requestFollowing({ url, headers: { accept: 'application/json' }, policy, credentials: plan.credentials, signal, timeoutMs: 30_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) return undefined;
  const list = JSON.parse(text) as Array<{ path?: string; lfs?: { oid?: string } }>;
  const oid = list.find((e) => e.path === hf.path)?.lfs?.oid;
  return oid && /^[0-9a-f]{64}$/i.test(oid) ? oid.toUpperCase() : undefined;
}

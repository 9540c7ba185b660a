/**
 * A fake HuggingFace over real HTTP on 127.0.0.1: `resolve/` answers with a
 * redirect to a storage host (a FakeStorage on another port) carrying the
 * file's SHA-256 in `X-Linked-Etag`, as huggingface.co does for LFS files;
 * the tree API lists `lfs.oid`; `/api/models/{repo}[/revision/{rev}]` answers
 * the model card's `cardData` (license, base_model). A gated repo wants
 * `Authorization: Bearer`. `X-Repo-Commit` is a 40-hex commit per repo and revision.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeStorage } from '../fake-civitai/storage';
import { LoopbackServer } from '../fake-civitai/loopback-server';

interface HfFile {
  repo: string;
  revision: string;
  path: string;
  bytes: Buffer;
  sha256: string;
  /** Leave X-Linked-Etag out (the caller must use the tree API). */
  noLinkedEtag?: boolean;
  /** Publish this SHA-256 instead of the real one (a mismatch). */
  publishedSha256?: string;
}

export class FakeHuggingFace {
  readonly requests: Array<{ path: string; authorization: string | undefined }> = [];
  private readonly files: HfFile[] = [];
  private readonly gated = new Map<string, string>();
  /** cardData per repo; a repo not set gets DEFAULT_CARD; `null`: the API answers 404. */
  private readonly cards = new Map<string, Record<string, unknown> | null>();

  constructor(private readonly storage: FakeStorage) {}

  private readonly http = new LoopbackServer('FakeHuggingFace', (req, res) => this.handle(req, res));

  /** `http://127.0.0.1:PORT`, once started. */
  get url(): string {
    return this.http.url;
  }

  addFile(spec: Omit<HfFile, 'sha256'>): string {
    const sha256 = createHash('sha256').update(spec.bytes).digest('hex');
    this.files.push({ ...spec, sha256 });
    this.storage.put(`hf-${sha256}`, spec.path.split('/').pop()!, spec.bytes);
    return `${this.url}/${spec.repo}/resolve/${spec.revision}/${spec.path}`;
  }

  /** The model card `repo` answers (`null`: no card, a 404). */
  setCard(repo: string, cardData: Record<string, unknown> | null): void {
    this.cards.set(repo, cardData);
  }

  /** The commit `X-Repo-Commit` names for a repo at a revision. */
  commitOf(repo: string, revision: string): string {
    return createHash('sha1').update(`${repo}@${revision}`).digest('hex');
  }

  /** Downloads from `repo` need this token. */
  gate(repo: string, token: string): void {
    this.gated.set(repo, token);
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.http.stop();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({ path: url.pathname, authorization: req.headers.authorization });
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (segs[0] === 'api' && segs[1] === 'models') {
      const repo = `${segs[2]}/${segs[3]}`;
      const token = this.gated.get(repo);
      if (token && req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'Access to this repo is restricted' });
      if (segs[4] === 'tree') {
        const rev = segs[5];
        const dir = segs.slice(6).join('/');
        const list = this.files
          .filter((f) => f.repo === repo && f.revision === rev && (dir ? f.path.startsWith(dir + '/') : !f.path.includes('/')))
          .map((f) => ({ type: 'file', path: f.path, size: f.bytes.length, oid: 'git-oid', lfs: { oid: f.publishedSha256 ?? f.sha256, size: f.bytes.length, pointerSize: 134 } }));
        return send(200, list);
      }
      if (segs[4] !== undefined && !(segs[4] === 'revision' && segs[5] && segs.length === 6)) return send(404, { error: 'unknown path' });
      const card = this.cards.has(repo) ? this.cards.get(repo) : DEFAULT_CARD;
      if (card === null) return send(404, { error: 'Repository not found' });
      return send(200, { id: repo, sha: this.commitOf(repo, segs[5] ?? 'main'), cardData: card });
    }
    const at = segs.indexOf('resolve');
    if (at === 2) {
      const repo = `${segs[0]}/${segs[1]}`;
      const token = this.gated.get(repo);
      if (token && req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'Access to this repo is restricted' });
      const rev = segs[3];
      const path = segs.slice(4).join('/');
      const f = this.files.find((x) => x.repo === repo && x.revision === rev && x.path === path);
      if (!f) return send(404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      const headers: Record<string, string> = { location: this.storage.signedUrl(`hf-${f.sha256}`), 'x-repo-commit': this.commitOf(repo, rev), 'x-linked-size': String(f.bytes.length) };
      if (!f.noLinkedEtag) headers['x-linked-etag'] = `"${f.publishedSha256 ?? f.sha256}"`;
      res.writeHead(302, headers);
      res.end();
      return;
    }
    send(404, { error: 'unknown path' });
  }
}

const DEFAULT_CARD = { license: 'openrail++', base_model: 'stabilityai/stable-diffusion-xl-base-1.0' };

/**
 * Hashes and Civitai link of one model: every hash with where it came from,
 * asking Civitai again, re-hashing, setting a hash by hand and linking to a
 * Civitai URL or AIR. Input is checked as it is typed; nothing invalid is sent.
 */
import { useRef, useState } from 'preact/hooks';
import type { HashName, HashSource, ModelCard, ScanResult } from '../../kernel/protocol';
import type { PanelClient } from '../client';
import { HASH_LENGTHS, HASH_NAMES, checkHash, checkLink } from '../validate';
import { Dialog } from './Dialog';

export const SOURCE_LABELS: Record<HashSource, string> = {
  computed: 'computed from the file',
  header: 'read from the file header',
  'a1111-cache': 'adopted from A1111 cache.json',
  'civitai-info': 'adopted from .civitai.info',
  'a1111-json': 'adopted from the A1111 .json sidecar',
  'lm-metadata': 'adopted from LoRA Manager metadata',
  'sm-cm-info': 'adopted from Stability Matrix .cm-info.json',
  manual: 'set by hand',
};

export interface EditHashDialogProps {
  model: PanelClient;
  card: ModelCard;
  onClose: () => void;
  notify: (text: string) => void;
}

type Outcome = { kind: 'ok' | 'error'; text: string } | null;

export function EditHashDialog({ model, card, onClose, notify }: EditHashDialogProps) {
  const [name, setName] = useState<HashName>('SHA256');
  const [value, setValue] = useState('');
  const [link, setLink] = useState(card.manualLink?.input ?? '');
  const [hashTouched, setHashTouched] = useState(false);
  const [linkTouched, setLinkTouched] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);

  const hashCheck = checkHash(name, value);
  const linkCheck = checkLink(link);

  const run = async (what: string, send: () => ReturnType<PanelClient['request']>, done: (result: unknown) => string) => {
    setBusy(what);
    setOutcome(null);
    const reply = await send();
    setBusy(null);
    if (reply.ok) {
      const text = done(reply.result);
      setOutcome({ kind: 'ok', text });
      notify(text);
    } else {
      setOutcome({ kind: 'error', text: reply.error.message });
    }
  };

  const saveHash = (e: Event) => {
    e.preventDefault();
    setHashTouched(true);
    if (!hashCheck.ok) return;
    void run('hash', () => model.request('set-hash', { id: card.id, name, value: hashCheck.value }, undefined, { report: false }), () => `${name} set by hand. Use Refresh to look it up on Civitai.`);
  };

  const saveLink = (e: Event) => {
    e.preventDefault();
    setLinkTouched(true);
    if (!linkCheck.ok) return;
    void run('link', () => model.request('link', { id: card.id, ref: linkCheck.value }, undefined, { report: false }), (r) => {
      const c = r as ModelCard | null;
      return c?.civitai.modelName ? `Linked to ${c.civitai.modelName}${c.civitai.versionName ? ` (${c.civitai.versionName})` : ''}.` : 'Linked.';
    });
  };

  const refresh = () =>
    void run('refresh', () => model.request('refresh', { id: card.id }, undefined, { report: false }), (r) => {
      const c = r as ModelCard | null;
      return c?.civitai.state === 'found' ? `Found on Civitai: ${c.civitai.modelName ?? ''}.` : 'Civitai does not know this file.';
    });

  const rehash = () =>
    void run('rehash', () => model.request('scan', { verify: true }, undefined, { report: false }), (r) => {
      const res = r as ScanResult;
      return res.verifyMismatches ? `Re-hashed: ${res.verifyMismatches} files had a wrong stored hash and were corrected.` : 'Re-hashed: every stored hash matched.';
    });

  const uid = useRef(Math.random().toString(36).slice(2, 9)).current;
  const hashErrorId = `md-hash-error-${uid}`;
  const linkErrorId = `md-link-error-${uid}`;
  return (
    <Dialog title={`Hashes and link: ${card.civitai.modelName ?? card.name}`} onClose={onClose} class="md-hash-dialog">
      <p class="md-path">
        <code>{card.path}</code> {card.verified ? '· SHA256 verified from the file' : '· SHA256 not verified from the file'}
      </p>
      <table class="md-hash-table">
        <thead>
          <tr>
            <th scope="col">Hash</th>
            <th scope="col">Value</th>
            <th scope="col">Source</th>
          </tr>
        </thead>
        <tbody>
          {HASH_NAMES.map((h) => (
            <tr key={h}>
              <th scope="row">{h}</th>
              <td>
                <code class="md-hash">{card.hashes[h] ?? '—'}</code>
              </td>
              <td>{card.hashes[h] ? SOURCE_LABELS[card.hashSources[h] ?? 'computed'] ?? card.hashSources[h] : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="md-dialog-actions">
        <button type="button" class="md-button" disabled={busy !== null} onClick={refresh}>
          Ask Civitai again
        </button>
        <button type="button" class="md-button" disabled={busy !== null} onClick={rehash} title="Re-reads every file of the library and corrects stored hashes that are wrong">
          Re-hash library
        </button>
      </div>

      <form class="md-form" onSubmit={saveHash} noValidate>
        <h3>Set a hash by hand</h3>
        <div class="md-form-row">
          <label class="md-field">
            <span>Hash</span>
            <select value={name} onChange={(e) => setName((e.target as HTMLSelectElement).value as HashName)}>
              {HASH_NAMES.map((h) => (
                <option key={h} value={h}>
                  {h} ({HASH_LENGTHS[h].join(' or ')} hex)
                </option>
              ))}
            </select>
          </label>
          <label class="md-field md-grow">
            <span>Value</span>
            <input
              type="text"
              spellcheck={false}
              autoComplete="off"
              value={value}
              aria-invalid={hashTouched && !hashCheck.ok}
              aria-describedby={hashErrorId}
              onInput={(e) => setValue((e.target as HTMLInputElement).value)}
              onBlur={() => value && setHashTouched(true)}
            />
          </label>
          <button type="submit" class="md-button md-primary" disabled={busy !== null}>
            Set hash
          </button>
        </div>
        <p id={hashErrorId} class="md-hint" role={hashTouched && !hashCheck.ok ? 'alert' : undefined}>
          {hashTouched && !hashCheck.ok ? hashCheck.message : ''}
        </p>
      </form>

      <form class="md-form" onSubmit={saveLink} noValidate>
        <h3>Link to Civitai</h3>
        <div class="md-form-row">
          <label class="md-field md-grow">
            <span>Civitai URL or AIR</span>
            <input
              type="text"
              spellcheck={false}
              autoComplete="off"
              placeholder="https://civitai.com/models/58390?modelVersionId=62833"
              value={link}
              aria-invalid={linkTouched && !linkCheck.ok}
              aria-describedby={linkErrorId}
              onInput={(e) => setLink((e.target as HTMLInputElement).value)}
              onBlur={() => link && setLinkTouched(true)}
            />
          </label>
          <button type="submit" class="md-button md-primary" disabled={busy !== null}>
            Link
          </button>
        </div>
        <p id={linkErrorId} class="md-hint" role={linkTouched && !linkCheck.ok ? 'alert' : undefined}>
          {linkTouched && !linkCheck.ok ? linkCheck.message : ''}
        </p>
      </form>
      <p class={`md-outcome ${outcome?.kind === 'error' ? 'md-outcome-error' : ''}`} aria-live="polite">
        {busy ? 'Working…' : outcome?.text ?? ''}
      </p>
    </Dialog>
  );
}

/**
 * Everything about one model (`details` request): description, gallery, files,
 * stats, how kind and base model were inferred. The description is HTML from
 * Civitai and goes through sanitizeHtml before it is rendered.
 */
import { useEffect, useState } from 'preact/hooks';
import type { GridCard, ModelDetails, UpdateInfo } from '../../kernel/protocol';
import { BASE_LABELS, KIND_LABELS, displayTitle } from '../filter';
import { formatBytes, formatCount, formatDate } from '../format';
import type { PanelClient } from '../client';
import { sanitizeHtml } from '../sanitize';
import { Dialog } from './Dialog';
import { safeCivitaiUrl } from './ModelCard';

export interface DetailsViewProps {
  model: PanelClient;
  /** The grid's card: shown at once; warnings and conflicts come with the details. */
  card: GridCard;
  nsfwLevel: number;
  onClose: () => void;
  onCopy: (word: string) => void;
  /** The update the last check found for this model, if any. */
  update?: UpdateInfo;
  /** Fetches the update beside this model (absent on a read-only page). */
  onDownloadUpdate?: () => void;
}

type Loaded = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ok'; details: ModelDetails };

const httpsOnly = (url: string) => /^https:\/\//i.test(url);

export function DetailsView({ model, card, nsfwLevel, onClose, onCopy, update, onDownloadUpdate }: DetailsViewProps) {
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [shown, setShown] = useState<ReadonlySet<number>>(new Set());

  useEffect(() => {
    let live = true;
    setLoaded({ state: 'loading' });
    void model.request('details', { id: card.id }, undefined, { report: false }).then((reply) => {
      if (!live) return;
      setLoaded(reply.ok ? { state: 'ok', details: reply.result as ModelDetails } : { state: 'error', message: reply.error.message });
    });
    return () => {
      live = false;
    };
  }, [model, card.id]);

  const details = loaded.state === 'ok' ? loaded.details : null;
  const info = details?.info ?? null;
  const hf = details?.huggingFace;
  const c = (details?.card ?? card).civitai;
  const page = safeCivitaiUrl(c.pageUrl);
  const html = sanitizeHtml(info?.description);
  // Only https images are shown (an http or data: URL would leak or embed); no heading for an empty gallery.
  const gallery = (info?.images ?? []).filter((im) => httpsOnly(im.url)).slice(0, 24);
  const words = info?.trainedWords.length ? info.trainedWords : card.trainedWords;

  return (
    <Dialog title={displayTitle(card)} onClose={onClose} class="md-details">
      {loaded.state === 'loading' && <p aria-live="polite">Loading…</p>}
      {loaded.state === 'error' && (
        <p class="md-outcome-error" role="alert">
          {loaded.message}
        </p>
      )}
      <dl class="md-facts">
        <dt>File</dt>
        <dd>
          <code>{card.path}</code>
        </dd>
        <dt>Kind / base model</dt>
        <dd>
          {KIND_LABELS[card.kind]} · {BASE_LABELS[card.baseModel]}
          {c.baseModel ? ` (Civitai: ${c.baseModel})` : ''}
        </dd>
        <dt>Size</dt>
        <dd>{formatBytes(card.size)}</dd>
        {update && (
          <>
            <dt>Update available</dt>
            <dd class="md-details-update">
              {update.current.name} → {update.latest.name} ({[update.latest.baseModel, update.latest.publishedAt?.slice(0, 10), update.latest.size === null ? null : formatBytes(update.latest.size), update.latest.earlyAccess ? 'early access' : null].filter(Boolean).join(', ')})
            </dd>
            {onDownloadUpdate && (
              <dd>
                <button type="button" class="md-link-button" onClick={onDownloadUpdate} title="Download this version into the folder of the one it updates">
                  Download update
                </button>
              </dd>
            )}
          </>
        )}
        <dt>Added</dt>
        <dd>{formatDate(card.addedAt)}</dd>
        {c.versionName && (
          <>
            <dt>Version</dt>
            <dd>{c.versionName}</dd>
          </>
        )}
        {info && (
          <>
            <dt>Downloads / likes</dt>
            <dd>
              {formatCount(info.stats.downloadCount ?? 0)} / {formatCount(info.stats.thumbsUpCount ?? 0)}
            </dd>
            {info.publishedAt && (
              <>
                <dt>Published</dt>
                <dd>{info.publishedAt.slice(0, 10)}</dd>
              </>
            )}
          </>
        )}
        {hf && (
          <>
            <dt>HuggingFace</dt>
            <dd class="md-details-hf">
              <code>{hf.repo}</code> @ {hf.revision}
              {hf.commit ? ` (commit ${hf.commit.slice(0, 12)})` : ''} · <code>{hf.path}</code>
            </dd>
            {hf.license && (
              <>
                <dt>License</dt>
                <dd>{hf.license}</dd>
              </>
            )}
            {hf.baseModels && hf.baseModels.length > 0 && (
              <>
                <dt>Base model (model card)</dt>
                <dd>{hf.baseModels.join(', ')}</dd>
              </>
            )}
          </>
        )}
        {page && (
          <>
            <dt>Civitai</dt>
            <dd>
              <a href={page} target="_blank" rel="noopener noreferrer">
                {page}
              </a>
            </dd>
          </>
        )}
      </dl>
      {words.length > 0 && (
        <section>
          <h3>Trained words</h3>
          <ul class="md-words">
            {words.map((w, i) => (
              <li key={i}>
                <button type="button" class="md-word" title={`Copy “${w}”`} onClick={() => onCopy(w)}>
                  {w}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {html && (
        <section>
          <h3>Description</h3>
          <div class="md-description" dangerouslySetInnerHTML={{ __html: html }} />
        </section>
      )}
      {gallery.length > 0 && (
        <section>
          <h3>Gallery</h3>
          <ul class="md-gallery">
            {gallery.map((im, i) => {
              const hidden = (im.nsfwLevel ?? 0) > nsfwLevel && !shown.has(i);
              const video = im.type === 'video';
              return (
                <li key={i} class={hidden ? 'md-blurred' : ''}>
                  {video ? (
                    <video src={im.url} muted loop playsInline controls={!hidden} />
                  ) : (
                    <img src={im.url} alt={`Example ${i + 1}`} loading="lazy" referrerpolicy="no-referrer" />
                  )}
                  {hidden && (
                    <button type="button" class="md-reveal" onClick={() => setShown(new Set([...shown, i]))}>
                      NSFW · click to show
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {info && info.files.length > 0 && (
        <section>
          <h3>Files on Civitai</h3>
          <table class="md-files">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {info.files.map((f, i) => (
                <tr key={i}>
                  <td>
                    {f.name}
                    {f.primary ? ' (primary)' : ''}
                  </td>
                  <td>{f.type ?? ''}</td>
                  <td>{f.sizeKB === null ? '' : formatBytes(f.sizeKB * 1024)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {details && (details.evidence.length > 0 || details.card.warnings.length > 0 || details.card.conflicts.length > 0) && (
        <section>
          <h3>How it was read</h3>
          <ul class="md-notes">
            {details.evidence.map((e, i) => (
              <li key={`e${i}`}>{e}</li>
            ))}
            {details.card.warnings.map((w, i) => (
              <li key={`w${i}`} class="md-warning">
                {w}
              </li>
            ))}
            {details.card.conflicts.map((w, i) => (
              <li key={`c${i}`} class="md-warning">
                {w}
              </li>
            ))}
          </ul>
        </section>
      )}
    </Dialog>
  );
}

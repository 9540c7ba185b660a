/**
 * One model: preview (blurred above the NSFW limit until clicked), names,
 * kind / base model / size badges, status, trained words that copy on click,
 * the Civitai link and the actions.
 */
import type { GridCard as Card, ModelStatus, UpdateInfo } from '../../kernel/protocol';
import { BASE_LABELS, KIND_LABELS, STATUS_LABELS, displayTitle } from '../filter';
import { formatBytes } from '../format';
import type { PreviewMedia } from '../previews';

export type CardAction = 'refresh' | 'edit' | 'details' | 'reveal' | 'move' | 'trash' | 'ignore-update' | 'ignore-model' | 'download-update';

export interface ModelCardProps {
  card: Card;
  index: number;
  media: PreviewMedia | null;
  /** The preview could not be sent (shown as a placeholder, not a spinner). */
  previewFailed: boolean;
  blurred: boolean;
  busy: boolean;
  /** A newer version of this card's Civitai model, when the last check found one. */
  update?: UpdateInfo;
  /** Browsing only: no button that would change the library. */
  readOnly?: boolean;
  onAction: (action: CardAction, card: Card) => void;
  onCopy: (word: string) => void;
}

const STATUS_ORDER: ModelStatus[] = ['identified', 'manual', 'not_found', 'unverified', 'pending', 'error'];

/** A Civitai page URL the card may link to: https on a Civitai host only. */
export function safeCivitaiUrl(url: string | null): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && /(^|\.)civitai\.(com|red|green|blue)$/i.test(u.hostname) ? u.href : null;
  } catch {
    return null;
  }
}

export function ModelCard({ card, index, media, previewFailed, blurred, busy, update, readOnly, onAction, onCopy }: ModelCardProps) {
  const c = card.civitai;
  const title = displayTitle(card);
  const page = safeCivitaiUrl(c.pageUrl);
  const statuses = STATUS_ORDER.filter((s) => card.status.includes(s));
  return (
    <article class="md-card" tabIndex={0} data-index={index} data-id={card.id} aria-label={`${title}${c.versionName ? `, ${c.versionName}` : ''}`}>
      <div class={`md-preview${blurred ? ' md-blurred' : ''}`}>
        {media ? (
          media.video ? (
            <video src={media.url} muted loop autoPlay={!blurred} playsInline aria-label={`Preview of ${title}`} />
          ) : (
            <img src={media.url} alt={`Preview of ${title}`} loading="lazy" decoding="async" />
          )
        ) : (
          <div class="md-preview-empty" aria-hidden="true">
            {card.preview && !previewFailed ? '' : KIND_LABELS[card.kind]}
          </div>
        )}
        {blurred && media && (
          <button type="button" class="md-reveal" onClick={() => onAction('reveal', card)} aria-label={`Show the preview of ${title} (above your NSFW limit)`}>
            NSFW · click to show
          </button>
        )}
      </div>
      <div class="md-card-body">
        <h3 class="md-card-title" title={title}>
          {title}
        </h3>
        <div class="md-card-sub" title={card.path}>
          {c.versionName ?? card.file}
        </div>
        <div class="md-badges">
          <span class="md-badge md-kind">{KIND_LABELS[card.kind] ?? card.kind}</span>
          <span class="md-badge md-base" title={c.baseModel ?? undefined}>
            {BASE_LABELS[card.baseModel] ?? card.baseModel}
          </span>
          <span class="md-badge md-size">{formatBytes(card.size)}</span>
        </div>
        <div class="md-statuses">
          {statuses.map((s) => (
            <span key={s} class={`md-status md-status-${s}`} title={s === 'error' ? 'Open the details to see what went wrong' : undefined}>
              {STATUS_LABELS[s]}
            </span>
          ))}
        </div>
        {update && <UpdateBadge update={update} readOnly={readOnly} onIgnore={(what) => onAction(what, card)} />}
        {card.trainedWords.length > 0 && (
          <ul class="md-words" aria-label="Trained words (click to copy)">
            {card.trainedWords.slice(0, 8).map((w, i) => (
              <li key={i}>
                <button type="button" class="md-word" title={`Copy “${w}”`} onClick={() => onCopy(w)}>
                  {w}
                </button>
              </li>
            ))}
            {card.trainedWords.length > 8 && <li class="md-more">+{card.trainedWords.length - 8}</li>}
          </ul>
        )}
        <div class="md-actions">
          {page && (
            <a class="md-link" href={page} target="_blank" rel="noopener noreferrer">
              Civitai
            </a>
          )}
          {!readOnly && (
            <>
              <button type="button" class="md-button md-small" disabled={busy} onClick={() => onAction('refresh', card)} title="Ask Civitai about this model again">
                Refresh
              </button>
              <button type="button" class="md-button md-small" onClick={() => onAction('edit', card)} title="Hashes and Civitai link">
                Hash / link
              </button>
            </>
          )}
          <button type="button" class="md-button md-small" onClick={() => onAction('details', card)}>
            Details
          </button>
          {!readOnly && (
            <>
              <button type="button" class="md-button md-small" disabled={busy} onClick={() => onAction('move', card)} title="Move or rename the file with its sidecars">
                Move
              </button>
              <button type="button" class="md-button md-small" disabled={busy} onClick={() => onAction('trash', card)} title="Move the file with its sidecars to the library's trash (restorable)">
                Trash
              </button>
            </>
          )}
        </div>
      </div>
    </article>
  );
}

/** "Update: v1 → v2" with its date, size and base model, and the two ignore buttons. */
function UpdateBadge({ update, readOnly, onIgnore }: { update: UpdateInfo; readOnly?: boolean; onIgnore: (what: 'ignore-update' | 'ignore-model' | 'download-update') => void }) {
  const l = update.latest;
  const detail = [l.baseModel, l.publishedAt?.slice(0, 10), l.size === null ? null : formatBytes(l.size), l.earlyAccess ? 'early access' : null].filter(Boolean).join(' · ');
  const page = safeCivitaiUrl(l.pageUrl);
  return (
    <div class="md-update" role="note">
      <span class="md-status md-status-update" title={detail}>
        Update: {update.current.name} → {page ? <a href={page} target="_blank" rel="noopener noreferrer">{l.name}</a> : l.name}
      </span>
      <span class="md-update-detail">{detail}</span>
      {!readOnly && (
        <button type="button" class="md-link-button" onClick={() => onIgnore('download-update')} title="Download this version into the folder of the one it updates">
          Download update
        </button>
      )}
      <button type="button" class="md-link-button" onClick={() => onIgnore('ignore-update')} title="Hide this version (a newer one is shown again)">
        Ignore version
      </button>
      <button type="button" class="md-link-button" onClick={() => onIgnore('ignore-model')} title="Never show updates of this model">
        Ignore model
      </button>
    </div>
  );
}

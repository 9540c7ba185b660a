/**
 * One model: preview (blurred above the NSFW limit until clicked), names,
 * kind / base model / size badges, status, trained words that copy on click,
 * the Civitai link and the actions.
 */
import type { ModelCard as Card, ModelStatus } from '../../kernel/protocol';
import { BASE_LABELS, KIND_LABELS, STATUS_LABELS, displayTitle } from '../filter';
import { formatBytes } from '../format';
import type { PreviewMedia } from '../previews';

export type CardAction = 'refresh' | 'edit' | 'details' | 'reveal';

export interface ModelCardProps {
  card: Card;
  index: number;
  media: PreviewMedia | null;
  /** The preview could not be sent (shown as a placeholder, not a spinner). */
  previewFailed: boolean;
  blurred: boolean;
  busy: boolean;
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

export function ModelCard({ card, index, media, previewFailed, blurred, busy, onAction, onCopy }: ModelCardProps) {
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
            <span key={s} class={`md-status md-status-${s}`} title={s === 'error' ? [c.lastError?.message, ...card.warnings].filter(Boolean).join('\n') : undefined}>
              {STATUS_LABELS[s]}
            </span>
          ))}
        </div>
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
          <button type="button" class="md-button md-small" disabled={busy} onClick={() => onAction('refresh', card)} title="Ask Civitai about this model again">
            Refresh
          </button>
          <button type="button" class="md-button md-small" onClick={() => onAction('edit', card)} title="Hashes and Civitai link">
            Hash / link
          </button>
          <button type="button" class="md-button md-small" onClick={() => onAction('details', card)}>
            Details
          </button>
        </div>
      </div>
    </article>
  );
}

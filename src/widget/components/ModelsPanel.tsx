/**
 * The whole panel: error banner, toolbar, progress, filters, the windowed card
 * grid and the dialogs. Search, filters and sort belong to this view; the
 * kernel answers them with windows of cards (window-cache.ts).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { GridCard as Card, BaseModel, DuplicatesResult, ModelKind, UpdateInfo, UpdatesResult } from '../../kernel/protocol';
import { copyText } from '../download';
import { DEFAULT_QUERY, displayTitle, type ViewQuery } from '../filter';
import { formatCount } from '../format';
import { useFullCard } from '../full-card';
import { useEmitter, useModelState } from '../hooks';
import type { PanelClient } from '../client';
import { WindowCache, queryKey } from '../window-cache';
import { CardGrid, type CardSource } from './CardGrid';
import { DetailsView } from './DetailsView';
import { EditHashDialog } from './EditHashDialog';
import { ErrorBanner } from './ErrorBanner';
import type { CardAction } from './ModelCard';
import { ProgressBar } from './ProgressBar';
import { Toolbar } from './Toolbar';
import { FilterBar } from './FilterBar';
import { MaintenanceBar } from './MaintenanceBar';
import { DuplicatesDialog } from './DuplicatesDialog';
import { MoveDialog } from './MoveDialog';
import { TrashDialog } from './TrashDialog';
import { DownloadsView } from './DownloadsView';

/** How long after the library is ready a view without cards waits before asking for them again. */
export const RESYNC_DELAY_MS = 1000;

type Open = { dialog: 'edit' | 'details' | 'move'; id: string } | null;

export function ModelsPanel({ model }: { model: PanelClient }) {
  const cache = useMemo(() => new WindowCache(model, DEFAULT_QUERY), [model]);
  const cacheVersion = useEmitter(cache);
  const progress = useModelState(model, 'progress');
  const settings = useModelState(model, 'settings');
  const summary = useModelState(model, 'summary');
  const [query, setQuery] = useState<ViewQuery>(DEFAULT_QUERY);
  const [root, setRoot] = useState(0);
  const [open, setOpen] = useState<Open>(null);
  const [revealed, setRevealed] = useState<ReadonlySet<string>>(new Set());
  const [busyIds, setBusyIds] = useState<ReadonlySet<string>>(new Set());
  const [notice, setNotice] = useState('');
  const [updates, setUpdates] = useState<UpdatesResult | null>(null);
  const [dupes, setDupes] = useState<DuplicatesResult | null>(null);
  const [trashOpen, setTrashOpen] = useState(false);
  const updatesById = useMemo(() => new Map<string, UpdateInfo>((updates?.updates ?? []).flatMap((u) => u.ids.map((id) => [id, u] as [string, UpdateInfo]))), [updates]);
  const noticeTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  // The first window is asked for at once: the kernel answers from the window it kept for this library (first-window.ts)
  // or once the library has loaded. Asking only after the summary said so cost a round trip before the first card.
  useEffect(() => {
    cache.start();
    return () => cache.stop();
  }, [cache]);
  // A view with no answer a moment after the kernel said it can answer (a reconnect lost the request) asks again.
  const canAnswer = !!(summary?.ready || summary?.preview);
  useEffect(() => {
    if (!canAnswer) return;
    const t = setTimeout(() => cache.received || cache.reload(), RESYNC_DELAY_MS);
    return () => clearTimeout(t);
  }, [cache, canAnswer]);
  useEffect(() => cache.setUpdates(updatesById), [cache, updatesById]);
  useEffect(() => cache.setQuery(query), [cache, query]);

  const source = useMemo<CardSource>(() => ({ count: cache.count, cardAt: (i) => cache.cardAt(i) }), [cache, cacheVersion]); // eslint-disable-line react-hooks/exhaustive-deps
  const onRange = useCallback((start: number, end: number) => cache.setRange(start, end), [cache]);
  const facetMaps = useMemo(
    () => ({
      kinds: new Map(Object.entries(cache.facets.kinds) as [ModelKind, number][]),
      bases: new Map(Object.entries(cache.facets.bases) as [BaseModel, number][]),
    }),
    [cache, cacheVersion], // eslint-disable-line react-hooks/exhaustive-deps
  );

  useEffect(() => () => void (noticeTimer.current && clearTimeout(noticeTimer.current)), []);

  const notify = (text: string) => {
    setNotice(text);
    if (noticeTimer.current) clearTimeout(noticeTimer.current);
    if (text) noticeTimer.current = setTimeout(() => setNotice(''), 8000);
  };

  const onCopy = async (word: string) => notify((await copyText(word)) ? `Copied “${word}”.` : `Could not copy; select it by hand: ${word}`);

  // The new version goes beside the one it updates; progress shows in the downloads list.
  const downloadUpdate = (id: string) => {
    const u = updatesById.get(id);
    if (!u) return;
    void model.request('download-update', { id, versionId: u.latest.versionId }).then((reply) => reply.ok && notify(`${u.modelName} ${u.latest.name}: download queued.`));
  };

  const onAction = (action: CardAction, card: Card) => {
    if (action === 'reveal') setRevealed(new Set([...revealed, card.id]));
    else if (action === 'edit' || action === 'details' || action === 'move') setOpen({ dialog: action, id: card.id });
    else if (action === 'download-update') downloadUpdate(card.id);
    else if (action === 'ignore-update' || action === 'ignore-model') {
      const u = updatesById.get(card.id);
      if (!u) return;
      const content = action === 'ignore-model' ? { id: card.id, scope: 'model' as const } : { id: card.id, scope: 'version' as const, versionId: u.latest.versionId };
      void model.request('ignore-update', content).then((reply) => {
        if (!reply.ok) return;
        // The hidden update leaves the badge at once; the next check agrees (the ignore is in the index).
        setUpdates((r) => r && { ...r, ignored: r.ignored + 1, updates: r.updates.filter((x) => x.modelId !== u.modelId) });
        notify(action === 'ignore-model' ? `Updates of ${u.modelName} are ignored.` : `${u.modelName} ${u.latest.name} is ignored until a newer version appears.`);
      });
    } else if (action === 'trash') {
      setBusyIds((s) => new Set([...s, card.id]));
      void model.request('remove', { id: card.id }).then((reply) => {
        setBusyIds((s) => new Set([...s].filter((id) => id !== card.id)));
        if (reply.ok) notify(`${displayTitle(card)}: moved to the library's trash with its sidecars.`);
      });
    } else if (action === 'refresh') {
      setBusyIds((s) => new Set([...s, card.id]));
      void model.request('refresh', { id: card.id }).then((reply) => {
        setBusyIds((s) => new Set([...s].filter((id) => id !== card.id)));
        if (reply.ok) {
          const c = reply.result as Card | null;
          notify(c?.civitai.state === 'found' ? `${displayTitle(c)}: found on Civitai.` : `${displayTitle(card)}: Civitai does not know this file.`);
        }
      });
    }
  };

  // The details view starts from the grid's card (it asks for the rest itself); editing and moving need the whole card.
  const gridCard = open ? cache.card(open.id) : undefined;
  const openCard = useFullCard(model, open && open.dialog !== 'details' ? open.id : null, gridCard);
  const total = cache.received ? cache.library : (summary?.models ?? 0);
  const shownCount = cache.count;
  const nsfwLevel = settings?.nsfwLevel ?? 2;

  return (
    <div class="md-panel" {...(cache.pending ? { 'data-md-pending': '' } : {})}>
      <ErrorBanner model={model} />
      <Toolbar model={model} root={root} onRoot={setRoot} notify={notify} />
      <ProgressBar progress={progress} />
      <MaintenanceBar model={model} updates={updates} onUpdates={setUpdates} onDuplicates={setDupes} onTrash={() => setTrashOpen(true)} />
      <DownloadsView model={model} root={root} notify={notify} />
      <FilterBar query={query} onChange={setQuery} kinds={facetMaps.kinds} bases={facetMaps.bases} shown={shownCount} total={total} />
      <div class="md-notice" role="status" aria-live="polite">
        {notice}
      </div>
      {shownCount > 0 ? (
        <CardGrid model={model} cards={source} onRange={onRange} resetKey={queryKey(query)} nsfwLevel={nsfwLevel} revealed={revealed} busyIds={busyIds} updates={updatesById} onAction={onAction} onCopy={onCopy} />
      ) : (
        <div class="md-empty">
          {!canAnswer || (!cache.received && cache.pending)
            ? 'Loading the library…'
            : total === 0
              ? 'No models yet. Put model files in the library folder and press Scan.'
              : `No model matches (${formatCount(total)} in the library).`}
          {total > 0 && shownCount === 0 && !cache.pending && (
            <button type="button" class="md-link-button" onClick={() => setQuery(DEFAULT_QUERY)}>
              Clear search and filters
            </button>
          )}
        </div>
      )}
      {open && openCard && open.dialog === 'edit' && <EditHashDialog model={model} card={openCard} onClose={() => setOpen(null)} notify={notify} />}
      {trashOpen && <TrashDialog model={model} onClose={() => setTrashOpen(false)} notify={notify} />}
      {open && openCard && open.dialog === 'move' && <MoveDialog model={model} card={openCard} onClose={() => setOpen(null)} notify={notify} />}
      {dupes && <DuplicatesDialog result={dupes} cardOf={(id) => cache.card(id)} onClose={() => setDupes(null)} model={model} />}
      {open && gridCard && open.dialog === 'details' && <DetailsView model={model} card={gridCard} update={updatesById.get(gridCard.id)} onDownloadUpdate={model.readOnly ? undefined : () => downloadUpdate(gridCard.id)} nsfwLevel={nsfwLevel} onClose={() => setOpen(null)} onCopy={onCopy} />}
    </div>
  );
}

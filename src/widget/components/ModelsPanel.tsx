/**
 * The whole panel: error banner, toolbar, progress, filters, the windowed card
 * grid and the dialogs. Search, filters and sort are local to this view; the
 * card list comes from the model's store.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ModelCard as Card, DuplicatesResult, UpdateInfo, UpdatesResult } from '../../kernel/protocol';
import { copyText } from '../download';
import { DEFAULT_QUERY, applyQuery, displayTitle, facets, type ViewQuery } from '../filter';
import { formatCount } from '../format';
import { useEmitter, useModelState } from '../hooks';
import type { PanelClient } from '../client';
import { CardGrid } from './CardGrid';
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

/** How long after the library is ready a view without cards waits before asking for them again. */
export const RESYNC_DELAY_MS = 1000;

type Open = { dialog: 'edit' | 'details' | 'move'; id: string } | null;

export function ModelsPanel({ model }: { model: PanelClient }) {
  const storeVersion = useEmitter(model.store);
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

  const all = model.store.list();
  const shown = useMemo(() => applyQuery(all, query, updatesById), [storeVersion, query, updatesById]); // eslint-disable-line react-hooks/exhaustive-deps
  const { kinds, bases } = useMemo(() => facets(all), [storeVersion]); // eslint-disable-line react-hooks/exhaustive-deps

  // The kernel sends every card right after `summary.ready`; a view that has none a moment later (it missed them) asks again.
  useEffect(() => {
    if (!summary?.ready || model.store.received) return;
    const t = setTimeout(() => model.store.received || model.resync(), RESYNC_DELAY_MS);
    return () => clearTimeout(t);
  }, [model, summary?.ready]);

  useEffect(() => () => void (noticeTimer.current && clearTimeout(noticeTimer.current)), []);

  const notify = (text: string) => {
    setNotice(text);
    if (noticeTimer.current) clearTimeout(noticeTimer.current);
    if (text) noticeTimer.current = setTimeout(() => setNotice(''), 8000);
  };

  const onCopy = async (word: string) => notify((await copyText(word)) ? `Copied “${word}”.` : `Could not copy; select it by hand: ${word}`);

  const onAction = (action: CardAction, card: Card) => {
    if (action === 'reveal') setRevealed(new Set([...revealed, card.id]));
    else if (action === 'edit' || action === 'details' || action === 'move') setOpen({ dialog: action, id: card.id });
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

  const openCard = open ? model.store.get(open.id) : undefined;
  const total = model.store.size;
  const nsfwLevel = settings?.nsfwLevel ?? 2;

  return (
    <div class="md-panel">
      <ErrorBanner model={model} />
      <Toolbar model={model} root={root} onRoot={setRoot} notify={notify} />
      <ProgressBar progress={progress} />
      <MaintenanceBar model={model} updates={updates} onUpdates={setUpdates} onDuplicates={setDupes} onTrash={() => setTrashOpen(true)} />
      <FilterBar query={query} onChange={setQuery} kinds={kinds} bases={bases} shown={shown.length} total={total} />
      <div class="md-notice" role="status" aria-live="polite">
        {notice}
      </div>
      {shown.length > 0 ? (
        <CardGrid model={model} cards={shown} nsfwLevel={nsfwLevel} revealed={revealed} busyIds={busyIds} updates={updatesById} onAction={onAction} onCopy={onCopy} />
      ) : (
        <div class="md-empty">
          {!summary?.ready
            ? 'Loading the library…'
            : total === 0
              ? 'No models yet. Put model files in the library folder and press Scan.'
              : `No model matches (${formatCount(total)} in the library).`}
          {total > 0 && shown.length === 0 && (
            <button type="button" class="md-link-button" onClick={() => setQuery(DEFAULT_QUERY)}>
              Clear search and filters
            </button>
          )}
        </div>
      )}
      {open && openCard && open.dialog === 'edit' && <EditHashDialog model={model} card={openCard} onClose={() => setOpen(null)} notify={notify} />}
      {trashOpen && <TrashDialog model={model} onClose={() => setTrashOpen(false)} notify={notify} />}
      {open && openCard && open.dialog === 'move' && <MoveDialog model={model} card={openCard} onClose={() => setOpen(null)} notify={notify} />}
      {dupes && <DuplicatesDialog result={dupes} cardOf={(id) => model.store.get(id)} onClose={() => setDupes(null)} />}
      {open && openCard && open.dialog === 'details' && <DetailsView model={model} card={openCard} update={updatesById.get(openCard.id)} nsfwLevel={nsfwLevel} onClose={() => setOpen(null)} onCopy={onCopy} />}
    </div>
  );
}

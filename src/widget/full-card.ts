/**
 * The whole card of one model, for the dialogs (hashes, sources, the manual
 * link, warnings): the grid has only slim cards, so a dialog asks for the
 * details when it opens, and again when the grid's card of it changes.
 */
import { useEffect, useState } from 'preact/hooks';
import type { GridCard, ModelCard, ModelDetails } from '../kernel/protocol';
import type { PanelClient } from './client';

export function useFullCard(model: Pick<PanelClient, 'request'>, id: string | null, shown: GridCard | undefined): ModelCard | undefined {
  const [card, setCard] = useState<ModelCard | undefined>(undefined);
  useEffect(() => {
    if (id === null) {
      setCard(undefined);
      return;
    }
    let live = true;
    void model.request('details', { id }).then((reply) => {
      if (live && reply.ok) setCard((reply.result as ModelDetails).card);
    });
    return () => {
      live = false;
    };
  }, [model, id, shown]);
  return card && card.id === id ? card : undefined;
}

/**
 * Hooks that subscribe Preact components to the model. Preact runs effects
 * after paint, so every subscription re-reads once subscribed: a change that
 * landed between the first render and the effect is not lost.
 */
import { useEffect, useReducer, useState } from 'preact/hooks';
import type { PanelState } from '../kernel/protocol';
import type { PanelClient } from './client';
import type { Emitter } from './emitter';

/** One state key, re-rendered on `change:<key>`. */
export function useModelState<K extends keyof PanelState>(model: PanelClient, key: K): PanelState[K] {
  const [value, setValue] = useState<PanelState[K]>(() => model.state(key));
  useEffect(() => {
    const onChange = () => setValue(model.state(key));
    model.on(`change:${key}`, onChange);
    onChange();
    return () => model.off(`change:${key}`, onChange);
  }, [model, key]);
  return value;
}

/** Re-renders when `source` emits; returns its version (a useMemo key). */
export function useEmitter(source: Emitter): number {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const rendered = source.version;
  useEffect(() => {
    const unsubscribe = source.subscribe(() => bump(undefined));
    if (source.version !== rendered) bump(undefined);
    return unsubscribe;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [source]);
  return source.version;
}

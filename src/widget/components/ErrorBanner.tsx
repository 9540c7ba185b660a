/**
 * Errors from the kernel (`errors` state) and from failed replies, newest
 * last. Each can be dismissed; kernel errors with a `dismiss` request, the
 * widget's own locally. The rest of the panel keeps working underneath.
 */
import type { PanelError } from '../../kernel/protocol';
import { useEmitter, useModelState } from '../hooks';
import type { PanelClient } from '../client';

export function ErrorBanner({ model }: { model: PanelClient }) {
  const kernelErrors = useModelState(model, 'errors') ?? [];
  useEmitter(model.localErrors);
  const errors: PanelError[] = [...kernelErrors, ...model.localErrors.items].sort((a, b) => a.at - b.at);
  if (errors.length === 0) return null;

  const dismiss = (ids: number[] | undefined) => {
    const kernelIds = ids ? ids.filter((id) => id > 0) : undefined;
    const localIds = ids ? ids.filter((id) => id < 0) : undefined;
    if (localIds === undefined || localIds.length) model.localErrors.dismiss(localIds);
    if (kernelIds === undefined ? kernelErrors.length : kernelIds.length) void model.request('dismiss', kernelIds ? { ids: kernelIds } : {});
  };

  return (
    <div class="md-errors" role="alert">
      <ul>
        {errors.slice(-5).map((e) => (
          <li key={e.id} class="md-error">
            <span class="md-error-code">{e.code}</span>
            <span class="md-error-message">{e.message}</span>
            <button type="button" class="md-icon-button" aria-label={`Dismiss error: ${e.message}`} onClick={() => dismiss([e.id])}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {errors.length > 1 && (
        <button type="button" class="md-link-button" onClick={() => dismiss(undefined)}>
          Dismiss all{errors.length > 5 ? ` (${errors.length})` : ''}
        </button>
      )}
    </div>
  );
}

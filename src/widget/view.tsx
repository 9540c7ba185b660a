/** The panel's view: a Preact root in the widget's element, unmounted in remove(). */
import { DOMWidgetView } from '@jupyter-widgets/base';
import { render } from 'preact';
import { ModelsPanel } from './components/ModelsPanel';
import type { ModelsPanelModel } from './model';

export class ModelsPanelView extends DOMWidgetView {
  render(): void {
    this.el.classList.add('modeldeck-panel');
    render(<ModelsPanel model={this.model as ModelsPanelModel} />, this.el);
  }

  remove(): void {
    // Unmounting runs the components' effect cleanups (model.off, timers, observers).
    render(null, this.el);
    super.remove();
  }
}

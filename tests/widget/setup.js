// jsdom lacks these; the widget (and @lumino/dragdrop, imported by @jupyter-widgets/base) expect them.
globalThis.DragEvent = class DragEvent extends Event {
  constructor(type, init) {
    super(type);
    this.dataTransfer = init && init.dataTransfer;
  }
};
// Object URLs: jsdom has Blob but not URL.createObjectURL. Record what is made and revoked.
let serial = 0;
globalThis.__objectUrls = { created: new Map(), revoked: new Set() };
URL.createObjectURL = (blob) => {
  const url = `blob:modeldeck-test/${++serial}`;
  globalThis.__objectUrls.created.set(url, blob);
  return url;
};
URL.revokeObjectURL = (url) => {
  globalThis.__objectUrls.revoked.add(url);
};

/**
 * Secrets (the Civitai token, HF_TOKEN, credentials per origin) live on
 * long-lived objects: a client's config, a notebook session, a download plan.
 * A notebook shows the value of a cell's last expression with util.inspect,
 * so `lib` or `panel` typed alone in a cell would print them. A field defined
 * here is not enumerable: util.inspect, console.log, JSON.stringify and object
 * spread all leave it out, while code that names it reads it as before.
 */
export function defineHidden<T extends object, K extends PropertyKey, V>(target: T, key: K, value: V): T & { readonly [P in K]: V } {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: false });
  return target as T & { readonly [P in K]: V };
}

/**
 * The one rule for every URL the engine fetches that it did not choose itself
 * (a preview URL from an API answer, and each redirect hop; downloads later):
 * a URL from Civitai's answer, or from a sidecar a stranger wrote, must not
 * become a request to the user's own machine or network.
 *
 * - https only; http only when the configured Civitai base is http itself (a
 *   test server or a local mirror).
 * - Previews only from Civitai's image hosts or an exempt origin.
 * - No loopback, link-local, private, shared or multicast address, except for
 *   the exempt origins: the configured base (and fallback) origins and those in
 *   `MODELDECK_ALLOWED_ORIGINS` (comma-separated), each exempt as a whole origin
 *   (scheme, host and port), so a test base on 127.0.0.1 does not open the door
 *   to every local service.
 * - Names are checked after resolution, at connect time (the addresses checked
 *   are the addresses used, so DNS rebinding between check and connect cannot
 *   slip through); literal IPs are checked before the request.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { Agent, Client } from 'undici';
import { resolveConfig, type CivitaiOptions } from '../civitai/config';
import { ModeldeckError } from '../errors';

/** Where Civitai serves images (civitai-api.md §7: the edge host, and the older cache host). */
export const CIVITAI_IMAGE_HOSTS = ['image.civitai.com', 'imagecache.civitai.com'] as const;

/** What a fetch is for: a preview must come from an image host; a download may come from any public host. */
export type FetchPurpose = 'preview' | 'download';

export class RefusedUrlError extends ModeldeckError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super('refused_url', `${safeForMessage(url)}: refused to fetch: ${reason}`);
  }
}

export interface OutboundPolicyOptions {
  /** The configured Civitai base origin (exempt). */
  baseUrl: string;
  /** More exempt origins: fallback bases, `MODELDECK_ALLOWED_ORIGINS`. */
  exemptOrigins?: readonly string[];
  /** Hosts previews may come from besides exempt origins. Default Civitai's image hosts. */
  previewHosts?: readonly string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const undici = () => require('undici') as typeof import('undici');

export class OutboundPolicy {
  private readonly exempt: Set<string>;
  private readonly allowHttp: boolean;
  private readonly previewHosts: Set<string>;
  private guardedAgent: Agent | undefined;
  private plainAgent: Agent | undefined;

  constructor(options: OutboundPolicyOptions) {
    const base = originOf(options.baseUrl);
    this.allowHttp = base?.startsWith('http:') ?? false;
    this.exempt = new Set([base, ...(options.exemptOrigins ?? []).map(originOf)].filter((o): o is string => !!o));
    this.previewHosts = new Set((options.previewHosts ?? CIVITAI_IMAGE_HOSTS).map((h) => h.toLowerCase()));
  }

  /** The policy for a Civitai configuration: its base and fallback origins, plus `MODELDECK_ALLOWED_ORIGINS`. */
  static forCivitai(options: CivitaiOptions = {}, env: NodeJS.ProcessEnv = process.env): OutboundPolicy {
    const config = resolveConfig(options, env);
    const listed = (env.MODELDECK_ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    return new OutboundPolicy({ baseUrl: config.baseUrl, exemptOrigins: [...config.fallbackBaseUrls, ...listed] });
  }

  /** Whether `url`'s origin is one the user configured (then any address is fine). */
  isExempt(url: URL): boolean {
    return this.exempt.has(url.origin);
  }

  /** Checks one URL (the first request or a redirect hop) before it is fetched; throws RefusedUrlError. */
  check(input: string | URL, purpose: FetchPurpose): URL {
    let url: URL;
    try {
      url = typeof input === 'string' ? new URL(input) : input;
    } catch {
      throw new RefusedUrlError(String(input), 'not a valid URL');
    }
    if (url.username || url.password) throw new RefusedUrlError(url.href, 'URLs with credentials are not fetched');
    const exempt = this.isExempt(url);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (this.allowHttp || exempt))) {
      throw new RefusedUrlError(url.href, `only https URLs are fetched (${url.protocol} given)`);
    }
    if (exempt) return url;
    const host = hostOf(url);
    if (purpose === 'preview' && !this.previewHosts.has(host)) {
      throw new RefusedUrlError(url.href, `previews come only from Civitai's image hosts or the configured Civitai origin, not ${host}`);
    }
    if (isIP(host) && isBlockedAddress(host)) throw new RefusedUrlError(url.href, `${host} is a local or private address`);
    return url;
  }

  /**
   * The undici dispatcher for a checked URL: exempt origins connect as usual;
   * every other one through an agent whose name lookups refuse blocked addresses.
   */
  dispatcherFor(url: URL): Agent {
    const { Agent } = undici();
    if (this.isExempt(url)) return (this.plainAgent ??= new Agent({ keepAliveTimeout: 4_000 }));
    return (this.guardedAgent ??= new Agent({ keepAliveTimeout: 4_000, connect: { lookup: guardedLookup } }));
  }

  /**
   * One connection of its own to a checked URL's origin (a download's connection: one socket kept
   * alive across its ranges, `pipelining` requests on it at once), with the same address guard as
   * `dispatcherFor`. The caller closes it.
   */
  connectionTo(url: URL, pipelining: number): Client {
    const { Client } = undici();
    const connect = this.isExempt(url) ? undefined : { lookup: guardedLookup };
    return new Client(url.origin, { keepAliveTimeout: 4_000, pipelining, ...(connect ? { connect } : {}) });
  }

  async close(): Promise<void> {
    await Promise.all([this.guardedAgent?.close(), this.plainAgent?.close()]);
    this.guardedAgent = this.plainAgent = undefined;
  }
}

/** Addresses no fetched URL may reach unless its origin is exempt. */
const BLOCKED = (() => {
  const b = new BlockList();
  const v4: Array<[string, number]> = [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
    ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
    ['224.0.0.0', 4], ['240.0.0.0', 4],
  ];
  for (const [net, prefix] of v4) b.addSubnet(net, prefix, 'ipv4');
  const v6: Array<[string, number]> = [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32]];
  for (const [net, prefix] of v6) b.addSubnet(net, prefix, 'ipv6');
  return b;
})();

/** True for loopback, private, link-local, shared, documentation, multicast and unspecified addresses (IPv4-mapped IPv6 included). */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1], 'ipv4');
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `dns.lookup` that drops blocked addresses and fails when none is left. */
function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const allowed = (addresses as LookupAddress[]).filter((a) => !isBlockedAddress(a.address));
    if (allowed.length === 0) {
      const refused = new RefusedUrlError(`//${hostname}`, `${hostname} resolves to a local or private address`) as RefusedUrlError & NodeJS.ErrnoException;
      return callback(refused, []);
    }
    if (options.all) return callback(null, allowed);
    callback(null, allowed[0].address, allowed[0].family);
  });
}

function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

/** `[::1]` → `::1`, names lower-cased. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

/** URLs in messages lose their query (signed URLs and tokens live there). */
function safeForMessage(url: string): string {
  return url.split(/[?#]/)[0].slice(0, 300);
}

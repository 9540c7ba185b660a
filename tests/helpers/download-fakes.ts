/**
 * The servers a download test talks to, started for one test file: the fake
 * Civitai with its signed-URL storage on another port and, when asked, the
 * fake HuggingFace; and the environment that points `modeldeck get` (or a
 * kernel) at them, with the fakes' origins allowed by the outbound policy.
 */
import { join } from 'node:path';
import { FakeCivitai } from '../fake-civitai';
import { FakeStorage } from '../fake-civitai/storage';
import { OutboundPolicy } from '../../src/core/net/outbound-policy';
import { FakeHuggingFace } from '../fake-hf/server';
import { TOKEN } from './civitai';

export interface DownloadFakes {
  fake: FakeCivitai;
  storage: FakeStorage;
  hf: FakeHuggingFace | null;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startDownloadFakes(workDir: string, opts: { hfToken?: string; huggingFace?: boolean } = {}): Promise<DownloadFakes> {
  const storage = await new FakeStorage().start();
  const fake = await new FakeCivitai({ fixturesDir: null, token: TOKEN }).start();
  fake.storage = storage;
  const hf = opts.huggingFace || opts.hfToken ? await new FakeHuggingFace(storage).start() : null;
  const env: NodeJS.ProcessEnv = {
    CIVITAI_BASE_URL: fake.url,
    CIVITAI_FALLBACK_BASE_URLS: '',
    CIVITAI_TOKEN: TOKEN,
    ...(hf ? { HF_ENDPOINT: hf.url } : {}),
    ...(opts.hfToken ? { HF_TOKEN: opts.hfToken } : {}),
    MODELDECK_ALLOWED_ORIGINS: hf ? `${storage.url},${hf.url}` : storage.url,
    MODELDECK_CACHE_DIR: join(workDir, 'cache'),
    MODELDECK_DOWNLOAD_RETRY_MS: '20',
  };
  return { fake, storage, hf, env, stop: async () => void (await Promise.all([fake.stop(), storage.stop(), hf?.stop()])) };
}

/**
 * The fake storage alone, with an outbound policy that allows it, for a test
 * file that calls `transfer()` directly: started before its tests, stopped
 * after them (also when they fail).
 */
export function useTransferStorage(): { readonly storage: FakeStorage; readonly policy: OutboundPolicy } {
  const holder = {} as { storage: FakeStorage; policy: OutboundPolicy };
  beforeAll(async () => {
    holder.storage = await new FakeStorage().start();
    holder.policy = new OutboundPolicy({ baseUrl: holder.storage.url });
  });
  afterAll(async () => {
    await holder.policy?.close();
    await holder.storage?.stop();
  });
  return holder;
}

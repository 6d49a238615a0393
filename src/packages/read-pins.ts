import { PINS_PREFIX } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';

/** One pin: its name and the text it holds (a digest unless someone wrote garbage). */
export interface Pin {
  name: string;
  digest: string;
}

/** Lists every pin in the store, in name order. Throws the store's errors. */
export async function readPins(store: Store): Promise<Pin[]> {
  const pins: Pin[] = [];
  for await (const o of listAll(store, PINS_PREFIX)) {
    const digest = (await store.getBytes(o.key, { maxBytes: 1024 })).toString('utf8').trim();
    pins.push({ name: o.key.slice(PINS_PREFIX.length), digest });
  }
  return pins;
}

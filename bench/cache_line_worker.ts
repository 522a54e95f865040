/**
 * The far side of `cacheLineRoundTrip` in bench/native.ts: waits for each odd value in word 0
 * of the shared buffer and answers with the next even one.
 * @module
 */

/** The worker's global scope, as far as this module uses it. */
interface WorkerScope {
  onmessage: (event: MessageEvent<{ buffer: SharedArrayBuffer; count: number }>) => void;
  postMessage(message: string): void;
}

const scope = self as unknown as WorkerScope;
scope.onmessage = (event) => {
  const word = new Int32Array(event.data.buffer);
  for (let i = 0; i < event.data.count; i++) {
    while (Atomics.load(word, 0) !== 2 * i + 1) { /* spin: the other CPU answers within µs */ }
    Atomics.store(word, 0, 2 * i + 2);
  }
  scope.postMessage("done");
};

/**
 * A barrier for `count` callers: each call waits until `count` calls were made, then all go on in
 * the same turn (concurrent works made to reach one step together, whatever the box's timing).
 */
export function barrier(count: number): () => Promise<void> {
  let waiting = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return () => {
    waiting += 1;
    if (waiting >= count) release();
    return released;
  };
}

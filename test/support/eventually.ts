// Polling for a condition in tests that watch another process or a background worker.

/** Waits until `condition` returns something truthy (polling) and returns it, or fails after `timeoutMs`. */
export async function eventually<T>(
  condition: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

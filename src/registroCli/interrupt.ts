// Ctrl-C: the first SIGINT aborts this signal (transfers stop, keeping their `.part` files; API calls
// are cancelled) and the command exits 130; a second one ends the process at once (Node's default,
// since the handler is installed once).
export const interrupt = new AbortController();

export function handleInterrupts(): void {
  process.once("SIGINT", () => interrupt.abort(new Error("interrupted")));
}

/**
 * The open Server-Sent Events streams of one app (sse.ts writes them), ended when it closes. A
 * leaf module: deps.ts holds one in `RouteDeps`, and sse.ts reads the deps.
 */
export class EventStreams {
  readonly open = new Set<() => void>();
  /** Set once the app closes: no new stream starts. */
  closing = false;

  closeAll(): void {
    this.closing = true;
    for (const end of [...this.open]) end();
  }
}

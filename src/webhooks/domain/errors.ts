import { DomainError } from "../../domain/errors.ts";

/**
 * The webhook's target resolves to an address in a private, loopback, link-local or otherwise
 * internal range (or cannot be resolved), and WEBHOOK_ALLOWED_TARGETS does not allow it: the
 * registry refuses to become a way into the networks it runs in.
 */
export class WebhookTargetRefusedError extends DomainError {
  readonly code = "WEBHOOK_TARGET_REFUSED";
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`webhook target ${url} is refused: ${reason}`);
    this.name = "WebhookTargetRefusedError";
  }
}

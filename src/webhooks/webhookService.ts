// What the rest of the server sees of the webhooks context: the SSRF allow-list (registration
// checks targets against it) and the worker's out-of-band sends (ping, redeliver).
import type { DeliveryRecord } from "./delivery/deliveryWorker.ts";
import type { TargetAllowList } from "./delivery/targetGuard.ts";

export interface WebhookService {
  readonly allow: TargetAllowList;
  ping(webhookId: string): Promise<DeliveryRecord | null>;
  redeliver(deliveryId: string): Promise<DeliveryRecord | null>;
}

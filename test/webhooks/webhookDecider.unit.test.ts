// The webhook aggregate's rules as given-events / when-command / then-events.
import { describe, expect, it } from "vitest";
import type { DomainError } from "../../src/domain/errors.ts";
import { InvalidStateError, ValidationError } from "../../src/domain/errors.ts";
import { EVENT_TYPES } from "../../src/domain/registeredModel/events.ts";
import type { WebhookEvent } from "../../src/webhooks/domain/events.ts";
import { parseWebhookEvent, WEBHOOK_EVENT_SCHEMA_VERSIONS } from "../../src/webhooks/domain/events.ts";
import { decideWebhook, evolveWebhook } from "../../src/webhooks/domain/webhook.ts";
import type { WebhookCommand, WebhookState } from "../../src/webhooks/domain/webhook.ts";

const known = EVENT_TYPES;
const registered: WebhookEvent = {
  type: "WebhookRegistered",
  data: {
    webhookId: "w1",
    ownerId: "p1",
    url: "https://hooks.example.com/registro",
    eventTypes: ["ModelVersionCreated"],
    models: ["fraud"],
    description: null,
  },
};

function given(events: readonly WebhookEvent[]) {
  let state: WebhookState | null = null;
  for (const e of events) state = evolveWebhook(state, e);
  return {
    when: (command: WebhookCommand) => {
      const decision = decideWebhook(command, state);
      return {
        then(
          expected: readonly WebhookEvent[] | (abstract new (...args: any[]) => DomainError),
          field?: string,
        ) {
          if (Array.isArray(expected)) expect(decision).toEqual(expected);
          else {
            expect(decision).toBeInstanceOf(expected as abstract new (...args: any[]) => DomainError);
            if (field) expect((decision as ValidationError).field).toBe(field);
          }
        },
      };
    },
  };
}

const register = (
  data: Partial<Extract<WebhookCommand, { type: "RegisterWebhook" }>["data"]> = {},
): WebhookCommand => ({
  type: "RegisterWebhook",
  data: { ...registered.data, knownEventTypes: known, ...data },
});

describe("the webhook decider", () => {
  it("registers a webhook, de-duplicating its lists", () => {
    given([])
      .when(
        register({ eventTypes: ["ModelVersionCreated", "ModelVersionCreated"], models: ["fraud", "fraud"] }),
      )
      .then([registered]);
  });

  it.each([
    [{ url: "ftp://x.example/" }, "url"],
    [{ url: "not a url" }, "url"],
    [{ url: "https://user:pw@x.example/" }, "url"],
    [{ url: "https://x.example/#frag" }, "url"],
    [{ url: `https://x.example/${"a".repeat(2100)}` }, "url"],
    [{ eventTypes: [] }, "eventTypes"],
    [{ eventTypes: ["NoSuchEvent"] }, "eventTypes.0"],
    [{ eventTypes: ["__proto__"] }, "eventTypes.0"],
    [{ models: [] }, "modelNames"],
    [{ models: ["a/b"] }, "modelNames.0"],
    [{ models: Array.from({ length: 101 }, (_, i) => `m${i}`) }, "modelNames"],
    [{ description: "x".repeat(1001) }, "description"],
  ])("refuses %j", (data, field) => {
    given([]).when(register(data)).then(ValidationError, field);
  });

  it("accepts every model event type, including ones other contexts add later (derived, not listed)", () => {
    given([])
      .when(register({ eventTypes: [...known] }))
      .then([{ ...registered, data: { ...registered.data, eventTypes: [...known] } }] as WebhookEvent[]);
  });

  it("updates only when something changes", () => {
    const update = (url: string): WebhookCommand => ({
      type: "UpdateWebhook",
      data: {
        url,
        eventTypes: ["ModelVersionCreated"],
        models: ["fraud"],
        description: null,
        knownEventTypes: known,
      },
    });
    given([registered]).when(update(registered.data.url)).then([]);
    given([registered])
      .when(update("https://other.example/"))
      .then([
        {
          type: "WebhookUpdated",
          data: {
            url: "https://other.example/",
            eventTypes: ["ModelVersionCreated"],
            models: ["fraud"],
            description: null,
          },
        },
      ]);
  });

  it("disables once, enables once, and records why", () => {
    const failing: WebhookEvent = {
      type: "WebhookDisabled",
      data: { reason: "FAILING", detail: "HTTP 503" },
    };
    given([registered])
      .when({ type: "DisableWebhook", data: { reason: "FAILING", detail: "HTTP 503" } })
      .then([failing]);
    given([registered, failing])
      .when({ type: "DisableWebhook", data: { reason: "MANUAL", detail: null } })
      .then([]);
    given([registered, failing])
      .when({ type: "EnableWebhook", data: {} })
      .then([{ type: "WebhookEnabled", data: {} }]);
    given([registered]).when({ type: "EnableWebhook", data: {} }).then([]);
  });

  it("rotates secrets without putting them in the event", () => {
    given([registered])
      .when({ type: "RotateWebhookSecret", data: {} })
      .then([{ type: "WebhookSecretRotated", data: {} }]);
  });

  it("refuses everything on a deleted or missing webhook", () => {
    const deleted: WebhookEvent = { type: "WebhookDeleted", data: {} };
    given([registered, deleted]).when({ type: "EnableWebhook", data: {} }).then(InvalidStateError);
    given([registered, deleted]).when({ type: "DeleteWebhook", data: {} }).then(InvalidStateError);
    given([]).when({ type: "DeleteWebhook", data: {} }).then(InvalidStateError);
    given([registered]).when(register()).then(InvalidStateError);
  });

  it("reads its events back through zod, refusing unknown types and versions", () => {
    expect(parseWebhookEvent("WebhookRegistered", 1, registered.data)).toEqual(registered);
    expect(() => parseWebhookEvent("WebhookRegistered", 2, registered.data)).toThrow();
    expect(() => parseWebhookEvent("Nope", 1, {})).toThrow();
    expect(() => parseWebhookEvent("WebhookDisabled", 1, { reason: "BORED", detail: null })).toThrow();
    expect(Object.keys(WEBHOOK_EVENT_SCHEMA_VERSIONS)).toHaveLength(6);
  });
});

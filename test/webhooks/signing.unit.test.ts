// Signatures per Standard Webhooks, checked against the specification's published example and an
// independent implementation (the `standardwebhooks` package).
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/domain/errors.ts";
import { checkWebhookSecret, newWebhookSecret, signMessage } from "../../src/webhooks/signing.ts";

describe("webhook signing", () => {
  it("matches the specification's example vector", () => {
    const headers = signMessage(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      new Date(1614265330 * 1000),
      '{"test": 2432232314}',
    );
    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("is accepted by the standardwebhooks library, and a changed body or secret is not", () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ type: "RegisteredModelCreated", data: { n: "ü ✓" } });
    const now = new Date();
    const headers = signMessage(secret, "msg_1", now, body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(new Webhook(secret).sign("msg_1", now, body)).toBe(headers["webhook-signature"]);
    expect(() => new Webhook(secret).verify(body + " ", { ...headers })).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  it("generates whsec_ secrets of 32 random bytes and checks client-supplied ones", () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), "base64")).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(a);
    expect(checkWebhookSecret("secret", a)).toBeNull();
    expect(checkWebhookSecret("secret", "whsec_" + Buffer.alloc(24, 7).toString("base64"))).toBeNull();
    for (const bad of [
      "whsec_",
      "whsec_short",
      a.slice(6),
      "whsec_" + Buffer.alloc(16).toString("base64"),
      "whsec_" + Buffer.alloc(65).toString("base64"),
      "whsec_" + "!".repeat(44),
      a + "\n",
    ])
      expect(checkWebhookSecret("secret", bad), bad).toBeInstanceOf(ValidationError);
  });
});

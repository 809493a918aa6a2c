// Artifact and registration-status rules as given / when / then scenarios, with no database.
import { describe, it } from "vitest";
import {
  AlreadyExistsError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from "../../src/domain/errors.ts";
import type {
  AddModelVersionArtifact,
  RegisteredModelCommand,
} from "../../src/domain/registeredModel/commands.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { given } from "../support/decider.ts";
import {
  aliasSet,
  artifactInspected,
  modelCreated,
  versionCreated,
  versionDeleted,
} from "../support/events.ts";

const SHA = "a".repeat(64);

const pending = (version = 1) => versionCreated(version, { status: "PENDING_REGISTRATION" });

function add(path: string, data: Partial<AddModelVersionArtifact["data"]> = {}): AddModelVersionArtifact {
  return {
    type: "AddModelVersionArtifact",
    data: {
      version: 1,
      path,
      role: "model",
      size: 42,
      sha256: SHA,
      mediaType: "application/octet-stream",
      ...data,
    },
  };
}

function added(path: string, version = 1): RegisteredModelEvent {
  return {
    type: "ModelVersionArtifactAdded",
    data: { version, path, role: "model", size: 42, sha256: SHA, mediaType: "application/octet-stream" },
  };
}

const finalize = (version = 1): RegisteredModelCommand => ({
  type: "FinalizeModelVersion",
  data: { version },
});
const failRegistration = (reason: string | null = null, version = 1): RegisteredModelCommand => ({
  type: "FailModelVersionRegistration",
  data: { version, reason },
});
const finalized: RegisteredModelEvent = { type: "ModelVersionFinalized", data: { version: 1 } };
const failed: RegisteredModelEvent = {
  type: "ModelVersionRegistrationFailed",
  data: { version: 1, reason: "upload died" },
};

describe("CreateModelVersion with pendingArtifacts", () => {
  it("starts PENDING_REGISTRATION instead of READY", () => {
    given([modelCreated()])
      .when({
        type: "CreateModelVersion",
        data: {
          source: "s3://b/1",
          runId: null,
          description: "",
          tags: [],
          params: {},
          metrics: [],
          pendingArtifacts: true,
        },
      })
      .then([pending(1)].map((e) => ({ ...e, data: { ...e.data, source: "s3://b/1" } })));
  });
});

describe("AddModelVersionArtifact", () => {
  it("records the artifact of a pending version", () => {
    given([modelCreated(), pending()])
      .when(add("tokenizer/vocab.txt", { role: "tokenizer" }))
      .then([
        {
          type: "ModelVersionArtifactAdded",
          data: {
            version: 1,
            path: "tokenizer/vocab.txt",
            role: "tokenizer",
            size: 42,
            sha256: SHA,
            mediaType: "application/octet-stream",
          },
        },
      ]);
  });

  it("accepts the same bytes under a second path (storage deduplicates, the log keeps both)", () => {
    given([modelCreated(), pending(), added("a.bin")])
      .when(add("b.bin"))
      .then([added("b.bin")]);
  });

  it("refuses a duplicate path", () => {
    given([modelCreated(), pending(), added("model.onnx")])
      .when(add("model.onnx"))
      .then(AlreadyExistsError, { resource: "Artifact", key: "fraud-detector v1 model.onnx" });
  });

  it("refuses a path that would be both a file and a folder", () => {
    given([modelCreated(), pending(), added("tokenizer/vocab.txt")])
      .when(add("tokenizer"))
      .then(ValidationError, { field: "path" });
  });

  it.each(["../model.onnx", "/abs", "a\\b", "ctl\u0001", "a//b"])("refuses the unsafe path %j", (path) => {
    given([modelCreated(), pending()]).when(add(path)).then(ValidationError, { field: "path" });
  });

  it("validates role, size, digest and media type", () => {
    const state = given([modelCreated(), pending()]);
    state.when(add("m", { role: "weights" as never })).then(ValidationError, { field: "role" });
    state.when(add("m", { size: -1 })).then(ValidationError, { field: "size" });
    state.when(add("m", { size: 1.5 })).then(ValidationError, { field: "size" });
    state.when(add("m", { sha256: "ABC" })).then(ValidationError, { field: "sha256" });
    state.when(add("m", { mediaType: "bogus" })).then(ValidationError, { field: "mediaType" });
  });

  it("freezes the artifact set once READY, and refuses FAILED versions", () => {
    given([modelCreated(), versionCreated(1)])
      .when(add("late.bin"))
      .then(InvalidStateError);
    given([modelCreated(), pending(), added("a"), finalized])
      .when(add("late.bin"))
      .then(InvalidStateError);
    given([modelCreated(), pending(), failed]).when(add("late.bin")).then(InvalidStateError);
  });

  it("refuses unknown and deleted versions", () => {
    given([modelCreated()]).when(add("a")).then(NotFoundError, { resource: "ModelVersion" });
    given([modelCreated(), pending(), versionDeleted(1)])
      .when(add("a"))
      .then(InvalidStateError);
  });
});

describe("FinalizeModelVersion", () => {
  it("makes a pending version with artifacts READY", () => {
    given([modelCreated(), pending(), added("model.onnx")])
      .when(finalize())
      .then([finalized]);
  });

  it("needs at least one artifact", () => {
    given([modelCreated(), pending()]).when(finalize()).then(InvalidStateError);
  });

  it("refuses FAILED versions; a READY one is finalized already, so that changes nothing", () => {
    given([modelCreated(), versionCreated(1)])
      .when(finalize())
      .then([]);
    given([modelCreated(), pending(), added("a"), finalized])
      .when(finalize())
      .then([]);
    given([modelCreated(), pending(), failed]).when(finalize()).then(InvalidStateError);
    given([modelCreated(), pending(), added("a"), finalized, versionDeleted(1)])
      .when(finalize())
      .then(InvalidStateError);
  });
});

describe("FailModelVersionRegistration", () => {
  it("marks a pending version FAILED_REGISTRATION, with or without a reason", () => {
    given([modelCreated(), pending()]).when(failRegistration("upload died")).then([failed]);
    given([modelCreated(), pending()])
      .when(failRegistration())
      .then([{ type: "ModelVersionRegistrationFailed", data: { version: 1, reason: null } }]);
  });

  it("refuses READY versions and overlong reasons; a FAILED one stays as it failed first", () => {
    given([modelCreated(), versionCreated(1)])
      .when(failRegistration())
      .then(InvalidStateError);
    given([modelCreated(), pending(), failed]).when(failRegistration()).then([]);
    given([modelCreated(), pending(), failed]).when(failRegistration("another reason")).then([]);
    given([modelCreated(), pending()])
      .when(failRegistration("x".repeat(5001)))
      .then(ValidationError, { field: "reason" });
  });
});

describe("status gates promotion and aliases", () => {
  const transition = (stage: "Staging" | "Production" | "Archived"): RegisteredModelCommand => ({
    type: "TransitionModelVersionStage",
    data: { version: 1, stage, comment: null, archiveExistingVersions: false },
  });
  const alias: RegisteredModelCommand = {
    type: "SetRegisteredModelAlias",
    data: { alias: "champion", version: 1 },
  };

  it("keeps PENDING and FAILED versions out of Staging, Production and aliases", () => {
    for (const history of [
      [modelCreated(), pending(), added("a")],
      [modelCreated(), pending(), failed],
    ]) {
      given(history).when(transition("Staging")).then(InvalidStateError);
      given(history).when(transition("Production")).then(InvalidStateError);
      given(history).when(alias).then(InvalidStateError);
    }
  });

  it("lets a finalized version be promoted and aliased", () => {
    // Inspected SAFE: an artifact never inspected would block Production and aliases (see inspection tests).
    const ready = [modelCreated(), pending(), added("a"), artifactInspected("a"), finalized];
    given(ready)
      .when(transition("Production"))
      .then([
        {
          type: "ModelVersionStageTransitioned",
          data: { version: 1, from: "None", to: "Production", comment: null, archived: [] },
        },
      ]);
    given(ready)
      .when(alias)
      .then([aliasSet("champion", 1)]);
  });
});

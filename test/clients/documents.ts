// The documents both client tests send, as plain text: each client parses them with its own `gql`.

export const CREATE_MODEL = `
  mutation CreateModel($name: String!) {
    createRegisteredModel(input: { name: $name }) {
      __typename
      ... on RegisteredModelPayload {
        registeredModel {
          id
          name
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`;

/** Registers a version of `$name` whose source names the client that made it. */
export const createVersion = (source: string) => `
  mutation CreateVersion($name: String!) {
    createModelVersion(input: { name: $name, source: "${source}" }) {
      __typename
      ... on ModelVersionPayload {
        modelVersion {
          id
          version
          stage
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`;

export const NODES = `
  query Nodes($ids: [ID!]!) {
    nodes(ids: $ids) {
      __typename
      ... on Node {
        id
      }
      ... on RegisteredModel {
        name
      }
      ... on ModelVersion {
        version
        stage
      }
    }
  }
`;

export const STAGE_CHANGED = `
  subscription StageChanged($name: String!) {
    modelVersionStageChanged(name: $name) {
      version
      previousStage
      stage
      modelVersion {
        id
        stage
      }
    }
  }
`;

export const PROMOTE = `
  mutation Promote($name: String!, $version: Int!) {
    transitionModelVersionStage(input: { name: $name, version: $version, stage: PRODUCTION }) {
      __typename
      ... on Error {
        code
        message
      }
    }
  }
`;

// The media type an artifact is served with. Clients often send nothing useful (curl --data-binary
// says application/x-www-form-urlencoded), so generic declarations fall back to a guess from the name.

const GENERIC = new Set([
  "application/octet-stream",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
]);

const BY_EXTENSION: Record<string, string> = {
  json: "application/json",
  jsonl: "application/jsonl",
  txt: "text/plain; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  onnx: "application/onnx",
  safetensors: "application/vnd.safetensors",
  gguf: "application/vnd.gguf",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
  npy: "application/x-npy",
  pkl: "application/x-pickle",
  pickle: "application/x-pickle",
  h5: "application/x-hdf5",
  keras: "application/x-hdf5",
};

export function guessMediaType(path: string, declared: string | null): string {
  if (declared !== null && !GENERIC.has(declared.split(";")[0]!.trim().toLowerCase())) return declared;
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  const extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  // Own entries only: a file named `x.constructor` or `x.__proto__` names no media type.
  return (
    (Object.hasOwn(BY_EXTENSION, extension) ? BY_EXTENSION[extension] : undefined) ??
    "application/octet-stream"
  );
}

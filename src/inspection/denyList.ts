// What a pickle may never import: the deny-list, checked before any allow-list (built-in or the
// operator's INSPECTION_ALLOW_IMPORTS), so nothing configured can let these through.

/** A listed module also covers its submodules ("os" covers "os.path"). */
export const DENIED_MODULES = [
  "os",
  "posix",
  "nt",
  "subprocess",
  "sys",
  "socket",
  "ssl",
  "shutil",
  "runpy",
  "pty",
  "pdb",
  "bdb",
  "pickle",
  "_pickle",
  "ctypes",
  "asyncio",
  "aiohttp",
  "httplib",
  "http.client",
  "requests.api",
  "requests",
  "urllib.request",
  "urllib2",
  "webbrowser",
  "pip",
  "ensurepip",
  "venv",
  "code",
  "codeop",
  "timeit",
  "pydoc",
  "profile",
  "cProfile",
  "importlib",
  "marshal",
  "numpy.f2py",
  "numpy.testing._private.utils",
  "uuid",
  "_osx_support",
  "_aix_support",
  "commands",
  "multiprocessing",
  "signal",
  "_posixsubprocess",
  "tempfile",
  "glob",
  "pathlib",
  "ftplib",
  "smtplib",
  "telnetlib",
  "xmlrpc",
  "cloudpickle",
  "dill",
  "builtins.__import__",
  "torch.hub",
  "torch._C._jit",
  "_thread",
  "threading",
  "select",
  "shelve",
  "dbm",
];

/** Exact module.name pairs (or a name prefix followed by "."). */
export const DENIED_NAMES: Record<string, readonly string[]> = {
  builtins: [
    "eval",
    "exec",
    "compile",
    "getattr",
    "setattr",
    "delattr",
    "apply",
    "open",
    "breakpoint",
    "__import__",
    "globals",
    "locals",
    "vars",
    "input",
    "memoryview",
    "exit",
    "quit",
    "help",
  ],
  __builtin__: [
    "eval",
    "exec",
    "execfile",
    "compile",
    "getattr",
    "setattr",
    "delattr",
    "apply",
    "open",
    "file",
    "breakpoint",
    "__import__",
    "globals",
    "locals",
    "vars",
    "input",
    "raw_input",
    "reload",
  ],
  types: ["CodeType", "FunctionType", "LambdaType", "MethodType", "ModuleType"],
  functools: ["partial", "reduce"],
  operator: ["attrgetter", "itemgetter", "methodcaller"],
  _operator: ["attrgetter", "itemgetter", "methodcaller"],
  logging: ["FileHandler", "StreamHandler", "handlers"],
  "logging.handlers": ["*"],
  _io: ["FileIO", "open"],
  io: ["FileIO", "open"],
  codecs: ["open"],
  "torch.serialization": ["load", "_load"],
  "torch.jit.unsupported_tensor_ops": ["execWrapper"],
  "torch.storage": ["_load_from_bytes"],
  "numpy.lib.npyio": ["load"],
  numpy: ["load", "loads", "fromfile"],
  "pandas.io.pickle": ["read_pickle"],
  joblib: ["load"],
};

export function underModule(module: string, root: string): boolean {
  return module === root || module.startsWith(`${root}.`);
}

/**
 * Attributes a dotted name only walks through to escape: to a module's builtins or globals, or from
 * an object to its class and from there to every class. No model's own classes are named so.
 */
const ESCAPE_ATTRIBUTES: ReadonlySet<string> = new Set([
  "__builtins__",
  "__globals__",
  "__import__",
  "__dict__",
  "__class__",
  "__base__",
  "__bases__",
  "__mro__",
  "__subclasses__",
  "__getattribute__",
  "__code__",
  "__closure__",
  "__func__",
  "__self__",
  "__loader__",
  "__spec__",
]);

/** Longer than any class's qualified name: refused rather than searched. */
const MAX_NAME_PARTS = 32;
const MAX_NAME_LENGTH = 1024;

const DENIED_MODULE_PARTS = DENIED_MODULES.map((m) => m.split("."));
const MAX_KEY_PARTS = Math.max(...Object.keys(DENIED_NAMES).map((m) => m.split(".").length));

/** Whether `parts` from index `at` on starts with `prefix`. */
function startsWithParts(parts: readonly string[], at: number, prefix: readonly string[]): boolean {
  if (at + prefix.length > parts.length) return false;
  for (let k = 0; k < prefix.length; k++) if (parts[at + k] !== prefix[k]) return false;
  return true;
}

/** The deny rule a module and name exactly as written fall under. */
function deniedAsWritten(module: string, name: string): string | null {
  const full = `${module}.${name}`;
  for (const m of DENIED_MODULES)
    if (underModule(module, m) || underModule(full, m))
      return `the denied module ${m} (and everything under it)`;
  return deniedName(module, name);
}

/** The DENIED_NAMES rule `module.name` falls under. */
function deniedName(module: string, name: string): string | null {
  // `module` comes from the file: "constructor" or "toString" must not find Object's members.
  const names = Object.hasOwn(DENIED_NAMES, module) ? DENIED_NAMES[module] : undefined;
  if (names === undefined) return null;
  if (names.includes("*")) return `the denied module ${module} (every name in it)`;
  const hit = names.find((n) => name === n || name.startsWith(`${n}.`));
  return hit === undefined ? null : `the denied name ${module}.${hit}`;
}

/**
 * The deny rule module.name falls under, worded for a message, or null when none does.
 *
 * From protocol 4 on, pickle.load reads a dotted name as a chain of attributes: `genericpath` with
 * `os.system` is `genericpath.os.system`, which is `os.system`. So a denied module, or a denied
 * module and name, anywhere along the name's parts counts as that import, and so does an attribute
 * that only serves an escape (`__globals__`, `__builtins__`…).
 */
export function deniedRule(module: string, name: string): string | null {
  const asWritten = deniedAsWritten(module, name);
  if (asWritten !== null || !name.includes(".")) return asWritten;
  const parts = name.split(".");
  if (parts.length > MAX_NAME_PARTS || name.length > MAX_NAME_LENGTH)
    return `a dotted name longer than any class's (${parts.length} parts, ${name.length} characters)`;
  for (const part of parts)
    if (ESCAPE_ATTRIBUTES.has(part)) return `the attribute ${part}, which only serves to escape`;
  for (let i = 0; i < parts.length; i++) {
    for (const m of DENIED_MODULE_PARTS)
      if (startsWithParts(parts, i, m)) return `the denied module ${m.join(".")} (reached as an attribute)`;
    // DENIED_NAMES' modules have at most MAX_KEY_PARTS parts.
    for (let j = i + 1; j < parts.length && j <= i + MAX_KEY_PARTS; j++) {
      const rule = deniedName(parts.slice(i, j).join("."), parts.slice(j).join("."));
      if (rule !== null) return `${rule} (reached as an attribute)`;
    }
  }
  return null;
}

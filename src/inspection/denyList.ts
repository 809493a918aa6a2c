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

/** The deny rule module.name falls under, worded for a message, or null when none does. */
export function deniedRule(module: string, name: string): string | null {
  const full = `${module}.${name}`;
  for (const m of DENIED_MODULES)
    if (underModule(module, m) || underModule(full, m))
      return `the denied module ${m} (and everything under it)`;
  // `module` comes from the file: "constructor" or "toString" must not find Object's members.
  const names = Object.hasOwn(DENIED_NAMES, module) ? DENIED_NAMES[module] : undefined;
  if (names === undefined) return null;
  if (names.includes("*")) return `the denied module ${module} (every name in it)`;
  const hit = names.find((n) => name === n || name.startsWith(`${n}.`));
  return hit === undefined ? null : `the denied name ${module}.${hit}`;
}

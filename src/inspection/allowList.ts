/**
 * What a pickle may import without a finding, per library and version range.
 *
 * Built from what the libraries' own pickling code writes: test/fixtures/inspection/real/generate.py
 * pickles real objects with the real libraries and records, in imports.json, every global their own
 * unpickler asks for. Functions (lower-case callables) are listed one by one: a library being vetted
 * never lets `pkg.some_function` through. Classes may be allowed by package (`classRoots`) where the
 * package's classes only store their arguments and restore state by attribute assignment; the
 * subpackages whose constructors read files, open sockets or evaluate strings are excluded.
 * docs/inspection.md ("Allow-list") renders the same table.
 */
export interface LibraryAllowList {
  library: string;
  /** Versions whose pickles were checked (corpus) or whose pickling code was read. */
  versions: string;
  /** module → exact names (functions, classes, types) */
  names: Readonly<Record<string, readonly string[]>>;
  /** CamelCase (optionally `_`-prefixed) class names anywhere under these modules. */
  classRoots?: readonly string[];
  /** Subpackages of classRoots whose classes are NOT allowed by package. */
  classExcept?: readonly string[];
}

const NUMPY_SCALAR_TYPES = [
  "bool_",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "intc",
  "uintc",
  "longlong",
  "ulonglong",
  "float16",
  "float32",
  "float64",
  "longdouble",
  "complex64",
  "complex128",
  "clongdouble",
  "str_",
  "bytes_",
  "object_",
  "void",
  "datetime64",
  "timedelta64",
];

const SPARSE = ["csr", "csc", "coo", "lil", "dok", "bsr", "dia"];

const SKLEARN_CY_LOSSES = [
  "CyHalfSquaredError",
  "CyAbsoluteError",
  "CyPinballLoss",
  "CyHuberLoss",
  "CyHalfPoissonLoss",
  "CyHalfGammaLoss",
  "CyHalfTweedieLoss",
  "CyHalfTweedieLossIdentity",
  "CyHalfBinomialLoss",
  "CyExponentialLoss",
  "CyHalfMultinomialLoss",
];

export const ALLOW_LISTS: readonly LibraryAllowList[] = [
  {
    library: "Python standard library",
    versions: "3.8-3.12 (pickle protocols 0-5)",
    names: {
      builtins: [
        "set",
        "frozenset",
        "slice",
        "complex",
        "bytearray",
        "object",
        "range",
        "bytes",
        "int",
        "float",
        "str",
        "list",
        "dict",
        "tuple",
        "bool",
      ],
      __builtin__: [
        "set",
        "frozenset",
        "slice",
        "complex",
        "object",
        "bytearray",
        "bytes",
        "long",
        "int",
        "float",
        "str",
        "unicode",
        "list",
        "dict",
        "tuple",
        "bool",
      ],
      collections: ["OrderedDict", "defaultdict", "Counter", "deque"],
      copy_reg: ["_reconstructor"],
      copyreg: ["_reconstructor", "__newobj__"],
      _codecs: ["encode"],
      datetime: ["datetime", "date", "time", "timedelta", "timezone"],
      decimal: ["Decimal"],
      fractions: ["Fraction"],
      re: ["_compile"],
    },
  },
  {
    library: "NumPy",
    versions: "1.16-1.26 (numpy.core) and 2.x (numpy._core); corpus: 1.24",
    names: {
      numpy: ["dtype", "ndarray", ...NUMPY_SCALAR_TYPES],
      "numpy.core.multiarray": ["_reconstruct", "scalar"],
      "numpy._core.multiarray": ["_reconstruct", "scalar"],
      "numpy.core.numeric": ["_frombuffer"],
      "numpy._core.numeric": ["_frombuffer"],
      "numpy.ma.core": ["_mareconstruct", "MaskedArray"],
      // Random states: the constructors look the bit generator up by name in a fixed table.
      "numpy.random._pickle": ["__randomstate_ctor", "__bit_generator_ctor", "__generator_ctor"],
      "numpy.random": ["__RandomState_ctor"], // numpy < 1.17
      "numpy.random.mtrand": ["RandomState"],
      "numpy.random._generator": ["Generator"],
      "numpy.random._mt19937": ["MT19937"],
      "numpy.random._pcg64": ["PCG64", "PCG64DXSM"],
      "numpy.random._philox": ["Philox"],
      "numpy.random._sfc64": ["SFC64"],
      "numpy.random.bit_generator": ["SeedSequence"],
    },
  },
  {
    library: "joblib",
    versions: "0.9-1.4 (NumpyArrayWrapper); < 0.9 (NDArrayWrapper, ZNDArrayWrapper); corpus: 1.2",
    names: { "joblib.numpy_pickle": ["NumpyArrayWrapper", "NDArrayWrapper", "ZNDArrayWrapper"] },
  },
  {
    library: "pandas",
    versions: "1.3-2.2; corpus: 1.5",
    names: {
      "pandas._libs.arrays": ["__pyx_unpickle_NDArrayBacked"],
      "pandas._libs.missing": ["NA", "NAType"],
      "pandas._libs.internals": ["_unpickle_block"],
      "pandas._libs.tslibs.timestamps": ["_unpickle_timestamp"],
      "pandas._libs.tslibs.timedeltas": ["_timedelta_unpickle"],
      "pandas._libs.tslibs.nattype": ["__nat_unpickle"],
      "pandas.core.indexes.base": ["_new_Index"],
      "pandas.core.indexes.datetimes": ["_new_DatetimeIndex"],
      "pandas.core.indexes.interval": ["_new_IntervalIndex"],
      "pandas.core.indexes.period": ["_new_PeriodIndex"],
    },
    classRoots: ["pandas.core", "pandas._libs.tslibs", "pandas._libs.interval", "pandas._libs.sparse"],
    // pandas.core.computation parses and evaluates expression strings.
    classExcept: ["pandas.core.computation", "pandas.core.config_init"],
  },
  {
    library: "pytz (pandas time zones)",
    versions: "2018.3 and later; corpus: 2022.7",
    // _p looks the zone up by name in pytz's own zoneinfo (names with ".." or "/" parts refused).
    names: { pytz: ["_UTC", "_p", "utc"] },
  },
  {
    library: "scikit-learn",
    versions: "0.24-1.5; corpus: 1.2",
    names: {
      "sklearn._loss._loss": SKLEARN_CY_LOSSES.map((c) => `__pyx_unpickle_${c}`),
      "sklearn.neighbors._kd_tree": ["newObj"],
      "sklearn.neighbors._ball_tree": ["newObj"],
      "sklearn.metrics._dist_metrics": ["newObj"],
    },
    classRoots: ["sklearn"],
    // sklearn.utils._joblib re-exports joblib.Memory, whose constructor creates cache directories
    classExcept: ["sklearn.datasets", "sklearn.externals", "sklearn.utils._testing", "sklearn.utils._joblib"],
  },
  {
    library: "SciPy sparse",
    versions: "1.0-1.13 (scipy.sparse.X before 1.8, scipy.sparse._X from 1.8); corpus: 1.10",
    names: Object.fromEntries<readonly string[]>([
      ...SPARSE.map((k): [string, string[]] => [`scipy.sparse._${k}`, [`${k}_matrix`, `${k}_array`]]),
      ...SPARSE.map((k): [string, string[]] => [`scipy.sparse.${k}`, [`${k}_matrix`]]),
      ["scipy.sparse._arrays", SPARSE.map((k) => `${k}_array`)],
    ]),
  },
  {
    library: "XGBoost",
    versions: "1.0-2.1; corpus: 1.7",
    names: { "xgboost.core": ["Booster"] },
    classRoots: ["xgboost"],
    // the tracker opens sockets in its constructor; the rest is distributed-training plumbing
    classExcept: ["xgboost.tracker", "xgboost.rabit", "xgboost.collective", "xgboost.dask", "xgboost.spark"],
  },
  {
    library: "LightGBM, CatBoost",
    versions: "not in the corpus (not packaged here): estimator classes only, carried over",
    names: {},
    classRoots: ["lightgbm", "catboost"],
  },
  {
    library: "statsmodels",
    versions: "0.12-0.14; corpus: 0.13",
    names: {},
    classRoots: ["statsmodels"],
    classExcept: ["statsmodels.iolib", "statsmodels.datasets"],
  },
  {
    library: "PyTorch",
    versions: "1.6-2.4 (zip and legacy torch.save); corpus: 1.13",
    names: {
      "torch._utils": [
        "_rebuild_tensor",
        "_rebuild_tensor_v2",
        "_rebuild_tensor_v3",
        "_rebuild_parameter",
        "_rebuild_parameter_with_state",
        "_rebuild_qtensor",
        "_rebuild_sparse_tensor",
      ],
      "torch._tensor": ["_rebuild_from_type_v2"],
      torch: ["Size", "device", "Tensor"],
      "torch.nn.parameter": ["Parameter"],
      "torch.storage": ["UntypedStorage", "TypedStorage"],
      "torch.serialization": ["_get_layout"],
      "torch.jit._pickle": [
        "build_intlist",
        "build_tensorlist",
        "build_doublelist",
        "build_boollist",
        "restore_type_tag",
      ],
    },
    // full-model pickles name the nn layer classes (torch.nn.modules.linear.Linear, ...)
    classRoots: ["torch.nn.modules"],
  },
];

/** torch dtypes, layouts, memory formats and storage classes pickle as `torch <name>` globals. */
export const TORCH_ATTRS =
  /^(float|float16|float32|float64|bfloat16|half|double|int|int8|int16|int32|int64|uint8|bool|complex64|complex128|long|short|qint8|quint8|qint32|strided|sparse_coo|contiguous_format|channels_last|preserve_format)$/;

export const CLASS_NAME = /^_*[A-Z][A-Za-z0-9_]*$/;

function under(module: string, root: string): boolean {
  return module === root || module.startsWith(`${root}.`);
}

const EXACT = new Map<string, LibraryAllowList>();
for (const lib of ALLOW_LISTS)
  for (const [m, names] of Object.entries(lib.names)) for (const n of names) EXACT.set(`${m}.${n}`, lib);

export type AllowDecision =
  | { allowed: true; library: string }
  | {
      allowed: false;
      /** Why it is not allowed, phrased for the finding. */
      why: string;
      library: string | null;
    };

/** Whether module.name is on an allow-list; when not, why (for the finding). */
export function allowDecision(
  module: string,
  name: string,
  opts: { torchScript?: boolean } = {},
): AllowDecision {
  const exact = EXACT.get(`${module}.${name}`);
  if (exact) return { allowed: true, library: exact.library };
  if (module === "torch" && (/^[A-Za-z0-9]*Storage$/.test(name) || TORCH_ATTRS.test(name)))
    return { allowed: true, library: "PyTorch" };
  if (module === "torch.cuda" && /Storage$/.test(name)) return { allowed: true, library: "PyTorch" };
  if (under(module, "__torch__")) {
    if (opts.torchScript) return { allowed: true, library: "PyTorch (TorchScript)" };
    return {
      allowed: false,
      library: "PyTorch",
      why: "__torch__ classes are only expected inside a TorchScript archive (code/ + constants.pkl), and this file is not one",
    };
  }
  const lib =
    ALLOW_LISTS.find((l) => (l.classRoots ?? []).some((r) => under(module, r))) ??
    ALLOW_LISTS.find((l) => Object.keys(l.names).some((m) => under(module, m.split(".")[0]!)));
  if (!lib)
    return {
      allowed: false,
      library: null,
      why: `module ${module} belongs to no vetted library (vetted: ${ALLOW_LISTS.map((l) => l.library).join("; ")})`,
    };
  const excluded = (lib.classExcept ?? []).find((e) => under(module, e));
  const isClass = CLASS_NAME.test(name);
  if (isClass && (lib.classRoots ?? []).some((r) => under(module, r))) {
    if (!excluded) return { allowed: true, library: lib.library };
    return {
      allowed: false,
      library: lib.library,
      why: `${lib.library} classes are allowed by package except under ${excluded}, whose constructors read files, open connections or evaluate strings`,
    };
  }
  if (!isClass)
    return {
      allowed: false,
      library: lib.library,
      why: `${name} is a function (lower-case name) in ${lib.library}; functions are allow-listed one by one (only the reconstructors ${lib.library} ${lib.versions} itself writes into pickles), and this one is not among them`,
    };
  return {
    allowed: false,
    library: lib.library,
    why: `${lib.library} is allow-listed name by name (${lib.versions}) and ${module}.${name} is not one of those names`,
  };
}

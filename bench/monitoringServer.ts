// A Registro for the monitoring benchmark: `on` logs one line per request (to stdout, as `npm
// start` does) and keeps the metrics; `off` does neither. Everything else is `npm start`'s.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { createLogger } from "../src/logger.ts";
import { createRegistro } from "../src/registro.ts";

const instrumentation = process.argv[2] !== "off";
const dataDir = path.resolve(process.env.DATA_DIR ?? ".");
mkdirSync(dataDir, { recursive: true });
const registro = await createRegistro({
  database: { provider: "sqlite", file: path.join(dataDir, "registro.db") },
  dataDir,
  logger: createLogger("info"),
  inspection: { enabled: false },
  instrumentation,
});
await registro.app.listen(Number(process.env.PORT), "127.0.0.1");
const stop = () => void registro.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

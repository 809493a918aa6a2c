// Every prisma CLI call must find this config: with engine "js" and a driver adapter, Prisma 6 runs
// fully offline instead of downloading native engines (see shared stack notes).
import { defineConfig } from "prisma/config";

process.env.REGISTRO_PRISMA_POSTGRES_URL ??= "postgresql://postgres@127.0.0.1:5432/postgres";

export default defineConfig({
  engine: "js",
  experimental: { adapter: true },
  schema: "prisma/sqlite",
  async adapter() {
    const { PrismaBetterSQLite3 } = await import("@prisma/adapter-better-sqlite3");
    return new PrismaBetterSQLite3({ url: ":memory:" });
  },
});

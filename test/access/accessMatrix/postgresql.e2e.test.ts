// The access matrix (./matrix.ts) on PostgreSQL: skipped (with a warning) when it is unreachable,
// unless REQUIRE_POSTGRES=1, which fails instead.
import { providers } from "../../support/databases.ts";
import { describeAccessMatrix } from "./matrix.ts";

describeAccessMatrix("postgresql", { skip: !(await providers()).includes("postgresql") });

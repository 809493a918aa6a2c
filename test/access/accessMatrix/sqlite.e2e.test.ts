// The access matrix (./matrix.ts) on SQLite, with the matrix's own completeness checks.
import { describeAccessMatrix, describeMatrixShape } from "./matrix.ts";

describeMatrixShape();
describeAccessMatrix("sqlite", { skip: false });

#!/usr/bin/env node
// The `registro` command line (docs/cli.md). Runs its TypeScript through tsx, as `npm start` does
// with `node --import tsx`: registering tsx's loader here is what that flag does.
import { register } from "tsx/esm/api";

register();
await import("../src/registroCli/main.ts");

// Imported first by src/main.ts, before any module that loads graphql: a server started without
// NODE_ENV runs its libraries in production mode. graphql-js decides once, as it loads, whether every
// `instanceof` that fails (the executor asks "is this an object type?" and the like many times per
// request) also looks for a second copy of graphql-js in the process; Pothos checks every Prisma
// selection for unused fields (src/graphql/builder.ts); Prisma formats its errors without colours.
// The first two took about 3 % of the server's time on createModelVersion (#18, docs/performance.md).
// NODE_ENV=development (or test, as vitest sets it) keeps those checks; an empty NODE_ENV counts as unset.
if (!process.env.NODE_ENV) process.env.NODE_ENV = "production";

// The S3-compatible server of the object-store benchmark, in a process of its own so that neither
// side of the comparison (the bench's own SDK client, the Registro child) shares an event loop with
// it. Prints one JSON line (endpoint, bucket, credentials, env) once it listens; stops on SIGTERM.
import { startS3Server } from "../test/support/s3Server.ts";

const server = await startS3Server({ bucket: "registro-bench" });
const { endpoint, bucket, credentials, env } = server;
process.stdout.write(`${JSON.stringify({ endpoint, bucket, credentials, env })}\n`);
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));

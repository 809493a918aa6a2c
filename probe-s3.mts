import { startS3Server } from "./test/support/s3Server.ts";
const s3 = await startS3Server();
console.log(JSON.stringify(s3.env));
process.on("SIGTERM", async () => { await s3.close(); process.exit(0); });
setInterval(() => {}, 1000);

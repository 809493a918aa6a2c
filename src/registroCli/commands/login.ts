// `registro login`: checks a server URL and token with a `viewer` query, then stores them in the
// config file (mode 0600) for later commands.
import type { Command } from "commander";
import { contextOf } from "../context.ts";
import { configFilePath, writeStoredLogin } from "../settings.ts";

export function registerLoginCommand(program: Command): void {
  program
    .command("login")
    .description("check a server and token, and remember them (token from --token, REGISTRO_TOKEN or stdin)")
    .option(
      "--token <token>",
      "the API token (rgo_…); prefer REGISTRO_TOKEN or stdin, which stay out of shell history",
    )
    .option("--token-stdin", "read the token from standard input")
    .action(async (options: { token?: string; tokenStdin?: boolean }, command: Command) => {
      let token = options.token;
      if (options.tokenStdin) {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
        token = Buffer.concat(chunks).toString("utf8").trim();
      }
      if (token !== undefined) process.env.REGISTRO_TOKEN = token;
      const { client, settings, out } = contextOf(command);
      const data = await client.request<{
        viewer: { id: string; displayName: string; kind: string; role: string };
      }>(`{ viewer { id displayName kind role } }`);
      const file = configFilePath();
      writeStoredLogin({ url: settings.url, ...(settings.token ? { token: settings.token } : {}) }, file);
      out.result(
        { url: settings.url, viewer: data.viewer, configFile: file },
        () =>
          `logged in to ${settings.url} as ${data.viewer.displayName} (${data.viewer.kind}, ${data.viewer.role}); saved in ${file}`,
      );
    });
}

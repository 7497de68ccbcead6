// An authorization server nobody in this project wrote (npm oauth2-mock-server),
// for tests/e2e/test_oauth.py: RS256 keys, discovery, JWKS and a token endpoint
// on 127.0.0.1. Its one adjustment: a token's `aud` is the RFC 8707 `resource`
// the client asked for (the mock sets `aud` only from a non-standard `aud`
// parameter), as a real provider configured for the MCP server would.
// Prints {"issuer": ...} once it listens; stops when stdin closes.
import { OAuth2Server } from "oauth2-mock-server";

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
server.service.on("beforeTokenSigning", (token, req) => {
  const resource = req.body?.resource;
  if (token.payload.aud === undefined && typeof resource === "string") {
    token.payload.aud = resource;
  }
  token.payload.sub ??= req.body?.client_id ?? "mock-client";
});
await server.start(0, "127.0.0.1");
process.stdout.write(JSON.stringify({ issuer: server.issuer.url }) + "\n");
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.stop();
  process.exit(0);
});

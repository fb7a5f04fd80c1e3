// The loopback half of Google's OAuth flow for installed apps: a one-shot HTTP server on
// 127.0.0.1 that receives the browser's redirect with the authorization code.
import { createServer, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CliError } from "./errors";

export const CALLBACK_PATH = "/oauth2callback";

export interface Loopback {
    redirectUri: string;
    /** Resolves with the code of the redirect carrying `state`; rejects on an OAuth error or timeout. */
    waitForCode(state: string, timeoutMs: number): Promise<string>;
    close(): Promise<void>;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };

/** Text as HTML character data: any page can send the browser here with an `error` of its choosing. */
export function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

const page = (title: string, text: string) =>
    `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><body style="font-family:sans-serif"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body>`;

/** The page runs nothing and loads nothing, whatever ends up in it. */
const PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    "x-content-type-options": "nosniff",
    connection: "close",
};

export async function startLoopback(port: number): Promise<Loopback> {
    let deliver: ((result: { code?: string; error?: string; state: string }) => void) | undefined;
    const server: Server = createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://127.0.0.1");
        if (url.pathname !== CALLBACK_PATH) {
            response.writeHead(404).end();
            return;
        }
        const code = url.searchParams.get("code") ?? undefined;
        const error = url.searchParams.get("error") ?? undefined;
        const state = url.searchParams.get("state") ?? "";
        const ok = code !== undefined && error === undefined;
        response.writeHead(ok ? 200 : 400, PAGE_HEADERS);
        response.end(ok ? page("ses-mail: access granted", "The refresh token is being stored. You can close this tab.") : page("ses-mail: no access", `Google answered: ${error ?? "no code"}. See the terminal.`));
        deliver?.({ code, error, state });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE"
            ? new CliError(`Port ${port} on 127.0.0.1 is in use (another program, or an earlier run still waiting). Stop it, or pass --port <n>: a Desktop OAuth client accepts any loopback port; a Web client needs http://127.0.0.1:<n>${CALLBACK_PATH} among its authorized redirect URIs.`)
            : error));
        server.listen(port, "127.0.0.1", () => resolve());
    });
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`;
    return {
        redirectUri,
        waitForCode: (state, timeoutMs) => new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => reject(new CliError(`No answer from the browser within ${Math.round(timeoutMs / 1000)} s: open the consent URL above (on this machine), or pass --timeout <seconds>.`)), timeoutMs);
            deliver = (result) => {
                // A stale tab of an earlier run carries another state: ignore it and keep waiting.
                if (result.state !== state) return;
                clearTimeout(timer);
                if (result.code !== undefined && result.error === undefined) resolve(result.code);
                else reject(new CliError(result.error === "access_denied"
                    ? "Access was declined on Google's consent screen; nothing was stored. Run the command again and allow access."
                    : `Google's consent screen answered "${result.error ?? "no code"}"; nothing was stored.`));
            };
        }),
        close: () => new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        }),
    };
}

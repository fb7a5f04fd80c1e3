import { spawn } from "node:child_process";

/** Opens the URL in the desktop's browser when there is one; false when there is none to open. */
export function openInBrowser(url: string): boolean {
    const command: [string, string[]] | undefined = process.platform === "darwin" ? ["open", [url]]
        // rundll32 hands the URL over untouched; `cmd /c start` would split it at each '&'.
        : process.platform === "win32" ? ["rundll32", ["url.dll,FileProtocolHandler", url]]
        : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? ["xdg-open", [url]]
        : undefined;
    if (!command) return false;
    const child = spawn(command[0], command[1], { stdio: "ignore", detached: true });
    child.on("error", () => undefined);
    child.unref();
    return true;
}

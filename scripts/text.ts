// Terminal text helpers for the preview: every line fits WIDTH columns.

export const WIDTH = 120;

/** Columns a string takes (code points: the tree and arrow characters are one column each). */
export function columns(text: string): number {
    return [...text].length;
}

export function padEnd(text: string, width: number): string {
    return text + " ".repeat(Math.max(0, width - columns(text)));
}

/** Cuts `text` to `width` columns, marking the cut with `…`. */
export function truncate(text: string, width: number): string {
    const chars = [...text];
    return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join("")}…`;
}

/** Splits a word longer than `width` into pieces of `width` columns. */
function pieces(word: string, width: number): string[] {
    const chars = [...word];
    const out: string[] = [];
    for (let i = 0; i < chars.length; i += width) out.push(chars.slice(i, i + width).join(""));
    return out;
}

/**
 * Lays `items` (phrases kept whole when they fit) after `first`, continuing on lines that start with
 * `indent`, joined by `separator`. No line exceeds `width`.
 */
export function flow(first: string, items: string[], indent: string, separator = ", ", width = WIDTH): string[] {
    const lines: string[] = [];
    const room = Math.max(10, width - columns(indent));
    let line = first;
    let fresh = true; // nothing placed on this line yet after `first` or `indent`
    for (const item of items) {
        const text = (fresh ? "" : separator) + item;
        if (columns(line) + columns(text) <= width) {
            line += text;
            fresh = false;
            continue;
        }
        const trail = separator.trimEnd(); // keep a separator's comma on the line it ends
        if (!fresh && trail && columns(line) + columns(trail) <= width) line += trail;
        if (line.trim() !== "") lines.push(line.trimEnd());
        const parts = columns(item) <= room ? [item] : pieces(item, room);
        for (const part of parts.slice(0, -1)) lines.push(indent + part);
        line = indent + parts[parts.length - 1];
        fresh = false;
    }
    if (line.trim() !== "") lines.push(line.trimEnd());
    return lines.map((l) => truncate(l, width));
}

/** Wraps prose to `width`, continuing with `indent`. */
export function wrap(text: string, first: string, indent: string, width = WIDTH): string[] {
    return flow(first, text.split(/\s+/).filter(Boolean), indent, " ", width);
}

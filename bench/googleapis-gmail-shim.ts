// The full `googleapis` package behind @googleapis/gmail's interface: the forwarder bundled with
// this shows what the single-API package saves.
import { google } from "googleapis";

export const gmail = google.gmail;
export type { gmail_v1 } from "googleapis";

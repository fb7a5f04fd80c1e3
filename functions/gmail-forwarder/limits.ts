// Sizes the forwarder and its component agree on. No imports: the component reads these without
// pulling the function's SDKs into the Pulumi program.

/**
 * Gmail's limit for `users.messages.import`: "Maximum file size: 150MB" (the method's reference
 * page; the discovery document's `maxSize: "150MB"`, which Google's client libraries read as
 * 150 × 2^20). Larger mail gets a notice with its S3 location instead.
 */
export const GMAIL_IMPORT_LIMIT_BYTES = 150 * 1024 * 1024;

/**
 * Above this size the forwarder uses a resumable upload session instead of one multipart request:
 * Google recommends resumable uploads for bodies above 5 MB ("Upload media" / Gmail "Uploading
 * attachments": simple and multipart uploads are for 5 MB or less).
 */
export const RESUMABLE_UPLOAD_THRESHOLD_BYTES = 5 * 1024 * 1024;

/** The largest mail SES's S3 receipt action stores (40 MB, "Deliver to S3 bucket action"). */
export const SES_S3_ACTION_LIMIT_BYTES = 40 * 1024 * 1024;

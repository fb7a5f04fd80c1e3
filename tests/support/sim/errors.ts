// Service errors shaped as the AWS SDK v3 raises them (name, $fault, $metadata), so handlers that
// test `error.name` or `$metadata.httpStatusCode` see what they would see in AWS.
export interface ServiceErrorOptions {
    status?: number;
    fault?: "client" | "server";
}

export function serviceError(name: string, message: string, options: ServiceErrorOptions = {}): Error {
    const error = new Error(message) as Error & { $fault: string; $metadata: Record<string, unknown>; Code: string };
    error.name = name;
    error.$fault = options.fault ?? ((options.status ?? 400) >= 500 ? "server" : "client");
    error.$metadata = { httpStatusCode: options.status ?? 400, attempts: 1, totalRetryDelay: 0 };
    error.Code = name;
    return error;
}

/** Builds an SDK exception of a modelled class (e.g. `NoSuchKey`, `ParameterNotFound`) with its metadata. */
export function sdkException<T extends Error>(Exception: new (options: any) => T, message: string, status = 400): T {
    return new Exception({ message, $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 } });
}

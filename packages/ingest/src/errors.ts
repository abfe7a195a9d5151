/** The body was larger than allowed. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** The client went away or the stream failed before the body was complete. */
export class BodyReadError extends Error {
  override name = "BodyReadError";
  constructor(cause: unknown) {
    super("request body could not be read", { cause });
  }
}

/** An error the API answers with its status and `{"message": ...}` (bad filters, ambiguous ID prefixes). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Errors of the data package, with stable codes. */
export class DatasetError extends Error {
  constructor(
    readonly code:
      | 'RDLAB_DATA_UNREADABLE'
      | 'RDLAB_DATA_EMPTY'
      | 'RDLAB_DATA_MALFORMED'
      | 'RDLAB_DATA_SOURCE'
      | 'RDLAB_DATA_CHECKSUM',
    message: string,
  ) {
    super(message);
    this.name = 'DatasetError';
  }
}

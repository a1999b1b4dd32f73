/** The public library surface: what other repositories import. */
export * from './app-namespace';
export * from './validate';

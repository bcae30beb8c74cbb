// The version warren reports to clients and in `warren --version`. A test keeps it equal to
// package.json's.
export const VERSION = '0.1.0';

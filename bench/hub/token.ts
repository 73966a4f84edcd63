/** The dashboard token the hub bench's server is configured with and its clients present (Bearer). */
export const BENCH_TOKEN_VALUE = 'bench-dashboard-token-0123'

// The releases domain: its runs as the API serves them, and the records its workflow writes.
export * from './records';
export * from './runs';

export * from './deliveries';
export * from './dispatcher';
export * from './endpoints';
export * from './outbox';
export * from './settings';

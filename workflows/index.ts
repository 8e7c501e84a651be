// Every workflow type the worker registers. Workflows only orchestrate: no I/O here.
export { assetConversion } from './assetConversion';

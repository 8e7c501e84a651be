import { config } from '../lib/config';
import { knexConfig } from '../lib/db';

module.exports = knexConfig(config());

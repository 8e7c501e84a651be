// `npm run config:table`: the README's configuration table, generated from the schema that validates it.
import { describeConfig } from '../lib/config';

export function configTable(): string {
  const rows = describeConfig().map(({ key, default: def, description }) => {
    const shown = def === undefined ? '—' : def === '' ? '(empty)' : `\`${String(def)}\``;
    return `| \`${key}\` | ${shown} | ${description} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

if (require.main === module) console.log(configTable());

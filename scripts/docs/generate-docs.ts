import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../core/project-root.js';
import { renderConfigurationPage, renderErrorsPage } from './render-docs.js';

/** `npm run docs`: writes the generated reference pages into docs/. */
const docs = path.join(projectRoot(), 'docs');
await mkdir(docs, { recursive: true });
for (const [file, text] of [['configuration.md', renderConfigurationPage()], ['errors.md', renderErrorsPage()]] as const) {
  await writeFile(path.join(docs, file), text);
  console.log(`wrote docs/${file}`);
}

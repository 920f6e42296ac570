// `npm run bench -- recall`: ctags-definition recall per language (bench/recall.ts).
export { name, measure } from './recall.ts';

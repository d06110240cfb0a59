/** The highlight.js grammars, as the import map serves them (their ES module files carry no types). */
declare module 'highlight.js/languages/*' {
  import type { LanguageFn } from 'highlight.js';

  const language: LanguageFn;
  export default language;
}

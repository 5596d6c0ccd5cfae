/**
 * The one way codes are declared: a catalogue maps each stable code to what it means and, where
 * the code reaches HTTP, the status it is answered with. Declared `as const satisfies Catalogue`
 * once; the README documents every code, and test/unit/catalogues.test.ts holds both to it.
 */
interface CatalogueEntry {
  readonly status?: number;
  readonly description: string;
}

/** A catalogue of codes; see {@link CatalogueEntry}. */
export type Catalogue = Readonly<Record<string, CatalogueEntry>>;

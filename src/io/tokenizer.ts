/** What generation and evaluation need from a tokenizer, whatever its file format. */
export interface TextTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: readonly number[];
  /** token ids of `text`; with bos, the BOS id first (when the tokenizer has one) */
  encode(text: string, options?: { bos?: boolean }): number[];
  /** text of a token sequence (special tokens dropped) */
  decode(ids: readonly number[]): string;
}

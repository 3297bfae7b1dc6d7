/** Hugging Face tokenizer.json through @huggingface/tokenizers (pure JS, offline), behind TextTokenizer. */
import { Tokenizer } from '@huggingface/tokenizers';
import { FormatError } from '../util/errors.js';
import { readJson } from './files.js';
import type { TextTokenizer } from './tokenizer.js';

export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  /** private: the shipped types must not name @huggingface/tokenizers' classes (its .d.ts fail under NodeNext) */
  private constructor(private readonly tok: Tokenizer, readonly bosId: number | null, readonly eosIds: number[]) {
    this.vocabSize = tok.get_vocab(true).size;
  }

  /** From a parsed tokenizer.json (+ tokenizer_config.json); `file` names the source in errors. */
  static fromJson(json: unknown, config: unknown, file: string, ids: { bos?: number | null; eos?: number[] } = {}): HfTokenizer {
    const j = json as { model?: { type?: unknown } };
    if (typeof j !== 'object' || j === null || typeof j.model !== 'object' || j.model === null) throw new FormatError(file, 'not a tokenizer.json (no "model" object)');
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(j, (config ?? {}) as object);
      tok.encode('a', { add_special_tokens: false });
    } catch (e) {
      throw new FormatError(file, `cannot build the tokenizer (${(e as Error).message})`);
    }
    const cfg = (config ?? {}) as Record<string, unknown>;
    const idOf = (v: unknown): number | undefined => {
      const s = typeof v === 'string' ? v : typeof v === 'object' && v !== null ? (v as { content?: string }).content : undefined;
      return s === undefined ? undefined : tok.token_to_id(s);
    };
    const bos = ids.bos !== undefined ? ids.bos : idOf(cfg['bos_token']) ?? null;
    const eos = ids.eos?.length ? ids.eos : [idOf(cfg['eos_token'])].filter((x): x is number => x !== undefined);
    return new HfTokenizer(tok, bos, eos);
  }

  static fromFiles(tokenizerJson: string, configJson: string | undefined, ids: { bos?: number | null; eos?: number[] } = {}): HfTokenizer {
    const cfg = configJson ? readJson(configJson) : {};
    return HfTokenizer.fromJson(readJson(tokenizerJson), cfg, tokenizerJson, ids);
  }

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: false }).ids;
    return options.bos && this.bosId !== null ? [this.bosId, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    return this.tok.decode([...ids], { skip_special_tokens: true });
  }
}
